package contacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// discardProgress is the live side of an import for tests that read the
// jobs, not the console's progress bar.
type discardProgress struct{}

func (discardProgress) ImportProgress(ImportJob) {}

// newBook is a Book over a real bbolt file. It has no disclosures: tests
// that import a consent column need the consent part and live in package
// gateway.
func newBook(t testing.TB) (*Book, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := New(Config{DB: db, Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: time.Now, Notify: discardProgress{}})
	if err != nil {
		t.Fatal(err)
	}
	return b, db
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *store.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a FieldError naming %q", err, field)
	}
	if fe.Field != field {
		t.Fatalf("FieldError names %q (%v), want %q", fe.Field, err, field)
	}
}

func TestCreateContactValidation(t *testing.T) {
	g, _ := newBook(t)
	ctx := context.Background()
	long := func(n int) string { return strings.Repeat("é", n) }
	manyAttrs := map[string]string{}
	for i := range MaxAttributes + 1 {
		manyAttrs[fmt.Sprintf("k%d", i)] = "v"
	}
	manyTags := make([]string, MaxTags+1)
	for i := range manyTags {
		manyTags[i] = fmt.Sprintf("t%d", i)
	}
	for _, tc := range []struct {
		name  string
		c     store.Contact
		field string
	}{
		{"no number", store.Contact{Name: "Ana"}, "number"},
		{"not a number", store.Contact{Number: "call me"}, "number"},
		{"invalid number", store.Contact{Number: "+1555"}, "number"},
		{"long name", store.Contact{Number: "+12015550123", Name: long(MaxContactName + 1)}, "name"},
		{"control in name", store.Contact{Number: "+12015550123", Name: "A\x00na"}, "name"},
		{"bad attr key", store.Contact{Number: "+12015550123", Attributes: map[string]string{"Shoe Size": "9"}}, "attributes"},
		{"long attr key", store.Contact{Number: "+12015550123", Attributes: map[string]string{strings.Repeat("k", MaxAttributeKey+1): "9"}}, "attributes"},
		{"long attr value", store.Contact{Number: "+12015550123", Attributes: map[string]string{"note": long(MaxAttributeValue + 1)}}, "attributes.note"},
		{"too many attrs", store.Contact{Number: "+12015550123", Attributes: manyAttrs}, "attributes"},
		{"too many tags", store.Contact{Number: "+12015550123", Tags: manyTags}, "tags"},
		{"empty tag", store.Contact{Number: "+12015550123", Tags: []string{"vip", " "}}, "tags"},
		{"long tag", store.Contact{Number: "+12015550123", Tags: []string{strings.Repeat("t", MaxTagLength+1)}}, "tags"},
		{"tag with separator", store.Contact{Number: "+12015550123", Tags: []string{"a;b"}}, "tags"},
		{"bad zone", store.Contact{Number: "+12015550123", TimeZone: "Mars/Olympus"}, "time_zone"},
		{"local zone", store.Contact{Number: "+12015550123", TimeZone: "Local"}, "time_zone"},
		{"bad language", store.Contact{Number: "+12015550123", Language: "english"}, "language"},
		{"language with junk", store.Contact{Number: "+12015550123", Language: "en-US-x-pirate"}, "language"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Create(ctx, tc.c)
			wantField(t, err, tc.field)
		})
	}
	if n, _ := g.Count(); n != 0 {
		t.Fatalf("%d contacts stored by bad input", n)
	}
}

func TestCreateContactNormalizes(t *testing.T) {
	g, db := newBook(t)
	ctx := context.Background()
	c, err := g.Create(ctx, store.Contact{Number: "(201) 555-0123", Name: "  Ana  ",
		Tags: []string{"VIP", "vip", " Newsletter "}, Language: "fr-ca", Attributes: map[string]string{"email": "ana@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 || c.Number != "+12015550123" || c.Name != "Ana" || c.Language != "fr-CA" || c.Source != "api" {
		t.Errorf("got %+v", c)
	}
	if strings.Join(c.Tags, ",") != "newsletter,vip" {
		t.Errorf("tags %v, want newsletter,vip", c.Tags)
	}
	if c.TimeZone != "America/New_York" || !c.TimeZoneDerived {
		t.Errorf("time zone %q derived=%v, want America/New_York derived from 201", c.TimeZone, c.TimeZoneDerived)
	}
	// A number taken is ErrExists, whatever format it was written in.
	if _, err := g.Create(ctx, store.Contact{Number: "+1 201 555 0123"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate number: %v, want ErrExists", err)
	}
	// Creating a contact records no consent.
	cons, err := db.Consent(c.Number)
	if err != nil {
		t.Fatal(err)
	}
	events, err := db.ConsentEvents(c.Number)
	if err != nil {
		t.Fatal(err)
	}
	if cons.Marketing != store.MarketingNone || len(events) != 0 {
		t.Errorf("a new contact has consent %v and %d ledger events, want none", cons.Marketing, len(events))
	}
	got, err := g.ByNumber("201-555-0123")
	if err != nil || got.ID != c.ID {
		t.Errorf("ContactByNumber = %+v, %v", got, err)
	}
}

func TestZoneForNumber(t *testing.T) {
	for _, tc := range []struct{ number, want string }{
		{"+12015550123", "America/New_York"},    // New Jersey
		{"+14155550123", "America/Los_Angeles"}, // San Francisco
		{"+33612345678", "Europe/Paris"},
		{"+442079460123", "Europe/London"},
		{"+13125550123", "America/Chicago"},
	} {
		if got := zoneForNumber(tc.number); got != tc.want {
			t.Errorf("zoneForNumber(%s) = %s, want %s", tc.number, got, tc.want)
		}
	}
	if got := zoneForNumber("garbage"); got != "UTC" {
		t.Errorf("zoneForNumber(garbage) = %s, want UTC", got)
	}
}

func TestUpdateContactPatch(t *testing.T) {
	g, _ := newBook(t)
	ctx := context.Background()
	c, err := g.Create(ctx, store.Contact{Number: "+12015550123", Name: "Ana", Tags: []string{"vip"}, Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := g.Create(ctx, store.Contact{Number: "+12015550124"})
	if err != nil {
		t.Fatal(err)
	}
	name := "Ana Lima"
	got, err := g.Update(ctx, c.ID, Patch{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != name || got.Language != "en" || len(got.Tags) != 1 || got.Number != c.Number {
		t.Errorf("patching the name changed more: %+v", got)
	}
	bad := "nowhere/zone"
	_, err = g.Update(ctx, c.ID, Patch{TimeZone: &bad})
	wantField(t, err, "time_zone")
	if again, _ := g.Get(c.ID); again.Name != name || again.TimeZone != c.TimeZone {
		t.Errorf("a refused patch changed the contact: %+v", again)
	}
	taken := other.Number
	if _, err := g.Update(ctx, c.ID, Patch{Number: &taken}); !errors.Is(err, store.ErrExists) {
		t.Errorf("moving to a taken number: %v, want ErrExists", err)
	}
	// A new number re-derives a derived zone; a given zone is kept as given.
	paris := "+33612345678"
	got, err = g.Update(ctx, c.ID, Patch{Number: &paris})
	if err != nil {
		t.Fatal(err)
	}
	if got.TimeZone != "Europe/Paris" || !got.TimeZoneDerived {
		t.Errorf("after moving to a French number: zone %q derived=%v", got.TimeZone, got.TimeZoneDerived)
	}
	tokyo := "Asia/Tokyo"
	got, err = g.Update(ctx, c.ID, Patch{TimeZone: &tokyo})
	if err != nil || got.TimeZone != tokyo || got.TimeZoneDerived {
		t.Errorf("given zone: %+v, %v", got, err)
	}
	if err := g.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Get(c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func TestNormalizeLanguage(t *testing.T) {
	for in, want := range map[string]string{"en": "en", "FR-ca": "fr-CA", "zh-hant-tw": "zh-Hant-TW", "es_419": "es-419", "": ""} {
		got, err := normalizeLanguage(in)
		if err != nil || got != want {
			t.Errorf("normalizeLanguage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

package segments

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

func newService(t *testing.T) (*Service, *store.DB) {
	t.Helper()
	db := openDB(t)
	return New(Config{DB: db, Region: "US", Clock: func() time.Time { return testNow }}), db
}

func TestDefinitionErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, def, field string
	}{
		{"not an object", `[]`, "definition"},
		{"unknown top-level setting", `{"match":"all","rulez":[]}`, "definition.rulez"},
		{"bad match", `{"match":"most","rules":[]}`, "definition.match"},
		{"rules not a list", `{"rules":{}}`, "definition.rules"},
		{"unknown rule field", `{"rules":[{"field":"tag","op":"has","value":"vip"},{"field":"shoe_size","op":"is","values":["9"]}]}`, "definition.rules[1].field"},
		{"unknown rule setting", `{"rules":[{"field":"tag","op":"has","value":"vip","colour":"red"}]}`, "definition.rules[0].colour"},
		{"bad op", `{"rules":[{"field":"tag","op":"is","value":"vip"}]}`, "definition.rules[0].op"},
		{"empty tag", `{"rules":[{"field":"tag","op":"has"}]}`, "definition.rules[0].value"},
		{"days as text", `{"rules":[{"field":"ordered","op":"within_days","days":"90"}]}`, "definition.rules[0].days"},
		{"days fractional", `{"rules":[{"field":"ordered","op":"within_days","days":1.5}]}`, "definition.rules[0].days"},
		{"days missing", `{"rules":[{"field":"ordered","op":"within_days"}]}`, "definition.rules[0].days"},
		{"days for never", `{"rules":[{"field":"ordered","op":"never","days":3}]}`, "definition.rules[0].days"},
		{"count missing", `{"rules":[{"field":"order_count","op":"ge"}]}`, "definition.rules[0].count"},
		{"amount negative", `{"rules":[{"field":"total_spent","op":"ge","amount":-1,"currency":"USD"}]}`, "definition.rules[0].amount"},
		{"currency bad", `{"rules":[{"field":"total_spent","op":"ge","amount":100,"currency":"dollars"}]}`, "definition.rules[0].currency"},
		{"country unknown", `{"rules":[{"field":"country","op":"is","values":["US","XX"]}]}`, "definition.rules[0].values[1]"},
		{"country empty", `{"rules":[{"field":"country","op":"is","values":[]}]}`, "definition.rules[0].values"},
		{"area code letters", `{"rules":[{"field":"area_code","op":"is","values":["2a2"]}]}`, "definition.rules[0].values[0]"},
		{"zone unknown", `{"rules":[{"field":"time_zone","op":"is","values":["Mars/Olympus"]}]}`, "definition.rules[0].values[0]"},
		{"language bad", `{"rules":[{"field":"language","op":"is","values":["french!"]}]}`, "definition.rules[0].values[0]"},
		{"consent state unknown", `{"rules":[{"field":"consent","op":"is","values":["maybe"]}]}`, "definition.rules[0].values[0]"},
		{"created date bad", `{"rules":[{"field":"created","op":"before","date":"31/12/2025"}]}`, "definition.rules[0].date"},
		{"attribute key bad", `{"rules":[{"field":"attribute","key":"First Name","op":"set"}]}`, "definition.rules[0].key"},
		{"attribute type bad", `{"rules":[{"field":"attribute","key":"x","type":"colour","op":"set"}]}`, "definition.rules[0].type"},
		{"number attribute without number", `{"rules":[{"field":"attribute","key":"x","type":"number","op":"gt"}]}`, "definition.rules[0].number"},
		{"number given as text", `{"rules":[{"field":"attribute","key":"x","type":"number","op":"gt","number":"5"}]}`, "definition.rules[0].number"},
		{"text op on a number", `{"rules":[{"field":"attribute","key":"x","type":"number","op":"contains","number":5}]}`, "definition.rules[0].op"},
		{"viewed count zero", `{"rules":[{"field":"viewed_product","count":0,"days":7}]}`, "definition.rules[0].count"},
		{"days too many", `{"rules":[{"field":"clicked","op":"within_days","days":99999}]}`, "definition.rules[0].days"},
		{"group with field", `{"rules":[{"field":"tag","match":"any","rules":[]}]}`, "definition.rules[0].field"},
		{"group too deep", `{"rules":[{"match":"any","rules":[{"match":"all","rules":[]}]}]}`, "definition.rules[0].rules[0].rules"},
		{"bad rule inside a group", `{"rules":[{"match":"any","rules":[{"field":"tag","op":"has","value":"a"},{"field":"clicked","op":"soon","days":3}]}]}`, "definition.rules[0].rules[1].op"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, db := newService(t)
			_, err := svc.Save(context.Background(), 0, Input{Name: "x", Definition: json.RawMessage(tc.def)})
			var fe *store.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Save(%s) = %v, want a FieldError on %s", tc.def, err, tc.field)
			}
			if fe.Message == "" {
				t.Error("the error says nothing")
			}
			if segs, err := db.Segments(); err != nil || len(segs) != 0 {
				t.Errorf("a refused segment was stored: %v, %v", segs, err)
			}
			// The same definition given as a value to Audience is refused
			// the same way (when it decodes at all).
			var d Definition
			if json.Unmarshal([]byte(tc.def), &d) == nil {
				if _, err := svc.Audience(context.Background(), d, true); err == nil && !strings.Contains(tc.name, "setting") && !strings.Contains(tc.name, "text") {
					t.Errorf("Audience accepted %s", tc.def)
				}
			}
		})
	}
}

func TestSavedSegmentsAndDeleteInUse(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	seg, err := svc.Save(ctx, 0, Input{Name: "VIP buyers", Definition: json.RawMessage(
		`{"match":"all","rules":[{"field":"tag","op":"has","value":" VIP "},{"field":"ordered","op":"within_days","days":90}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if seg.Definition.Rules[0].Value != "vip" {
		t.Errorf("tag not normalised: %q", seg.Definition.Rules[0].Value)
	}
	got, err := svc.Get(seg.ID)
	if err != nil || got.Name != "VIP buyers" || len(got.Definition.Rules) != 2 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := svc.Save(ctx, seg.ID, Input{Name: "Renamed", Definition: json.RawMessage(`{"rules":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if list, err := svc.List(); err != nil || len(list) != 1 || list[0].Name != "Renamed" || list[0].Definition.Match != "all" {
		t.Errorf("List = %+v, %v", list, err)
	}
	svc.SetInUse(func(id uint64) (string, bool) { return "campaign 7 (Spring sale)", id == seg.ID })
	if err := svc.Delete(ctx, seg.ID); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "Spring sale") {
		t.Errorf("Delete of a used segment = %v, want a conflict naming the campaign", err)
	}
	svc.SetInUse(func(uint64) (string, bool) { return "", false })
	if err := svc.Delete(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(seg.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

// addPerson stores a contact with a consent state.
func addPerson(t *testing.T, db *store.DB, c store.Contact, consent store.MarketingState) store.Contact {
	t.Helper()
	stored, err := db.CreateContact(c)
	if err != nil {
		t.Fatal(err)
	}
	if consent != store.MarketingNone {
		if _, _, _, err := db.AppendConsent(store.ConsentEvent{Number: c.Number, Type: store.EventOptIn, Purpose: store.PurposeMarketing, Method: store.MethodConsole},
			func(cs *store.Consent) error { cs.Marketing = consent; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return stored
}

func TestAudienceOfPastedNumbers(t *testing.T) {
	svc, db := newService(t)
	ana := addPerson(t, db, store.Contact{Number: "+12125550101", Name: "Ana", TimeZone: "America/New_York", Language: "es"}, store.MarketingConfirmed)
	addPerson(t, db, store.Contact{Number: "+12125550102", Name: "Bo", TimeZone: "America/New_York"}, store.MarketingOptedOut)
	// A number no contact has, but with consent on record.
	if _, _, _, err := db.AppendConsent(store.ConsentEvent{Number: "+13105550103", Type: store.EventOptIn, Purpose: store.PurposeMarketing, Method: store.MethodConsole},
		func(cs *store.Consent) error { cs.Marketing = store.MarketingConfirmed; return nil }); err != nil {
		t.Fatal(err)
	}
	in := []string{"(310) 555-0103", "212 555 0102", "not a number", "+1 212 555 0101", "+12125550101", "0", "+13125550104"}
	a, err := svc.AudienceOf(context.Background(), in, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{
		{ContactID: ana.ID, Number: "+12125550101", Name: "Ana", TimeZone: "America/New_York", Language: "es"},
		{Number: "+13105550103", TimeZone: "America/Los_Angeles", TimeZoneDerived: true},
	}
	if !slices.Equal(a.Members, want) {
		t.Errorf("members %+v\nwant %+v", a.Members, want)
	}
	if !mapsEqual(a.LeftOut, map[string]int{ReasonInvalidNumber: 2, ReasonOptedOut: 1, ReasonNoConsent: 1}) {
		t.Errorf("left out %v", a.LeftOut)
	}
	if !slices.Equal(a.Invalid, []string{"not a number", "0"}) {
		t.Errorf("invalid %q", a.Invalid)
	}
	// Not marketing: everyone valid, once.
	all, err := svc.AudienceOf(context.Background(), in, false)
	if err != nil || len(all.Members) != 4 || all.LeftOut[ReasonInvalidNumber] != 2 {
		t.Errorf("transactional audience %+v, %v", all, err)
	}
}

func TestPreviewAndCSV(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	for i := range 30 {
		state := store.MarketingConfirmed
		if i%3 == 0 {
			state = store.MarketingPending
		}
		name := "Customer"
		if i == 1 {
			name = "=HYPERLINK(\"http://evil\")"
		}
		addPerson(t, db, store.Contact{Number: "+1212555" + string(rune('0'+i/10)) + "1" + string(rune('0'+i%10)) + "0", Name: name,
			TimeZone: "America/New_York", Tags: []string{"vip"}}, state)
	}
	addPerson(t, db, store.Contact{Number: "+13105550000", TimeZone: "America/Los_Angeles"}, store.MarketingConfirmed)
	def := Definition{Match: "all", Rules: []Rule{{Field: FieldTag, Op: "has", Value: "vip"}}}
	p, err := svc.Preview(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	if p.Matched != 30 || p.Count != 20 || p.LeftOut[ReasonPending] != 10 || len(p.Members) != PreviewMembers {
		t.Errorf("preview matched %d, count %d, left out %v, %d members", p.Matched, p.Count, p.LeftOut, len(p.Members))
	}
	if def.Rules[0].Match != "" || def.Match != "all" {
		t.Error("Preview changed the caller's definition")
	}
	raw, _ := json.Marshal(def)
	seg, err := svc.Save(ctx, 0, Input{Name: "VIP", Definition: raw})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := svc.WriteCSV(ctx, &buf, seg.ID); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 31 || !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	if rows[2][2] != `'=HYPERLINK("http://evil")` {
		t.Errorf("a formula name was exported as %q", rows[2][2])
	}
	if rows[1][5] != "pending" || rows[2][5] != "confirmed" {
		t.Errorf("consent column %q %q", rows[1][5], rows[2][5])
	}
	if err := svc.WriteCSV(ctx, &buf, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CSV of an unknown segment: %v", err)
	}
}

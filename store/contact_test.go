package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// suppress puts number on the suppression list the way EraseNumber does,
// without erasing anything.
func suppress(t *testing.T, db *DB, number string) {
	t.Helper()
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		salt, err := suppressionSalt(tx)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketSuppression).Put([]byte(suppressionHash(salt, number)), []byte(`{"at":"2025-01-01T00:00:00Z"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCreateContact(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	c, err := db.CreateContact(Contact{Number: "+15550100", Name: "Ann", Tags: []string{" VIP", "vip", "Beta", ""},
		Attributes: map[string]string{"city": "Austin"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 || !c.CreatedAt.Equal(clk.now()) || !c.UpdatedAt.Equal(clk.now()) {
		t.Errorf("created %+v: want an ID and both times now", c)
	}
	if !slices.Equal(c.Tags, []string{"beta", "vip"}) {
		t.Errorf("tags %q, want [beta vip]", c.Tags)
	}
	if got, err := db.GetContact(c.ID); err != nil || got.Name != "Ann" || got.Attributes["city"] != "Austin" {
		t.Errorf("GetContact = %+v, %v", got, err)
	}
	if got, err := db.ContactByNumber("+15550100"); err != nil || got.ID != c.ID {
		t.Errorf("ContactByNumber = %+v, %v", got, err)
	}

	_, err = db.CreateContact(Contact{Number: "+15550100", Name: "Impostor"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "+15550100") {
		t.Errorf("duplicate number: %v, want ErrExists naming the number", err)
	}
	var fe *FieldError
	if _, err := db.CreateContact(Contact{Name: "No number"}); !errors.As(err, &fe) || fe.Field != "number" {
		t.Errorf("missing number: %v, want FieldError on number", err)
	}
	suppress(t, db, "+15550999")
	if _, err := db.CreateContact(Contact{Number: "+15550999"}); !errors.Is(err, ErrSuppressed) || !strings.Contains(err.Error(), "+15550999") {
		t.Errorf("suppressed number: %v, want ErrSuppressed naming the number", err)
	}
	if n, err := db.CountContacts(); err != nil || n != 1 {
		t.Errorf("CountContacts = %d, %v; want 1", n, err)
	}
	for _, id := range []uint64{0, c.ID + 100} {
		if _, err := db.GetContact(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetContact(%d): %v, want ErrNotFound", id, err)
		}
	}
	if _, err := db.ContactByNumber("+15550101"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ContactByNumber(unknown): %v, want ErrNotFound", err)
	}
}

func TestUpdateContact(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ann, _ := db.CreateContact(Contact{Number: "+15550100", Name: "Ann"})
	bob, _ := db.CreateContact(Contact{Number: "+15550200", Name: "Bob"})
	suppress(t, db, "+15550999")
	clk.advance(time.Hour)

	for _, tc := range []struct {
		to   string
		want error
	}{{"+15550200", ErrExists}, {"+15550999", ErrSuppressed}} {
		_, err := db.UpdateContact(ann.ID, func(c *Contact) error { c.Number, c.Name = tc.to, "changed"; return nil })
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.to) {
			t.Errorf("renumber to %s: %v, want %v naming the number", tc.to, err, tc.want)
		}
	}
	if got, _ := db.GetContact(ann.ID); got.Name != "Ann" || got.Number != "+15550100" {
		t.Errorf("a refused update changed the contact: %+v", got)
	}
	boom := errors.New("boom")
	if _, err := db.UpdateContact(ann.ID, func(*Contact) error { return boom }); err != boom {
		t.Errorf("fn error: %v, want it as is", err)
	}
	var fe *FieldError
	if _, err := db.UpdateContact(ann.ID, func(c *Contact) error { c.Number = ""; return nil }); !errors.As(err, &fe) || fe.Field != "number" {
		t.Errorf("empty number: %v, want FieldError on number", err)
	}

	got, err := db.UpdateContact(ann.ID, func(c *Contact) error {
		c.Number, c.Tags = "+15550101", []string{"B", "a"}
		c.ID, c.CreatedAt = 999, time.Time{} // not the caller's to change
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ann.ID || !got.CreatedAt.Equal(ann.CreatedAt) || !got.UpdatedAt.Equal(clk.now()) || !slices.Equal(got.Tags, []string{"a", "b"}) {
		t.Errorf("updated %+v", got)
	}
	if _, err := db.ContactByNumber("+15550100"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old number still indexed: %v", err)
	}
	if c, err := db.ContactByNumber("+15550101"); err != nil || c.ID != ann.ID {
		t.Errorf("new number: %+v, %v", c, err)
	}
	// The old number is free for someone else now.
	if _, err := db.CreateContact(Contact{Number: "+15550100"}); err != nil {
		t.Errorf("reusing the freed number: %v", err)
	}
	// Keeping one's own number is no conflict.
	if _, err := db.UpdateContact(bob.ID, func(c *Contact) error { c.Name = "Robert"; return nil }); err != nil {
		t.Errorf("update without renumbering: %v", err)
	}
	if _, err := db.UpdateContact(12345, func(*Contact) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}

func TestDeleteContact(t *testing.T) {
	db := openTest(t)
	c, _ := db.CreateContact(Contact{Number: "+15550100"})
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: c.Number, Type: "opt_in", Method: "api"},
		func(c *Consent) error { c.Marketing = MarketingConfirmed; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteContact(c.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteContact(c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := db.ContactByNumber(c.Number); !errors.Is(err, ErrNotFound) {
		t.Errorf("number still indexed: %v", err)
	}
	if n, _ := db.CountContacts(); n != 0 {
		t.Errorf("CountContacts = %d, want 0", n)
	}
	// Consent is evidence and outlives the contact.
	if evs, _ := db.ConsentEvents(c.Number); len(evs) != 1 {
		t.Errorf("ledger after delete: %d events, want 1", len(evs))
	}
	if cons, _ := db.Consent(c.Number); cons.Marketing != MarketingConfirmed {
		t.Errorf("consent after delete: %v, want confirmed", cons.Marketing)
	}
	if _, err := db.CreateContact(Contact{Number: c.Number}); err != nil {
		t.Errorf("recreate: %v", err)
	}
}

func TestListContacts(t *testing.T) {
	db := openTest(t)
	people := []struct {
		number, name string
		tags         []string
	}{
		{"+15550100", "Ann Smith", []string{"vip"}},
		{"+15550101", "Bob Jones", nil},
		{"+447700900100", "Åsa SMITHSON", []string{"vip", "uk"}},
		{"+15550102", "Carol", []string{"vipper"}}, // not the tag vip, though "vip" is in its JSON
		{"+15550103", "Dan", []string{"VIP"}},
		{"+33600000100", "Eve smith", []string{"fr"}},
		{"+442079460001", "\u212Aim", nil},    // Kelvin sign: folds to "kim" though not ASCII
		{"+442079460002", "Tom & Jerry", nil}, // "&" is escaped in stored JSON
	}
	ids := map[string]uint64{}
	for _, p := range people {
		c, err := db.CreateContact(Contact{Number: p.number, Name: p.name, Tags: p.tags})
		if err != nil {
			t.Fatal(err)
		}
		ids[p.name] = c.ID
	}
	names := func(cs []Contact) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	tests := []struct {
		f    ContactFilter
		want []string
	}{
		{ContactFilter{}, []string{"Ann Smith", "Bob Jones", "Åsa SMITHSON", "Carol", "Dan", "Eve smith", "\u212Aim", "Tom & Jerry"}},
		{ContactFilter{Query: "KIM"}, []string{"\u212Aim"}},
		{ContactFilter{Query: "m & j"}, []string{"Tom & Jerry"}},
		{ContactFilter{Query: "jerry"}, []string{"Tom & Jerry"}},
		{ContactFilter{Query: "smith"}, []string{"Ann Smith", "Åsa SMITHSON", "Eve smith"}},
		{ContactFilter{Query: " åsa "}, []string{"Åsa SMITHSON"}},
		{ContactFilter{Query: "0100"}, []string{"Ann Smith", "Åsa SMITHSON", "Eve smith"}},
		{ContactFilter{Query: "+1555"}, []string{"Ann Smith", "Bob Jones", "Carol", "Dan"}},
		{ContactFilter{Query: "+44"}, []string{"Åsa SMITHSON", "\u212Aim", "Tom & Jerry"}},
		{ContactFilter{Tag: "VIP"}, []string{"Ann Smith", "Åsa SMITHSON", "Dan"}},
		{ContactFilter{Tag: "vip", Query: "smith"}, []string{"Ann Smith", "Åsa SMITHSON"}},
		{ContactFilter{Tag: "none"}, []string{}},
		{ContactFilter{After: ids["Carol"]}, []string{"Dan", "Eve smith", "\u212Aim", "Tom & Jerry"}},
		{ContactFilter{Query: "smith", After: ids["Ann Smith"]}, []string{"Åsa SMITHSON", "Eve smith"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc.f), func(t *testing.T) {
			got, next, err := db.ListContacts(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(got), tc.want) || next != 0 {
				t.Errorf("got %q next %d, want %q next 0", names(got), next, tc.want)
			}
		})
	}

	// Paging: every match exactly once, in order, and the last page says so.
	for _, f := range []ContactFilter{{Limit: 2}, {Limit: 1, Query: "smith"}, {Limit: 2, Tag: "vip"}} {
		all, _, _ := db.ListContacts(ContactFilter{Query: f.Query, Tag: f.Tag})
		var got []string
		for pages := 0; ; pages++ {
			if pages > len(people) {
				t.Fatal("paging does not end")
			}
			page, next, err := db.ListContacts(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > f.Limit {
				t.Fatalf("page of %d, limit %d", len(page), f.Limit)
			}
			got = append(got, names(page)...)
			if next == 0 {
				break
			}
			if next != page[len(page)-1].ID {
				t.Fatalf("next %d is not the last ID of the page", next)
			}
			f.After = next
		}
		if !slices.Equal(got, names(all)) {
			t.Errorf("paged %q, want %q", got, names(all))
		}
	}
}

func TestEachContactAndLimits(t *testing.T) {
	db := openTest(t)
	var rows []ContactUpsert
	for i := range exportPage*2 + 7 {
		rows = append(rows, ContactUpsert{Contact: Contact{Number: fmt.Sprintf("+1555%07d", i)}})
	}
	if _, err := db.UpsertContacts(rows); err != nil {
		t.Fatal(err)
	}
	var seen []uint64
	if err := db.EachContact(func(c Contact) error { seen = append(seen, c.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(rows) || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
		t.Errorf("EachContact saw %d contacts (sorted %v), want %d distinct, ascending", len(seen), slices.IsSorted(seen), len(rows))
	}
	stop := errors.New("stop")
	n := 0
	if err := db.EachContact(func(Contact) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("EachContact with an error: %v after %d, want stop after 1", err, n)
	}
	if n, _ := db.CountContacts(); n != len(rows) {
		t.Errorf("CountContacts = %d, want %d", n, len(rows))
	}
	for _, tc := range []struct{ limit, want int }{{0, DefaultListLimit}, {-3, DefaultListLimit}, {7, 7}, {MaxListLimit + 1, MaxListLimit}} {
		page, next, err := db.ListContacts(ContactFilter{Limit: tc.limit})
		if err != nil || len(page) != tc.want || next != page[len(page)-1].ID {
			t.Errorf("limit %d: %d contacts, next %d, %v; want %d", tc.limit, len(page), next, err, tc.want)
		}
	}
}

func TestUpsertContacts(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	created := clk.now()
	ann, err := db.CreateContact(Contact{Number: "+15550100", Name: "Ann", Source: "console", TimeZone: "America/Chicago",
		Language: "en", Tags: []string{"vip"}, Attributes: map[string]string{"city": "Austin", "tier": "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	// +15550300 opted out by keyword; +15550999 was erased on request.
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: "+15550300", Type: "opt_out", Method: "keyword"},
		func(c *Consent) error { c.Marketing, c.OptedOutAll = MarketingOptedOut, true; return nil }); err != nil {
		t.Fatal(err)
	}
	suppress(t, db, "+15550999")
	clk.advance(time.Hour)

	optIn := &ConsentEvent{Source: "shop-list.csv", DisclosureVersion: "v2"}
	rows := []ContactUpsert{
		{Contact: Contact{Number: "+15550100", Name: "Ann Smith", TimeZone: "America/New_York", TimeZoneDerived: true,
			Source: "import", Tags: []string{"Import"}, Attributes: map[string]string{"city": "Dallas", "tier": "", "zip": "75001"}}},
		{Contact: Contact{Number: "+15550200", Name: "Bob", Source: "import", Tags: []string{"Import"}}, OptIn: optIn},
		{Contact: Contact{Number: "+15550300", Name: "Carol"}, OptIn: optIn},
		{Contact: Contact{Number: "+15550999", Name: "Erased"}, OptIn: optIn},
		{Contact: Contact{Number: "+15550200", Language: "es"}}, // the same number twice in one batch
	}
	res, err := db.UpsertContacts(rows)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes := []UpsertOutcome{UpsertUpdated, UpsertCreated, UpsertCreated, UpsertSuppressed, UpsertUpdated}
	wantKept := []bool{false, false, true, true, false}
	for i, r := range res {
		if r.Outcome != wantOutcomes[i] || r.ConsentKept != wantKept[i] {
			t.Errorf("row %d: outcome %d kept %v, want %d kept %v", i, r.Outcome, r.ConsentKept, wantOutcomes[i], wantKept[i])
		}
	}

	got, _ := db.GetContact(ann.ID)
	want := ann
	want.Name = "Ann Smith"
	want.Tags = []string{"import", "vip"}
	want.Attributes = map[string]string{"city": "Dallas", "tier": "gold", "zip": "75001"}
	want.UpdatedAt = clk.now()
	// TimeZone stays: a zone guessed from the number never replaces a given one.
	if got.Name != want.Name || !slices.Equal(got.Tags, want.Tags) || !maps.Equal(got.Attributes, want.Attributes) ||
		got.TimeZone != "America/Chicago" || got.TimeZoneDerived || got.Source != "console" || got.Language != "en" ||
		!got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(clk.now()) {
		t.Errorf("merged %+v\nwant   %+v", got, want)
	}
	if bob, err := db.ContactByNumber("+15550200"); err != nil || bob.Name != "Bob" || bob.Language != "es" || res[4].Contact.ID != bob.ID {
		t.Errorf("Bob = %+v, %v; want one contact with both rows merged", bob, err)
	}
	if _, err := db.ContactByNumber("+15550999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("suppressed number stored: %v", err)
	}
	// Bob's opt-in is evidence with defaults filled in, and confirms him.
	evs, _ := db.ConsentEvents("+15550200")
	if len(evs) != 1 || evs[0].Type != "opt_in" || evs[0].Method != "import" || evs[0].Purpose != "marketing" ||
		evs[0].Source != "shop-list.csv" || evs[0].DisclosureVersion != "v2" || !evs[0].At.Equal(clk.now()) {
		t.Errorf("Bob's ledger %+v", evs)
	}
	if c, _ := db.Consent("+15550200"); c.Marketing != MarketingConfirmed || !c.ConfirmedAt.Equal(clk.now()) {
		t.Errorf("Bob's consent %+v, want confirmed now", c)
	}
	// Carol's own opt-out stands; the ledger has only her STOP.
	if c, _ := db.Consent("+15550300"); c.Marketing != MarketingOptedOut || !c.OptedOutAll {
		t.Errorf("Carol's consent %+v, want still opted out", c)
	}
	if evs, _ := db.ConsentEvents("+15550300"); len(evs) != 1 || evs[0].Type != "opt_out" {
		t.Errorf("Carol's ledger %+v, want only the opt-out", evs)
	}
	if evs, _ := db.ConsentEvents("+15550999"); len(evs) != 0 {
		t.Errorf("suppressed number got ledger entries: %+v", evs)
	}

	// A bad row fails the batch, names the row, and writes nothing.
	before, _ := db.CountContacts()
	_, err = db.UpsertContacts([]ContactUpsert{{Contact: Contact{Number: "+15550400"}}, {Contact: Contact{Name: "no number"}}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "rows[1].number" {
		t.Errorf("bad row: %v, want FieldError rows[1].number", err)
	}
	if after, _ := db.CountContacts(); after != before {
		t.Errorf("a failed batch stored %d contacts", after-before)
	}
}

// BenchmarkUpsertContacts is a CSV import: batches of 1000 new rows, each
// with an opt-in, one durable commit per batch (issue 5: ≥ 10,000 rows/s).
func BenchmarkUpsertContacts(b *testing.B) {
	const batch = 1000
	db := openTest(b)
	rows := make([]ContactUpsert, batch)
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range rows {
			rows[j] = ContactUpsert{
				Contact: Contact{Number: fmt.Sprintf("+1%010d", n), Name: "Customer", TimeZone: "America/New_York",
					TimeZoneDerived: true, Source: "import", Tags: []string{"import", "spring"},
					Attributes: map[string]string{"city": "Springfield", "first_name": "Pat"}},
				OptIn: &ConsentEvent{Source: "list.csv", DisclosureVersion: "v1"},
			}
			n++
		}
		if _, err := db.UpsertContacts(rows); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkListContactsSearch is the console's search box over 100,000
// contacts when few match: the whole bucket is read for one page.
func BenchmarkListContactsSearch(b *testing.B) {
	db := openTest(b, WithNoSync()) // only the set-up writes; the reads are what is measured
	const total = 100_000
	rows := make([]ContactUpsert, 0, 1000)
	for i := range total {
		name := "Customer"
		if i%1000 == 0 {
			name = "Zelda Smith"
		}
		rows = append(rows, ContactUpsert{Contact: Contact{Number: fmt.Sprintf("+1%010d", i), Name: name,
			Tags: []string{"import"}, Attributes: map[string]string{"city": "Springfield"}}})
		if len(rows) == cap(rows) {
			if _, err := db.UpsertContacts(rows); err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page, _, err := db.ListContacts(ContactFilter{Query: "zelda", Limit: MaxListLimit})
		if err != nil || len(page) != total/1000 {
			b.Fatalf("%d matches, %v", len(page), err)
		}
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "contacts-scanned/s")
}

package store

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// segmentsStepFrom is the schema version the segments' migration starts
// from: its place in migrations, found rather than written down, so the
// test follows a renumbering.
func segmentsStepFrom(t *testing.T) uint64 {
	t.Helper()
	want := reflect.ValueOf(migrateSegments).Pointer()
	for i, step := range migrations {
		if reflect.ValueOf(step).Pointer() == want {
			return uint64(i)
		}
	}
	t.Fatal("migrateSegments is not a schema step")
	return 0
}

// tagged returns the IDs ScanSegment visits for contacts with every tag.
func tagged(t *testing.T, db *DB, tags ...string) []uint64 {
	t.Helper()
	var ids []uint64
	if err := db.ScanSegment(SegmentScan{AllTags: tags}, func(r *SegmentRow) error {
		ids = append(ids, r.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// fillActivity stores what every kind of activity comes from: orders
// (one completing a checkout), views, checkouts, a click and a marketing
// admission, some out of time order.
func fillActivity(t *testing.T, db *DB, number string, base time.Time) {
	t.Helper()
	evs := []ShopEvent{
		{ID: "c1", Type: "checkout_started", CheckoutID: "k1", OccurredAt: base},
		{ID: "o1", Type: "order_placed", OrderID: "1001", CheckoutID: "k1", Total: 2500, Currency: "USD", OccurredAt: base.Add(time.Hour)},
		{ID: "v2", Type: "product_viewed", Properties: json.RawMessage(`{"product_id":42}`), OccurredAt: base.Add(3 * time.Hour)},
		{ID: "v1", Type: "product_viewed", Properties: json.RawMessage(`{"product_id":"p1"}`), OccurredAt: base.Add(2 * time.Hour)},
		{ID: "c2", Type: "checkout_started", CheckoutID: "k2", OccurredAt: base.Add(4 * time.Hour)},
		{ID: "o0", Type: "order_placed", OrderID: "1000", Total: 900, Currency: "EUR", OccurredAt: base.Add(-time.Hour)},
		{ID: "x", Type: "customer_created", OccurredAt: base},
	}
	for i := range evs {
		evs[i].Source, evs[i].Number = "api", number
	}
	if _, err := db.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	links, err := db.EnsureLinks([]Link{{URL: "https://shop.example/", Number: number, MessageKey: "m-" + number}}, codes("C"+number[1:]))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordClicks([]Click{{Code: links[0].Code, At: base.Add(5 * time.Hour), Agent: "browser"},
		{Code: links[0].Code, At: base.Add(6 * time.Hour), Agent: "Slackbot", Preview: true}}); err != nil {
		t.Fatal(err)
	}
	m, _, err := db.Enqueue(Message{To: number, Text: "sale", Kind: KindMarketing, Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // admitted once; a second attempt does not move it
		if _, _, err := db.AdmitSend(m.ID, func(m *Message, c *Consent, _ bool) error {
			if m.AdmittedAt.IsZero() {
				m.AdmittedAt = base.Add(7 * time.Hour)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestActivityKeptWithTheRecords(t *testing.T) {
	db := openTest(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fillActivity(t, db, "+15550100", base)
	a, err := db.ActivityOf("+15550100")
	if err != nil {
		t.Fatal(err)
	}
	want := Activity{
		Orders: []ActivityOrder{
			{At: base.Add(-time.Hour), Total: 900, Currency: "EUR"},
			{At: base.Add(time.Hour), Total: 2500, Currency: "USD", CheckoutID: "k1"},
		},
		Views:           []ActivityView{{At: base.Add(2 * time.Hour), Product: "p1"}, {At: base.Add(3 * time.Hour), Product: "42"}},
		Checkouts:       []ActivityCheckout{{At: base, ID: "k1"}, {At: base.Add(4 * time.Hour), ID: "k2"}},
		LastClickAt:     base.Add(5 * time.Hour),
		LastMarketingAt: base.Add(7 * time.Hour),
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("activity\n got %+v\nwant %+v", a, want)
	}
	// A transactional admission, and a duplicate event, change nothing.
	m, _, err := db.Enqueue(Message{To: "+15550100", Text: "receipt", Kind: KindTransactional, Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AdmitSend(m.ID, func(m *Message, _ *Consent, _ bool) error { m.AdmittedAt = base.Add(9 * time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendEvents([]ShopEvent{{ID: "o1", Source: "api", Type: "order_placed", Number: "+15550100", OccurredAt: base}}); err != nil {
		t.Fatal(err)
	}
	if again, err := db.ActivityOf("+15550100"); err != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("after a transactional text and a duplicate event: %+v, %v", again, err)
	}
}

func TestActivityCapKeepsAllTimeOrderTotals(t *testing.T) {
	db := openTest(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []ShopEvent
	for i := range MaxActivityOrders + 3 {
		evs = append(evs, ShopEvent{ID: "o" + string(rune('a'+i%26)) + time.Duration(i).String(), Source: "api", Type: "order_placed",
			Number: "+15550100", Total: 100, Currency: "USD", OccurredAt: base.Add(time.Duration(i) * time.Minute)})
	}
	if _, err := db.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	a, err := db.ActivityOf("+15550100")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Orders) != MaxActivityOrders || a.OlderOrders != 3 || a.OlderSpent["USD"] != 300 {
		t.Errorf("kept %d orders, %d older worth %v; want %d, 3, 300", len(a.Orders), a.OlderOrders, a.OlderSpent, MaxActivityOrders)
	}
	if !a.Orders[0].At.Equal(base.Add(3 * time.Minute)) {
		t.Errorf("oldest kept order at %v, want the fourth", a.Orders[0].At)
	}
}

func TestActivityEncodingRefusesDamage(t *testing.T) {
	a := Activity{Orders: []ActivityOrder{{At: time.Unix(100, 5).UTC(), Total: -3, Currency: "USD", CheckoutID: "k"}},
		OlderOrders: 2, OlderSpent: map[string]int64{"EUR": 7}, Views: []ActivityView{{At: time.Unix(200, 0).UTC(), Product: "p"}},
		Checkouts: []ActivityCheckout{{At: time.Unix(300, 0).UTC(), ID: "k"}}, LastClickAt: time.Unix(400, 0).UTC()}
	raw := a.encode()
	back, err := decodeActivity(raw)
	if err != nil || !reflect.DeepEqual(back, a) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for n := 1; n < len(raw); n++ {
		if _, err := decodeActivity(raw[:n]); !errors.Is(err, errActivityEncoding) {
			t.Errorf("cut to %d of %d bytes: %v, want errActivityEncoding", n, len(raw), err)
		}
	}
	if _, err := decodeActivity([]byte{9}); !errors.Is(err, errActivityEncoding) {
		t.Errorf("unknown encoding: %v", err)
	}
}

func TestTagIndexFollowsContacts(t *testing.T) {
	db := openTest(t)
	a, err := db.CreateContact(Contact{Number: "+15550101", Tags: []string{"VIP", "new"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateContact(Contact{Number: "+15550102", Tags: []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagged(t, db, "vip"); !slices.Equal(got, []uint64{a.ID, b.ID}) {
		t.Errorf("vip = %v", got)
	}
	if got := tagged(t, db, "vip", "new"); !slices.Equal(got, []uint64{a.ID}) {
		t.Errorf("vip and new = %v", got)
	}
	if _, err := db.UpdateContact(a.ID, func(c *Contact) error { c.Tags = []string{"new"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertContacts([]ContactUpsert{{Contact: Contact{Number: "+15550102", Tags: []string{"gold"}}}}); err != nil {
		t.Fatal(err)
	}
	if got := tagged(t, db, "vip"); !slices.Equal(got, []uint64{b.ID}) {
		t.Errorf("vip after the update = %v", got)
	}
	if got := tagged(t, db, "gold"); !slices.Equal(got, []uint64{b.ID}) {
		t.Errorf("gold after the import merge = %v", got)
	}
	if err := db.DeleteContact(b.ID); err != nil {
		t.Fatal(err)
	}
	if got := tagged(t, db, "vip"); len(got) != 0 {
		t.Errorf("vip after the delete = %v", got)
	}
}

func TestEraseRemovesSegmentData(t *testing.T) {
	db := openTest(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := db.CreateContact(Contact{Number: "+15550100", Tags: []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	fillActivity(t, db, "+15550100", base)
	fillActivity(t, db, "+15550199", base)
	if _, err := db.EraseNumber("+15550100"); err != nil {
		t.Fatal(err)
	}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketActivity).Get([]byte("+15550100")) != nil {
			t.Error("the erased number's activity is still stored")
		}
		if tx.Bucket(bucketActivity).Get([]byte("+15550199")) == nil {
			t.Error("another number's activity went with it")
		}
		if tx.Bucket(bucketContactsByTag).Get(tagKey("vip", c.ID)) != nil {
			t.Error("the erased contact is still in the tag index")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSegmentsMigrationBuildsIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []uint64
	for i, n := range []string{"+15550100", "+15550101", "+15550102"} {
		c, err := db.CreateContact(Contact{Number: n, Tags: []string{"vip", []string{"a", "b", "c"}[i]}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		if i < 2 {
			fillActivity(t, db, n, base.Add(time.Duration(i)*time.Hour))
		}
	}
	want := map[string]Activity{}
	for _, n := range []string{"+15550100", "+15550101", "+15550102"} {
		if want[n], err = db.ActivityOf(n); err != nil {
			t.Fatal(err)
		}
	}
	// Back to what the binary before the segments left.
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketSegments, bucketContactsByTag, bucketActivity} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyVersion, u64(segmentsStepFrom(t)))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for n, w := range want {
		got, err := db.ActivityOf(n)
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("%s after the migration: %+v, %v\nwant %+v", n, got, err, w)
		}
	}
	if got := tagged(t, db, "vip"); !slices.Equal(got, ids) {
		t.Errorf("vip after the migration = %v, want %v", got, ids)
	}
	if got := tagged(t, db, "b"); !slices.Equal(got, ids[1:2]) {
		t.Errorf("b after the migration = %v", got)
	}
	if segs, err := db.Segments(); err != nil || len(segs) != 0 {
		t.Errorf("segments after the migration: %v, %v", segs, err)
	}
}

func TestSegmentRecords(t *testing.T) {
	db := openTest(t)
	s, err := db.SaveSegment(Segment{Name: " VIPs ", Definition: json.RawMessage(`{"match":"all","rules":[]}`)})
	if err != nil || s.ID == 0 || s.Name != "VIPs" {
		t.Fatalf("SaveSegment = %+v, %v", s, err)
	}
	for _, bad := range []Segment{{Name: "", Definition: json.RawMessage(`{}`)}, {Name: "x", Definition: json.RawMessage(`{`)}} {
		var fe *FieldError
		if _, err := db.SaveSegment(bad); !errors.As(err, &fe) {
			t.Errorf("SaveSegment(%+v) = %v, want a FieldError", bad, err)
		}
	}
	s.Name = "Best customers"
	if _, err := db.SaveSegment(s); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveSegment(Segment{ID: 99, Name: "x", Definition: json.RawMessage(`{}`)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("saving an unknown ID: %v", err)
	}
	all, err := db.Segments()
	if err != nil || len(all) != 1 || all[0].Name != "Best customers" || !all[0].CreatedAt.Equal(s.CreatedAt) {
		t.Errorf("Segments = %+v, %v", all, err)
	}
	if err := db.DeleteSegment(s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetSegment(s.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := db.DeleteSegment(s.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestScanConsentAgreesWithDecoding(t *testing.T) {
	trick := `he said "marketing":3, "opted_out_all":true`
	for _, c := range []Consent{
		{Number: "+15550100"},
		{Number: "+15550100", Marketing: MarketingConfirmed, ConfirmedAt: time.Now(), RecentMarketing: []time.Time{time.Now()}},
		{Number: "+15550100", Marketing: MarketingPending, Review: true, ReviewText: trick},
		{Number: "+15550100", Marketing: MarketingOptedOut, OptedOutAll: true, OptOutByKeyword: true, LastReply: map[string]time.Time{"stop": time.Now()}},
		{Number: "+15550100", Marketing: MarketingConfirmed, OptedOutAll: true, ReviewText: trick},
	} {
		raw, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var want SegmentConsent
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := scanConsent(raw)
		if !ok || got != want {
			t.Errorf("scanConsent(%s) = %+v, %v; decoding gives %+v", raw, got, ok, want)
		}
	}
	if _, ok := scanConsent([]byte(`{"number":"+1","marketing":"x"}`)); ok {
		t.Error("an unexpected record was read instead of decoded")
	}
}

func TestScanSegmentReadsNumbersOfAnyContact(t *testing.T) {
	db := openTest(t)
	want := map[uint64]string{}
	for i, c := range []Contact{
		{Number: "+15550101", Name: `Ann "number":"+19999999999"`},
		{Number: "+15550102", Attributes: map[string]string{"number": "+18888888888"}},
		{Number: "+15550103", Name: "Zoë", Tags: []string{"vip"}},
	} {
		stored, err := db.CreateContact(c)
		if err != nil {
			t.Fatal(err)
		}
		want[stored.ID] = c.Number
		if i == 0 {
			if err := db.DeleteContact(stored.ID); err != nil {
				t.Fatal(err)
			}
			delete(want, stored.ID)
			if stored, err = db.CreateContact(c); err != nil {
				t.Fatal(err)
			}
			want[stored.ID] = c.Number
		}
	}
	got := map[uint64]string{}
	var order []uint64
	if err := db.ScanSegment(SegmentScan{}, func(r *SegmentRow) error {
		got[r.ID] = r.Number
		order = append(order, r.ID)
		c, err := r.Contact()
		if err != nil || c.Number != r.Number {
			t.Errorf("contact %d decodes as %+v, %v", r.ID, c, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !slices.IsSorted(order) {
		t.Errorf("scan saw %v in order %v, want %v", got, order, want)
	}
}

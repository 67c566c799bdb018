package store

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func confirmConsent(c *Consent) error { c.Marketing = MarketingConfirmed; return nil }

func TestAppendConsent(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	const n = "+15550100"
	ev, c, added, err := db.AppendConsent(ConsentEvent{Number: n, Type: "opt_in", Purpose: "marketing", Method: "web_form",
		Source: "https://shop.example/join", IP: "192.0.2.7"}, confirmConsent)
	if err != nil || !added {
		t.Fatalf("AppendConsent = %v, %v", added, err)
	}
	if ev.ID == 0 || !ev.At.Equal(clk.now()) || ev.At.Location() != time.UTC {
		t.Errorf("event %+v: want an ID and At = now in UTC", ev)
	}
	if c.Number != n || c.Marketing != MarketingConfirmed || !c.UpdatedAt.Equal(clk.now()) {
		t.Errorf("consent %+v", c)
	}
	clk.advance(time.Minute)
	at := time.Date(2025, 3, 14, 10, 0, 0, 0, time.FixedZone("CDT", -5*3600))
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: n, Type: "opt_out", Purpose: "all", Method: "keyword", At: at},
		func(c *Consent) error { c.Marketing, c.OptedOutAll = MarketingOptedOut, true; return nil }); err != nil {
		t.Fatal(err)
	}
	// Another number's ledger is its own.
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: n + "1", Type: "opt_in", Method: "api"}, nil); err != nil {
		t.Fatal(err)
	}
	evs, err := db.ConsentEvents(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Type != "opt_in" || evs[0].IP != "192.0.2.7" || evs[1].Type != "opt_out" ||
		!evs[1].At.Equal(at) || evs[1].At.Location() != time.UTC {
		t.Errorf("ledger %+v", evs)
	}
	if c, err := db.Consent(n); err != nil || c.Marketing != MarketingOptedOut || !c.OptedOutAll || !c.UpdatedAt.Equal(clk.now()) {
		t.Errorf("Consent = %+v, %v", c, err)
	}
	if c, err := db.Consent("+15559999"); err != nil || c.Number != "+15559999" || c.Marketing != MarketingNone {
		t.Errorf("Consent of an unknown number = %+v, %v; want the zero value with its number", c, err)
	}
	if evs, err := db.ConsentEvents("+15559999"); err != nil || len(evs) != 0 {
		t.Errorf("ConsentEvents of an unknown number = %v, %v", evs, err)
	}

	// apply's error aborts: nothing is appended or changed.
	boom := errors.New("boom")
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: n, Type: "opt_in", Method: "api"},
		func(c *Consent) error { c.Marketing = MarketingConfirmed; return boom }); err != boom {
		t.Errorf("apply error: %v, want it as is", err)
	}
	if evs, _ := db.ConsentEvents(n); len(evs) != 2 {
		t.Errorf("ledger has %d events after an aborted append, want 2", len(evs))
	}
	if c, _ := db.Consent(n); c.Marketing != MarketingOptedOut {
		t.Errorf("aborted append changed consent to %v", c.Marketing)
	}

	var fe *FieldError
	for field, ev := range map[string]ConsentEvent{"number": {Type: "opt_in"}, "type": {Number: n}} {
		if _, _, _, err := db.AppendConsent(ev, nil); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("missing %s: %v, want FieldError", field, err)
		}
	}
}

func TestAppendConsentIdempotentPerInbound(t *testing.T) {
	db := openTest(t)
	const n = "+15550100"
	stop := ConsentEvent{Number: n, Type: "opt_out", Purpose: "all", Method: "keyword", Keyword: "STOP", InboundID: 41}
	calls := 0
	apply := func(c *Consent) error { calls++; c.Marketing = MarketingOptedOut; return nil }
	first, _, added, err := db.AppendConsent(stop, apply)
	if err != nil || !added {
		t.Fatalf("first = %v, %v", added, err)
	}
	// The same STOP handled again (a crash before MarkInboundHandled).
	again, c, added, err := db.AppendConsent(stop, apply)
	if err != nil || added || again.ID != first.ID || c.Marketing != MarketingOptedOut {
		t.Errorf("again = %+v, %+v, %v, %v; want the first event, not added", again, c, added, err)
	}
	if calls != 1 {
		t.Errorf("apply ran %d times, want 1", calls)
	}
	// Another type for the same text, or the same type for another text, is new.
	if _, _, added, _ := db.AppendConsent(ConsentEvent{Number: n, Type: "opt_out_review", InboundID: 41}, nil); !added {
		t.Error("another type for the same inbound was not added")
	}
	stop.InboundID = 42
	if _, _, added, _ := db.AppendConsent(stop, apply); !added {
		t.Error("the same type for another inbound was not added")
	}
	// Events without an inbound text are never de-duplicated.
	for range 2 {
		if _, _, added, _ := db.AppendConsent(ConsentEvent{Number: n, Type: "opt_in", Method: "console"}, nil); !added {
			t.Error("console opt-in not added")
		}
	}
	if evs, _ := db.ConsentEvents(n); len(evs) != 5 {
		t.Errorf("ledger has %d events, want 5", len(evs))
	}
}

// TestSuppressionRules: an erased number comes back only by the person's
// own act (R-GDPR-2).
func TestSuppressionRules(t *testing.T) {
	tests := []struct {
		typ          ConsentEventType
		method       ConsentMethod
		wantErr      bool
		wantLifted   bool
		wantRecorded bool
	}{
		{"opt_in", "import", true, false, false},
		{"opt_in", "api", true, false, false},
		{"opt_in", "pos", true, false, false},
		{"opt_in", "console", true, false, false},
		{"doi_request", "api", true, false, false},
		{"doi_confirm", "", true, false, false},
		{"resubscribe", "api", true, false, false},
		{"opt_in", "keyword", false, true, true},
		{"opt_in", "web_form", false, true, true},
		{"doi_request", "web_form", false, true, true},
		{"resubscribe", "keyword", false, true, true},
		{"opt_out", "keyword", false, false, true}, // recorded; the suppression stays
		{"opt_out", "api", false, false, true},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ)+"/"+string(tc.method), func(t *testing.T) {
			db := openTest(t)
			const n = "+15550100"
			suppress(t, db, n)
			_, _, _, err := db.AppendConsent(ConsentEvent{Number: n, Type: tc.typ, Method: tc.method}, confirmConsent)
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrSuppressed) || !strings.Contains(err.Error(), n)) {
				t.Errorf("err = %v, want ErrSuppressed naming the number", err)
			}
			if s, _ := db.IsSuppressed(n); s == tc.wantLifted {
				t.Errorf("suppressed = %v after %s by %s", s, tc.typ, tc.method)
			}
			if evs, _ := db.ConsentEvents(n); (len(evs) == 1) != tc.wantRecorded {
				t.Errorf("ledger %+v, recorded want %v", evs, tc.wantRecorded)
			}
		})
	}
}

func TestReviewQueue(t *testing.T) {
	db := openTest(t)
	review := func(n string, inbound uint64) {
		t.Helper()
		if _, _, _, err := db.AppendConsent(ConsentEvent{Number: n, Type: "opt_out_review", InboundID: inbound},
			func(c *Consent) error {
				c.Review, c.ReviewInboundID, c.ReviewText = true, inbound, "pls stop"
				return nil
			}); err != nil {
			t.Fatal(err)
		}
	}
	review("+15550300", 5)
	review("+15550100", 9)
	review("+15550200", 7)
	q, err := db.ReviewQueue()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range q {
		got = append(got, c.Number)
	}
	if !slices.Equal(got, []string{"+15550300", "+15550200", "+15550100"}) {
		t.Errorf("queue %v, want in the order the texts came", got)
	}
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: "+15550200", Type: "review_resolved", Method: "console", Actor: "ann"},
		func(c *Consent) error { c.Review, c.ReviewText, c.ReviewInboundID = false, "", 0; return nil }); err != nil {
		t.Fatal(err)
	}
	if q, _ := db.ReviewQueue(); len(q) != 2 || q[0].Number != "+15550300" || q[1].Number != "+15550100" {
		t.Errorf("queue after resolving: %+v", q)
	}
	if q, _ := (openTest(t)).ReviewQueue(); q == nil || len(q) != 0 {
		t.Errorf("empty queue = %#v, want an empty slice", q)
	}
}

func TestAdmitSend(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	const n = "+15550100"
	m, _, err := db.Enqueue(Message{To: n, Text: "Sale!", Kind: KindMarketing, Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: n, Type: "opt_in", Method: "api"}, confirmConsent); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)

	// fn's error: nothing written, error as is.
	boom := errors.New("boom")
	_, _, err = db.AdmitSend(m.ID, func(m *Message, c *Consent, _ bool) error {
		m.Status = StatusSending
		c.RecentMarketing = append(c.RecentMarketing, clk.now())
		return boom
	})
	if err != boom {
		t.Errorf("fn error: %v, want it as is", err)
	}
	if got, _ := db.Get(m.ID); got.Status != StatusQueued {
		t.Errorf("message status %v after an aborted admit", got.Status)
	}
	if c, _ := db.Consent(n); len(c.RecentMarketing) != 0 {
		t.Errorf("consent changed by an aborted admit: %+v", c)
	}

	// Both written, the message reindexed.
	gotM, gotC, err := db.AdmitSend(m.ID, func(m *Message, c *Consent, suppressed bool) error {
		if suppressed || c.Marketing != MarketingConfirmed || m.Text != "Sale!" {
			t.Errorf("fn saw %+v, %+v, %v", m, c, suppressed)
		}
		m.Status, m.AdmittedAt = StatusSending, clk.now()
		c.RecentMarketing = append(c.RecentMarketing, clk.now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotM.Status != StatusSending || !gotM.UpdatedAt.Equal(clk.now()) || len(gotC.RecentMarketing) != 1 || !gotC.UpdatedAt.Equal(clk.now()) {
		t.Errorf("AdmitSend = %+v, %+v", gotM, gotC)
	}
	if ids, _ := db.IDsByStatus(StatusSending); !slices.Equal(ids, []uint64{m.ID}) {
		t.Errorf("sending index %v", ids)
	}
	if due, _ := db.Due(clk.now().Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("still due: %v", due)
	}
	if c, _ := db.Consent(n); len(c.RecentMarketing) != 1 {
		t.Errorf("stored consent %+v", c)
	}

	// A transactional text to a stranger writes no Consent record, and the
	// suppression flag reaches fn.
	suppress(t, db, "+15550999")
	tx, _, _ := db.Enqueue(Message{To: "+15550999", Text: "Receipt", Kind: KindTransactional})
	var saw bool
	if _, _, err := db.AdmitSend(tx.ID, func(m *Message, c *Consent, suppressed bool) error {
		saw = suppressed
		m.Status = StatusSuppressed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !saw {
		t.Error("fn was not told the number is suppressed")
	}
	db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketConsent).Get([]byte("+15550999")) != nil {
			t.Error("an unchanged Consent was written")
		}
		return nil
	})
	if _, _, err := db.AdmitSend(9999, func(*Message, *Consent, bool) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown message: %v, want ErrNotFound", err)
	}
}

// TestAdmitSendCapRace: many SIMs admitting texts to one number at once
// never take more cap slots than there are.
func TestAdmitSendCapRace(t *testing.T) {
	db := openTest(t)
	const n, slots, texts = "+15550100", 3, 20
	var ids []uint64
	for range texts {
		m, _, err := db.Enqueue(Message{To: n, Text: "Sale!", Kind: KindMarketing})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	var mu sync.Mutex
	sent := 0
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			var ok bool
			_, _, err := db.AdmitSend(id, func(m *Message, c *Consent, _ bool) error {
				ok = len(c.RecentMarketing) < slots
				if ok {
					c.RecentMarketing = append(c.RecentMarketing, time.Now())
					m.Status = StatusSending
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				sent++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if sent != slots {
		t.Errorf("%d texts admitted, want %d", sent, slots)
	}
	if ids, _ := db.IDsByStatus(StatusSending); len(ids) != slots {
		t.Errorf("%d messages sending, want %d", len(ids), slots)
	}
}

// TestConsentVocabularyOnDisk: the constants are the strings ledgers in
// the field already hold; changing one would orphan every entry using it.
func TestConsentVocabularyOnDisk(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{string(EventOptIn), "opt_in"}, {string(EventDOIRequest), "doi_request"}, {string(EventDOIConfirm), "doi_confirm"},
		{string(EventOptOut), "opt_out"}, {string(EventOptOutReview), "opt_out_review"},
		{string(EventReviewResolved), "review_resolved"}, {string(EventResubscribe), "resubscribe"},
		{string(EventErasure), "erasure"},
		{string(PurposeMarketing), "marketing"}, {string(PurposeAll), "all"},
		{string(MethodWebForm), "web_form"}, {string(MethodKeyword), "keyword"}, {string(MethodPOS), "pos"},
		{string(MethodImport), "import"}, {string(MethodAPI), "api"}, {string(MethodConsole), "console"},
	} {
		if tc.got != tc.want {
			t.Errorf("constant for %q is %q", tc.want, tc.got)
		}
	}
	db := openTest(t)
	ev, _, _, err := db.AppendConsent(ConsentEvent{Number: "+15550100", Type: EventOptIn, Purpose: PurposeMarketing,
		Method: MethodWebForm, InboundID: 9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.bolt.View(func(tx *bbolt.Tx) error {
		raw := string(tx.Bucket(bucketConsentEvents).Get(u64(ev.ID)))
		if !strings.Contains(raw, `"type":"opt_in","purpose":"marketing","method":"web_form"`) {
			t.Errorf("stored event %s", raw)
		}
		if tx.Bucket(bucketConsentByInbound).Get(append(u64(9), "opt_in"...)) == nil {
			t.Error("consent_by_inbound key is not inbound ID | \"opt_in\"")
		}
		return nil
	})
}

package store

import (
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func kindsOf(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind)
	}
	return out
}

// TestChangeFeedRecordsStoreWrites: a status change, an inbound text and
// consent entries each append a change in their own transaction; an update
// that keeps the status appends none.
func TestChangeFeedRecordsStoreWrites(t *testing.T) {
	db := openTest(t)
	var heard atomic.Int32
	db.OnChange(func() { heard.Add(1) })

	m, _, err := db.Enqueue(Message{To: "+15550100", Text: "hi", Kind: KindTransactional})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Update(m.ID, func(m *Message) error { m.Status = StatusSending; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Update(m.ID, func(m *Message) error { m.Attempts++; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddInboundPart(part("m1", "+15550100", 0, 0, 1, "STOP"), joinParts); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []ConsentEventType{EventOptOut, EventDOIRequest, EventOptOutReview} {
		if _, _, _, err := db.AppendConsent(ConsentEvent{Number: "+15550100", Type: typ, Purpose: PurposeMarketing, Method: MethodKeyword}, nil); err != nil {
			t.Fatal(err)
		}
	}

	cs, err := db.ChangesAfter(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ChangeMessageStatus, ChangeMessageStatus, ChangeMessageInbound, ChangeConsentOptOut, ChangeConsentReview}
	if got := kindsOf(cs); !slices.Equal(got, want) {
		t.Fatalf("kinds %v, want %v", got, want)
	}
	var mc MessageChange
	if err := json.Unmarshal(cs[1].Data, &mc); err != nil {
		t.Fatal(err)
	}
	if mc.ID != m.ID || mc.Status != "sending" || mc.Previous != "queued" || mc.To != "+15550100" {
		t.Errorf("status change data %+v", mc)
	}
	var in InboundChange
	if err := json.Unmarshal(cs[2].Data, &in); err != nil || in.Text != "STOP" || in.From != "+15550100" {
		t.Errorf("inbound change %+v (%v)", in, err)
	}
	for i, c := range cs {
		if c.Seq != uint64(i+1) {
			t.Errorf("change %d has seq %d", i, c.Seq)
		}
	}
	if heard.Load() == 0 {
		t.Error("OnChange was never called")
	}
}

// TestDispatchChanges: every change becomes a delivery for each endpoint
// that wants its kind and for the message's callback, and the cursor moves
// in the same transaction, so a second dispatch makes nothing.
func TestDispatchChanges(t *testing.T) {
	db := openTest(t)
	all, err := db.PutWebhookEndpoint(WebhookEndpoint{URL: "https://a.example/h", Secret: "whsec_x", Kinds: ChangeKinds()})
	if err != nil {
		t.Fatal(err)
	}
	inboundOnly, err := db.PutWebhookEndpoint(WebhookEndpoint{URL: "https://b.example/h", Secret: "whsec_y", Kinds: []string{ChangeMessageInbound}})
	if err != nil {
		t.Fatal(err)
	}
	cb := &Callback{URL: "https://shop.example/status?x=1", Format: "twilio"}
	m, _, err := db.Enqueue(Message{To: "+15550100", Text: "hi", Kind: KindTransactional, Callback: cb})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddInboundPart(part("m1", "+15550100", 0, 0, 1, "hello"), joinParts); err != nil {
		t.Fatal(err)
	}
	targets, more, err := db.DispatchChanges(1)
	if err != nil || !more {
		t.Fatalf("first dispatch: more %v err %v", more, err)
	}
	if want := []string{"cb:shop.example", all.Target()}; !slices.Equal(targets, want) {
		t.Errorf("targets %v, want %v", targets, want)
	}
	if _, more, err = db.DispatchChanges(10); err != nil || more {
		t.Fatalf("second dispatch: more %v err %v", more, err)
	}
	if targets, _, _ := db.DispatchChanges(10); len(targets) != 0 {
		t.Errorf("a dispatch with nothing new made deliveries for %v", targets)
	}

	d, ok, err := db.NextPendingDelivery("cb:shop.example")
	if err != nil || !ok {
		t.Fatalf("callback delivery: %v %v", ok, err)
	}
	if d.MessageID != m.ID || d.URL != cb.URL || d.Format != "twilio" || d.Change.Kind != ChangeMessageStatus {
		t.Errorf("callback delivery %+v", d)
	}
	ds, err := db.WebhookDeliveries(all.Target(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ds); got != 2 || ds[0].Change.Kind != ChangeMessageInbound || ds[1].Change.Kind != ChangeMessageStatus {
		t.Errorf("endpoint deliveries newest first: %+v", ds)
	}
	if ds, _ := db.WebhookDeliveries(inboundOnly.Target(), 0, 10); len(ds) != 1 || ds[0].Change.Kind != ChangeMessageInbound {
		t.Errorf("inbound-only endpoint got %+v", ds)
	}
	targetsWaiting, err := db.PendingTargets()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cb:shop.example", all.Target(), inboundOnly.Target()}; !slices.Equal(targetsWaiting, want) {
		t.Errorf("pending targets %v, want %v", targetsWaiting, want)
	}

	// Delivered in order: the head leaves the pending index and the next
	// one is the inbound text.
	head, _, _ := db.NextPendingDelivery(all.Target())
	if _, err := db.RecordWebhookAttempt(all.Target(), head.Seq, &WebhookAttempt{Status: 200}, DeliveryDelivered, time.Time{}); err != nil {
		t.Fatal(err)
	}
	next, ok, _ := db.NextPendingDelivery(all.Target())
	if !ok || next.Change.Kind != ChangeMessageInbound {
		t.Errorf("after the head was delivered the next is %+v", next)
	}
	if n, _ := db.CountPendingDeliveries(); n != 3 {
		t.Errorf("pending %d, want 3", n)
	}
	if err := db.DeleteWebhookEndpoint(all.ID); err != nil {
		t.Fatal(err)
	}
	if ds, _ := db.WebhookDeliveries(all.Target(), 0, 10); len(ds) != 0 {
		t.Errorf("deleted endpoint kept deliveries %+v", ds)
	}
	if _, err := db.WebhookEndpoint(all.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted endpoint: %v", err)
	}
}

// TestPruneChanges: an entry goes only once every cursor has passed it and
// it is older than the retention.
func TestPruneChanges(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	if _, err := db.PutWebhookEndpoint(WebhookEndpoint{URL: "https://a.example/h", Kinds: []string{ChangeModemDown}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := db.AppendChange(ChangeModemDown, "m1", map[string]string{"modem": "m1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.DispatchChanges(2); err != nil { // the cursor passes two
		t.Fatal(err)
	}
	if n, _ := db.PruneChanges(100); n != 0 {
		t.Fatalf("pruned %d fresh changes", n)
	}
	c.advance(ChangeRetention + time.Minute)
	if n, _ := db.PruneChanges(100); n != 2 {
		t.Fatalf("pruned %d, want the 2 the cursor passed", n)
	}
	cs, _ := db.ChangesAfter(0, 10)
	if len(cs) != 1 || cs[0].Seq != 3 {
		t.Errorf("left %+v", cs)
	}
	if seq, _ := db.LastChangeSeq(); seq != 3 {
		t.Errorf("last seq %d", seq)
	}
}

// TestLinkClickChanges: each click is a link.click change in the
// transaction that records it; previews by robots are not.
func TestLinkClickChanges(t *testing.T) {
	db := openTest(t)
	if _, err := db.EnsureLinks([]Link{{URL: "https://a.example/1", Number: "+15550100", Origin: "flow:1:entry:1:step:1", MessageKey: "k1"}},
		codes("AAAAAAA")); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	if err := db.RecordClicks([]Click{{Code: "AAAAAAA", At: at, Agent: "browser"}, {Code: "AAAAAAA", At: at, Agent: "Slackbot", Preview: true}}); err != nil {
		t.Fatal(err)
	}
	cs, err := db.ChangesAfter(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Kind != ChangeLinkClick || cs[0].Subject != "+15550100" {
		t.Fatalf("changes %+v", cs)
	}
	var lc LinkClickChange
	if err := json.Unmarshal(cs[0].Data, &lc); err != nil || lc.URL != "https://a.example/1" || lc.Origin != "flow:1:entry:1:step:1" {
		t.Errorf("click data %+v %v", lc, err)
	}
}

// TestDispatchWithoutReceiversWritesNothing: changes no endpoint or
// callback wants leave the stored cursor alone (no commit per text on a
// box without webhooks); the caller keeps the position. An endpoint made
// later gets only what happens from then on, even after a restart reads
// the unrecorded stretch again.
func TestDispatchWithoutReceiversWritesNothing(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	for range 3 {
		if _, err := db.AppendChange(ChangeModemDown, "m1", nil); err != nil {
			t.Fatal(err)
		}
	}
	before := db.CommitStats()
	targets, next, more, err := db.DispatchChangesFrom(0, 10)
	if err != nil || len(targets) != 0 || more || next != 3 {
		t.Fatalf("targets %v next %d more %v err %v", targets, next, more, err)
	}
	if after := db.CommitStats(); after.Commits != before.Commits {
		t.Errorf("%d commits for changes nobody wants", after.Commits-before.Commits)
	}
	if cur, _ := db.ChangeCursor(WebhookCursor); cur != 0 {
		t.Errorf("stored cursor moved to %d", cur)
	}
	c.advance(time.Second)
	ep, err := db.PutWebhookEndpoint(WebhookEndpoint{URL: "https://a.example/h", Kinds: []string{ChangeModemDown}})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(time.Second)
	if _, err := db.AppendChange(ChangeModemDown, "m2", nil); err != nil {
		t.Fatal(err)
	}
	// As after a restart: from the stored cursor, not the remembered one.
	targets, next, _, err = db.DispatchChangesFrom(0, 10)
	if err != nil || len(targets) != 1 || next != 4 {
		t.Fatalf("targets %v next %d err %v", targets, next, err)
	}
	ds, _ := db.WebhookDeliveries(ep.Target(), 0, 10)
	if len(ds) != 1 || ds[0].Change.Subject != "m2" {
		t.Errorf("the new endpoint got %+v", ds)
	}
	if cur, _ := db.ChangeCursor(WebhookCursor); cur != 4 {
		t.Errorf("stored cursor %d, want 4", cur)
	}
}

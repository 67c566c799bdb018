package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func shopEvent(id, typ, number string, at time.Time) ShopEvent {
	return ShopEvent{ID: id, Source: "api", Type: typ, Number: number, OccurredAt: at,
		Properties: json.RawMessage(`{"n":"` + id + `"}`)}
}

func TestAppendEventsLogAndDedup(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	at := clk.now().Add(-time.Hour)
	got, err := db.AppendEvents([]ShopEvent{
		shopEvent("e1", "checkout_started", "+12125550101", at),
		shopEvent("e2", "product_viewed", "+12125550101", at.Add(time.Minute)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Seq != 1 || got[1].Seq != 2 || !got[0].ReceivedAt.Equal(clk.now()) {
		t.Fatalf("stored %+v", got)
	}

	// The same (source, id) again is not stored; the first is returned
	// with Seq 0. The same id from another source is another event.
	clk.advance(time.Minute)
	again := shopEvent("e1", "checkout_started", "+12125550101", at)
	again.Properties = json.RawMessage(`{"changed":true}`)
	other := shopEvent("e1", "order_placed", "+12125550101", at)
	other.Source = "shopify"
	got, err = db.AppendEvents([]ShopEvent{again, other})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Seq != 0 || string(got[0].Properties) != `{"n":"e1"}` {
		t.Errorf("duplicate: got %+v, want the first event with Seq 0", got[0])
	}
	if got[1].Seq != 3 {
		t.Errorf("same id from another source: Seq %d, want 3", got[1].Seq)
	}

	log, err := db.EventsAfter(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].ID != "e2" || log[1].Source != "shopify" {
		t.Errorf("EventsAfter(1) = %+v", log)
	}
	if last, _ := db.LastEventSeq(); last != 3 {
		t.Errorf("LastEventSeq = %d, want 3", last)
	}
	if page, _ := db.EventsAfter(0, 2); len(page) != 2 || page[1].Seq != 2 {
		t.Errorf("EventsAfter(0, 2) = %+v", page)
	}
}

func TestAppendEventsRefusesBadBatchWhole(t *testing.T) {
	db := openTest(t)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	bad := []struct {
		name  string
		ev    ShopEvent
		field string
	}{
		{"no id", ShopEvent{Source: "api", Type: "x", Number: "+12125550101", OccurredAt: at}, "events[1].id"},
		{"no type", ShopEvent{ID: "a", Source: "api", Number: "+12125550101", OccurredAt: at}, "events[1].type"},
		{"no number", ShopEvent{ID: "a", Source: "api", Type: "x", OccurredAt: at}, "events[1].phone"},
		{"no time", ShopEvent{ID: "a", Source: "api", Type: "x", Number: "+12125550101"}, "events[1].occurred_at"},
		{"NUL in id", ShopEvent{ID: "a\x00b", Source: "api", Type: "x", Number: "+12125550101", OccurredAt: at}, "events[1].id"},
		{"huge properties", ShopEvent{ID: "a", Source: "api", Type: "x", Number: "+12125550101", OccurredAt: at,
			Properties: json.RawMessage(`"` + strings.Repeat("x", MaxEventProps) + `"`)}, "events[1].properties"},
		{"empty exit key", ShopEvent{ID: "a", Source: "api", Type: "x", Number: "+12125550101", OccurredAt: at, Ends: []string{""}}, "events[1].ends"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.AppendEvents([]ShopEvent{shopEvent("good", "x", "+12125550101", at), c.ev})
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err = %v, want a FieldError for %s", err, c.field)
			}
			if last, _ := db.LastEventSeq(); last != 0 {
				t.Fatalf("a refused batch stored events up to %d", last)
			}
		})
	}
}

func TestEventsOfIndex(t *testing.T) {
	db := openTest(t)
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var evs []ShopEvent
	for i := range 6 {
		typ := []string{"order_placed", "product_viewed"}[i%2]
		num := []string{"+12125550101", "+12125550102"}[i/3]
		// Out of order on purpose: the index orders by occurrence.
		evs = append(evs, shopEvent(fmt.Sprint("e", i), typ, num, base.Add(time.Duration(5-i)*time.Hour)))
	}
	if _, err := db.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	all, err := db.EventsOf("+12125550101", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].ID != "e2" || all[2].ID != "e0" {
		t.Errorf("EventsOf(all types) = %v, want e2 e1 e0", eventIDs(all))
	}
	orders, _ := db.EventsOf("+12125550101", "order_placed", base.Add(4*time.Hour))
	if len(orders) != 1 || orders[0].ID != "e0" {
		t.Errorf("orders since +4h = %v, want e0", eventIDs(orders))
	}
	// "+1212555010" must not match "+12125550101"'s keys.
	if none, _ := db.EventsOf("+1212555010", "", time.Time{}); len(none) != 0 {
		t.Errorf("a number that is a prefix of another got %v", eventIDs(none))
	}
	n, _ := db.CountEventsOf("+12125550102", "product_viewed", base, base.Add(3*time.Hour))
	if n != 2 { // e3 at +2h, e5 at +0h; not e4 (an order)
		t.Errorf("CountEventsOf = %d, want 2", n)
	}
	n, _ = db.CountEventsOf("+12125550102", "product_viewed", base, base.Add(2*time.Hour))
	if n != 1 {
		t.Errorf("CountEventsOf up to +2h (exclusive) = %d, want 1", n)
	}
	byType, _ := db.EventsOfType("order_placed", base, base.Add(24*time.Hour), 10)
	if len(byType) != 3 || byType[0].ID != "e4" || byType[2].ID != "e0" {
		t.Errorf("EventsOfType = %v, want e4 e2 e0", eventIDs(byType))
	}
}

func eventIDs(evs []ShopEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}

func TestOrderWithdrawsQueuedReminder(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	var heard []Message
	var mu sync.Mutex
	db.OnWithdrawn(func(ms []Message) { mu.Lock(); heard = append(heard, ms...); mu.Unlock() })

	key := "checkout:shopify:777"
	held, _, err := db.Enqueue(Message{To: "+12125550101", Text: "Rosa's: your cart", Kind: KindMarketing, ExitKey: key, Hold: "quiet hours"})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, _ := db.Enqueue(Message{To: "+12125550101", Text: "Rosa's: sent already", Kind: KindMarketing, ExitKey: key})
	if _, err := db.Update(gone.ID, func(m *Message) error { m.Status = StatusSent; return nil }); err != nil {
		t.Fatal(err)
	}
	other, _, _ := db.Enqueue(Message{To: "+12125550101", Text: "Rosa's: another cart", Kind: KindMarketing, ExitKey: "checkout:shopify:778"})
	if n := countKeys(t, db, bucketMsgByExit); n != 2 {
		t.Fatalf("exit index holds %d entries, want the 2 queued texts", n)
	}

	order := shopEvent("o1", "order_placed", "+12125550101", clk.now())
	order.Source, order.OrderID, order.CheckoutID, order.Ends = "shopify", "1001", "777", []string{key}
	if _, err := db.AppendEvents([]ShopEvent{order}); err != nil {
		t.Fatal(err)
	}
	m, _ := db.Get(held.ID)
	if m.Status != StatusSuppressed || m.Hold != "" || !strings.Contains(m.Error, "placed order 1001") ||
		m.History[len(m.History)-1].Note != "withdrawn: the customer placed order 1001" {
		t.Errorf("held reminder after the order: %+v", m)
	}
	if s, _ := db.Get(gone.ID); s.Status != StatusSent {
		t.Errorf("a text already handed to a modem changed: %v", s.Status)
	}
	if o, _ := db.Get(other.ID); o.Status != StatusQueued {
		t.Errorf("another checkout's text changed: %v", o.Status)
	}
	if n := countKeys(t, db, bucketMsgByExit); n != 1 {
		t.Errorf("exit index holds %d entries after the withdrawal, want 1", n)
	}
	mu.Lock()
	if len(heard) != 1 || heard[0].ID != held.ID {
		t.Errorf("OnWithdrawn heard %v", heard)
	}
	mu.Unlock()
	mark, ok, err := db.ExitMarked(key)
	if err != nil || !ok || mark.EventSeq != 1 || mark.Reason != "the customer placed order 1001" {
		t.Errorf("ExitMarked = %+v %v %v", mark, ok, err)
	}

	// A text queued after the mark (a flow that raced the order) is
	// refused at the guard's commit point without asking the guard.
	late, _, _ := db.Enqueue(Message{To: "+12125550101", Text: "Rosa's: late", Kind: KindMarketing, ExitKey: key})
	called := false
	got, _, err := db.AdmitSend(late.ID, func(*Message, *Consent, bool) error { called = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if called || got.Status != StatusSuppressed {
		t.Errorf("AdmitSend of an ended text: guard called %v, status %v", called, got.Status)
	}
}

func TestEventRetentionAndErasure(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	at := clk.now()
	if _, err := db.AppendEvents([]ShopEvent{shopEvent("old", "x", "+12125550101", at), shopEvent("old2", "x", "+12125550102", at)}); err != nil {
		t.Fatal(err)
	}
	clk.advance(48 * time.Hour)
	if _, err := db.AppendEvents([]ShopEvent{shopEvent("new", "x", "+12125550101", clk.now()), shopEvent("new2", "y", "+12125550102", clk.now())}); err != nil {
		t.Fatal(err)
	}
	n, err := db.PurgeEventsBefore(clk.now().Add(-24*time.Hour), 100)
	if err != nil || n != 2 {
		t.Fatalf("PurgeEventsBefore = %d, %v; want 2", n, err)
	}
	if evs, _ := db.EventsOf("+12125550101", "", time.Time{}); len(evs) != 1 || evs[0].ID != "new" {
		t.Errorf("after purge: %v", eventIDs(evs))
	}
	// A purged id may come again (the shop resent it after the retention
	// period): it is a new event then.
	if got, _ := db.AppendEvents([]ShopEvent{shopEvent("old", "x", "+12125550101", at)}); got[0].Seq == 0 {
		t.Errorf("an id purged by retention was taken for a duplicate")
	}

	subject, err := db.Subject("+12125550101")
	if err != nil || len(subject.ShopEvents) != 2 {
		t.Fatalf("Subject's shop events = %v, %v", eventIDs(subject.ShopEvents), err)
	}
	rep, err := db.EraseNumber("+12125550101")
	if err != nil || rep.ShopEvents != 2 {
		t.Fatalf("EraseNumber = %+v, %v", rep, err)
	}
	if evs, _ := db.EventsOf("+12125550101", "", time.Time{}); len(evs) != 0 {
		t.Errorf("erased number still has events %v", eventIDs(evs))
	}
	for _, b := range [][]byte{bucketEvents, bucketEventIDs, bucketEventsByNumber, bucketEventsByType} {
		if n := countKeys(t, db, b); n != 1 { // new2 of the other number
			t.Errorf("bucket %s holds %d keys after erasure, want 1", b, n)
		}
	}
}

func TestExitReasonReadsAsASentence(t *testing.T) {
	for _, c := range []struct {
		ev   ShopEvent
		want string
	}{
		{ShopEvent{OrderID: "1001", CheckoutID: "9"}, "the customer placed order 1001"},
		{ShopEvent{CheckoutID: "9", Type: "order_placed"}, "the customer completed checkout 9"},
		{ShopEvent{ID: "e7", Type: "refund", Source: "api"}, "the shop sent event e7 (refund, from api)"},
	} {
		if got := exitReason(&c.ev); got != c.want {
			t.Errorf("exitReason(%+v) = %q, want %q", c.ev, got, c.want)
		}
	}
}

package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func newTestFlow(t *testing.T, db *DB) Flow {
	t.Helper()
	f, err := db.CreateFlow(Flow{Name: "abandoned cart"}, json.RawMessage(`{"v":1}`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func enter(t *testing.T, db *DB, entries ...FlowEntry) []FlowEntry {
	t.Helper()
	res, err := db.CommitFlowBatch(FlowBatch{Enter: entries})
	if err != nil {
		t.Fatal(err)
	}
	return res.Entered
}

func TestFlowVersions(t *testing.T) {
	db := openTest(t)
	f := newTestFlow(t, db)
	if f.Version != 1 || f.Status != FlowActive {
		t.Fatalf("new flow %+v", f)
	}
	f2, err := db.UpdateFlow(f.ID, "", json.RawMessage(`{"v":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if f2.Version != 2 || f2.Name != "abandoned cart" {
		t.Fatalf("after edit %+v", f2)
	}
	for v, want := range map[int]string{1: `{"v":1}`, 2: `{"v":2}`} {
		got, err := db.GetFlowVersion(f.ID, v)
		if err != nil || string(got.Definition) != want {
			t.Errorf("version %d: %s, %v; want %s", v, got.Definition, err, want)
		}
	}
	if _, err := db.GetFlowVersion(f.ID, 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("version 3: %v, want ErrNotFound", err)
	}
	if _, err := db.CreateFlow(Flow{Name: " "}, nil); err == nil {
		t.Error("a flow without a name was stored")
	}
}

func TestFlowEntryOncePerKey(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	f := newTestFlow(t, db)
	e := FlowEntry{Flow: f.ID, Version: 1, Number: "+12015550123", Key: "checkout:shopify:1", EnteredAt: clk.now()}
	if got := enter(t, db, e, e); len(got) != 1 {
		t.Fatalf("the same checkout entered %d times in one batch, want 1", len(got))
	}
	if got := enter(t, db, e); len(got) != 0 {
		t.Fatalf("the same checkout entered again later")
	}
	// A key that may come back after a while (welcome, browse abandonment).
	r := FlowEntry{Flow: f.ID, Number: "+12015550123", Key: "number:+12015550123", ReenterAfter: time.Hour, EnteredAt: clk.now()}
	enter(t, db, r)
	r.EnteredAt = clk.now().Add(59 * time.Minute)
	if got := enter(t, db, r); len(got) != 0 {
		t.Fatal("re-entered before ReenterAfter")
	}
	r.EnteredAt = clk.now().Add(time.Hour)
	if got := enter(t, db, r); len(got) != 1 {
		t.Fatal("not re-entered after ReenterAfter")
	}
	c, _ := db.GetFlowCounters(f.ID)
	if c.Entered != 3 || c.Waiting != 3 {
		t.Errorf("counters %+v, want entered 3 waiting 3", c)
	}
}

func TestFlowDueIndex(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	f := newTestFlow(t, db)
	t0 := clk.now()
	var entries []FlowEntry
	for i, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		entries = append(entries, FlowEntry{Flow: f.ID, Number: "+1201555012" + string(rune('0'+i)), Key: string(rune('a' + i)), DueAt: t0.Add(d)})
	}
	got := enter(t, db, entries...)
	next, ok, err := db.NextFlowDue()
	if err != nil || !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("NextFlowDue = %v %v %v, want %v", next, ok, err, t0.Add(time.Hour))
	}
	due, err := db.DueFlowEntries(t0.Add(2*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].ID != got[1].ID || due[1].ID != got[2].ID {
		t.Fatalf("due at +2h: %d entries, want the +1h and +2h ones in that order", len(due))
	}
	// Done entries leave the index.
	if _, err := db.UpdateFlowEntry(got[1].ID, func(e *FlowEntry) error { e.State = EntryDone; return nil }); err != nil {
		t.Fatal(err)
	}
	next, _, _ = db.NextFlowDue()
	if !next.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("next due %v after the first finished, want +2h", next)
	}
	c, _ := db.GetFlowCounters(f.ID)
	if c.Waiting != 2 || c.Entered != 3 {
		t.Errorf("counters %+v, want entered 3 waiting 2", c)
	}
}

func TestFlowPauseResume(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	f := newTestFlow(t, db)
	e := enter(t, db, FlowEntry{Flow: f.ID, Number: "+12015550123", Key: "k", DueAt: clk.now().Add(time.Minute)})[0]
	if _, err := db.SetFlowStatus(f.ID, FlowPaused); err != nil {
		t.Fatal(err)
	}
	// The engine parks a due entry of a paused flow.
	if _, err := db.UpdateFlowEntry(e.ID, func(e *FlowEntry) error { e.State = EntryPaused; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.NextFlowDue(); ok {
		t.Fatal("a paused entry is still in the due index")
	}
	clk.advance(time.Hour)
	if _, err := db.SetFlowStatus(f.ID, FlowActive); err != nil {
		t.Fatal(err)
	}
	got, _ := db.GetFlowEntry(e.ID)
	if got.State != EntryWaiting || !got.DueAt.Equal(clk.now()) {
		t.Errorf("after resume: %s due %v, want waiting due now %v", got.State, got.DueAt, clk.now())
	}
	if c, _ := db.GetFlowCounters(f.ID); c.Waiting != 1 {
		t.Errorf("waiting %d, want 1 (paused entries count as waiting)", c.Waiting)
	}
	if _, err := db.SetFlowStatus(f.ID, "gone"); err == nil {
		t.Error("an unknown status was accepted")
	}
}

func TestFlowOrderExitsAndAttributes(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	cart := newTestFlow(t, db)
	welcome := newTestFlow(t, db)
	now := clk.now()
	es := enter(t, db,
		FlowEntry{Flow: cart.ID, Number: "+12015550123", Key: "checkout:shopify:1", ExitKey: "checkout:shopify:1"},
		FlowEntry{Flow: cart.ID, Number: "+12015550123", Key: "checkout:shopify:2", ExitKey: "checkout:shopify:2"},
		FlowEntry{Flow: welcome.ID, Number: "+12015550123", Key: "number:+12015550123"},
	)
	// The welcome entry and checkout 1 sent texts; checkout 1's is older.
	for _, x := range []struct {
		id uint64
		at time.Time
	}{{es[0].ID, now.Add(-2 * time.Hour)}, {es[2].ID, now.Add(-time.Hour)}} {
		if _, err := db.UpdateFlowEntry(x.id, func(e *FlowEntry) error {
			e.LastSentAt = x.at
			e.Steps = append(e.Steps, FlowStepRecord{Step: 1, Kind: "send", State: StepSubmitted, MessageID: x.id + 100, Sent: true})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.CommitFlowBatch(FlowBatch{EventCursor: 42, Orders: []FlowOrder{{
		Number: "+12015550123", ExitKeys: []string{"checkout:shopify:1"}, Seq: 99, OrderID: "1001",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ended) != 1 || res.Ended[0].ID != es[0].ID || res.Ended[0].State != EntryExited {
		t.Fatalf("ended %+v, want only checkout 1's entry", res.Ended)
	}
	if w, _ := db.GetFlowEntry(es[2].ID); w.State != EntryWaiting {
		t.Errorf("welcome entry %+v: the order ends only the checkout's entry", w)
	}
	c, _ := db.GetFlowCounters(cart.ID)
	if c.Orders != 0 || c.Sent != 1 || c.Waiting != 1 || c.Entered != 2 {
		t.Errorf("cart counters %+v: orders are attribution's, not the flow's", c)
	}
	if ev, _, _, _ := db.FlowCursors(); ev != 42 {
		t.Errorf("event cursor %d, want 42", ev)
	}
	// The pending-send index finds the entry of a text.
	if id, step, ok, _ := db.FlowEntryOfMessage(es[2].ID + 100); !ok || id != es[2].ID || step != 1 {
		t.Errorf("FlowEntryOfMessage = %d %d %v", id, step, ok)
	}
}

func TestFlowNumberExitAndErase(t *testing.T) {
	db := openTest(t)
	f := newTestFlow(t, db)
	es := enter(t, db,
		FlowEntry{Flow: f.ID, Number: "+12015550123", Key: "number:+12015550123"},
		FlowEntry{Flow: f.ID, Number: "+12015550124", Key: "number:+12015550124"},
	)
	res, err := db.CommitFlowBatch(FlowBatch{ConsentCursor: 7, Exits: []FlowNumberExit{{Number: "+12015550123", Reason: "opted out"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ended) != 1 || res.Ended[0].Reason != "opted out" {
		t.Fatalf("ended %+v", res.Ended)
	}
	subj, err := db.Subject("+12015550124")
	if err != nil || len(subj.FlowEntries) != 1 || subj.FlowEntries[0].ID != es[1].ID {
		t.Fatalf("subject data: %d flow entries, %v", len(subj.FlowEntries), err)
	}
	rep, err := db.EraseNumber("+12015550124")
	if err != nil {
		t.Fatal(err)
	}
	if rep.FlowEntries != 1 {
		t.Errorf("erased %d flow entries, want 1", rep.FlowEntries)
	}
	if _, err := db.GetFlowEntry(es[1].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("erased entry: %v", err)
	}
	if _, err := db.UpdateFlowEntry(es[1].ID, func(*FlowEntry) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("an erased entry was written again: %v", err)
	}
	if got, _ := db.FlowEntriesOf("+12015550124"); len(got) != 0 {
		t.Errorf("the number still lists %d entries", len(got))
	}
	c, _ := db.GetFlowCounters(f.ID)
	if c.Entered != 2 || c.Waiting != 0 {
		t.Errorf("counters %+v, want entered 2 waiting 0", c)
	}
	page, _, err := db.FlowEntries(f.ID, 0, 10)
	if err != nil || len(page) != 1 || page[0].ID != es[0].ID {
		t.Errorf("FlowEntries: %d entries, %v", len(page), err)
	}
	// The erased number may enter again: its key went with it.
	if got := enter(t, db, FlowEntry{Flow: f.ID, Number: "+12015550124", Key: "number:+12015550124"}); len(got) != 1 {
		t.Error("the once key of the erased entry was kept")
	}
}

func TestPruneFlowEntries(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	f := newTestFlow(t, db)
	es := enter(t, db,
		FlowEntry{Flow: f.ID, Number: "+12015550123", Key: "a"},
		FlowEntry{Flow: f.ID, Number: "+12015550124", Key: "b"},
	)
	if _, err := db.UpdateFlowEntry(es[0].ID, func(e *FlowEntry) error { e.State = EntryDone; return nil }); err != nil {
		t.Fatal(err)
	}
	clk.advance(200 * 24 * time.Hour)
	late := enter(t, db, FlowEntry{Flow: f.ID, Number: "+12015550125", Key: "c"})[0]
	if _, err := db.UpdateFlowEntry(late.ID, func(e *FlowEntry) error { e.State = EntryDone; return nil }); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneFlowEntries(clk.now().Add(-180*24*time.Hour), 100)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want the one old finished entry", n, err)
	}
	if _, err := db.GetFlowEntry(es[0].ID); !errors.Is(err, ErrNotFound) {
		t.Error("the old finished entry is still there")
	}
	for _, id := range []uint64{es[1].ID, late.ID} {
		if _, err := db.GetFlowEntry(id); err != nil {
			t.Errorf("entry %d: %v (an active or recent entry was pruned)", id, err)
		}
	}
	if c, _ := db.GetFlowCounters(f.ID); c.Entered != 3 || c.Waiting != 1 {
		t.Errorf("counters %+v: pruning changes no totals", c)
	}
}

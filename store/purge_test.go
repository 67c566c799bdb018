package store

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestPurgeBodies(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	const day = 24 * time.Hour
	enqueue := func(text string, s Status) Message {
		t.Helper()
		m, _, err := db.Enqueue(Message{To: "+15550100", Text: text, Kind: KindMarketing, Status: s})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	receive := func(text string) Inbound {
		t.Helper()
		in, _, err := db.AddInboundPart(InboundPart{Modem: "m1", From: "+15550100", Total: 1, TPDU: []byte(text)}, joinParts)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	// Day 0: old rows in every state; day 2: young ones.
	oldDelivered := enqueue("old delivered", StatusDelivered)
	oldQueued := enqueue("old queued", StatusQueued)
	oldFailed := enqueue("old failed", StatusFailed)
	oldHandled := receive("old thanks")
	oldPending := receive("old STOP")
	if err := db.MarkInboundHandled(oldHandled.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: "+15550100", Type: "opt_out_review", Note: "old STOP text"}, nil); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * day)
	young := enqueue("young", StatusDelivered)
	youngIn := receive("young hi")
	if err := db.MarkInboundHandled(youngIn.ID); err != nil {
		t.Fatal(err)
	}
	ledger, _ := db.ConsentEvents("+15550100")

	cutoff := clk.now().Add(-day)
	n, err := db.PurgeBodies(cutoff, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("purged %d, want 3 (two final messages, one handled text)", n)
	}
	wantMsgs := map[uint64]string{oldDelivered.ID: "", oldQueued.ID: "old queued", oldFailed.ID: "", young.ID: "young"}
	for id, want := range wantMsgs {
		m, err := db.Get(id)
		if err != nil {
			t.Fatalf("message %d gone: %v", id, err)
		}
		if m.Text != want || m.BodyPurged != (want == "") || m.Status == 0 || len(m.History) == 0 {
			t.Errorf("message %d = %q purged %v, want %q", id, m.Text, m.BodyPurged, want)
		}
	}
	inbox, _, _ := db.Inbox(0, 10)
	if got := inboundTexts(inbox); !slices.Equal(got, []string{"young hi", "old STOP", ""}) || !inbox[2].BodyPurged {
		t.Errorf("inbox %q, want the handled old text blanked, the pending STOP kept", got)
	}
	after, _ := db.ConsentEvents("+15550100")
	if a, b := mustJSON(t, ledger), mustJSON(t, after); a != b {
		t.Errorf("the ledger changed:\n%s\n%s", a, b)
	}

	// Nothing more to do until the held rows are done with.
	if n, _ := db.PurgeBodies(cutoff, 0); n != 0 {
		t.Errorf("second purge changed %d rows", n)
	}
	if _, err := db.Update(oldQueued.ID, func(m *Message) error { m.Status = StatusExpired; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkInboundHandled(oldPending.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.PurgeBodies(cutoff, 0); n != 2 {
		t.Errorf("purge after the held rows finished changed %d, want 2", n)
	}
	if m, _ := db.Get(oldQueued.ID); m.Text != "" || !m.BodyPurged {
		t.Errorf("expired message %+v not purged", m)
	}
	// A later cutoff reaches the young rows, from where the cursor stopped.
	if n, _ := db.PurgeBodies(clk.now().Add(time.Second), 0); n != 2 {
		t.Errorf("purge of the young rows changed %d, want 2", n)
	}
}

func TestPurgeBodiesLimit(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	for range 5 {
		if _, _, err := db.Enqueue(Message{To: "+15550100", Text: "x", Status: StatusDelivered}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.AddInboundPart(InboundPart{Modem: "m1", From: "+15550100", Total: 1, TPDU: []byte("y")}, joinParts); err != nil {
		t.Fatal(err)
	}
	p, _ := db.PendingInbound()
	db.MarkInboundHandled(p[0].ID)
	clk.advance(time.Hour)
	var got []int
	for range 5 {
		n, err := db.PurgeBodies(clk.now(), 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if !slices.Equal(got, []int{2, 2, 2, 0, 0}) {
		t.Errorf("purges of limit 2 changed %v, want [2 2 2 0 0]", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

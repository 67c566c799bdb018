package gateway

import (
	"context"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/store"
)

func setRetention(t testing.TB, g *Gateway, days int) {
	t.Helper()
	saveSettings(t, g, func(s *ComplianceSettings) { s.BodyRetentionDays = days })
}

// TestPurgeBodies is R-RECORD's test: the purge blanks old texts only; it
// never deletes a message row, touches a young one or the consent ledger.
func TestPurgeBodies(t *testing.T) {
	g := newContactsGateway(t)
	ctx := context.Background()
	const number = "+12015550101"
	optIn(t, g.db, number)
	// Finished texts (dropped here: there are no modems) and handled
	// inbound ones lose their words; a text still queued keeps them, as it
	// has yet to go out.
	finished := func(text string) uint64 {
		t.Helper()
		m, _, err := g.Submit(ctx, SubmitRequest{To: number, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Drop(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	handled := func(text string) uint64 {
		t.Helper()
		in := addInbound(t, g.db, number, text, g.clock.now())
		if err := g.db.MarkInboundHandled(in.ID); err != nil {
			t.Fatal(err)
		}
		return in.ID
	}
	old := []uint64{finished("Your order is ready"), finished("Your parcel left")}
	queued, _, err := g.Submit(ctx, SubmitRequest{To: number, Text: "Still waiting"})
	if err != nil {
		t.Fatal(err)
	}
	oldIn := handled("old reply")
	g.clock.add(40 * 24 * time.Hour)
	young := finished("Your new order")
	youngIn := handled("young reply")
	ledger := func() []ConsentEvent {
		t.Helper()
		_, ev := consentOf(t, g.Gateway, number)
		return ev
	}
	before := ledger()
	counts, err := g.db.CountByStatus()
	if err != nil {
		t.Fatal(err)
	}

	// Retention 0 (the default) keeps every body.
	if n, err := g.PurgeBodies(ctx); n != 0 || err != nil {
		t.Fatalf("purge with retention off: %d, %v", n, err)
	}
	setRetention(t, g.Gateway, 30)
	n, err := g.PurgeBodies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("purged %d bodies, want 3 (2 sent, 1 received)", n)
	}
	for _, id := range old {
		m, err := g.Message(id)
		if err != nil {
			t.Fatalf("old message %d: %v (rows must stay)", id, err)
		}
		if m.Text != "" || !m.BodyPurged || m.To != number || len(m.History) == 0 {
			t.Errorf("old message after purge: text %q purged %v to %q history %d", m.Text, m.BodyPurged, m.To, len(m.History))
		}
	}
	if m, err := g.Message(young); err != nil || m.Text != "Your new order" || m.BodyPurged {
		t.Errorf("young message after purge: %+v, %v", m, err)
	}
	if m, err := g.Message(queued.ID); err != nil || m.Text != "Still waiting" || m.BodyPurged {
		t.Errorf("old queued message after purge: %+v, %v", m, err)
	}
	ins, _, err := g.ContactInbound(number, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 {
		t.Fatalf("%d inbound rows after purge, want 2", len(ins))
	}
	for _, in := range ins {
		switch in.ID {
		case oldIn:
			if in.Text != "" || !in.BodyPurged {
				t.Errorf("old inbound after purge: %+v", in)
			}
		case youngIn:
			if in.Text != "young reply" {
				t.Errorf("young inbound after purge: %+v", in)
			}
		}
	}
	after, err := g.db.CountByStatus()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(counts, after) {
		t.Errorf("message counts changed: %v → %v", counts, after)
	}
	if got := ledger(); !reflect.DeepEqual(before, got) {
		t.Errorf("ledger changed by the purge:\n%+v\n%+v", before, got)
	}
	if n, err := g.PurgeBodies(ctx); n != 0 || err != nil {
		t.Errorf("second purge: %d, %v; want nothing left to do", n, err)
	}
}

// TestRunPurgesAtStart checks the purge loop is wired into Run: it purges
// as Run starts, and again every hour while it runs.
func TestRunPurgesAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newContactsGateway(t, store.WithoutGroupCommit())
		dropped := func(text string) uint64 {
			t.Helper()
			m, _, err := g.Submit(context.Background(), SubmitRequest{To: "+12015550101", Text: text})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.Drop(context.Background(), m.ID); err != nil {
				t.Fatal(err)
			}
			return m.ID
		}
		purged := func(id uint64) bool {
			t.Helper()
			m, err := g.Message(id)
			if err != nil {
				t.Fatal(err)
			}
			return m.BodyPurged
		}
		old := dropped("old text")
		g.clock.add(31 * 24 * time.Hour)
		setRetention(t, g.Gateway, 30)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()
		defer func() {
			cancel()
			<-done
		}()
		// The first purge comes before the loop's first wait, so it is
		// over once everything in the bubble waits.
		synctest.Wait()
		if !purged(old) {
			t.Fatal("Run did not purge the old body at start")
		}
		later := dropped("later text")
		g.clock.add(31 * 24 * time.Hour)
		elapse(time.Hour) // the purge interval: time passing is the point
		if !purged(later) {
			t.Fatal("the running purge did not blank a body that grew old an hour later")
		}
	})
}

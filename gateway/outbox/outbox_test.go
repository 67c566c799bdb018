package outbox

import (
	"context"
	"errors"
	"github.com/simgate/simgate/gateway/msgstate"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

func TestRecoverAfterCrash(t *testing.T) {
	r := newTestQueue(t, nil)
	single := r.submit(customer, "was in flight")
	multi := r.submit(customer, strings.Repeat("three parts please ", 20))
	// Simulate a crash: one part in `sending`, and a multipart message
	// stopped between parts (part 1 accepted, part 2 never started).
	if _, err := r.db.Update(single.ID, func(m *store.Message) error {
		m.Parts[0].Status = store.StatusSending
		msgstate.SetStatus(m, time.Now(), store.StatusSending, "test")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.Update(multi.ID, func(m *store.Message) error {
		m.Parts[0].Status, m.Parts[0].MR, m.Parts[0].SentAt = store.StatusSent, 7, time.Now()
		msgstate.SetStatus(m, time.Now(), store.StatusSending, "test")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.recover(); err != nil {
		t.Fatal(err)
	}
	got, _ := r.db.Get(single.ID)
	if got.Status != store.StatusUnknown || got.Parts[0].Status != store.StatusUnknown {
		t.Errorf("in-flight message: got %s/%s, want unknown/unknown", got.Status, got.Parts[0].Status)
	}
	got, _ = r.db.Get(multi.ID)
	if got.Status != store.StatusQueued || got.Parts[0].Status != store.StatusSent || got.Parts[1].Status != store.StatusQueued {
		t.Errorf("between parts: got %s parts %s/%s, want queued with part 1 sent", got.Status, got.Parts[0].Status, got.Parts[1].Status)
	}
	// Resend and drop work on the unknown one.
	if _, err := r.Drop(context.Background(), multi.ID); err != nil {
		t.Errorf("drop queued: %v", err)
	}
	if _, err := r.Resend(context.Background(), multi.ID); err != nil {
		t.Errorf("resend failed message: %v", err)
	}
	if _, err := r.Resend(context.Background(), multi.ID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("resend of a queued message: got %v, want ErrConflict", err)
	}
	m, err := r.Resend(context.Background(), single.ID)
	if err != nil || m.Status != store.StatusQueued || m.Parts[0].Status != store.StatusQueued {
		t.Errorf("resend unknown: %v %+v", err, m)
	}
}

// Run refuses to dispatch before Prepare has applied the crash rule and
// loaded the SIMs' budgets.
func TestRunBeforePrepare(t *testing.T) {
	q := newTestQueue(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Run(ctx); err == nil || !strings.Contains(err.Error(), "Prepare") {
		t.Errorf("Run before Prepare: %v, want an error naming Prepare", err)
	}
	if err := q.Prepare(); err != nil {
		t.Fatal(err)
	}
	if err := q.Run(ctx); err != nil {
		t.Errorf("Run after Prepare: %v", err)
	}
	if err := q.Prepare(); err == nil {
		t.Error("a second Prepare was accepted")
	}
}

package outbox

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/store"
)

const customer = "+12015550123"

// quiet is the live side of a queue whose tests read the store, not the
// console's events.
type quiet struct{}

func (quiet) MessageChanged(store.Message)         {}
func (quiet) InboundReceived(store.Inbound)        {}
func (quiet) ModemChanged(ModemStatus)             {}
func (quiet) RaiseAlert(kind, modemName, _ string) {}
func (quiet) ClearAlert(kind, modemName string)    {}

// testQueue is a Queue over a real bbolt file, with the real compliance
// settings and no modems: these tests drive the outbox's internals
// (report matching, crash recovery) directly. Tests with modems drive the
// whole gateway and live in package gateway.
type testQueue struct {
	*Queue
	t  *testing.T
	db *store.DB
}

func newTestQueue(t *testing.T, clock func() time.Time) *testQueue {
	t.Helper()
	// One transaction per write, as these tests were written for; shared
	// commits no longer wait on a timer, so either works under synctest.
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithoutGroupCommit())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if clock == nil {
		clock = time.Now
	}
	policy, err := consent.LoadPolicy(db, clock)
	if err != nil {
		t.Fatal(err)
	}
	q := New(Config{DB: db, Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: clock,
		Policy: policy, Notify: quiet{}})
	return &testQueue{Queue: q, t: t, db: db}
}

func (q *testQueue) submit(to, text string) store.Message {
	q.t.Helper()
	m, _, err := q.Submit(q.t.Context(), SubmitRequest{To: to, Text: text})
	if err != nil {
		q.t.Fatalf("submit %q: %v", text, err)
	}
	return m
}

func TestSubmitNotBefore(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	q := newTestQueue(t, func() time.Time { return now })
	at := now.Add(3 * time.Hour)
	m, _, err := q.Submit(t.Context(), SubmitRequest{To: customer, Text: "see you at ten", NotBefore: at})
	if err != nil {
		t.Fatal(err)
	}
	if !m.NextAttemptAt.Equal(at) || !m.ExpiresAt.Equal(at.Add(DefaultTransactionalValidity)) {
		t.Errorf("due %v expires %v; want %v and the validity counted from it", m.NextAttemptAt, m.ExpiresAt, at)
	}
	if due, _ := q.db.DueIDs(now.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("a text for later is due now: %v", due)
	}
	_, _, err = q.Submit(t.Context(), SubmitRequest{To: customer, Text: "too late", NotBefore: at, ExpiresAt: at.Add(-time.Minute)})
	if fe, ok := err.(*store.FieldError); !ok || fe.Field != "expires_at" {
		t.Errorf("expiry before the earliest send: %v, want a field error on expires_at", err)
	}
}

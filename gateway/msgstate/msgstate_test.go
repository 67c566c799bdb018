package msgstate

import (
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

func message(parts ...store.Status) *store.Message {
	m := &store.Message{Status: store.StatusSending}
	for _, s := range parts {
		m.Parts = append(m.Parts, store.Part{Status: s})
	}
	return m
}

// TestMarkSentThenSettle walks a two-part text through acceptance and its
// reports: sent only once both parts are accepted, then failed when one
// report says undelivered.
func TestMarkSentThenSettle(t *testing.T) {
	at := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	m := message(store.StatusSending, store.StatusQueued)
	MarkSent(m, 0, 7, at, "sim1")
	if m.Status != store.StatusSending || !HasQueuedPart(m) || QueuedParts(*m) != 1 || NextQueuedPart(*m, 0) != 1 {
		t.Fatalf("after the first part: %+v", m)
	}
	MarkSent(m, 1, 8, at.Add(time.Second), "sim1")
	if m.Status != store.StatusSent || !AllPartsAccepted(m) || !FirstSent(*m).Equal(at) || NextQueuedPart(*m, 0) != -1 {
		t.Fatalf("after both parts: %+v", m)
	}
	m.Parts[0].Status = store.StatusDelivered
	Settle(m, at)
	if m.Status != store.StatusSent {
		t.Fatalf("settled with a report missing: %s", m.Status)
	}
	m.Parts[1].Status = store.StatusFailed
	Settle(m, at)
	if m.Status != store.StatusFailed || m.Error != "1 of 2 parts not delivered" {
		t.Fatalf("one part undelivered: %s %q", m.Status, m.Error)
	}
	if n := len(m.History); n != 2 || m.History[n-1].Status != store.StatusFailed {
		t.Errorf("history: %+v", m.History)
	}
}

// TestSettleDelivered settles a message whose every part was delivered.
func TestSettleDelivered(t *testing.T) {
	m := message(store.StatusDelivered, store.StatusDelivered)
	m.Status = store.StatusSent
	Settle(m, time.Now())
	if m.Status != store.StatusDelivered || m.Error != "" {
		t.Errorf("got %s %q", m.Status, m.Error)
	}
}

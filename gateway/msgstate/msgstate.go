// Package msgstate is the state arithmetic of one outbound message and its
// parts: which parts are still queued, when the network has accepted them
// all, how a message settles from its parts' reports, and the history each
// change of status leaves. It works on the record alone (no store access,
// no clock), so the outbox's send, report and kept-MR paths and the tests
// that build messages by hand move a message the same way.
package msgstate

import (
	"fmt"
	"time"

	"github.com/simgate/simgate/store"
)

// FirstSent is when m's earliest part left, or zero.
func FirstSent(m store.Message) time.Time {
	var t time.Time
	for _, p := range m.Parts {
		if !p.SentAt.IsZero() && (t.IsZero() || p.SentAt.Before(t)) {
			t = p.SentAt
		}
	}
	return t
}

// QueuedParts is how many of m's parts are still to be sent.
func QueuedParts(m store.Message) int {
	n := 0
	for _, p := range m.Parts {
		if p.Status == store.StatusQueued {
			n++
		}
	}
	return n
}

// MarkSent records part i of m as accepted by the network with mr at at,
// and the message as sent once every part is past `sending`. process and
// the retry of a kept MR write the same thing.
func MarkSent(m *store.Message, i, mr int, at time.Time, modemName string) {
	p := &m.Parts[i]
	p.Status, p.MR, p.SentAt = store.StatusSent, mr, at
	if AllPartsAccepted(m) {
		// Part i is still waiting for its report, so the message is sent;
		// that report settles it from every part's state (Settle).
		SetStatus(m, at, store.StatusSent, fmt.Sprintf("accepted by the network via %s", modemName))
	}
}

func HasQueuedPart(m *store.Message) bool {
	for _, p := range m.Parts {
		if p.Status == store.StatusQueued {
			return true
		}
	}
	return false
}

// SetStatus moves a message to s and records why.
func SetStatus(m *store.Message, at time.Time, s store.Status, note string) {
	m.Status = s
	m.History = append(m.History, store.Transition{At: at, Status: s, Note: note})
}

// Settle sets a sent message's status from its parts once every part
// has its final report: delivered when all were, failed when any was not.
func Settle(m *store.Message, now time.Time) {
	if m.Status != store.StatusSent {
		return
	}
	failed := 0
	for _, p := range m.Parts {
		switch p.Status {
		case store.StatusDelivered:
		case store.StatusFailed:
			failed++
		default:
			return // still waiting for a report
		}
	}
	if failed > 0 {
		m.Error = fmt.Sprintf("%d of %d parts not delivered", failed, len(m.Parts))
		SetStatus(m, now, store.StatusFailed, m.Error)
		return
	}
	SetStatus(m, now, store.StatusDelivered, "delivered")
}

// NextQueuedPart is the index of the first part after i still queued, or
// -1.
func NextQueuedPart(m store.Message, i int) int {
	for j := i + 1; j < len(m.Parts); j++ {
		if m.Parts[j].Status == store.StatusQueued {
			return j
		}
	}
	return -1
}

// AllPartsAccepted reports whether the network accepted every part of m:
// each is sent, or already has its final report (delivered or failed),
// which can come before a later part is accepted.
func AllPartsAccepted(m *store.Message) bool {
	for _, p := range m.Parts {
		switch p.Status {
		case store.StatusSent, store.StatusDelivered, store.StatusFailed:
		default:
			return false
		}
	}
	return true
}

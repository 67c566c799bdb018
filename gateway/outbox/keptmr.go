package outbox

import (
	"errors"
	"fmt"
	"github.com/simgate/simgate/gateway/msgstate"
	"time"

	"github.com/simgate/simgate/store"
)

// keptMRRetry is how often the dispatcher tries again to write the MRs it
// holds in memory: often enough that a status report finds its part soon
// after room is made on the disk, rarely enough to cost nothing while it
// stays full.
const keptMRRetry = 5 * time.Second

// keptMR is a part the network accepted whose MR could not be written (a
// full disk). The text is out: forgetting the MR would leave the part in
// `sending` until a restart made it `unknown`, and its status report would
// match nothing. So the queue keeps it and writes it as soon as it can.
type keptMR struct {
	id    uint64
	part  int // index into Message.Parts
	mr    int
	at    time.Time // when +CMGS answered
	modem string
	to    string // the recipient, for the SIM's unique-recipient counts
}

// keepMR holds k for writeKeptMRs and wakes the dispatcher, which retries.
func (q *Queue) keepMR(k keptMR) {
	q.keptMu.Lock()
	q.kept = append(q.kept, k)
	q.keptMu.Unlock()
	q.log.Warn("the network accepted a part but its MR could not be written: kept in memory, written when the disk allows",
		"id", k.id, "part", k.part+1, "mr", k.mr, "modem", k.modem)
}

// hasKeptMR reports whether an MR of modemName is waiting to be written:
// a status report that matches nothing may be for it.
func (q *Queue) hasKeptMR(modemName string, mr int) bool {
	q.keptMu.Lock()
	defer q.keptMu.Unlock()
	for _, k := range q.kept {
		if k.modem == modemName && k.mr == mr {
			return true
		}
	}
	return false
}

// keptMRs is how many MRs wait to be written.
func (q *Queue) keptMRs() int {
	q.keptMu.Lock()
	defer q.keptMu.Unlock()
	return len(q.kept)
}

// writeKeptMRs tries to write the kept MRs, oldest first, each with the
// SIM's usage in the transaction process would have used. At the first
// that still fails the rest wait for the next try; one whose message was
// erased (GDPR) or resent or dropped by a person meanwhile is let go.
func (q *Queue) writeKeptMRs() {
	q.keptMu.Lock()
	kept := q.kept
	q.kept = nil
	q.keptMu.Unlock()
	for i, k := range kept {
		usage := store.UsageDelta{SIM: k.modem, Recipient: k.to, At: k.at, Parts: 1}
		msg, err := q.db.UpdateWithUsage(k.id, usage, func(m *store.Message) error {
			if k.part >= len(m.Parts) || m.Parts[k.part].Status != store.StatusSending {
				return errSkip
			}
			msgstate.MarkSent(m, k.part, k.mr, k.at, k.modem)
			if m.Status == store.StatusSending && msgstate.HasQueuedPart(m) {
				// The rest of a long text waited behind this part: back to
				// the queue, where routing keeps it on the same SIM.
				now := q.now()
				m.NextAttemptAt = now
				msgstate.SetStatus(m, now, store.StatusQueued, fmt.Sprintf("continuing: the MR of part %d is written", k.part+1))
			}
			return nil
		})
		switch {
		case err == nil:
			q.log.Info("kept MR written", "id", k.id, "part", k.part+1, "mr", k.mr, "modem", k.modem)
			q.notify.MessageChanged(msg)
			q.Wake()
		case errors.Is(err, errSkip):
		case errors.Is(err, store.ErrNotFound):
			q.log.Info("message erased while its MR was kept", "id", k.id)
		default:
			q.keptMu.Lock()
			q.kept = append(kept[i:len(kept):len(kept)], q.kept...)
			q.keptMu.Unlock()
			return
		}
	}
}

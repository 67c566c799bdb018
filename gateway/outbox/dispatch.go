package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/store"
)

// jobResult tells the dispatcher a runner is free again.
type jobResult struct {
	r  *runner
	id uint64
}

// jobDone is called by a runner when it has finished (or bounced) a job.
func (q *Queue) jobDone(r *runner, id uint64) {
	q.done <- jobResult{r: r, id: id}
}

// splitGrace is how long the rest of a long text waits for the SIM that
// sent its first parts before another SIM sends the whole text again.
// Modems come back from a restart or a USB glitch within a minute or two.
const splitGrace = 10 * time.Minute

// firstSent is when m's earliest part left, or zero.
func firstSent(m store.Message) time.Time {
	var t time.Time
	for _, p := range m.Parts {
		if !p.SentAt.IsZero() && (t.IsZero() || p.SentAt.Before(t)) {
			t = p.SentAt
		}
	}
	return t
}

// maxIdleWait bounds how long the dispatcher sleeps with nothing due, so a
// clock jump or a missed wake-up costs at most this much delay.
const maxIdleWait = time.Minute

// dispatch hands due messages to idle modems until ctx is done. The due
// index in bbolt is the source of truth; memory holds only the set of
// messages in flight, a timer to the next due item and the wake channel
// (the shape of mox's queue).
func (q *Queue) dispatch(ctx context.Context, runners []*runner) error {
	inflight := make(map[uint64]*runner)
	busy := make(map[*runner]bool)
	timer := time.NewTimer(0)
	defer timer.Stop()

	for {
		q.lastLoop.Store(time.Now().UnixNano())
		wait := q.assign(runners, inflight, busy)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		case <-timer.C:
		case res := <-q.done:
			delete(inflight, res.id)
			busy[res.r] = false
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// assign writes the MRs kept in memory (keptmr.go), then gives due
// messages to idle, available runners if the store takes writes, and
// returns how long to sleep before the next turn.
func (q *Queue) assign(runners []*runner, inflight map[uint64]*runner, busy map[*runner]bool) time.Duration {
	q.writeKeptMRs()
	if err := q.db.Writable(); err != nil {
		// Not written means not sent: a text whose sending cannot be
		// recorded must not start. Writable measures the disk again on
		// every call, so this turn is also how room is noticed.
		return keptMRRetry
	}
	if q.keptMRs() > 0 {
		return min(q.assignDue(runners, inflight, busy), keptMRRetry)
	}
	return q.assignDue(runners, inflight, busy)
}

// assignDue is assign once the store takes writes.
func (q *Queue) assignDue(runners []*runner, inflight map[uint64]*runner, busy map[*runner]bool) time.Duration {
	idle := 0
	for _, r := range runners {
		if !busy[r] && r.available() {
			idle++
		}
	}
	now := q.now()
	// When something due finds no SIM, the earliest moment one could take
	// it: the next send a SIM's per-minute spacing allows, a new day or
	// month for its budget, the end of a long text's wait for its SIM.
	var retry time.Time
	if idle > 0 {
		// Ask for enough to skip what is in flight or waiting for its
		// modem. Only IDs are read; a message is decoded once it is not in
		// flight, so handing out one text decodes about one text.
		due, err := q.db.DueIDs(now, len(inflight)+4*idle+16)
		if err != nil {
			q.log.Error("read due index", "error", err)
			return time.Second
		}
		for _, id := range due {
			if idle == 0 {
				break
			}
			if _, ok := inflight[id]; ok {
				continue
			}
			m, err := q.db.Get(id)
			if errors.Is(err, store.ErrNotFound) {
				continue // erased since the index was read
			}
			if err != nil {
				q.log.Error("read due message", "id", id, "error", err)
				return time.Second
			}
			if m.Status != store.StatusQueued {
				continue // changed since the index was read
			}
			if !m.ExpiresAt.After(now) {
				q.Expire(m.ID)
				continue
			}
			r := q.route(m, runners, busy, now)
			if r == nil {
				q.noteBudgetHold(m, runners, now)
				if at := q.nextChance(m, runners, busy, now); !at.IsZero() && (retry.IsZero() || at.Before(retry)) {
					retry = at
				}
				continue
			}
			if !q.Precheck(m) {
				continue // held back, suppressed or expired by the compliance guard
			}
			r.jobs <- m.ID // cannot block: an idle runner's slot is empty
			inflight[m.ID] = r
			busy[r] = true
			idle--
		}
	}
	next, ok, err := q.db.NextDue()
	switch {
	case err != nil:
		q.log.Error("read due index", "error", err)
		return time.Second
	case !ok:
		return maxIdleWait
	}
	wait := next.Sub(now)
	if wait <= 0 {
		// Something is due but no modem can take it. A runner finishing
		// or a modem coming up wakes the dispatcher; a SIM held by its
		// limits gets a timer to the moment it may send again, not a poll.
		// Due this very instant counts too: a zero wait would re-check at
		// once, for as long as the clock reads the same.
		wait = maxIdleWait
		if !retry.IsZero() {
			wait = retry.Sub(now) // after now: nextChance takes no past moment
		}
	}
	return min(wait, maxIdleWait)
}

// nextChance is the earliest time an idle, available SIM could take m, as
// far as limits and the wait for a long text's own SIM say: zero when no
// limit explains why none took it (a busy or absent modem, which wakes the
// dispatcher when it is free or back).
func (q *Queue) nextChance(m store.Message, runners []*runner, busy map[*runner]bool, now time.Time) time.Time {
	var at time.Time
	earliest := func(t time.Time) {
		// A moment already past explains nothing: what holds the text now
		// is a busy or absent modem, which wakes the dispatcher itself.
		if t.After(now) && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	parts := queuedParts(m)
	for _, r := range runners {
		if busy[r] || !r.available() {
			if m.Modem != "" && r.name == m.Modem && !r.available() {
				earliest(firstSent(m).Add(splitGrace))
			}
			continue
		}
		if m.Modem != "" && r.name != m.Modem && now.Sub(firstSent(m)) < splitGrace {
			continue // only the long text's own SIM may take it yet
		}
		switch limit := r.blocked(now, m.To, parts); {
		case limit == "per_minute":
			earliest(r.nextSend())
		case simlimits.UntilLater(limit):
			earliest(simlimits.FreeAt(limit, now))
		}
	}
	return at
}

// queuedParts is how many of m's parts are still to be sent.
func queuedParts(m store.Message) int {
	n := 0
	for _, p := range m.Parts {
		if p.Status == store.StatusQueued {
			n++
		}
	}
	return n
}

// route picks the modem for m, or nil when none can take it now:
//  1. the modem that sent its earlier parts (the phone reassembles a long
//     text by sender), waited for while it is up;
//  2. the SIM that texted this recipient this month, while it can send now
//     (sticky sender: customers keep seeing one number);
//  3. otherwise the idle SIM that has sent the fewest parts today.
//
// A SIM whose limits stop this text is skipped and never blocks the others;
// so is the SIM the text must avoid (an owner alert about it).
func (q *Queue) route(m store.Message, runners []*runner, busy map[*runner]bool, now time.Time) *runner {
	parts := queuedParts(m)
	canTake := func(r *runner) bool {
		return !busy[r] && r.available() && r.name != m.AvoidModem && r.blocked(now, m.To, parts) == ""
	}
	if m.Modem != "" {
		for _, r := range runners {
			if r.name != m.Modem {
				continue
			}
			if r.available() {
				if canTake(r) {
					return r
				}
				return nil
			}
			// Its SIM is away (a restart, an unplug). A phone cannot join
			// parts that come from two numbers, so wait for it a while;
			// after splitGrace another SIM sends the whole text again.
			if now.Sub(firstSent(m)) < splitGrace {
				return nil
			}
		}
	}
	for _, r := range runners {
		if r.knows(m.To) && canTake(r) {
			return r
		}
	}
	var best *runner
	bestParts := 0
	for _, r := range runners {
		if !canTake(r) {
			continue
		}
		used := r.snapshot().Budget.PartsToday
		if best == nil || used < bestParts {
			best, bestParts = r, used
		}
	}
	return best
}

// Modems returns the status of every configured modem.
func (q *Queue) Modems() []ModemStatus {
	q.mu.Lock()
	runners := append([]*runner(nil), q.runners...)
	q.mu.Unlock()
	out := make([]ModemStatus, len(runners))
	for i, r := range runners {
		out[i] = r.snapshot()
	}
	return out
}

// budgetHold is why a text to recipient of parts parts waits when every
// available SIM is stopped by a daily or monthly limit (simlimits.HoldReason).
func budgetHold(runners []*runner, now time.Time, recipient string, parts int) string {
	var limits []string
	for _, r := range runners {
		if r.available() {
			limits = append(limits, r.blocked(now, recipient, parts))
		}
	}
	return simlimits.HoldReason(limits, now)
}

// noteBudgetHold writes on a due text that no SIM took why it waits, when
// the reason is that every SIM has used its budget: otherwise the shop's
// text would sit in the queue with nothing to say why. The message is
// written only when the reason changes, so a backlog costs one write per
// text per day, not one per turn of the dispatcher. Its due time stays: a
// SIM resumed or a limit raised at a restart takes it at once.
func (q *Queue) noteBudgetHold(m store.Message, runners []*runner, now time.Time) {
	hold := budgetHold(runners, now, m.To, queuedParts(m))
	if hold == "" || hold == m.Hold {
		return
	}
	updated, err := q.db.Update(m.ID, func(m *store.Message) error {
		if m.Status != store.StatusQueued || m.Hold == hold {
			return errSkip
		}
		m.Hold = hold
		SetStatus(m, now, store.StatusQueued, "held: "+hold)
		return nil
	})
	if errors.Is(err, errSkip) {
		return
	}
	if err != nil {
		q.log.Error("note why a text waits", "id", m.ID, "error", err)
		return
	}
	q.notify.MessageChanged(updated)
}

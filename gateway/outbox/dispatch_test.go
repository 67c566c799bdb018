package outbox

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/store"
)

// A text due at the very instant the dispatcher looks, with no modem to
// take it, must send the dispatcher to sleep, not straight back to work.
// The wait used to come out as zero there, and the dispatcher re-checked
// the same instant for as long as the clock had not moved: a spinning CPU
// under a coarse or settable clock, and under synctest, where the clock
// moves only when everything waits, a hang (this test timed out).
func TestDispatchSleepsWhenNoModemCanTakeADueText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newTestQueue(t, nil)
		m := q.submit(customer, "nobody to send me") // due now, at the bubble's start
		if err := q.Prepare(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- q.Run(ctx) }()
		// A minute of bubble time, which passes only if the dispatcher
		// waits: time passing is what is tested.
		time.Sleep(time.Minute)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got, err := q.db.Get(m.ID); err != nil || got.Status != store.StatusQueued {
			t.Errorf("the text with no modem: %s, %v; want still queued", got.Status, err)
		}
	})
}

// A long text waits for the SIM that sent its first parts. Once that wait
// is over and the other SIM is busy, nothing but that SIM finishing can
// send it, which wakes the dispatcher anyway: the end of the wait, now
// past, must not become a timer that fires at once, again and again.
func TestNextChanceTakesNoPastMoment(t *testing.T) {
	q := newTestQueue(t, nil)
	now := time.Now()
	gone := newRunner(q.Queue, ModemConfig{Name: "sim1"}) // still starting: not available
	other := newRunner(q.Queue, ModemConfig{Name: "sim2"})
	other.status.State = StateUp
	runners, busy := []*runner{gone, other}, map[*runner]bool{other: true}
	m := store.Message{To: customer, Modem: "sim1", Parts: []store.Part{
		{Seq: 1, Status: store.StatusSent, SentAt: now.Add(-time.Hour)}, {Seq: 2, Status: store.StatusQueued}}}
	if at := q.nextChance(m, runners, busy, now); !at.IsZero() {
		t.Errorf("past the wait for its SIM: next chance %v, want none", at)
	}
	m.Parts[0].SentAt = now.Add(-time.Minute)
	if at, want := q.nextChance(m, runners, busy, now), now.Add(splitGrace-time.Minute); !at.Equal(want) {
		t.Errorf("within the wait for its SIM: next chance %v, want its end %v", at, want)
	}
}

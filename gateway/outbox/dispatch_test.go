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

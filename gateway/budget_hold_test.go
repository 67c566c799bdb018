package gateway

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// TestHoldReasonWhenEverySIMIsAtItsLimit: a text that waits because every
// SIM has used today's budget says so on the message, with the time the
// first SIM may send again (issue 15, point 13: it used to wait with no
// reason shown).
func TestHoldReasonWhenEverySIMIsAtItsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{
			modems: []sim.Config{{Number: simA}, {Number: simB}},
			limits: Limits{PerDay: 1},
		})
		r.start()
		var ids []uint64
		for i := range 3 {
			ids = append(ids, r.submit(fmt.Sprintf("+1201555%04d", 400+i), fmt.Sprintf("order %d is ready", i)).ID)
		}
		sent := 0
		var held store.Message
		r.waitFor("two texts sent and one held with a reason", func() bool {
			sent = 0
			for _, id := range ids {
				m, err := r.db.Get(id)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case m.Status == store.StatusDelivered:
					sent++
				case m.Status == store.StatusQueued && m.Hold != "":
					held = m
				}
			}
			return sent == 2 && held.ID != 0
		})
		if !strings.Contains(held.Hold, "all SIMs reached today's limit") {
			t.Errorf("hold %q: want it to say that all SIMs reached today's limit", held.Hold)
		}
		now := time.Now()
		midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, now.Location())
		if want := "next send at " + midnight.Format("2006-01-02 15:04"); !strings.Contains(held.Hold, want) {
			t.Errorf("hold %q: want %q (the SIMs' day starts again at midnight)", held.Hold, want)
		}
		if n := len(held.History); n == 0 || !strings.Contains(held.History[n-1].Note, "all SIMs reached today's limit") {
			t.Errorf("history %+v: the hold is not on the timeline", held.History)
		}
	})
}

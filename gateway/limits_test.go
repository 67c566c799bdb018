package gateway

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// A SIM at its daily limit is skipped; the other SIM takes the rest.
func TestLimitedSIMIsSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{
			modems:    []sim.Config{{Number: simA}, {Number: simB}},
			limitsFor: map[int]Limits{0: {PerDay: 2}, 1: {}},
		})
		r.start()
		var ids []uint64
		for i := 0; i < 8; i++ {
			ids = append(ids, r.submit(fmt.Sprintf("+1201555%04d", 200+i), fmt.Sprintf("text %d", i)).ID)
		}
		by := map[string]int{}
		for _, id := range ids {
			m := r.waitStatus(id, store.StatusDelivered)
			by[m.Parts[0].Modem]++
		}
		if by["sim1"] > 2 {
			t.Errorf("sim1 sent %d texts, its daily limit is 2", by["sim1"])
		}
		if by["sim1"]+by["sim2"] != 8 {
			t.Errorf("sent by modem: %v, want 8 in all", by)
		}
		for _, st := range r.g.Modems() {
			if st.Name == "sim1" && (st.Budget == nil || st.Budget.RemainingToday != 2-by["sim1"]) {
				t.Errorf("sim1 budget: %+v, want %d remaining", st.Budget, 2-by["sim1"])
			}
		}
	})
}

// A recipient keeps hearing from the SIM that texted them.
func TestStickySender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}, {Number: simB}}})
		r.start()
		first := r.waitStatus(r.submit(customer, "first").ID, store.StatusDelivered)
		sticky := first.Parts[0].Modem
		// Load the sticky SIM with other recipients' texts so that "least
		// loaded" alone would pick the other one.
		for i := 0; i < 4; i++ {
			m := r.submit(fmt.Sprintf("+1201555%04d", 300+i), "other")
			r.waitStatus(m.ID, store.StatusDelivered)
		}
		for i := 0; i < 3; i++ {
			m := r.waitStatus(r.submit(customer, fmt.Sprintf("again %d", i)).ID, store.StatusDelivered)
			if m.Parts[0].Modem != sticky {
				t.Errorf("text %d to the same customer went via %s, want %s", i, m.Parts[0].Modem, sticky)
			}
		}
	})
}

// Usage survives a restart: the counters are in the store.
func TestUsagePersists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		r := newRig(t, rigOptions{dir: dir, modems: []sim.Config{{Number: simA}}, limits: Limits{PerDay: 3}})
		r.start()
		for i := 0; i < 2; i++ {
			r.waitStatus(r.submit(customer, fmt.Sprintf("t%d", i)).ID, store.StatusDelivered)
		}
		r.stop()
		r.db.Close()

		r2 := newRig(t, rigOptions{dir: dir, modems: []sim.Config{{Number: simA}}, limits: Limits{PerDay: 3}})
		r2.start()
		r2.waitStatus(r2.submit(customer, "third").ID, store.StatusDelivered)
		m := r2.submit(customer, "fourth: over the limit")
		// Minutes of bubble time, far from the box's midnight (the bubble
		// starts at 00:00 UTC, and no zone has midnight within minutes of
		// that but UTC, where it is a day away): the dispatcher turns
		// meanwhile and must keep the text back.
		elapse(5 * time.Minute)
		got, _ := r2.db.Get(m.ID)
		if got.Status != store.StatusQueued {
			t.Errorf("fourth text: got %s, want queued (the SIM's daily limit of 3 is used)", got.Status)
		}
		st := r2.g.Modems()[0]
		if st.Budget == nil || st.Budget.Exhausted != "per_day" || st.Budget.RemainingToday != 0 {
			t.Errorf("budget after restart: %+v", st.Budget)
		}
	})
}

// A SIM spaced by its per-minute limit sends its next text the moment the
// spacing allows: the dispatcher sets a timer to the SIM's next send
// instead of polling once a second (which stretched a 10-11.25 s gap to
// 12 s on average).
func TestPerMinuteSpacingUsesATimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}, limits: Limits{PerMinute: 6}})
		r.start()
		r.waitStatus(r.submit(customer, "first").ID, store.StatusDelivered)
		var next time.Time
		for _, st := range r.g.Modems() {
			if st.Budget != nil {
				next = st.Budget.NextSendAt
			}
		}
		if next.IsZero() {
			t.Fatal("no next send time after the first text")
		}
		second := r.waitStatus(r.submit(customer, "second").ID, store.StatusDelivered)
		if got := second.Parts[0].SentAt; !got.Equal(next) {
			t.Errorf("the second text left at %s, %v after the SIM's next allowed send %s", got.Format(time.StampNano), got.Sub(next), next.Format(time.StampNano))
		}
	})
}

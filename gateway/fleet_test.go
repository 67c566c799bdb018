package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// waitUp waits until every modem is up.
func (r *rig) waitUp() {
	r.t.Helper()
	r.waitFor("all modems up", func() bool {
		for _, st := range r.g.Modems() {
			if st.State != StateUp {
				return false
			}
		}
		return true
	})
}

func hasAlert(g *Gateway, kind, modemName string) bool {
	for _, a := range g.Alerts() {
		if a.Kind == kind && a.Modem == modemName {
			return true
		}
	}
	return false
}

// A SIM-level error (SIM gone: CMS 310) takes the SIM out of rotation with
// an alert; its text is rerouted and nothing is lost.
func TestSIMErrorTakesSIMOutOfRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}, {Number: simB}}})
		r.start()
		r.waitUp()
		r.sms[0].SetFault(sim.Fault{SIMRemoved: true})
		var ids []uint64
		for i := 0; i < 4; i++ {
			ids = append(ids, r.submit(customer, fmt.Sprintf("after the SIM went %d", i)).ID)
		}
		for _, id := range ids {
			m := r.waitStatus(id, store.StatusDelivered)
			if m.Parts[0].Modem != "sim2" {
				t.Errorf("message %d delivered via %s, want sim2", id, m.Parts[0].Modem)
			}
		}
		if !hasAlert(r.g, AlertSIMOutOfRota, "sim1") {
			t.Errorf("no out-of-rotation alert for sim1: %+v", r.g.Alerts())
		}
		if st := r.g.Modems()[0]; st.State == StateUp {
			t.Errorf("sim1 is %s after losing its SIM, want out of rotation", st.State)
		}
		// The modem's status keeps the cause, not only that it is out:
		// the console explains "+CMS ERROR: 310" as a missing SIM.
		r.waitFor("sim1 down", func() bool { return r.g.Modems()[0].State == StateDown })
		if st := r.g.Modems()[0]; !strings.Contains(st.LastError, "+CMS ERROR: 310") {
			t.Errorf("sim1's last error %q lost its cause", st.LastError)
		}
	})
}

// A modem that loses the network stops taking work; the other sends.
func TestNetworkLossReroutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}, {Number: simB}}, gwCfg: Config{HealthInterval: 100 * time.Millisecond}})
		r.start()
		r.waitUp()
		r.sms[0].SetFault(sim.Fault{NetworkLoss: true})
		r.waitFor("sim1 degraded", func() bool { return r.g.Modems()[0].State == StateDegraded })
		for i := 0; i < 3; i++ {
			m := r.waitStatus(r.submit(customer, fmt.Sprintf("during the outage %d", i)).ID, store.StatusDelivered)
			if m.Parts[0].Modem != "sim2" {
				t.Errorf("sent via %s during sim1's outage", m.Parts[0].Modem)
			}
		}
		r.sms[0].SetFault(sim.Fault{})
		r.waitFor("sim1 back up", func() bool { return r.g.Modems()[0].State == StateUp })
	})
}

func TestUSSD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}, {Number: simB, Profile: "huawei"}}})
		r.start()
		r.waitUp()
		for _, name := range []string{"sim1", "sim2"} {
			reply, err := r.g.USSD(context.Background(), name, "*100#")
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !strings.Contains(strings.ToLower(reply.Text), "balance") {
				t.Errorf("%s: got reply %+v, want the balance text", name, reply)
			}
		}
		var fe *FieldError
		if _, err := r.g.USSD(context.Background(), "sim1", "100"); !errors.As(err, &fe) || fe.Field != "code" {
			t.Errorf("bad code: got %v, want a FieldError on code", err)
		}
		if _, err := r.g.USSD(context.Background(), "nope", "*100#"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown modem: got %v, want ErrNotFound", err)
		}
	})
}

// A hung modem is detected, the ladder is climbed to an alert, and the
// alert clears when the modem answers again.
func TestHungModemEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{
			modems:   []sim.Config{{Number: simA}},
			gwCfg:    Config{HealthInterval: 100 * time.Millisecond, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond},
			modemCfg: modem.Config{CommandTimeout: 500 * time.Millisecond, SubmitTimeout: 2 * time.Second, SweepInterval: time.Second},
		})
		r.start()
		r.waitUp()
		r.sms[0].SetFault(sim.Fault{Hang: true})
		r.waitForLong("modem-down alert", 90*time.Second, func() bool { return hasAlert(r.g, AlertModemDown, "sim1") })
		r.sms[0].SetFault(sim.Fault{})
		r.waitForLong("recovery", 90*time.Second, func() bool { return r.g.Modems()[0].State == StateUp })
		if hasAlert(r.g, AlertModemDown, "sim1") {
			t.Errorf("alert still active after recovery: %+v", r.g.Alerts())
		}
		r.waitStatus(r.submit(customer, "after the hang").ID, store.StatusDelivered)
	})
}

// seedHalfSent stores a three-part text whose first part modemName sent at
// sentAt, as a crash between parts leaves it.
func (r *rig) seedHalfSent(modemName string, sentAt time.Time) store.Message {
	r.t.Helper()
	m := r.submit(customer, strings.Repeat("A long text in three parts. ", 15))
	m, err := r.db.Update(m.ID, func(m *store.Message) error {
		m.Modem = modemName
		m.Parts[0].Status, m.Parts[0].MR, m.Parts[0].Modem, m.Parts[0].SentAt = store.StatusSent, 5, modemName, sentAt
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// The rest of a long text waits for the SIM that sent its first part (a
// phone cannot join parts from two numbers), for the split grace only.
func TestLongTextWaitsForItsSIM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		// sim2 is configured but its port never opens.
		if err := r.g.AddModem(ModemConfig{Name: "sim2", Path: "/dev/gone", Open: func(context.Context) (*modem.Modem, error) {
			return nil, errors.New("unplugged")
		}}); err != nil {
			t.Fatal(err)
		}
		m := r.seedHalfSent("sim2", time.Now())
		r.start()
		r.waitUp1("sim1")
		// Half the 10-minute split grace: the dispatcher looks at the text
		// every few seconds meanwhile, and must leave it to sim2 each time.
		elapse(5 * time.Minute)
		got, _ := r.db.Get(m.ID)
		if got.Status != store.StatusQueued || got.Parts[1].Status != store.StatusQueued {
			t.Errorf("got %s with part 2 %s, want it still waiting for sim2", got.Status, got.Parts[1].Status)
		}
		if n := len(r.net.Submissions()); n != 0 {
			t.Errorf("sim1 sent %d parts of sim2's text", n)
		}
		// Once the grace is over, sim1 sends the whole text again.
		elapse(5 * time.Minute)
		got = r.waitStatus(m.ID, store.StatusDelivered)
		if got.Parts[0].Modem != "sim1" || got.Parts[len(got.Parts)-1].Modem != "sim1" {
			t.Errorf("after the grace the text went via %s and %s, want sim1 for all of it", got.Parts[0].Modem, got.Parts[len(got.Parts)-1].Modem)
		}
	})
}

// After the grace period, or when the SIM is no longer configured, another
// SIM sends the whole text again, and says so.
func TestLongTextResentWholeWhenItsSIMIsGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		m := r.seedHalfSent("sim9", time.Now().Add(-time.Minute)) // sim9 was removed from the config
		r.start()
		got := r.waitStatus(m.ID, store.StatusDelivered)
		whole := 0
		for _, sm := range r.net.Messages() {
			if sm.Text == got.Text && sm.Complete {
				whole++
			}
		}
		if whole != 1 {
			t.Errorf("the network got the whole text %d times, want 1", whole)
		}
		noted := false
		for _, h := range got.History {
			noted = noted || strings.Contains(h.Note, "sending the whole text again")
		}
		if !noted {
			t.Errorf("history does not say the text was sent again: %+v", got.History)
		}
	})
}

func (r *rig) waitUp1(name string) {
	r.t.Helper()
	r.waitFor(name+" up", func() bool {
		for _, st := range r.g.Modems() {
			if st.Name == name && st.State == StateUp {
				return true
			}
		}
		return false
	})
}

// A paused SIM sends nothing (the other one does), stays paused across a
// restart, and sends again when resumed; its health history fills up.
func TestPauseModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		r := newRig(t, rigOptions{dir: dir, modems: []sim.Config{{Number: simA}, {Number: simB}}, gwCfg: Config{HealthInterval: 50 * time.Millisecond}})
		r.start()
		r.waitUp()
		if _, err := r.g.SetModemPaused("nope", true); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown modem: got %v", err)
		}
		st, err := r.g.SetModemPaused("sim1", true)
		if err != nil || !st.Paused {
			t.Fatalf("pause: %+v %v", st, err)
		}
		for i := 0; i < 3; i++ {
			m := r.waitStatus(r.submit(fmt.Sprintf("+1201555%04d", 400+i), "while sim1 rests").ID, store.StatusDelivered)
			if m.Parts[0].Modem != "sim2" {
				t.Errorf("sent via %s while sim1 was paused", m.Parts[0].Modem)
			}
		}
		r.waitFor("health history", func() bool { h, _ := r.g.ModemHistory("sim1"); return len(h) >= 3 })
		r.stop()
		r.db.Close()

		r2 := newRig(t, rigOptions{dir: dir, modems: []sim.Config{{Number: simA}, {Number: simB}}})
		r2.start()
		r2.waitUp1("sim2")
		if !r2.g.Modems()[0].Paused {
			t.Error("the pause did not survive a restart")
		}
		if _, err := r2.g.SetModemPaused("sim1", false); err != nil {
			t.Fatal(err)
		}
		r2.waitUp()
		if r2.g.Modems()[0].Paused {
			t.Error("still paused after resume")
		}
	})
}

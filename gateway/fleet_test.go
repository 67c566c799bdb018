package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
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
}

// A modem that loses the network stops taking work; the other sends.
func TestNetworkLossReroutes(t *testing.T) {
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
}

func TestUSSD(t *testing.T) {
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
}

// A hung modem is detected, the ladder is climbed to an alert, and the
// alert clears when the modem answers again.
func TestHungModemEscalates(t *testing.T) {
	if testing.Short() {
		t.Skip("climbs the whole ladder")
	}
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
}

package gateway

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/alerting"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

const owner = "+12015550150"

// ownerTexts lists the texts to the owner's number, oldest first.
func (r *rig) ownerTexts() []store.Message {
	r.t.Helper()
	ms, _, err := r.db.MessagesTo(owner, 0, 100)
	if err != nil {
		r.t.Fatal(err)
	}
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	return ms
}

// changesOf returns the change feed's entries of kind.
func (r *rig) changesOf(kind string) []store.Change {
	r.t.Helper()
	all, err := r.db.ChangesAfter(0, 10_000)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []store.Change
	for _, c := range all {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

func (r *rig) textAlertsOn() {
	r.t.Helper()
	if _, err := r.g.Alerting().SaveSettings(alerting.Settings{OwnerNumber: owner, TextAlerts: true}); err != nil {
		r.t.Fatal(err)
	}
}

// hangRig has modems whose hang the supervisor notices within seconds.
func hangRig(t *testing.T, modems ...sim.Config) *rig {
	return newRig(t, rigOptions{
		modems:   modems,
		gwCfg:    Config{HealthInterval: 100 * time.Millisecond, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond},
		modemCfg: modem.Config{CommandTimeout: 500 * time.Millisecond, SubmitTimeout: 2 * time.Second, SweepInterval: time.Second},
	})
}

// A modem going down is texted to the owner from the other SIM, once in
// the hour however often it goes down again.
func TestOwnerTextedWhenModemDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := hangRig(t, sim.Config{Number: simA}, sim.Config{Number: simB})
		r.textAlertsOn()
		r.start()
		r.waitUp()
		for range 2 {
			r.sms[0].SetFault(sim.Fault{Hang: true})
			r.waitForLong("modem-down alert", 90*time.Second, func() bool { return hasAlert(r.g, AlertModemDown, "sim1") })
			r.waitFor("the owner's text delivered", func() bool {
				ms := r.ownerTexts()
				return len(ms) > 0 && ms[0].Status == store.StatusDelivered
			})
			r.sms[0].SetFault(sim.Fault{})
			r.waitForLong("recovery", 90*time.Second, func() bool { return !hasAlert(r.g, AlertModemDown, "sim1") })
		}
		ms := r.ownerTexts()
		if len(ms) != 1 {
			t.Fatalf("%d texts to the owner for two outages in one hour, want 1", len(ms))
		}
		m := ms[0]
		if m.Modem != "sim2" || m.AvoidModem != "sim1" || m.Kind != store.KindTransactional || m.IdempotencyScope != alerting.IdempotencyScope {
			t.Errorf("owner text: modem %q, avoid %q, kind %v, scope %q; want sent by sim2, avoiding sim1, transactional, scope alerts",
				m.Modem, m.AvoidModem, m.Kind, m.IdempotencyScope)
		}
		if !strings.Contains(m.Text, "sim1") || !strings.Contains(m.Text, "down") {
			t.Errorf("owner text %q does not say sim1 is down", m.Text)
		}
		if n := len(r.changesOf(store.ChangeModemDown)); n != 2 {
			t.Errorf("%d modem.down events, want one per outage (2)", n)
		}
	})
}

// With no other SIM working, nothing is texted and the console says why.
func TestOwnerAlertWithoutOtherSIM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := hangRig(t, sim.Config{Number: simA})
		r.textAlertsOn()
		r.start()
		r.waitUp()
		r.sms[0].SetFault(sim.Fault{Hang: true})
		r.waitForLong("the console told", 90*time.Second, func() bool { return hasAlert(r.g, alerting.AlertNoOtherSIM, "sim1") })
		if ms := r.ownerTexts(); len(ms) != 0 {
			t.Errorf("%d texts queued to the owner with no other SIM to send them", len(ms))
		}
		r.sms[0].SetFault(sim.Fault{}) // lets the rig stop
	})
}

// A SIM whose daily budget runs out is texted about from the other SIM,
// beside the sim.budget_exhausted event.
func TestOwnerTextedWhenBudgetExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}, {Number: simB}}, limitsFor: map[int]Limits{0: {PerDay: 1}}})
		r.textAlertsOn()
		r.start()
		r.waitUp()
		first := r.waitStatus(r.submit(customer, "Your order is ready").ID, store.StatusDelivered)
		if first.Modem != "sim1" {
			t.Fatalf("the first text went by %s; the test needs sim1 to use its budget", first.Modem)
		}
		r.waitFor("the owner's text delivered", func() bool {
			ms := r.ownerTexts()
			return len(ms) == 1 && ms[0].Status == store.StatusDelivered
		})
		if m := r.ownerTexts()[0]; m.Modem != "sim2" || !strings.Contains(m.Text, "budget") {
			t.Errorf("owner text %q by %s, want the budget alert by sim2", m.Text, m.Modem)
		}
		if n := len(r.changesOf(store.ChangeSIMBudget)); n != 1 {
			t.Errorf("%d sim.budget_exhausted events, want 1", n)
		}
	})
}

// A balance check reads the amount from the USSD answer and stores it; a
// balance under the threshold raises the low-balance alert, records
// sim.balance_low and texts the owner from the other SIM. A SIM above its
// threshold raises nothing.
func TestBalanceCheckLow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{
			{Number: simA, USSDReplies: map[string]string{"*100#": "Your balance is $1.20. Valid until 2026-12-31."}},
			{Number: simB, USSDReplies: map[string]string{"*100#": "Balance: 12,50 EUR"}},
		}})
		r.textAlertsOn()
		r.start()
		r.waitUp()
		a := r.g.Alerting()
		if _, err := a.SetBalanceCheck("sim1", alerting.BalanceCheckInput{Code: "*100#", Threshold: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetBalanceCheck("sim2", alerting.BalanceCheckInput{Code: "*100#", Threshold: 2, Interval: "12h"}); err != nil {
			t.Fatal(err)
		}
		r.waitFor("both balances read", func() bool {
			bs, err := a.Balances([]string{"sim1", "sim2"})
			return err == nil && bs[0].Amount != nil && bs[1].Amount != nil
		})
		bs, _ := a.Balances([]string{"sim1", "sim2"})
		if *bs[0].Amount != 1.20 || bs[0].AmountText != "1.20" || !bs[0].Low {
			t.Errorf("sim1: %+v, want 1.20, low", bs[0])
		}
		if *bs[1].Amount != 12.50 || bs[1].Low || bs[1].Interval != "12h" {
			t.Errorf("sim2: %+v, want 12.50 read from \"12,50\", not low, every 12h", bs[1])
		}
		if !hasAlert(r.g, AlertLowBalance, "sim1") || hasAlert(r.g, AlertLowBalance, "sim2") {
			t.Errorf("alerts %+v, want low balance on sim1 only", r.g.Alerts())
		}
		r.waitFor("the owner's text delivered", func() bool {
			ms := r.ownerTexts()
			return len(ms) == 1 && ms[0].Status == store.StatusDelivered
		})
		if m := r.ownerTexts()[0]; m.Modem != "sim2" || !strings.Contains(m.Text, "1.20") {
			t.Errorf("owner text %q by %s, want the balance 1.20 by sim2", m.Text, m.Modem)
		}
		if cs := r.changesOf(store.ChangeSIMBalanceLow); len(cs) != 1 || cs[0].Subject != "sim1" {
			t.Errorf("sim.balance_low events %+v, want one about sim1", cs)
		}
		// Checked again before its time (the console's button): the same
		// hour's alert is not texted twice.
		if _, err := a.CheckBalance(context.Background(), "sim1"); err != nil {
			t.Fatal(err)
		}
		elapse(time.Second)
		if n := len(r.ownerTexts()); n != 1 {
			t.Errorf("%d owner texts after a second low reading in the hour, want 1", n)
		}
	})
}

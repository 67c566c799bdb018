package gateway

import (
	"context"

	"github.com/simgate/simgate/gateway/alerting"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/outbox"
)

// Alerting is the owner's alerts (texted to the owner's number from
// another SIM) and the SIMs' periodic balance checks.
func (g *Gateway) Alerting() *alerting.Service { return g.alerting }

// newAlerting wires the alerting room to the outbox and the live alerts.
func (g *Gateway) newAlerting() *alerting.Service {
	return alerting.New(alerting.Config{DB: g.db, Sender: g.outbox, Fleet: alertFleet{g.outbox}, Notify: g.events,
		USSD: alertUSSD{g.outbox}, Log: g.events.log, Clock: g.cfg.Clock,
		Normalize: func(n string) (string, error) { return contacts.Normalize(n, g.cfg.Region) }})
}

// alertFleet names the SIMs that could send an alert now: up, not paused
// by a person, not stopped by their budget.
type alertFleet struct{ q *outbox.Queue }

func (f alertFleet) Working() []string {
	var out []string
	for _, st := range f.q.Modems() {
		if st.State == outbox.StateUp && !st.Paused && (st.Budget == nil || st.Budget.Exhausted == "") {
			out = append(out, st.Name)
		}
	}
	return out
}

// alertUSSD gives the balance checks the outbox's USSD, as text.
type alertUSSD struct{ q *outbox.Queue }

func (u alertUSSD) USSD(ctx context.Context, modemName, code string) (string, error) {
	rep, err := u.q.USSD(ctx, modemName, code)
	return rep.Text, err
}

func (u alertUSSD) CheckUSSDCode(code string) error { return u.q.CheckUSSDCode(code) }

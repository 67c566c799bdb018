package gateway

import (
	"github.com/simgate/simgate/gateway/alerting"
	"github.com/simgate/simgate/gateway/contacts"
)

// Alerting is the owner's alerts (texted to the owner's number from
// another SIM) and the SIMs' periodic balance checks.
func (g *Gateway) Alerting() *alerting.Service { return g.alerting }

// newAlerting wires the alerting room to the outbox and the live alerts.
func (g *Gateway) newAlerting() *alerting.Service {
	return alerting.New(alerting.Config{DB: g.db, Sender: g.outbox, Fleet: alerting.QueueFleet{Q: g.outbox}, Notify: g.events,
		USSD: alerting.QueueUSSD{Q: g.outbox}, Log: g.events.Log, Clock: g.cfg.Clock,
		Normalize: func(n string) (string, error) { return contacts.Normalize(n, g.cfg.Region) }})
}

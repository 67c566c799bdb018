package gateway

import (
	"github.com/simgate/simgate/gateway/live"
	"github.com/simgate/simgate/gateway/outbox"
)

// Hub fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full is dropped (its Done channel closes) so that one slow
// browser can neither stall the dispatcher nor grow memory without bound.
type Hub = live.Hub[Event]

// Subscription receives events on C until it is closed or dropped.
type Subscription = live.Subscription[Event]

// Hub returns the live event hub (the console's websocket subscribes to it;
// package notifier publishes what the parts report).
func (g *Gateway) Hub() *Hub { return g.events.Hub() }

// Alert is a condition a person should look at. It stays until the
// condition clears.
type Alert = live.Alert

// Alert kinds.
const (
	AlertModemDown    = outbox.AlertModemDown    // the supervisor climbed the whole escalation ladder
	AlertSIMOutOfRota = outbox.AlertSIMOutOfRota // barred, no credit, SIM gone
	AlertWrongModem   = outbox.AlertWrongModem   // the configured IMEI is not the modem on that path
	AlertLowBalance   = outbox.AlertLowBalance
)

// Alerts lists the active alerts, oldest first.
func (g *Gateway) Alerts() []Alert { return g.events.Alerts() }

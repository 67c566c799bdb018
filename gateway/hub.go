package gateway

import (
	"time"

	"github.com/simgate/simgate/gateway/live"
)

// Event is one live change: a message's state, an inbound text or a modem's
// health. Exactly one of the pointers is set, matching Type.
type Event struct {
	Type    string       `json:"type"` // "message", "inbound", "modem", "alert", "alert_cleared", "consent"
	At      time.Time    `json:"at"`
	Message *Message     `json:"message,omitempty"`
	Inbound *Inbound     `json:"inbound,omitempty"`
	Modem   *ModemStatus `json:"modem,omitempty"`
	Alert   *Alert       `json:"alert,omitempty"`
	Import  *ImportJob   `json:"import,omitempty"`  // progress of a contact import (Type "import")
	Consent *Consent     `json:"consent,omitempty"` // a number's consent changed (Type "consent")
}

// Hub fans events out to subscribers (the console's websocket subscribes
// to it); see live.Hub.
type Hub = live.Hub[Event]

// Subscription receives events on C until it is closed or dropped.
type Subscription = live.Subscription[Event]

// NewHub returns an empty hub.
func NewHub() *Hub { return live.NewHub[Event]() }

// events turns what the parts report into Events on the hub: it is the
// notifier each part declares.
type events struct {
	hub *Hub
	now func() time.Time
}

func (e *events) ImportProgress(j ImportJob) {
	e.hub.Publish(Event{Type: "import", At: e.now(), Import: &j})
}

func (g *Gateway) publishMessage(m Message) {
	g.hub.Publish(Event{Type: "message", At: g.now(), Message: &m})
}

func (g *Gateway) publishInbound(in Inbound) {
	g.hub.Publish(Event{Type: "inbound", At: g.now(), Inbound: &in})
}

func (g *Gateway) publishModem(st ModemStatus) {
	g.hub.Publish(Event{Type: "modem", At: g.now(), Modem: &st})
}

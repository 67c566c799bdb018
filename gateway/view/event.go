package view

import (
	"time"

	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/live"
)

// Event is one live change: a message's state, an inbound text or a modem's
// health. Exactly one of the pointers is set, matching Type. It carries
// the same views the calls return, so a page reads an event as it reads
// the REST API.
type Event struct {
	Type    string              `json:"type"` // "message", "inbound", "modem", "alert", "alert_cleared", "consent"
	At      time.Time           `json:"at"`
	Message *Message            `json:"message,omitempty"`
	Inbound *Inbound            `json:"inbound,omitempty"`
	Modem   *ModemStatus        `json:"modem,omitempty"`
	Alert   *live.Alert         `json:"alert,omitempty"`
	Import  *contacts.ImportJob `json:"import,omitempty"`  // progress of a contact import (Type "import")
	Consent *Consent            `json:"consent,omitempty"` // a number's consent changed (Type "consent")
	// EventSeq is the newest event of the shop's log (Type "shop_events").
	EventSeq uint64 `json:"event_seq,omitempty"`
}

// Package modem drives one GSM modem over a serial port (or any byte stream)
// with AT commands: init, PDU-mode send with status-report requests, stored
// and routed inbound messages and status reports, health and identity, USSD,
// and the recovery steps a supervisor escalates through (Probe, Escape,
// CheckReception, Reset). Vendor differences are data: quirks.go.
//
// It builds on github.com/warthog618/modem/at for command serialisation and
// github.com/warthog618/sms for the PDU codec, and neutralises the known
// defects of those versions (see docs/modems.md §3.1 and defects.go).
// It knows nothing about queues, stores or HTTP: the gateway decides what to
// send and persists what the modem hands it before the modem deletes it.
package modem

import (
	"context"
	"time"
)

// Identity is what a modem says about itself at init.
type Identity struct {
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	Revision     string `json:"revision"`
	IMEI         string `json:"imei"`
	IMSI         string `json:"imsi"`
	ICCID        string `json:"iccid"`
}

// Health is one reading of the modem's radio, SIM and storage state.
type Health struct {
	At            time.Time `json:"at"`
	SignalDBm     int       `json:"signal_dbm"`   // 0 when unknown (+CSQ 99)
	SignalRSSI    int       `json:"signal_rssi"`  // raw 0-31, 99 unknown
	Registration  string    `json:"registration"` // home, roaming, searching, denied, unregistered, unknown
	Operator      string    `json:"operator"`     // as +COPS? reports it, may be empty
	SIM           string    `json:"sim"`          // READY, SIM PIN, SIM PUK, NOT INSERTED, ...
	StorageUsed   int       `json:"storage_used"` // first +CPMS memory
	StorageTotal  int       `json:"storage_total"`
	ReceptionMode string    `json:"reception_mode"` // the +CNMI? reply, to spot a silently reset routing
}

// Registered reports whether the modem can send: home or roaming.
func (h Health) Registered() bool {
	return h.Registration == "home" || h.Registration == "roaming"
}

// Submit is one SMS-SUBMIT TPDU ready for AT+CMGS: one part of a message.
type Submit struct {
	TPDU []byte // without the SMSC address; "00" (stored SMSC) is prepended on send
	Seq  int    // 1-based part number
	Of   int    // total parts
}

// InboundPart is one received SMS-DELIVER segment. A multipart text arrives
// as several parts sharing (From, ConcatRef, Total); the gateway persists each
// part and reassembles them with DecodeParts once all are there.
type InboundPart struct {
	From      string    // as the network gave it, "+" prefixed when international
	SCTS      time.Time // service centre time stamp
	ConcatRef int       // 0 when not concatenated
	Seq       int       // 1-based, 1 when not concatenated
	Total     int       // 1 when not concatenated
	TPDU      []byte    // the raw SMS-DELIVER TPDU (no SMSC), kept for reassembly
	Text      string    // this segment decoded on its own (best effort, for logs)
}

// StatusReport is a decoded SMS-STATUS-REPORT.
type StatusReport struct {
	MR        int       // TP-MR, 0-255, as returned by +CMGS for the part
	Recipient string    // TP-RA as given (may be national format, or garbage on some ZTE modems)
	SCTS      time.Time // when the SMSC accepted the submit
	Discharge time.Time // TP-DT
	Status    byte      // TP-ST
}

// Outcome classifies TP-ST per 3GPP TS 23.040 (docs/modems.md §1.2 table).
type Outcome int

const (
	OutcomeDelivered Outcome = iota + 1 // 0x00-0x1F
	OutcomePending                      // 0x20-0x3F: SC still trying, wait for another report
	OutcomeFailed                       // 0x40-0x7F: permanent, or SC stopped trying
)

// Handler receives what the modem reads. Each method must return only after
// the data is durably stored: the driver deletes the message from the modem's
// storage (+CMGD) only after a nil return. A non-nil error leaves it on the
// modem, to be picked up again by the next +CMGL sweep.
type Handler interface {
	Inbound(ctx context.Context, p InboundPart) error
	StatusReport(ctx context.Context, r StatusReport) error
}

// RawHandler is an optional extension of Handler for what the driver can
// read but not hand over as an InboundPart or StatusReport: a PDU the codec
// rejects, or an SMS-SUBMIT a phone stored on the SIM. Without it such a
// message stays on the modem for good and, slot by slot, fills the storage
// until reception stops. With it, the message is deleted after Undecodable
// returned nil (having kept pdu, the hex PDU with its SMSC address, for a
// person to look at). index is the storage slot, -1 for a routed +CMT/+CDS.
type RawHandler interface {
	Undecodable(ctx context.Context, index int, pdu string) error
}

// Config describes how to talk to one modem.
type Config struct {
	Name           string        // operator-chosen label, e.g. "sim1"
	Path           string        // serial device path: /dev/ttyUSB2, /dev/serial/by-id/..., /dev/pts/N
	Baud           int           // default 115200
	PIN            string        // SIM PIN, entered if +CPIN? says SIM PIN; never logged
	SMSC           string        // set with +CSCA when the SIM has none
	CommandTimeout time.Duration // default 10s (ModemManager uses 10s for non-network commands)
	SubmitTimeout  time.Duration // default 90s: smstools3 60s, ModemManager 300s, docs/modems.md §1.2 says 60-120s
	SweepInterval  time.Duration // default 30s: +CMGL=4 sweep, indications get lost
	PromptTimeout  time.Duration // default 10s: the +CMGS prompt needs no network (ModemManager: 10s)
	ResyncGrace    time.Duration // default 5s: after a submit timeout, wait this long for a late +CMGS before probing
	QuietPeriod    time.Duration // default 300ms: silence that ends a drain (gammu 100ms, docs/modems.md §1.2 200-500ms)
	RetryDelay     time.Duration // default 1s: base backoff while the SIM is busy (CME 14) or SMS is not ready yet
	ReadyTimeout   time.Duration // default 30s: how long SMS commands may answer ERROR after a boot (SIMCom until "SMS Ready", SIM7600 >10s)
	USSDTimeout    time.Duration // default 30s: the +CUSD reply comes from the network, usually in 2-10s
}

// withDefaults fills in the zero fields; the reasons are on the fields.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Baud <= 0 {
		c.Baud = 115200
	}
	def(&c.CommandTimeout, 10*time.Second)
	def(&c.SubmitTimeout, 90*time.Second)
	def(&c.SweepInterval, 30*time.Second)
	def(&c.PromptTimeout, 10*time.Second)
	def(&c.ResyncGrace, 5*time.Second)
	def(&c.QuietPeriod, 300*time.Millisecond)
	def(&c.RetryDelay, time.Second)
	def(&c.ReadyTimeout, 30*time.Second)
	def(&c.USSDTimeout, 30*time.Second)
	return c
}

// probeTimeout bounds the probes of a resync and Probe: "AT" needs no
// network, so a modem that can't answer it in 3s is hung.
func (c Config) probeTimeout() time.Duration {
	return min(c.CommandTimeout, 3*time.Second)
}

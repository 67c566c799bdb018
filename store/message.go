package store

import (
	"encoding/json"
	"time"
)

// Status is the persisted state of an outbound message or one of its parts.
// Values are stored on disk: never renumber, only append.
type Status uint8

const (
	StatusQueued     Status = 1 // waiting in the due index
	StatusSending    Status = 2 // written before AT+CMGS; found at start-up it becomes unknown
	StatusSent       Status = 3 // the SMSC accepted every part (+CMGS: <mr>), waiting for reports
	StatusDelivered  Status = 4 // every part's status report said delivered
	StatusFailed     Status = 5 // permanent error, retries used up, or a report said failed
	StatusUnknown    Status = 6 // crash or timeout after a PDU left: never resent blindly
	StatusSuppressed Status = 7 // opted out or no consent: recorded, never sent
	StatusExpired    Status = 8 // validity passed before it could go
)

var statusNames = map[Status]string{
	StatusQueued: "queued", StatusSending: "sending", StatusSent: "sent",
	StatusDelivered: "delivered", StatusFailed: "failed", StatusUnknown: "unknown",
	StatusSuppressed: "suppressed", StatusExpired: "expired",
}

// String returns the API name of the status ("queued", "delivered", ...).
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "invalid"
}

// ParseStatus maps an API name back to a Status.
func ParseStatus(name string) (Status, bool) {
	for s, n := range statusNames {
		if n == name {
			return s, true
		}
	}
	return 0, false
}

// Final reports whether no further transition is expected without a person
// acting (resend or drop).
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusFailed, StatusSuppressed, StatusExpired:
		return true
	}
	return false
}

// Kind separates transactional texts from marketing, which the compliance
// guard treats more strictly. Stored: append only.
type Kind uint8

const (
	KindTransactional Kind = 1
	KindMarketing     Kind = 2
	// KindCompliance: the box's own replies about consent (opt-out
	// confirmations, HELP answers, double opt-in requests). They go even to
	// a number that opted out, never carry marketing, and skip quiet hours
	// and caps (R-STOP-3, R-HELP).
	KindCompliance Kind = 3
)

var kindNames = map[Kind]string{KindTransactional: "transactional", KindMarketing: "marketing", KindCompliance: "compliance"}

// String returns the API name of the kind.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "invalid"
}

// ParseKind maps an API name back to a Kind.
func ParseKind(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n == name {
			return k, true
		}
	}
	return 0, false
}

// Priority orders due texts for the dispatcher. Stored: append only.
type Priority uint8

const (
	// PriorityNormal: every text the shop sends and the box's own replies.
	PriorityNormal Priority = 0
	// PriorityLow: texts a stranger caused, the double opt-in requests of
	// the public sign-up page. They wait while any normal text is due, so
	// they can never delay the shop's own texts.
	PriorityLow Priority = 1
)

// Message is one outbound text and everything known about its journey.
type Message struct {
	ID             uint64    `json:"id"`
	To             string    `json:"to"` // E.164
	Text           string    `json:"text"`
	Kind           Kind      `json:"kind"`
	Priority       Priority  `json:"priority,omitempty"`
	Encoding       string    `json:"encoding"` // "GSM-7" or "UCS-2"
	Status         Status    `json:"status"`
	Parts          []Part    `json:"parts"`
	Attempts       int       `json:"attempts"` // send attempts that ended in a retryable error
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	NextAttemptAt  time.Time `json:"next_attempt_at"` // due time while queued
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	Error          string    `json:"error,omitempty"`
	Modem          string    `json:"modem,omitempty"`      // modem that sent the first part: later parts follow it
	ConcatRef      uint8     `json:"concat_ref,omitempty"` // 8-bit concatenation reference shared by all parts
	// AdmittedAt is when the compliance guard first let a marketing text
	// through; it then counts against the frequency cap, once, however
	// many attempts it takes.
	AdmittedAt time.Time `json:"admitted_at,omitempty"`
	// Hold says why a queued text is waiting (quiet hours, frequency cap,
	// opt-out review); empty once it goes.
	Hold string `json:"hold,omitempty"`
	// BodyPurged: Text was blanked by the retention purge (PurgeBodies);
	// the row and its history stay as the record of what was sent.
	BodyPurged bool         `json:"body_purged,omitempty"`
	History    []Transition `json:"history"`
	// IdempotencyScope is whose IdempotencyKey it is ("token:7", the
	// gateway's own replies): keys of different scopes never meet. Empty
	// on messages stored before scopes existed, whose keys were shared.
	IdempotencyScope string `json:"idempotency_scope,omitempty"`
	// IdempotencyFingerprint is a hash of what defines the text (number,
	// kind, words), so that a key sent again with another text is refused
	// rather than answered with this message. Empty when not compared:
	// messages stored before fingerprints, the gateway's own replies.
	IdempotencyFingerprint string `json:"idempotency_fingerprint,omitempty"`
	// ExitKey ends the text before it goes: once an event marks the key
	// (an order placed for the checkout a reminder is about, "checkout:
	// shopify:123"), the text is withdrawn if still queued, and refused at
	// the guard's commit point if the mark lands while it is being handed
	// out. Empty: nothing ends it.
	ExitKey string `json:"exit_key,omitempty"`
	// Origin names what made the text ("flow:3:entry:77:step:2",
	// "campaign:5:variant:b"), for its page and for attribution. Empty:
	// sent by a client or a person.
	Origin string `json:"origin,omitempty"`
	// Callback, when set, is told of every status change of this text in
	// a receiver's own format (Twilio's StatusCallback, Kannel's dlr-url),
	// through the webhooks' delivery outbox.
	Callback *Callback `json:"callback,omitempty"`
	// AvoidModem names a SIM that must not send this text: an alert to
	// the owner about that SIM goes through another. Empty: any SIM.
	AvoidModem string `json:"avoid_modem,omitempty"`
}

// Callback is a per-message status callback: where to tell, and in which
// format. Written with the message, so it is as durable as the text.
type Callback struct {
	URL string `json:"url"`
	// Format names the formatter that builds the request ("twilio",
	// "kannel"); package gateway/webhooks keeps the registry.
	Format string `json:"format"`
	// Params is the formatter's own data (an account, a mask, a template).
	Params json.RawMessage `json:"params,omitempty"`
	// AllowPrivate lets the URL resolve to a private or local address.
	AllowPrivate bool `json:"allow_private,omitempty"`
}

// Part is one SMS-SUBMIT of a message; each has its own MR and status report.
type Part struct {
	Seq    int       `json:"seq"` // 1-based
	MR     int       `json:"mr"`  // -1 until +CMGS answered
	Modem  string    `json:"modem,omitempty"`
	Status Status    `json:"status"`
	SentAt time.Time `json:"sent_at,omitempty"`
	DoneAt time.Time `json:"done_at,omitempty"` // delivered or failed by report
	Error  string    `json:"error,omitempty"`
	// NoReport: the report window passed with no status report. The part
	// stays `sent` (the network took it; whether it arrived is unknown)
	// and leaves the report index, so a report this late matches nothing
	// and the index never grows with reports a network dropped.
	NoReport bool `json:"no_report,omitempty"`
	// Price is what the part cost when it was sent, in minor units of
	// Currency: the price per part of its SIM then (SetPartPrice), stamped
	// by the store in the write that set SentAt. Zero: no price was set.
	Price    int64  `json:"price,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// Transition records one change of a message's state and why.
type Transition struct {
	At     time.Time `json:"at"`
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// Inbound is one received text, reassembled when it came in several parts.
type Inbound struct {
	ID         uint64    `json:"id"`
	Modem      string    `json:"modem"`
	From       string    `json:"from"` // E.164 when it parses, else as received
	Text       string    `json:"text"`
	SentAt     time.Time `json:"sent_at"`     // SCTS of the first part
	ReceivedAt time.Time `json:"received_at"` // when simgate stored it
	Parts      int       `json:"parts"`
	// BodyPurged: Text was blanked by the retention purge (PurgeBodies).
	BodyPurged bool `json:"body_purged,omitempty"`
}

// InboundPart is one persisted segment of a multipart inbound text waiting
// for its siblings.
type InboundPart struct {
	Modem     string    `json:"modem"`
	From      string    `json:"from"`
	ConcatRef int       `json:"concat_ref"`
	Seq       int       `json:"seq"`
	Total     int       `json:"total"`
	SCTS      time.Time `json:"scts"`
	TPDU      []byte    `json:"tpdu"`
	Received  time.Time `json:"received"`
}

// Token is an API bearer token; only its SHA-256 hash is stored.
type Token struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used,omitempty"`
	// Marketing marks the texts of the compatibility APIs (Twilio, Kannel,
	// SMSEagle), which have no kind field, as marketing: the guard then
	// asks for consent, quiet hours and the frequency cap. Unset, they are
	// transactional.
	Marketing bool `json:"marketing,omitempty"`
	// PrivateCallbacks lets the status callbacks of the texts this token
	// submits through the compatibility APIs (Twilio's StatusCallback,
	// Kannel's dlr-url) reach private, loopback or the box's own
	// addresses: a monitoring server on the shop's network. Without it
	// they may reach only public addresses (the webhooks' SSRF rule).
	PrivateCallbacks bool `json:"private_callbacks,omitempty"`
	// TwilioSID is the Account SID ("AC" + 32 hex) of a token made for
	// Twilio's API; its plaintext is then the Auth Token.
	TwilioSID string `json:"twilio_sid,omitempty"`
	// TwilioSigningKey is that Auth Token itself. Twilio's signatures
	// (X-Twilio-Signature on status callbacks and inbound posts) are an
	// HMAC keyed by it, so the box must hold it to sign: the hash above
	// authenticates, this signs. Never shown by the API.
	TwilioSigningKey string `json:"twilio_signing_key,omitempty"`
	// TwilioInboundURL is where the account's inbound texts are posted in
	// Twilio's format (through a webhook endpoint with that URL and the
	// "twilio" format); the account signs them.
	TwilioInboundURL string `json:"twilio_inbound_url,omitempty"`
}

package view

import (
	"encoding/json"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/shopevents"
	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/store"
)

// The gateway's public types. The parts work on store records; convert.go
// turns those into these.

// Status is the state of an outbound message or of one of its parts, by
// its API name.
type Status string

// Message states.
const (
	StatusQueued     Status = "queued"
	StatusSending    Status = "sending"
	StatusSent       Status = "sent"
	StatusDelivered  Status = "delivered"
	StatusFailed     Status = "failed"
	StatusUnknown    Status = "unknown" // may or may not have gone out: a person decides
	StatusSuppressed Status = "suppressed"
	StatusExpired    Status = "expired"
)

// ParseStatus checks an API status name.
func ParseStatus(name string) (Status, bool) {
	_, ok := store.ParseStatus(name)
	return Status(name), ok
}

// Kind separates transactional texts from marketing, by its API name.
type Kind string

// Message kinds.
const (
	KindTransactional Kind = "transactional"
	KindMarketing     Kind = "marketing"
	KindCompliance    Kind = "compliance" // the box's own replies about consent
)

// ParseKind checks an API kind name ("transactional", "marketing", ...).
func ParseKind(name string) (Kind, bool) {
	_, ok := store.ParseKind(name)
	return Kind(name), ok
}

// MarketingState is a number's standing for marketing texts, by its API
// name.
type MarketingState string

// Marketing states.
const (
	MarketingNone      MarketingState = "none"
	MarketingPending   MarketingState = "pending" // double opt-in requested, no YES yet
	MarketingConfirmed MarketingState = "confirmed"
	MarketingOptedOut  MarketingState = "opted_out"
)

// Message is an outbound text as the API shows it. Unknown values are null
// rather than zero ("mr": null, not -1). Fields without a JSON name are for
// the console's pages.
type Message struct {
	ID        uint64     `json:"id"`
	Status    Status     `json:"status"`
	Kind      Kind       `json:"kind"`
	To        string     `json:"to"`
	Text      string     `json:"text"`
	Encoding  string     `json:"encoding"`
	UCS2Chars []string   `json:"ucs2_chars,omitempty"` // what forced UCS-2, for the caller to fix its text
	Parts     []Part     `json:"parts"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Error     *string    `json:"error"`
	// Hold says why a queued text waits (quiet hours, frequency cap, an
	// opt-out review).
	Hold    *string      `json:"hold"`
	History []Transition `json:"history"`
	// Origin names what made the text ("flow:3:entry:77:step:2",
	// "template:4"); empty for a client's or a person's own text.
	Origin string `json:"origin,omitempty"`

	Modem         string    `json:"-"` // the modem of the first part; later parts follow it
	NextAttemptAt time.Time `json:"-"` // when a queued text is tried next
	BodyPurged    bool      `json:"-"` // the retention purge blanked Text
}

// Part is one SMS of a message.
type Part struct {
	Seq    int        `json:"seq"`
	MR     *int       `json:"mr"` // the network's reference, once it accepted the part
	Modem  *string    `json:"modem"`
	Status Status     `json:"status"`
	SentAt *time.Time `json:"sent_at"`
	DoneAt *time.Time `json:"done_at"`
	Error  *string    `json:"error"`
}

// Transition is one step of a message's history.
type Transition struct {
	At     time.Time `json:"at"`
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// ListFilter selects a page of messages, newest first.
type ListFilter struct {
	Status Status // "" = any
	Before uint64 // cursor: only IDs < Before; 0 = from the newest
	Limit  int
}

// Inbound is one received text.
type Inbound struct {
	ID         uint64    `json:"id"`
	Modem      string    `json:"modem"`
	From       string    `json:"from"`
	Text       string    `json:"text"`
	SentAt     time.Time `json:"sent_at"`
	ReceivedAt time.Time `json:"received_at"`
	Parts      int       `json:"parts"`

	BodyPurged bool `json:"-"` // the retention purge blanked Text
}

// Consent is a number's compliance record. The field order is the order
// the API has always sent them in, marketing last.
type Consent struct {
	Number          string `json:"number"`
	OptedOutAll     bool   `json:"opted_out_all,omitempty"`
	OptOutByKeyword bool   `json:"opt_out_by_keyword,omitempty"` // START may undo it
	Review          bool   `json:"review,omitempty"`             // an opt-out review is open
	ReviewInboundID uint64 `json:"review_inbound_id,omitempty"`
	ReviewText      string `json:"review_text,omitempty"`
	CartReminders   bool   `json:"cart_reminders,omitempty"`
	// PendingCartReminders: the open double opt-in request asked for cart
	// reminders; they start only with the number's YES.
	PendingCartReminders bool                 `json:"pending_cart_reminders,omitempty"`
	ConfirmedAt          time.Time            `json:"confirmed_at"`
	RecentMarketing      []time.Time          `json:"recent_marketing,omitempty"` // inside the frequency cap's window
	LastReply            map[string]time.Time `json:"last_reply,omitempty"`       // automatic reply kind → when last sent
	UpdatedAt            time.Time            `json:"updated_at"`
	Marketing            MarketingState       `json:"marketing"`
}

// ConsentEvent is one entry of a number's consent ledger.
type ConsentEvent struct {
	ID                uint64                 `json:"id"`
	Number            string                 `json:"number"` // after erasure "erased:<hash>"
	At                time.Time              `json:"at"`
	TimeZone          string                 `json:"time_zone,omitempty"`
	Type              store.ConsentEventType `json:"type"`
	Purpose           store.ConsentPurpose   `json:"purpose"`
	Method            store.ConsentMethod    `json:"method,omitempty"`
	Source            string                 `json:"source,omitempty"`
	DisclosureVersion string                 `json:"disclosure_version,omitempty"`
	DisclosureText    string                 `json:"disclosure_text,omitempty"`
	IP                string                 `json:"ip,omitempty"`
	UserAgent         string                 `json:"user_agent,omitempty"`
	Terminal          string                 `json:"terminal,omitempty"`
	Keyword           string                 `json:"keyword,omitempty"`
	InboundID         uint64                 `json:"inbound_id,omitempty"` // the text that caused it
	MessageID         uint64                 `json:"message_id,omitempty"` // the confirmation or request sent
	Actor             string                 `json:"actor,omitempty"`
	Note              string                 `json:"note,omitempty"`
}

// Evidence is what a business shows when its consent to text a number is
// challenged (R-RECORD): the record, every ledger entry and the full text
// of every disclosure they refer to. Consent comes last on the wire.
type Evidence struct {
	Number      string                           `json:"number"`
	Events      []ConsentEvent                   `json:"events"`
	Disclosures map[string]compliance.Disclosure `json:"disclosures,omitempty"`
	ExportedAt  time.Time                        `json:"exported_at"`
	Consent     Consent                          `json:"consent"`
}

// SubjectData is everything stored about one person (GDPR Art. 15/20).
type SubjectData struct {
	ExportedAt    time.Time         `json:"exported_at"`
	Profile       *contacts.Contact `json:"profile"`
	Consent       Consent           `json:"consent"`
	ConsentEvents []ConsentEvent    `json:"consent_events"`
	Messages      []Message         `json:"messages"`
	Inbound       []Inbound         `json:"inbound"`
	// ShopEvents: what the shop told the box about the person (checkouts,
	// orders, products viewed), oldest first.
	ShopEvents  []shopevents.Event `json:"shop_events"`
	FlowEntries []flows.Entry      `json:"flow_entries"`
	// Links are the short links in the texts to the person and how often
	// they were clicked.
	Links []SubjectLink `json:"links"`
	// Campaigns the person was planned into: the variant they got, or the
	// holdout (which texts no one), and when.
	Campaigns []SubjectCampaign `json:"campaigns"`
}

// SubjectCampaign is one campaign membership in a person's data export.
type SubjectCampaign struct {
	Campaign  uint64    `json:"campaign"`
	Variant   string    `json:"variant"`
	At        time.Time `json:"at"`
	MessageID uint64    `json:"message_id,omitempty"`
}

// SubjectLink is a short link in a person's data export.
type SubjectLink struct {
	URL          string    `json:"url"`
	Origin       string    `json:"origin,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	Clicks       int       `json:"clicks"`
	FirstClickAt time.Time `json:"first_click_at,omitzero"`
	LastClickAt  time.Time `json:"last_click_at,omitzero"`
}

// EraseReport says what an erasure removed.
type EraseReport struct {
	Hash            string `json:"hash"` // what stays in the suppression list
	Contact         bool   `json:"contact"`
	Messages        int    `json:"messages"`
	Inbound         int    `json:"inbound"`
	ConsentEvents   int    `json:"consent_events"`             // pseudonymised, kept as evidence
	ShopEvents      int    `json:"shop_events"`                // deleted
	Links           int    `json:"links"`                      // short links to the number, deleted with their clicks
	FlowEntries     int    `json:"flow_entries"`               // automated flows' entries, deleted
	CampaignMembers int    `json:"campaign_members,omitempty"` // campaign member records, deleted (the counts stay)
}

// ModemStatus is what the API and console show about one configured modem.
type ModemStatus struct {
	Name      string            `json:"name"`
	Path      string            `json:"path"`
	State     string            `json:"state"` // StateStarting, StateUp, StateDegraded or StateDown
	Identity  Identity          `json:"identity"`
	Health    Health            `json:"health"`
	LastError string            `json:"last_error,omitempty"`
	Since     time.Time         `json:"since"` // when State last changed
	Sent      int               `json:"sent"`  // parts accepted by the SMSC since start
	Budget    *simlimits.Budget `json:"budget,omitempty"`
	Paused    bool              `json:"paused"` // a person took the SIM out of sending
}

// Identity is what a modem and its SIM say they are.
type Identity struct {
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	Revision     string `json:"revision"`
	IMEI         string `json:"imei"`
	IMSI         string `json:"imsi"`
	ICCID        string `json:"iccid"`
}

// Health is one reading of a modem's radio, SIM and storage.
type Health struct {
	At            time.Time `json:"at"`
	SignalDBm     int       `json:"signal_dbm"` // 0 when unknown
	SignalRSSI    int       `json:"signal_rssi"`
	Registration  string    `json:"registration"` // home, roaming, searching, denied, ...
	Operator      string    `json:"operator"`
	SIM           string    `json:"sim"` // READY, SIM PIN, NOT INSERTED, ...
	StorageUsed   int       `json:"storage_used"`
	StorageTotal  int       `json:"storage_total"`
	ReceptionMode string    `json:"reception_mode"`
}

// Plan is how a text will be encoded and into how many parts.
type Plan struct {
	Encoding  string   `json:"encoding"` // "GSM-7" or "UCS-2"
	Parts     int      `json:"parts"`
	Units     int      `json:"units"`      // septets (GSM-7) or UTF-16 code units (UCS-2)
	PerPart   int      `json:"per_part"`   // 160/153 (GSM-7) or 70/67 (UCS-2)
	UCS2Chars []string `json:"ucs2_chars"` // what forced UCS-2, in order of appearance
}

// USSDReply is the network's answer to a USSD code such as *100#.
type USSDReply struct {
	Status int    `json:"status"` // 0 done, 2 ended by the network, 4 not supported, ...
	Text   string `json:"text"`
	DCS    int    `json:"dcs"` // -1 when the modem gave none
}

// SubmitRequest is a request to send one text.
type SubmitRequest struct {
	To             string
	Text           string
	IdempotencyKey string
	// IdempotencyScope is whose key IdempotencyKey is ("token:7"), so two
	// clients cannot collide; "" is the scope of direct callers.
	IdempotencyScope string
	ExpiresAt        time.Time // zero: the kind's default validity
	Kind             Kind      // "": transactional
	// Callback is told of every status change of the text in a
	// receiver's format (compat routes: Twilio's StatusCallback, Kannel's
	// dlr-url). Nil: none.
	Callback *Callback
}

// Callback is a per-message status callback: where, in which registered
// format, with the format's own parameters.
type Callback struct {
	URL          string
	Format       string
	Params       json.RawMessage
	AllowPrivate bool
}

// LinkStats sums the short links of an origin: clicks by people, links
// clicked at least once, the numbers that clicked, and the fetches of
// preview robots and HEAD requests, which are not clicks.
type LinkStats struct {
	Links        int `json:"links"`
	Clicks       int `json:"clicks"`
	UniqueClicks int `json:"unique_clicks"`
	Numbers      int `json:"numbers"`
	Previews     int `json:"previews"`
}

package store

import "time"

// MarketingState is a number's standing for marketing texts. Stored: append
// only.
type MarketingState uint8

const (
	MarketingNone      MarketingState = 0 // never asked
	MarketingPending   MarketingState = 1 // double opt-in requested, no YES yet
	MarketingConfirmed MarketingState = 2 // explicit consent on record
	MarketingOptedOut  MarketingState = 3 // withdrew consent
)

var marketingStateNames = map[MarketingState]string{
	MarketingNone: "none", MarketingPending: "pending",
	MarketingConfirmed: "confirmed", MarketingOptedOut: "opted_out",
}

// String returns the API name of the state.
func (s MarketingState) String() string {
	if n, ok := marketingStateNames[s]; ok {
		return n
	}
	return "invalid"
}

// Consent is the compliance record of one phone number, whether or not
// a contact exists for it: its consent, a pending review, the marketing
// texts sent to it lately (frequency cap) and the automatic replies it got
// (one confirmation per event). It is derived from the ledger and changed
// only together with a ledger append, or by AdmitSend.
type Consent struct {
	Number    string         `json:"number"` // E.164
	Marketing MarketingState `json:"marketing"`
	// OptedOutAll: the number texted a STOP keyword (or asked to stop
	// everything): no text at all goes to it, transactional included, except
	// the one opt-out confirmation and HELP replies.
	OptedOutAll bool `json:"opted_out_all,omitempty"`
	// OptOutByKeyword: the last opt-out came by keyword, so START may undo it
	// (R-START).
	OptOutByKeyword bool `json:"opt_out_by_keyword,omitempty"`
	// Review: an inbound text read like an opt-out without being a keyword
	// (R-STOP-4). Marketing is paused until a person decides.
	Review          bool   `json:"review,omitempty"`
	ReviewInboundID uint64 `json:"review_inbound_id,omitempty"`
	ReviewText      string `json:"review_text,omitempty"`
	// CartReminders: explicit consent to abandoned-cart texts (R-DOI).
	CartReminders bool      `json:"cart_reminders,omitempty"`
	ConfirmedAt   time.Time `json:"confirmed_at,omitempty"`
	// RecentMarketing: when marketing texts to this number were handed to a
	// modem, newest last, only those inside the cap window.
	RecentMarketing []time.Time `json:"recent_marketing,omitempty"`
	// LastReply: automatic reply kind ("stop", "help", "start", "doi") →
	// when it was last sent, for "one confirmation per event".
	LastReply map[string]time.Time `json:"last_reply,omitempty"`
	UpdatedAt time.Time            `json:"updated_at"`
}

// ConsentEvent is one entry of the append-only consent ledger: the evidence
// a business shows when challenged (R-RECORD). Only erasure rewrites an
// entry, replacing the number and personal fields with the salted hash.
type ConsentEvent struct {
	ID       uint64    `json:"id"`
	Number   string    `json:"number"` // E.164; after erasure "erased:<hash>"
	At       time.Time `json:"at"`     // UTC
	TimeZone string    `json:"time_zone,omitempty"`
	// Type: "opt_in", "doi_request", "doi_confirm", "opt_out",
	// "opt_out_review" (a text that read like an opt-out), "review_resolved",
	// "resubscribe" (START), "erasure".
	Type string `json:"type"`
	// Purpose: "marketing" or "all" (opt-outs of everything).
	Purpose string `json:"purpose"`
	// Method: "web_form", "keyword", "pos", "import", "api", "console".
	Method string `json:"method,omitempty"`
	// Source: the page URL, POS terminal or staff ID, keyword, file name.
	Source            string `json:"source,omitempty"`
	DisclosureVersion string `json:"disclosure_version,omitempty"`
	DisclosureText    string `json:"disclosure_text,omitempty"` // the exact text shown
	IP                string `json:"ip,omitempty"`
	UserAgent         string `json:"user_agent,omitempty"`
	Terminal          string `json:"terminal,omitempty"` // POS terminal or staff ID
	Keyword           string `json:"keyword,omitempty"`
	InboundID         uint64 `json:"inbound_id,omitempty"` // the text that caused it
	MessageID         uint64 `json:"message_id,omitempty"` // the confirmation or request sent
	Actor             string `json:"actor,omitempty"`      // console user who acted
	Note              string `json:"note,omitempty"`
}

// EraseReport says what an erasure removed.
type EraseReport struct {
	Hash          string `json:"hash"` // what stays in the suppression list
	Contact       bool   `json:"contact"`
	Messages      int    `json:"messages"`
	Inbound       int    `json:"inbound"`
	ConsentEvents int    `json:"consent_events"` // pseudonymised, kept as evidence
}

// SubjectData is everything stored about one number (GDPR Art. 15/20).
type SubjectData struct {
	Contact  *Contact       `json:"contact,omitempty"`
	Consent  Consent        `json:"consent"`
	Events   []ConsentEvent `json:"consent_events"`
	Messages []Message      `json:"messages"`
	Inbound  []Inbound      `json:"inbound"`
}

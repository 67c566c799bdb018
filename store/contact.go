package store

import "time"

// Contact is one customer the shop texts. Number is unique.
type Contact struct {
	ID         uint64            `json:"id"`
	Number     string            `json:"number"` // E.164
	Name       string            `json:"name,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Tags       []string          `json:"tags,omitempty"` // lower case, sorted, unique
	TimeZone   string            `json:"time_zone"`      // IANA name; from the number when not given
	// TimeZoneDerived: TimeZone was guessed from the number, not given. The
	// compliance guard then checks every zone the number's area code spans.
	TimeZoneDerived bool      `json:"time_zone_derived,omitempty"`
	Language        string    `json:"language,omitempty"` // BCP 47 tag such as "en" or "fr-CA"
	Source          string    `json:"source,omitempty"`   // how the contact first got here: "api", "import", "keyword", "join", "console"
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// ContactFilter selects a page of contacts for ListContacts.
type ContactFilter struct {
	Query string // case-insensitive substring of number or name; "" = any
	Tag   string // only contacts with this tag; "" = any
	After uint64 // cursor: only IDs > After (oldest first)
	Limit int    // DefaultListLimit when 0, at most MaxListLimit
}

// ContactUpsert is one row of a bulk import: the contact's fields and,
// when the row carries consent, the opt-in to record with it.
type ContactUpsert struct {
	Contact Contact
	// OptIn, when set, is appended to the ledger in the same transaction
	// (method import) and makes marketing consent confirmed.
	OptIn *ConsentEvent
}

// UpsertOutcome is what happened to one ContactUpsert.
type UpsertOutcome uint8

const (
	UpsertCreated    UpsertOutcome = 1
	UpsertUpdated    UpsertOutcome = 2
	UpsertSuppressed UpsertOutcome = 3 // the number was erased on request: not stored
)

// UpsertResult is what happened to one row, in the order given.
type UpsertResult struct {
	Outcome UpsertOutcome
	Contact Contact
	// ConsentKept: the row carried an opt-in, but the number had opted out
	// (or is suppressed), so its consent was left as it was: an import never
	// overrides a customer's own opt-out.
	ConsentKept bool
}

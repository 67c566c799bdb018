package gateway

import (
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Types the HTTP layer uses, re-exported so that webui never imports store
// or modem directly (dependencies point one way: webui → gateway).
type (
	Message    = store.Message
	Part       = store.Part
	Transition = store.Transition
	Inbound    = store.Inbound
	Status     = store.Status
	Kind       = store.Kind
	Token      = store.Token
	ListFilter = store.ListFilter

	Contact          = store.Contact
	ContactFilter    = store.ContactFilter
	Consent          = store.Consent
	ConsentEvent     = store.ConsentEvent
	ConsentEventType = store.ConsentEventType
	ConsentMethod    = store.ConsentMethod
	ConsentPurpose   = store.ConsentPurpose
	EraseReport      = store.EraseReport
	SubjectData      = store.SubjectData
	MarketingState   = store.MarketingState
	Plan             = modem.Plan
	Identity         = modem.Identity
	Health           = modem.Health
)

// Re-exported constants.
const (
	StatusQueued     = store.StatusQueued
	StatusSending    = store.StatusSending
	StatusSent       = store.StatusSent
	StatusDelivered  = store.StatusDelivered
	StatusFailed     = store.StatusFailed
	StatusUnknown    = store.StatusUnknown
	StatusSuppressed = store.StatusSuppressed
	StatusExpired    = store.StatusExpired

	KindTransactional = store.KindTransactional
	KindMarketing     = store.KindMarketing
	KindCompliance    = store.KindCompliance

	MarketingNone      = store.MarketingNone
	MarketingPending   = store.MarketingPending
	MarketingConfirmed = store.MarketingConfirmed
	MarketingOptedOut  = store.MarketingOptedOut
)

// ParseStatus maps an API status name to a Status.
func ParseStatus(name string) (Status, bool) { return store.ParseStatus(name) }

// ParseKind maps an API kind name ("transactional", "marketing") to a Kind.
func ParseKind(name string) (Kind, bool) { return store.ParseKind(name) }

// ErrNotFound is returned for an unknown message, inbound text, token or modem.
var ErrNotFound = store.ErrNotFound

// ErrExists is returned when a contact with the number already exists.
var ErrExists = store.ErrExists

// ErrSuppressed is returned for a number erased on request (GDPR): it is
// not stored or subscribed again by an import or an API call.
var ErrSuppressed = store.ErrSuppressed

// ErrConflict is returned when an action does not fit the current state,
// e.g. resending a delivered message.
var ErrConflict = store.ErrConflict

// ErrIdempotencyKeyReused is returned by Submit when the idempotency key was
// used in the same scope within 24 h for a different text (number, kind or
// words): a new text needs a new key.
var ErrIdempotencyKeyReused = store.ErrIdempotencyKeyReused

// FieldError is bad input from a caller; Field names the offending field so
// the API can answer 400 with it. It is the store's type, so bad input
// caught by either layer maps the same way.
type FieldError = store.FieldError

// SubmitRequest is a request to send one text.
type SubmitRequest = outbox.SubmitRequest

// ModemStatus is what the API and console show about one configured modem.
type ModemStatus = outbox.ModemStatus

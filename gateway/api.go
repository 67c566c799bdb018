package gateway

import (
	"github.com/simgate/simgate/store"
)

// The consent ledger's persisted vocabulary: string types whose values are
// what the store writes (store/consent.go keeps the one list), so webui
// names a method or an event type without importing store.
type (
	ConsentEventType = store.ConsentEventType
	ConsentMethod    = store.ConsentMethod
	ConsentPurpose   = store.ConsentPurpose
)

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

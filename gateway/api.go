package gateway

import (
	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
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
var ErrConflict = compliance.ErrConflict

// FieldError is bad input from a caller; Field names the offending field so
// the API can answer 400 with it.
type FieldError = compliance.FieldError

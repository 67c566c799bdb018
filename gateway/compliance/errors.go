package compliance

import (
	"errors"

	"github.com/simgate/simgate/store"
)

// The two ways every part of the gateway refuses a caller. They live here,
// at the bottom of the gateway's parts, so that each part returns the same
// types and the API maps them the same way (400 naming the field, 409).

// FieldError is bad input from a caller; Field names the offending field so
// the API can answer 400 with it.
type FieldError = store.FieldError

// ErrConflict is returned when an action does not fit the current state,
// e.g. resending a delivered message or resolving a review that is not open.
var ErrConflict = errors.New("conflict")

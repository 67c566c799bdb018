package webui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/simgate/simgate/gateway"
)

// Error codes of the JSON API. Clients branch on these, so they are part of
// the contract: add, never rename.
const (
	codeInvalidRequest   = "invalid_request"
	codeUnauthorized     = "unauthorized"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeRequestTimeout   = "request_timeout"
	codeConflict         = "conflict"
	codeForbidden        = "forbidden"
	codeSuppressed       = "suppressed"
	codeTooLarge         = "too_large"
	codeUnprocessable    = "unprocessable"
	codeUnsupportedMedia = "unsupported_media_type"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal"
	codeStoreDamaged     = "store_damaged" // the database file is damaged: writes are stopped
	codeDiskFull         = "disk_full"     // the disk is full: retry after Retry-After
)

// diskFullRetryAfter is the Retry-After, in seconds, of a write refused
// for a full disk: room comes back when a person frees some, which takes
// minutes; a client retrying every half minute sends its text soon after
// without hammering a box that is already struggling.
const diskFullRetryAfter = 30

// apiError is an error the HTTP layer itself decided on (bad JSON, a bad
// query parameter, a missing token). Field names the offending input, if any.
type apiError struct {
	Status  int
	Code    string
	Field   string
	Message string
}

func (e *apiError) Error() string { return e.Message }

// invalid is a 400 naming field (empty when the whole body is at fault).
// The message starts with the field, as gateway.FieldError's does, so that
// a client showing only the message still tells the user what to fix.
func invalid(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Field: field, Message: msg}
}

var (
	errNoToken          = &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized, Message: "missing bearer token: send Authorization: Bearer <token>"}
	errBadToken         = &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized, Message: "invalid or revoked token"}
	errNoRoute          = &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such endpoint"}
	errMethodNotAllowed = &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed, Message: "method not allowed"}
	errUnsupportedMedia = &apiError{Status: http.StatusUnsupportedMediaType, Code: codeUnsupportedMedia, Message: "Content-Type must be application/json"}
)

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// fail answers r with the JSON error that err maps to. It is the one place
// where domain and transport errors become status codes.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		api      *apiError
		field    *gateway.FieldError
		tooLarge *http.MaxBytesError
		e        apiError
	)
	switch {
	case errors.As(err, &api):
		e = *api
	case errors.As(err, &field):
		e = apiError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Field: field.Field, Message: field.Error()}
	case errors.As(err, &tooLarge):
		e = apiError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge,
			Message: fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit)}
	case errors.Is(err, gateway.ErrWritesStopped):
		// The alert and the log already say why, once; not every refusal.
		e = apiError{Status: http.StatusServiceUnavailable, Code: codeStoreDamaged,
			Message: "writes are stopped: the gateway's database file was found damaged, so nothing new is stored until it is checked and restored (see the gateway's alerts)"}
	case errors.Is(err, gateway.ErrDamaged):
		s.log.LogAttrs(r.Context(), slog.LevelError, "http request met a damaged database file",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		e = apiError{Status: http.StatusInternalServerError, Code: codeStoreDamaged,
			Message: "the gateway's database file is damaged: this request read a damaged part of it. Writes are stopped until the file is checked and restored (see the gateway's alerts)"}
	case errors.Is(err, gateway.ErrDiskFull):
		w.Header().Set("Retry-After", strconv.Itoa(diskFullRetryAfter))
		e = apiError{Status: http.StatusServiceUnavailable, Code: codeDiskFull,
			Message: "the gateway's disk is full: nothing was stored; retry later"}
	case errors.Is(err, gateway.ErrNotFound):
		// The store's wording names internals ("store: get 7: ..."); the
		// path already says what was looked for.
		e = apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "not found"}
	case errors.Is(err, gateway.ErrModemUnavailable):
		e = apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: err.Error()}
	case errors.Is(err, gateway.ErrSuppressed):
		e = apiError{Status: http.StatusConflict, Code: codeSuppressed, Message: err.Error()}
	case errors.Is(err, gateway.ErrIdempotencyKeyReused):
		// 422, as the IETF Idempotency-Key draft (§ Error Scenarios) and
		// Stripe answer a key reused with a different payload.
		e = apiError{Status: http.StatusUnprocessableEntity, Code: codeUnprocessable, Field: "idempotency_key",
			Message: "idempotency_key: was used within 24 h for a different text (number, kind or words differ); " +
				"send the same request to get its message, or a new key for a new text"}
	case errors.Is(err, gateway.ErrExists), errors.Is(err, gateway.ErrConflict):
		e = apiError{Status: http.StatusConflict, Code: codeConflict, Message: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went away or the server is shutting down; the
		// message, if any, was not stored.
		e = apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "request cancelled"}
	default:
		// Details stay in the log: they may name files or internals.
		s.log.LogAttrs(r.Context(), slog.LevelError, "http request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		e = apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error"}
	}
	if e.Status == http.StatusUnauthorized {
		challenge := `Bearer realm="simgate"`
		if api == errBadToken {
			challenge += `, error="invalid_token"` // RFC 6750 §3.1
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	if e.Status < 500 {
		// Messages may quote the submitted number: Debug only.
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request refused",
			slog.String("path", r.URL.Path), slog.String("code", e.Code), slog.String("field", e.Field))
	}
	body, err := encodeJSON(errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
	if err != nil { // strings only: cannot happen
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
	}
	writeRaw(w, e.Status, body)
}

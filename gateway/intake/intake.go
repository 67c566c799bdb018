// Package intake checks a request to send a text and makes the record the
// outbox queues: the number read as E.164, the text (not empty, UTF-8, no
// NUL, within the parts allowed), the kind and the brand a marketing text
// starts with, the validity, the callback and the idempotency key with its
// fingerprint. It decides nothing about consent, which the guard judges
// when the text is due, and stores nothing.
package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Policy gives the compliance settings: the brand a marketing text must
// start with.
type Policy interface {
	Settings() compliance.Settings
}

// Options are what a request is checked against.
type Options struct {
	Region   string // where national numbers are read
	MaxParts int
	Policy   Policy
	Now      time.Time
	// The validity of a text whose request sets no expiry, by kind.
	TransactionalValidity time.Duration
	MarketingValidity     time.Duration
}

// maxIdempotencyKey bounds the key a client may send; Stripe uses 255.
const maxIdempotencyKey = 255

// Request is a request to send one text.
type Request struct {
	To             string
	Text           string
	IdempotencyKey string
	// IdempotencyScope is whose key IdempotencyKey is ("token:7"); the
	// same key in another scope is another key. Empty: the outbox's ClientScope.
	IdempotencyScope string
	ExpiresAt        time.Time // zero: default validity for the kind
	// NotBefore is when the text may go at the earliest (a campaign's
	// planned time); zero: now. ExpiresAt must be after it, and the
	// default validity counts from it.
	NotBefore time.Time
	Kind      store.Kind // zero: transactional
	// ExitKey and Origin are set by the box's own senders (flows,
	// campaigns), never by a client: see store.Message.
	ExitKey string
	Origin  string
	// AvoidModem, set by the box's own alerts, keeps the text off the SIM
	// the alert is about (store.Message.AvoidModem).
	AvoidModem string
	// Callback is told of every status change of the text in a
	// receiver's format (Twilio's StatusCallback, Kannel's dlr-url),
	// through the webhooks' delivery outbox. Nil: none.
	Callback *store.Callback
}

// Message turns a request into a queued message, or a *store.FieldError
// naming the field that is wrong.
func Message(r Request, o Options) (store.Message, error) {
	to, err := contacts.NumberField("to", r.To, o.Region)
	if err != nil {
		return store.Message{}, err
	}
	if strings.TrimSpace(r.Text) == "" {
		return store.Message{}, &store.FieldError{Field: "text", Message: "must not be empty"}
	}
	if !utf8.ValidString(r.Text) {
		return store.Message{}, &store.FieldError{Field: "text", Message: "must be valid UTF-8"}
	}
	if strings.IndexByte(r.Text, 0) >= 0 {
		// A NUL cuts strings short in the tools texts end up in (terminals,
		// CSV exports, C libraries) and no one means to send one.
		return store.Message{}, &store.FieldError{Field: "text", Message: "must not contain NUL characters"}
	}
	plan := modem.PlanText(r.Text)
	if plan.Parts > o.MaxParts {
		return store.Message{}, &store.FieldError{Field: "text", Message: fmt.Sprintf(
			"needs %d parts (%s, %d per part); the limit is %d", plan.Parts, plan.Encoding, plan.PerPart, o.MaxParts)}
	}
	if len(r.ExitKey) > store.MaxExitKeyLen || strings.IndexByte(r.ExitKey, 0) >= 0 {
		return store.Message{}, &store.FieldError{Field: "exit_key", Message: fmt.Sprintf("must be at most %d bytes without NUL", store.MaxExitKeyLen)}
	}
	if err := checkCallback(r.Callback); err != nil {
		return store.Message{}, err
	}
	if len(r.IdempotencyKey) > maxIdempotencyKey {
		return store.Message{}, &store.FieldError{Field: "idempotency_key", Message: fmt.Sprintf("longer than %d bytes", maxIdempotencyKey)}
	}
	kind := r.Kind
	if kind == 0 {
		kind = store.KindTransactional
	}
	if kind != store.KindTransactional && kind != store.KindMarketing {
		return store.Message{}, &store.FieldError{Field: "kind", Message: "must be transactional or marketing"}
	}
	if kind == store.KindMarketing {
		// R-ID: a marketing text starts with the brand, so the customer
		// knows who is texting; the guard checks consent when it is due.
		if err := compliance.CheckMarketingBrand("text", r.Text, o.Policy.Settings()); err != nil {
			return store.Message{}, err
		}
	}
	now := o.Now
	due := now
	if r.NotBefore.After(now) {
		due = r.NotBefore
	}
	expires := r.ExpiresAt
	if expires.IsZero() {
		validity := o.TransactionalValidity
		if kind == store.KindMarketing {
			validity = o.MarketingValidity
		}
		expires = due.Add(validity)
	} else if !expires.After(now) {
		return store.Message{}, &store.FieldError{Field: "expires_at", Message: "is in the past"}
	} else if !expires.After(due) {
		return store.Message{}, &store.FieldError{Field: "expires_at", Message: "is not after the time the text may go"}
	}
	parts := make([]store.Part, plan.Parts)
	for i := range parts {
		parts[i] = store.Part{Seq: i + 1, MR: -1, Status: store.StatusQueued}
	}
	return store.Message{
		To:             to,
		Text:           r.Text,
		Kind:           kind,
		Encoding:       plan.Encoding,
		Status:         store.StatusQueued,
		Parts:          parts,
		CreatedAt:      now,
		UpdatedAt:      now,
		ExpiresAt:      expires,
		NextAttemptAt:  due,
		IdempotencyKey: r.IdempotencyKey,
		ExitKey:        r.ExitKey,
		Origin:         r.Origin,
		AvoidModem:     r.AvoidModem,
		Callback:       r.Callback,
		History:        []store.Transition{{At: now, Status: store.StatusQueued, Note: "accepted"}},
	}, nil
}

// Fingerprint hashes what defines a submitted text: the number as E.164,
// the kind and the words. expires_at is left out, since clients often
// compute it afresh for each attempt. Each field is length-prefixed, so
// no two requests share an input.
func Fingerprint(m store.Message) string {
	h := sha256.New()
	for _, f := range []string{m.To, m.Kind.String(), m.Text} {
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	// 128 bits tell two requests apart as well as 256 would here: the
	// fingerprint is compared, never trusted as a secret.
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// maxCallbackURL bounds a callback's URL: what browsers and servers
// commonly accept, and a row that stays small.
const maxCallbackURL = 2048

// checkCallback refuses a callback that could never be delivered. Where
// the URL's host resolves is checked at every attempt (package httpout),
// since it can change after the text was accepted.
func checkCallback(cb *store.Callback) error {
	if cb == nil {
		return nil
	}
	u, err := url.Parse(cb.URL)
	switch {
	case len(cb.URL) > maxCallbackURL:
		return &store.FieldError{Field: "callback.url", Message: fmt.Sprintf("longer than %d bytes", maxCallbackURL)}
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return &store.FieldError{Field: "callback.url", Message: "must be an http:// or https:// URL with a host"}
	case cb.Format == "":
		return &store.FieldError{Field: "callback.format", Message: "must name a format"}
	}
	return nil
}

package outbox

import (
	"context"
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

// maxIdempotencyKey bounds the key a client may send; Stripe uses 255.
const maxIdempotencyKey = 255

// Idempotency scopes: whose keys they are. The IETF draft on the
// Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header,
// Security Considerations) has the server combine the client's key with
// what it knows of the client, so that one client can neither find nor
// take another's keys.
const (
	// ClientScope holds the keys of a SubmitRequest that names no scope.
	ClientScope = "client"
	// ReplyScope holds the keys of the gateway's own replies. They are
	// derived from their cause ("reply:<inbound id>:stop") and so easy to
	// guess: in a client's scope, a client could take one and the reply
	// would never be queued.
	ReplyScope = "gateway"
)

// SubmitRequest is a request to send one text.
type SubmitRequest struct {
	To             string
	Text           string
	IdempotencyKey string
	// IdempotencyScope is whose key IdempotencyKey is ("token:7"); the
	// same key in another scope is another key. Empty: ClientScope.
	IdempotencyScope string
	ExpiresAt        time.Time // zero: default validity for the kind
	// NotBefore is when the text may go at the earliest (a campaign's
	// planned time); zero: now. ExpiresAt must be after it.
	NotBefore time.Time
	Kind      store.Kind // zero: transactional
	// ExitKey and Origin are set by the box's own senders (flows,
	// campaigns), never by a client: see store.Message.
	ExitKey string
	Origin  string
	// Callback is told of every status change of the text in a
	// receiver's format (Twilio's StatusCallback, Kannel's dlr-url),
	// through the webhooks' delivery outbox. Nil: none.
	Callback *store.Callback
}

// Submit validates a request and commits it to the outbox. It returns only
// after the message is durable (fsync, shared with concurrent callers). When
// the idempotency key was seen in its scope within 24 h for the same
// request, the original message is returned with existing = true and
// nothing new is stored; for a different request (another number, kind or
// text) the error is store.ErrIdempotencyKeyReused.
func (q *Queue) Submit(ctx context.Context, r SubmitRequest) (store.Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Message{}, false, err
	}
	m, err := q.NewSubmission(r)
	if err != nil {
		return store.Message{}, false, err
	}
	stored, existing, err := q.Enqueue(m)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("gateway: enqueue: %w", err)
	}
	return stored, existing, nil
}

// NewSubmission validates a request as Submit does and returns the message
// it would store, without storing it: for senders that commit many texts in
// one transaction of their own (a campaign's planning batch), then tell the
// outbox with Published.
func (q *Queue) NewSubmission(r SubmitRequest) (store.Message, error) {
	m, err := q.newMessage(r)
	if err != nil {
		return store.Message{}, err
	}
	if m.IdempotencyKey != "" {
		m.IdempotencyScope = r.IdempotencyScope
		if m.IdempotencyScope == "" {
			m.IdempotencyScope = ClientScope
		}
		m.IdempotencyFingerprint = fingerprint(m)
	}
	return m, nil
}

// Published is told of messages made by NewSubmission once they are
// committed: they are announced like Enqueue's and wake the dispatcher.
func (q *Queue) Published(ms []store.Message) {
	for _, m := range ms {
		q.notify.MessageChanged(m)
	}
	if len(ms) > 0 {
		q.Wake()
	}
}

// NewReply turns an automatic reply (an opt-out confirmation, a HELP
// answer ...) into a message ready for Enqueue: validated as a
// transactional text, then marked KindCompliance with note as its first
// history entry. key is derived from what caused the reply, so handling
// the same cause again finds the first reply (idempotency keys are kept for
// 24 h).
func (q *Queue) NewReply(to, text, key, note string) (store.Message, error) {
	m, err := q.newMessage(SubmitRequest{To: to, Text: text, IdempotencyKey: key})
	if err != nil {
		return store.Message{}, err
	}
	m.Kind = store.KindCompliance
	m.History[0].Note = note
	if key != "" {
		// No fingerprint: handling the cause again must find the first
		// reply even if the reply texts were edited in between.
		m.IdempotencyScope = ReplyScope
	}
	return m, nil
}

// fingerprint hashes what defines a submitted text: the number as E.164,
// the kind and the words. expires_at is left out, since clients often
// compute it afresh for each attempt. Each field is length-prefixed, so
// no two requests share an input.
func fingerprint(m store.Message) string {
	h := sha256.New()
	for _, f := range []string{m.To, m.Kind.String(), m.Text} {
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	// 128 bits tell two requests apart as well as 256 would here: the
	// fingerprint is compared, never trusted as a secret.
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Enqueue commits a message made by Submit's validation (or NewReply) to
// the outbox, durably; a new one is published and wakes the dispatcher.
// existing reports that its idempotency key was seen within 24 h: the
// original message is returned and nothing new is stored.
func (q *Queue) Enqueue(m store.Message) (stored store.Message, existing bool, err error) {
	stored, existing, err = q.db.Enqueue(m)
	if err != nil {
		return store.Message{}, false, err
	}
	if !existing {
		q.notify.MessageChanged(stored)
		q.Wake()
	}
	return stored, existing, nil
}

// newMessage turns a request into a queued message, or a *store.FieldError.
func (q *Queue) newMessage(r SubmitRequest) (store.Message, error) {
	to, err := q.number("to", r.To)
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
	if plan.Parts > q.cfg.MaxParts {
		return store.Message{}, &store.FieldError{Field: "text", Message: fmt.Sprintf(
			"needs %d parts (%s, %d per part); the limit is %d", plan.Parts, plan.Encoding, plan.PerPart, q.cfg.MaxParts)}
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
		if err := compliance.CheckMarketingBrand("text", r.Text, q.policy.Settings()); err != nil {
			return store.Message{}, err
		}
	}
	now := q.now()
	due := now
	if r.NotBefore.After(now) {
		due = r.NotBefore
	}
	expires := r.ExpiresAt
	if expires.IsZero() {
		validity := DefaultTransactionalValidity
		if kind == store.KindMarketing {
			validity = DefaultMarketingValidity
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
		Callback:       r.Callback,
		History:        []store.Transition{{At: now, Status: store.StatusQueued, Note: "accepted"}},
	}, nil
}

// number reads raw as an E.164 number in the box's region, or returns a
// *store.FieldError naming field.
func (q *Queue) number(field, raw string) (string, error) {
	return contacts.NumberField(field, raw, q.cfg.Region)
}

// Message returns one outbound message.
func (q *Queue) Message(id uint64) (store.Message, error) { return q.db.Get(id) }

// Messages lists outbound messages, newest first.
func (q *Queue) Messages(f store.ListFilter) ([]store.Message, uint64, error) { return q.db.List(f) }

// Inbox lists received texts, newest first.
func (q *Queue) Inbox(before uint64, limit int) ([]store.Inbound, uint64, error) {
	return q.db.Inbox(before, limit)
}

// Resend puts an unknown, failed or expired message back in the queue. For
// an unknown message this is a person's decision to accept a possible
// duplicate; parts already accepted by the SMSC are not sent again.
func (q *Queue) Resend(ctx context.Context, id uint64) (store.Message, error) {
	now := q.now()
	m, err := q.db.Update(id, func(m *store.Message) error {
		switch m.Status {
		case store.StatusUnknown, store.StatusFailed, store.StatusExpired:
		default:
			return fmt.Errorf("%w: a %s message cannot be resent", store.ErrConflict, m.Status)
		}
		for i := range m.Parts {
			p := &m.Parts[i]
			if p.Status == store.StatusSent || p.Status == store.StatusDelivered {
				continue
			}
			p.Status, p.MR, p.Error = store.StatusQueued, -1, ""
		}
		m.Attempts, m.Error = 0, ""
		m.NextAttemptAt = now
		if !m.ExpiresAt.After(now) {
			m.ExpiresAt = now.Add(DefaultTransactionalValidity)
		}
		SetStatus(m, now, store.StatusQueued, "resent by operator")
		return nil
	})
	if err != nil {
		return store.Message{}, err
	}
	q.notify.MessageChanged(m)
	q.Wake()
	return m, nil
}

// Drop ends a queued or unknown message without sending it (again).
func (q *Queue) Drop(ctx context.Context, id uint64) (store.Message, error) {
	now := q.now()
	m, err := q.db.Update(id, func(m *store.Message) error {
		switch m.Status {
		case store.StatusQueued, store.StatusUnknown:
		default:
			return fmt.Errorf("%w: a %s message cannot be dropped", store.ErrConflict, m.Status)
		}
		m.Error = "dropped by operator"
		SetStatus(m, now, store.StatusFailed, "dropped by operator")
		return nil
	})
	if err != nil {
		return store.Message{}, err
	}
	q.notify.MessageChanged(m)
	return m, nil
}

// retryDelay is the exponential backoff after the given number of attempts,
// starting at base and capped at max.
func retryDelay(base, max time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
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

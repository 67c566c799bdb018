package outbox

import (
	"context"
	"fmt"
	"github.com/simgate/simgate/gateway/msgstate"
	"time"

	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/intake"
	"github.com/simgate/simgate/store"
)

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

// SubmitRequest is a request to send one text (package intake checks it).
type SubmitRequest = intake.Request

// intakeOptions are what intake checks a request against now.
func (q *Queue) intakeOptions() intake.Options {
	return intake.Options{Region: q.cfg.Region, MaxParts: q.cfg.MaxParts, Policy: q.policy, Now: q.now(),
		TransactionalValidity: DefaultTransactionalValidity, MarketingValidity: DefaultMarketingValidity}
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
	m, err := intake.Message(r, q.intakeOptions())
	if err != nil {
		return store.Message{}, err
	}
	if m.IdempotencyKey != "" {
		m.IdempotencyScope = r.IdempotencyScope
		if m.IdempotencyScope == "" {
			m.IdempotencyScope = ClientScope
		}
		m.IdempotencyFingerprint = intake.Fingerprint(m)
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
	m, err := intake.Message(SubmitRequest{To: to, Text: text, IdempotencyKey: key}, q.intakeOptions())
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
		msgstate.SetStatus(m, now, store.StatusQueued, "resent by operator")
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
		msgstate.SetStatus(m, now, store.StatusFailed, "dropped by operator")
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

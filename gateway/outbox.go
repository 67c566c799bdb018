package gateway

import (
	"context"
	"fmt"
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

// PlanText reports how text will be encoded and into how many parts.
func PlanText(text string) Plan { return modem.PlanText(text) }

// Submit validates a request and commits it to the outbox. It returns only
// after the message is durable (fsync, shared with concurrent callers). When
// the idempotency key was seen within 24 h, the original message is returned
// with existing = true and nothing new is stored.
func (g *Gateway) Submit(ctx context.Context, r SubmitRequest) (Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, false, err
	}
	m, err := g.newMessage(r)
	if err != nil {
		return Message{}, false, err
	}
	stored, existing, err := g.db.Enqueue(m)
	if err != nil {
		return Message{}, false, fmt.Errorf("gateway: enqueue: %w", err)
	}
	if !existing {
		g.publishMessage(stored)
		g.kick()
	}
	return stored, existing, nil
}

// newMessage turns a request into a queued message, or a *FieldError.
func (g *Gateway) newMessage(r SubmitRequest) (store.Message, error) {
	to, err := g.number("to", r.To)
	if err != nil {
		return store.Message{}, err
	}
	if strings.TrimSpace(r.Text) == "" {
		return store.Message{}, &FieldError{Field: "text", Message: "must not be empty"}
	}
	if !utf8.ValidString(r.Text) {
		return store.Message{}, &FieldError{Field: "text", Message: "must be valid UTF-8"}
	}
	plan := modem.PlanText(r.Text)
	if plan.Parts > g.cfg.MaxParts {
		return store.Message{}, &FieldError{Field: "text", Message: fmt.Sprintf(
			"needs %d parts (%s, %d per part); the limit is %d", plan.Parts, plan.Encoding, plan.PerPart, g.cfg.MaxParts)}
	}
	if len(r.IdempotencyKey) > maxIdempotencyKey {
		return store.Message{}, &FieldError{Field: "idempotency_key", Message: fmt.Sprintf("longer than %d bytes", maxIdempotencyKey)}
	}
	kind := r.Kind
	if kind == 0 {
		kind = store.KindTransactional
	}
	if kind != store.KindTransactional && kind != store.KindMarketing {
		return store.Message{}, &FieldError{Field: "kind", Message: "must be transactional or marketing"}
	}
	if kind == store.KindMarketing {
		// R-ID: a marketing text starts with the brand, so the customer
		// knows who is texting; the guard checks consent when it is due.
		brand := g.ComplianceSettings().Brand
		if brand == "" {
			return store.Message{}, &FieldError{Field: "kind", Message: compliance.ErrNoBrand.Error()}
		}
		if !strings.HasPrefix(strings.ToLower(r.Text), strings.ToLower(brand)) {
			return store.Message{}, &FieldError{Field: "text", Message: fmt.Sprintf(
				"a marketing text must start with the brand name, as in %q", brand+": ...")}
		}
	}
	now := g.now()
	expires := r.ExpiresAt
	if expires.IsZero() {
		validity := DefaultTransactionalValidity
		if kind == store.KindMarketing {
			validity = DefaultMarketingValidity
		}
		expires = now.Add(validity)
	} else if !expires.After(now) {
		return store.Message{}, &FieldError{Field: "expires_at", Message: "is in the past"}
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
		NextAttemptAt:  now,
		IdempotencyKey: r.IdempotencyKey,
		History:        []store.Transition{{At: now, Status: store.StatusQueued, Note: "accepted"}},
	}, nil
}

// number reads raw as an E.164 number in the box's region, or returns a
// *FieldError naming field.
func (g *Gateway) number(field, raw string) (string, error) {
	return contacts.NumberField(field, raw, g.cfg.Region)
}

// Message returns one outbound message.
func (g *Gateway) Message(id uint64) (Message, error) { return g.db.Get(id) }

// Messages lists outbound messages, newest first.
func (g *Gateway) Messages(f ListFilter) ([]Message, uint64, error) { return g.db.List(f) }

// Inbox lists received texts, newest first.
func (g *Gateway) Inbox(before uint64, limit int) ([]Inbound, uint64, error) {
	return g.db.Inbox(before, limit)
}

// Resend puts an unknown, failed or expired message back in the queue. For
// an unknown message this is a person's decision to accept a possible
// duplicate; parts already accepted by the SMSC are not sent again.
func (g *Gateway) Resend(ctx context.Context, id uint64) (Message, error) {
	now := g.now()
	m, err := g.db.Update(id, func(m *store.Message) error {
		switch m.Status {
		case store.StatusUnknown, store.StatusFailed, store.StatusExpired:
		default:
			return fmt.Errorf("%w: a %s message cannot be resent", ErrConflict, m.Status)
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
		setStatus(m, now, store.StatusQueued, "resent by operator")
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	g.publishMessage(m)
	g.kick()
	return m, nil
}

// Drop ends a queued or unknown message without sending it (again).
func (g *Gateway) Drop(ctx context.Context, id uint64) (Message, error) {
	now := g.now()
	m, err := g.db.Update(id, func(m *store.Message) error {
		switch m.Status {
		case store.StatusQueued, store.StatusUnknown:
		default:
			return fmt.Errorf("%w: a %s message cannot be dropped", ErrConflict, m.Status)
		}
		m.Error = "dropped by operator"
		setStatus(m, now, store.StatusFailed, "dropped by operator")
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	g.publishMessage(m)
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

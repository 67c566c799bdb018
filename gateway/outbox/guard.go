package outbox

import (
	"errors"
	"fmt"
	"github.com/simgate/simgate/gateway/msgstate"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// The compliance guard's store side: the judge (package compliance) runs
// inside the transaction that marks the first part `sending`
// (store.AdmitSend), so a STOP committed a millisecond earlier is seen, and
// two SIMs can never both take the last slot of a number's frequency cap.

// recipientRules gathers what the guard reads about a number outside the
// commit: the contact (for its time zone) and, from c as read a moment
// ago, whether an opt-in confirmation is still on its way. Consent and
// suppression are read again inside the transaction.
func (q *Queue) recipientRules(number string, c store.Consent, s *compliance.Settings) compliance.Rules {
	var contact *store.Contact
	if ct, err := q.db.ContactByNumber(number); err == nil {
		contact = &ct
	}
	r := compliance.RulesFor(number, contact, s)
	r.AwaitingConfirmation = q.confirmationPending(c)
	return r
}

// confirmationPending reports whether the opt-in confirmation most
// recently queued for c's number has not yet been accepted by the network.
// It reads the ledger only of a number that got one lately.
func (q *Queue) confirmationPending(c store.Consent) bool {
	at, ok := c.LastReply[compliance.ReplyOptIn]
	if !ok || q.now().Sub(at) > DefaultTransactionalValidity {
		return false
	}
	events, err := q.db.ConsentEvents(c.Number)
	if err != nil {
		return false
	}
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		if ev.MessageID == 0 || ev.Type == store.EventOptOut || ev.Type == store.EventDOIRequest {
			continue
		}
		m, err := q.db.Get(ev.MessageID)
		if err != nil {
			return false
		}
		return m.Status == store.StatusQueued || m.Status == store.StatusSending
	}
	return false
}

// Admit is the guard's commit point: in one transaction it reads the
// number's consent, judges m and either lets it through (mark runs on the
// message, typically marking its first part `sending`) or writes the
// decision: held until later, suppressed or expired. It reports whether the
// text may go now. A text that is no longer queued or sending, or that a
// check without mark finds free to go, is left as it is: the zero message,
// false and no error.
func (q *Queue) Admit(id uint64, to string, kind store.Kind, mark func(m *store.Message, now time.Time)) (store.Message, bool, error) {
	s := q.policy.Settings()
	var rules compliance.Rules
	if kind == store.KindMarketing { // only marketing waits for a window
		c, err := q.db.Consent(to)
		if err != nil {
			return store.Message{}, false, fmt.Errorf("gateway: read consent: %w", err)
		}
		rules = q.recipientRules(to, c, &s)
	}
	now := q.now()
	send := false
	msg, _, err := q.db.AdmitSend(id, func(m *store.Message, c *store.Consent, suppressed bool) error {
		if m.Status != store.StatusQueued && m.Status != store.StatusSending {
			return errSkip
		}
		send = false
		v := compliance.Judge(m, c, suppressed, rules, &s, now)
		if v.Kind == compliance.VerdictSend && mark == nil {
			return errSkip // a precheck that finds it may go after all: leave it to the send path
		}
		if v.Kind != compliance.VerdictSend {
			applyVerdict(m, v, now)
			return nil
		}
		if m.Kind == store.KindMarketing && m.AdmittedAt.IsZero() {
			m.AdmittedAt = now
			compliance.RecordMarketing(c, now)
		}
		if m.Hold != "" {
			m.Hold = ""
		}
		if mark != nil {
			mark(m, now)
		}
		send = true
		return nil
	})
	if errors.Is(err, errSkip) {
		return store.Message{}, false, nil
	}
	if err != nil {
		return store.Message{}, false, err
	}
	if !send {
		q.notify.MessageChanged(msg)
	}
	return msg, send, nil
}

// applyVerdict writes a decision other than "send" on m, in words a shop
// owner can read on the message page.
func applyVerdict(m *store.Message, v compliance.Verdict, now time.Time) {
	switch v.Kind {
	case compliance.VerdictSuppress:
		m.Error, m.Hold = v.Reason, ""
		msgstate.SetStatus(m, now, store.StatusSuppressed, "suppressed: "+v.Reason)
	case compliance.VerdictExpire:
		m.Error, m.Hold = v.Reason, ""
		msgstate.SetStatus(m, now, store.StatusExpired, v.Reason)
	case compliance.VerdictDefer:
		m.NextAttemptAt = v.Until
		if m.Hold != v.Reason {
			m.Hold = v.Reason
			msgstate.SetStatus(m, now, store.StatusQueued, fmt.Sprintf("held until %s: %s", v.Until.UTC().Format("2006-01-02 15:04 UTC"), v.Reason))
		}
	}
}

// Precheck lets the dispatcher hold back a text the guard would refuse
// without spending a modem's turn on it; it reports whether the text may
// go to a modem. It only reads; a refusal is then written by Admit, which
// judges again inside its transaction.
func (q *Queue) Precheck(m store.Message) bool {
	if m.Kind != store.KindMarketing {
		// Only marketing waits for a window or a cap; a transactional text
		// to an opted-out number is refused by Admit in one transaction.
		return true
	}
	s := q.policy.Settings()
	c, err := q.db.Consent(m.To)
	if err != nil {
		return true // the send path's Admit decides and reports the error
	}
	suppressed, err := q.db.IsSuppressed(m.To)
	if err != nil {
		return true
	}
	if compliance.Judge(&m, &c, suppressed, q.recipientRules(m.To, c, &s), &s, q.now()).Kind == compliance.VerdictSend {
		return true
	}
	if _, _, err := q.Admit(m.ID, m.To, m.Kind, nil); err != nil {
		q.log.Error("hold back message", "id", m.ID, "error", err)
	}
	return false
}

// RecheckQueued judges every queued text to number again at once. After a
// STOP or an opt-out review its marketing is suppressed or paused now,
// not when each text falls due (R-STOP-2: effective before the next
// dequeue); the send path's own check stays the guarantee.
func (q *Queue) RecheckQueued(number string) error {
	var before uint64
	for {
		msgs, next, err := q.db.MessagesTo(number, before, store.MaxListLimit)
		if err != nil {
			return fmt.Errorf("gateway: recheck queued texts: %w", err)
		}
		for _, m := range msgs {
			if m.Status != store.StatusQueued {
				continue
			}
			if _, _, err := q.Admit(m.ID, m.To, m.Kind, nil); err != nil {
				return fmt.Errorf("gateway: recheck message %d: %w", m.ID, err)
			}
		}
		if next == 0 {
			return nil
		}
		before = next
	}
}

// Refusal is what the guard would answer now to a text of kind to number
// to: the reason it would suppress it, or "" when it would not. It reads
// only; the send path's Admit stays the decision. APIs whose clients expect
// a refusal at submit time (Twilio's 21610) ask it first. An invalid
// number is a *store.FieldError for "to".
func (q *Queue) Refusal(to string, kind store.Kind) (string, error) {
	number, err := q.number("to", to)
	if err != nil {
		return "", err
	}
	c, err := q.db.Consent(number)
	if err != nil {
		return "", fmt.Errorf("gateway: read consent: %w", err)
	}
	suppressed, err := q.db.IsSuppressed(number)
	if err != nil {
		return "", fmt.Errorf("gateway: read suppression list: %w", err)
	}
	s := q.policy.Settings()
	m := store.Message{To: number, Kind: kind, Status: store.StatusQueued}
	v := compliance.Judge(&m, &c, suppressed, q.recipientRules(number, c, &s), &s, q.now())
	if v.Kind == compliance.VerdictSuppress {
		return v.Reason, nil
	}
	return "", nil
}

package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// process sends the remaining parts of one message through m. Each part is
// marked `sending` durably before AT+CMGS and its MR recorded right after,
// so a crash at any point leaves an honest record (docs/architecture.md, Durability).
// A non-nil error means the modem session should end.
func (r *runner) process(ctx context.Context, m *modem.Modem, id uint64) error {
	q := r.q
	// The submit in flight finishes even when shutdown starts: abandoning it
	// mid-PDU is exactly what creates `unknown` messages.
	sendCtx := context.WithoutCancel(ctx)

	msg, err := q.db.Get(id)
	if err != nil {
		r.log.Error("load queued message", "id", id, "error", err)
		return nil
	}
	if msg.Status != store.StatusQueued {
		return nil // dropped or changed since it was due
	}
	now := q.now()
	if !msg.ExpiresAt.After(now) {
		q.Expire(id)
		return nil
	}
	if msg.Modem != "" && msg.Modem != r.name {
		// Another SIM sent the first parts and is gone (see route): send the
		// whole text from this one, so the phone can put it together.
		msg, err = q.db.Update(id, func(m *store.Message) error {
			if m.Status != store.StatusQueued {
				return errSkip
			}
			resent := 0
			for i := range m.Parts {
				p := &m.Parts[i]
				if p.Status == store.StatusSent || p.Status == store.StatusDelivered {
					resent++
				}
				p.Status, p.MR, p.Modem, p.SentAt, p.DoneAt, p.Error = store.StatusQueued, -1, "", time.Time{}, time.Time{}, ""
			}
			if resent > 0 {
				SetStatus(m, now, store.StatusQueued, fmt.Sprintf(
					"%s, which sent %d of %d parts, is unavailable: sending the whole text again via %s (the first parts may arrive twice)",
					m.Modem, resent, len(m.Parts), r.name))
			}
			m.Modem = ""
			return nil
		})
		if err != nil {
			if errors.Is(err, errSkip) {
				return nil
			}
			return r.persistFailed("persist resend", id, err)
		}
	}
	ref := uint8(msg.ID) // rotates per message: two long texts to one phone never share a reference
	submits, err := modem.EncodeSubmit(msg.To, msg.Text, ref)
	if err == nil && len(submits) != len(msg.Parts) {
		err = fmt.Errorf("encoded %d parts, planned %d", len(submits), len(msg.Parts))
	}
	if err != nil {
		q.finish(id, store.StatusFailed, "cannot encode: "+err.Error())
		return nil
	}

	// markSending marks part j `sending` on this modem: the durable fact,
	// written before AT+CMGS, that the part may be about to leave.
	markSending := func(m *store.Message, j int, now time.Time) {
		p := &m.Parts[j]
		p.Status, p.Modem, p.Error = store.StatusSending, r.name, ""
		if m.Modem == "" {
			m.Modem, m.ConcatRef = r.name, ref
		}
		if m.Status == store.StatusQueued {
			SetStatus(m, now, store.StatusSending, "sending via "+r.name)
		}
	}
	admitted := false
	premarked := -1 // the part whose `sending` mark went with the previous part's MR
	for i := range msg.Parts {
		if msg.Parts[i].Status != store.StatusQueued && i != premarked {
			continue
		}
		mark := func(m *store.Message, now time.Time) { markSending(m, i, now) }
		switch {
		case i == premarked:
			// Already durable: the commit that wrote the last part's MR
			// marked this one.
		case !admitted:
			// The compliance guard's commit point: consent, quiet hours and
			// the frequency cap are judged in the transaction that marks the
			// first part `sending`.
			var ok bool
			msg, ok, err = q.Admit(id, msg.To, msg.Kind, mark)
			if err == nil && !ok {
				return nil // held, suppressed or expired (the message says why), or no longer queued
			}
		default:
			msg, err = q.db.Update(id, func(m *store.Message) error {
				if m.Status != store.StatusQueued && m.Status != store.StatusSending {
					return errSkip
				}
				mark(m, q.now())
				return nil
			})
		}
		admitted = true
		if errors.Is(err, errSkip) {
			return nil
		}
		if err != nil {
			// Not written means not sent: leave it queued and stop this modem's
			// session, since a failing disk is no place to keep sending from.
			return r.persistFailed("persist sending", id, err)
		}
		if i != premarked {
			q.notify.MessageChanged(msg)
		}

		mr, sendErr := m.Send(sendCtx, submits[i])
		if sendErr == nil {
			at := q.now()
			usage := store.UsageDelta{SIM: r.name, Recipient: msg.To, At: at, Parts: 1}
			// The next part's `sending` mark shares this commit: one
			// fdatasync fewer per part, and still written before its
			// AT+CMGS, right after this part's MR.
			next := nextQueuedPart(msg, i)
			// msg is the zero Message when the update fails: what the
			// kept MR and the SIM's counts need is read before it.
			kind, to := msg.Kind, msg.To
			premarked = -1
			msg, err = q.db.UpdateWithUsage(id, usage, func(m *store.Message) error {
				premarked = -1
				markSent(m, i, mr, at, r.name)
				if next >= 0 && next < len(m.Parts) && m.Parts[next].Status == store.StatusQueued &&
					(m.Status == store.StatusQueued || m.Status == store.StatusSending) {
					markSending(m, next, at)
					premarked = next
				}
				return nil
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				// The part left but its MR is not on disk. Kept in memory
				// and written when the disk allows, its status report
				// still matches; a restart before that finds the part in
				// `sending` and makes it unknown, which is true.
				q.keepMR(keptMR{id: id, part: i, mr: mr, at: at, modem: r.name, to: to})
				r.recordSend(at, to, 1)
				r.update(func(s *ModemStatus) { s.Sent++ })
				q.meterSent(r.name, kind)
			}
			if err != nil {
				return r.persistFailed("persist MR", id, err)
			}
			r.recordSend(at, msg.To, 1)
			r.update(func(s *ModemStatus) { s.Sent++ })
			q.meterSent(r.name, kind)
			q.notify.MessageChanged(msg)
			if next >= 0 && premarked != next {
				return nil // dropped or changed meanwhile: the rest does not go
			}
			continue
		}
		return r.sendFailed(sendCtx, m, id, i, sendErr)
	}
	return nil
}

// nextQueuedPart is the index of the first part after i still queued, or
// -1.
func nextQueuedPart(m store.Message, i int) int {
	for j := i + 1; j < len(m.Parts); j++ {
		if m.Parts[j].Status == store.StatusQueued {
			return j
		}
	}
	return -1
}

// sendFailed records why part i of message id did not go, per the error's
// class (docs/modems.md §2.3), and says whether the modem session must end.
func (r *runner) sendFailed(ctx context.Context, m *modem.Modem, id uint64, i int, sendErr error) error {
	q := r.q
	class := modem.Classify(sendErr)
	r.log.Warn("send failed", "id", id, "part", i+1, "error", sendErr, "class", class)
	now := q.now()
	var sessionErr error
	msg, err := q.db.Update(id, func(msg *store.Message) error {
		p := &msg.Parts[i]
		p.Error = sendErr.Error()
		switch class {
		case modem.ClassMaybeSent:
			p.Status = store.StatusUnknown
			msg.Error = "no answer from the modem after the text was handed over: it may have been sent"
			SetStatus(msg, now, store.StatusUnknown, msg.Error+"; resend or drop")
		case modem.ClassPermanentMessage:
			p.Status = store.StatusFailed
			msg.Error = sendErr.Error()
			SetStatus(msg, now, store.StatusFailed, "refused by the network: "+sendErr.Error())
		case modem.ClassPermanentSIM:
			// Not the message's fault: back to the queue for another SIM.
			p.Status = store.StatusQueued
			msg.NextAttemptAt = now
			SetStatus(msg, now, store.StatusQueued, fmt.Sprintf("SIM %s refused it (%v): rerouting", r.name, sendErr))
		default: // transient, ambiguous
			p.Status = store.StatusQueued
			msg.Attempts++
			limit := q.cfg.MaxAttempts
			if class == modem.ClassAmbiguous {
				limit = ambiguousRetries + 1
			}
			if msg.Attempts >= limit {
				p.Status = store.StatusFailed
				msg.Error = fmt.Sprintf("gave up after %d attempts: %v", msg.Attempts, sendErr)
				SetStatus(msg, now, store.StatusFailed, msg.Error)
				return nil
			}
			next := now.Add(retryDelay(q.cfg.RetryBase, q.cfg.RetryMax, msg.Attempts))
			if next.After(msg.ExpiresAt) {
				next = msg.ExpiresAt // it will expire on time rather than late
			}
			msg.NextAttemptAt = next
			SetStatus(msg, now, store.StatusQueued, fmt.Sprintf("attempt %d failed (%v): retry at %s", msg.Attempts, sendErr, next.UTC().Format("15:04:05")))
		}
		return nil
	})
	if err != nil {
		return r.persistFailed("persist send failure", id, err)
	}
	q.notify.MessageChanged(msg)
	if msg.Parts[i].Status == store.StatusFailed {
		q.meterFailed(r.name, msg.Kind)
	}
	r.update(func(s *ModemStatus) { s.LastError = sendErr.Error() })

	switch {
	case class == modem.ClassPermanentSIM:
		// The session ends with the cause: run records it as the modem's
		// last error, which must say why (a missing SIM), not only that.
		sessionErr = fmt.Errorf("%w: %v", errOutOfRotation, sendErr)
		r.setState(StateDegraded, sessionErr)
	case errors.Is(sendErr, modem.ErrClosed):
		sessionErr = sendErr
	case class == modem.ClassMaybeSent || errors.Is(sendErr, modem.ErrTimeout):
		// A modem that timed out may be hung: probe before trusting it again.
		if err := m.Probe(ctx); err != nil {
			sessionErr = fmt.Errorf("modem not answering after a failed send: %w", err)
		}
	}
	return sessionErr
}

// allPartsAccepted reports whether the network accepted every part of m:
// each is sent, or already has its final report (delivered or failed),
// which can come before a later part is accepted.
func allPartsAccepted(m *store.Message) bool {
	for _, p := range m.Parts {
		switch p.Status {
		case store.StatusSent, store.StatusDelivered, store.StatusFailed:
		default:
			return false
		}
	}
	return true
}

// Expire ends a queued message whose validity passed.
func (q *Queue) Expire(id uint64) {
	q.finish(id, store.StatusExpired, "validity ended before it could be sent")
}

// finish moves a queued message to a final state.
func (q *Queue) finish(id uint64, s store.Status, note string) {
	now := q.now()
	m, err := q.db.Update(id, func(m *store.Message) error {
		if m.Status != store.StatusQueued {
			return errSkip
		}
		if s == store.StatusFailed {
			m.Error = note
		}
		SetStatus(m, now, s, note)
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			q.log.Error("finish message", "id", id, "error", err)
		}
		return
	}
	q.notify.MessageChanged(m)
}

// persistFailed is what a failed write on the send path means for the
// modem session. A message erased on request (GDPR) while it was being
// sent is simply gone: nothing to record and no reason to drop the modem.
// Any other failure ends the session, since a failing disk is no place to
// keep sending from.
func (r *runner) persistFailed(what string, id uint64, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		r.log.Info("message erased while it was being sent", "id", id, "step", what)
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

package consent

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/store"
)

// HandlePending handles every complete text whose keywords were not
// handled yet: a crash between storing a STOP and applying it loses
// nothing. The gateway's Run calls it before any modem starts.
func (l *Ledger) HandlePending() {
	pending, err := l.db.PendingInbound()
	if err != nil {
		l.log.Error("read inbound texts waiting for keyword handling", "error", err)
		return
	}
	for _, in := range pending {
		if err := l.HandleInbound(in); err != nil {
			l.log.Error("handle inbound keywords; will retry at the next start", "id", in.ID, "error", err)
		}
	}
}

// HandleInbound acts on the keywords of one complete inbound text
// (COMPLIANCE.md R-STOP-1 … R-DOI, R-STOP-4) and marks it handled. It is
// idempotent: a text whose ledger entry exists is skipped, the store
// refuses a second entry for the same (inbound id, type), and every reply's
// idempotency key is derived from the inbound id.
func (l *Ledger) HandleInbound(in store.Inbound) error {
	number, err := contacts.Normalize(in.From, l.region)
	if err != nil || number != in.From {
		// An alphanumeric sender or a short code: no consent to change,
		// nowhere to reply.
		return l.db.MarkInboundHandled(in.ID)
	}
	if err := l.applyKeyword(in, number); err != nil {
		return err
	}
	return l.db.MarkInboundHandled(in.ID)
}

// maxReviewText bounds the text kept on the review record, in bytes.
const maxReviewText = 500

// cutText returns the longest prefix of s of at most n bytes that ends
// between two characters: cutting a multi-byte character in half would
// store a broken one (JSON turns it into U+FFFD) and quote it in the
// ledger's note.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (l *Ledger) applyKeyword(in store.Inbound, number string) error {
	s := l.policy.Settings()
	kw, word := classifyKeyword(in.Text, s.JoinKeyword)
	if kw == kwNone && !readsLikeOptOut(in.Text) {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	events, err := l.db.ConsentEvents(number)
	if err != nil {
		return err
	}
	var lastDOI store.ConsentEvent
	for _, ev := range events {
		if ev.InboundID == in.ID {
			return nil // handled before a crash; only the mark was lost
		}
		if ev.Type == store.EventDOIRequest {
			lastDOI = ev
		}
	}
	c, err := l.db.Consent(number)
	if err != nil {
		return err
	}
	now := l.now().UTC()
	ev := store.ConsentEvent{Number: number, At: now, TimeZone: numberTimeZone(number), Method: MethodKeyword, Source: "keyword:" + word, Keyword: word,
		InboundID: in.ID, Note: "texted to " + in.Modem}
	// reply queues the reply of kind for this text, unless a reply of that
	// kind went out too recently; it reports whether one was queued.
	reply := func(kind string) bool {
		if !compliance.ReplyDue(&c, kind, now) {
			return false
		}
		m, err := l.queueReply(number, kind, fmt.Sprintf("reply:%d:%s", in.ID, kind), s)
		if err != nil {
			// A template that cannot be sent (too long for the part limit)
			// must not keep the opt-out itself from being recorded.
			l.log.Error("queue automatic reply", "kind", kind, "inbound", in.ID, "error", err)
			return false
		}
		ev.MessageID = m.ID
		return true
	}
	optedOut := c.OptedOutAll || c.Marketing == store.MarketingOptedOut
	var apply func(c *store.Consent) error
	after := l.notify.ConsentChanged
	switch {
	case kw == kwStop:
		// R-STOP-1/2/3: all texts stop, from every SIM (consent is per
		// number); one confirmation per 24 h.
		ev.Type, ev.Purpose = store.EventOptOut, store.PurposeAll
		replied := reply(compliance.ReplyStop)
		apply = func(c *store.Consent) error {
			optOut(c, true, true)
			if replied {
				compliance.NoteReply(c, compliance.ReplyStop, now)
			}
			return nil
		}
		after = l.afterOptOut
	case kw == kwStart:
		// R-START: only a keyword opt-out is undone by START; from any
		// other number START creates no consent.
		if !optedOut || !c.OptOutByKeyword {
			return nil
		}
		ev.Type, ev.Purpose = store.EventResubscribe, store.PurposeMarketing
		ev.DisclosureVersion, ev.DisclosureText = s.Disclosure.Version, s.Disclosure.Text
		replied := reply(compliance.ReplyOptIn)
		apply = resubscribe(now, replied)
	case kw == kwYes:
		// R-DOI: YES confirms a pending double opt-in; from anyone else it
		// is an ordinary text.
		if c.Marketing != store.MarketingPending {
			return nil
		}
		ev.Type, ev.Purpose = store.EventDOIConfirm, store.PurposeMarketing
		ev.DisclosureVersion, ev.DisclosureText = lastDOI.DisclosureVersion, lastDOI.DisclosureText
		replied := reply(compliance.ReplyOptIn)
		apply = resubscribe(now, replied)
	case kw == kwJoin:
		// The text itself is the affirmative act: confirmed at once under
		// the disclosure currently advertised with the keyword.
		if s.Brand == "" {
			l.log.Warn("join keyword received before a brand was set; ignored", "inbound", in.ID)
			return nil
		}
		if c.Marketing == store.MarketingConfirmed && !optedOut {
			return nil
		}
		ev.Type, ev.Purpose = store.EventOptIn, store.PurposeMarketing
		ev.DisclosureVersion, ev.DisclosureText = s.Disclosure.Version, s.Disclosure.Text
		replied := reply(compliance.ReplyOptIn)
		apply = resubscribe(now, replied)
	case kw == kwHelp:
		// R-HELP: answered even for opted-out numbers; no ledger entry
		// (consent does not change), the reply time is kept on the record.
		if !reply(compliance.ReplyHelp) {
			return nil
		}
		_, cur, err := l.db.AdmitSend(ev.MessageID, func(_ *store.Message, c *store.Consent, _ bool) error {
			compliance.NoteReply(c, compliance.ReplyHelp, now)
			return nil
		})
		if err != nil {
			return err
		}
		l.notify.ConsentChanged(cur)
		return nil
	default:
		// R-STOP-4: reads like an opt-out. Marketing pauses until a person
		// decides; no reply, since we are not sure what was meant.
		if c.OptedOutAll {
			return nil // nothing left to pause
		}
		text := cutText(in.Text, maxReviewText)
		ev.Type, ev.Purpose, ev.Source, ev.Keyword = store.EventOptOutReview, store.PurposeMarketing, "inbound text", ""
		ev.Note = joinNote(ev.Note, fmt.Sprintf("read like an opt-out: %q", text))
		apply = func(c *store.Consent) error {
			c.Review, c.ReviewInboundID, c.ReviewText = true, in.ID, text
			return nil
		}
		after = l.afterOptOut
	}
	_, cur, _, err := l.db.AppendConsent(ev, apply)
	if err != nil {
		return err
	}
	after(cur)
	return nil
}

// resubscribe confirms marketing consent for START, YES and the join
// keyword, noting the opt-in confirmation when one was queued.
func resubscribe(now time.Time, replied bool) func(c *store.Consent) error {
	return func(c *store.Consent) error {
		confirm(c, now)
		if replied {
			compliance.NoteReply(c, compliance.ReplyOptIn, now)
		}
		return nil
	}
}

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
// (docs/compliance.md R-STOP-1 … R-DOI, R-STOP-4) and marks it handled. It is
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

// applyKeyword records what an inbound text says about its sender's
// consent: the shared reading (settings, the number's ledger and consent
// record) is done once by readKeywordText, then one method per keyword
// decides the ledger entry and the change to the record.
func (l *Ledger) applyKeyword(in store.Inbound, number string) error {
	s := l.policy.Settings()
	kw, word := classifyKeyword(in.Text, s.JoinKeyword)
	if kw == kwNone && !readsLikeOptOut(in.Text) {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t, handled, err := l.readKeywordText(in, number, word, s)
	if err != nil || handled {
		return err
	}
	var apply func(c *store.Consent) error
	switch kw {
	case kwStop:
		apply = t.stop()
	case kwStart:
		apply = t.start()
	case kwYes:
		apply = t.yes()
	case kwJoin:
		apply = t.join()
	case kwHelp:
		return t.help()
	default:
		apply = t.review()
	}
	if apply == nil {
		return nil // the text changes nothing for this number
	}
	_, cur, _, err := l.db.AppendConsent(t.ev, apply)
	if err != nil {
		return err
	}
	t.after(cur)
	return nil
}

// keywordText is one inbound text being acted on: what applyKeyword read
// about its sender, and the ledger entry being built for it.
type keywordText struct {
	l       *Ledger
	in      store.Inbound
	number  string
	s       compliance.Settings
	c       store.Consent      // the sender's record before this text
	lastDOI store.ConsentEvent // the sender's latest double opt-in request, if any
	now     time.Time
	ev      store.ConsentEvent // the entry to append; each keyword sets its type
	// after is told the record once the entry is appended: an opt-out
	// also rechecks the texts queued to the number.
	after func(store.Consent)
}

// readKeywordText reads the sender's ledger and consent record for in.
// handled reports that the ledger already holds an entry for this text:
// it was acted on before a crash and only the handled mark was lost.
func (l *Ledger) readKeywordText(in store.Inbound, number, word string, s compliance.Settings) (t *keywordText, handled bool, err error) {
	events, err := l.db.ConsentEvents(number)
	if err != nil {
		return nil, false, err
	}
	t = &keywordText{l: l, in: in, number: number, s: s, now: l.now().UTC(), after: l.notify.ConsentChanged}
	for _, ev := range events {
		if ev.InboundID == in.ID {
			return nil, true, nil
		}
		if ev.Type == store.EventDOIRequest {
			t.lastDOI = ev
		}
	}
	if t.c, err = l.db.Consent(number); err != nil {
		return nil, false, err
	}
	t.ev = store.ConsentEvent{Number: number, At: t.now, TimeZone: numberTimeZone(number), Method: MethodKeyword,
		Source: "keyword:" + word, Keyword: word, InboundID: in.ID, Note: "texted to " + in.Modem}
	return t, false, nil
}

// reply queues the reply of kind for this text, unless a reply of that
// kind went out too recently; it reports whether one was queued.
func (t *keywordText) reply(kind string) bool {
	if !compliance.ReplyDue(&t.c, kind, t.now) {
		return false
	}
	m, err := t.l.queueReply(t.number, kind, fmt.Sprintf("reply:%d:%s", t.in.ID, kind), t.s)
	if err != nil {
		// A template that cannot be sent (too long for the part limit)
		// must not keep the opt-out itself from being recorded.
		t.l.log.Error("queue automatic reply", "kind", kind, "inbound", t.in.ID, "error", err)
		return false
	}
	t.ev.MessageID = m.ID
	return true
}

// optedOut reports whether the sender had opted out of marketing.
func (t *keywordText) optedOut() bool {
	return t.c.OptedOutAll || t.c.Marketing == store.MarketingOptedOut
}

// stop is R-STOP-1/2/3: all texts stop, from every SIM (consent is per
// number); one confirmation per 24 h.
func (t *keywordText) stop() func(c *store.Consent) error {
	t.ev.Type, t.ev.Purpose = store.EventOptOut, store.PurposeAll
	replied := t.reply(compliance.ReplyStop)
	t.after = t.l.afterOptOut
	now := t.now
	return func(c *store.Consent) error {
		optOut(c, true, true)
		if replied {
			compliance.NoteReply(c, compliance.ReplyStop, now)
		}
		return nil
	}
}

// start is R-START: only a keyword opt-out is undone by START; from any
// other number START creates no consent.
func (t *keywordText) start() func(c *store.Consent) error {
	if !t.optedOut() || !t.c.OptOutByKeyword {
		return nil
	}
	t.ev.Type, t.ev.Purpose = store.EventResubscribe, store.PurposeMarketing
	t.ev.DisclosureVersion, t.ev.DisclosureText = t.s.Disclosure.Version, t.s.Disclosure.Text
	return resubscribe(t.now, t.reply(compliance.ReplyOptIn))
}

// yes is R-DOI: YES confirms a pending double opt-in, with what the
// request asked for; from a subscribed number it confirms the cart
// reminders a request asked about; from anyone else it is an ordinary
// text.
func (t *keywordText) yes() func(c *store.Consent) error {
	preference := t.c.Marketing == store.MarketingConfirmed && !t.optedOut() && t.c.PendingCartReminders
	if t.c.Marketing != store.MarketingPending && !preference {
		return nil
	}
	t.ev.Type, t.ev.Purpose = store.EventDOIConfirm, store.PurposeMarketing
	t.ev.DisclosureVersion, t.ev.DisclosureText = t.lastDOI.DisclosureVersion, t.lastDOI.DisclosureText
	if preference {
		// Subscribed already: the opt-in confirmation went long ago.
		t.ev.Note = joinNote(t.ev.Note, "confirmed cart reminders")
		return func(c *store.Consent) error {
			c.CartReminders, c.PendingCartReminders = true, false
			return nil
		}
	}
	confirmed := resubscribe(t.now, t.reply(compliance.ReplyOptIn))
	return func(c *store.Consent) error {
		c.CartReminders = c.CartReminders || c.PendingCartReminders
		c.PendingCartReminders = false
		return confirmed(c)
	}
}

// join is the configured join keyword: the text itself is the affirmative
// act, confirmed at once under the disclosure currently advertised with
// the keyword.
func (t *keywordText) join() func(c *store.Consent) error {
	if t.s.Brand == "" {
		t.l.log.Warn("join keyword received before a brand was set; ignored", "inbound", t.in.ID)
		return nil
	}
	if t.c.Marketing == store.MarketingConfirmed && !t.optedOut() {
		return nil
	}
	t.ev.Type, t.ev.Purpose = store.EventOptIn, store.PurposeMarketing
	t.ev.DisclosureVersion, t.ev.DisclosureText = t.s.Disclosure.Version, t.s.Disclosure.Text
	return resubscribe(t.now, t.reply(compliance.ReplyOptIn))
}

// help is R-HELP: answered even for opted-out numbers; no ledger entry
// (consent does not change), the reply time is kept on the record.
func (t *keywordText) help() error {
	if !t.reply(compliance.ReplyHelp) {
		return nil
	}
	now := t.now
	_, cur, err := t.l.db.AdmitSend(t.ev.MessageID, func(_ *store.Message, c *store.Consent, _ bool) error {
		compliance.NoteReply(c, compliance.ReplyHelp, now)
		return nil
	})
	if err != nil {
		return err
	}
	t.l.notify.ConsentChanged(cur)
	return nil
}

// review is R-STOP-4: the text reads like an opt-out. Marketing pauses
// until a person decides; no reply, since we are not sure what was meant.
func (t *keywordText) review() func(c *store.Consent) error {
	if t.c.OptedOutAll {
		return nil // nothing left to pause
	}
	text := cutText(t.in.Text, maxReviewText)
	t.ev.Type, t.ev.Purpose, t.ev.Source, t.ev.Keyword = store.EventOptOutReview, store.PurposeMarketing, "inbound text", ""
	t.ev.Note = joinNote(t.ev.Note, fmt.Sprintf("read like an opt-out: %q", text))
	t.after = t.l.afterOptOut
	id := t.in.ID
	return func(c *store.Consent) error {
		c.Review, c.ReviewInboundID, c.ReviewText = true, id, text
		return nil
	}
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

package gateway

import (
	"fmt"
	"time"

	"github.com/simgate/simgate/store"
)

// Automatic replies (opt-in and opt-out confirmations, double opt-in
// requests, HELP answers) are queued as KindCompliance texts: the guard
// lets them through quiet hours, caps and opt-outs, because the rules
// require them (R-STOP-3, R-HELP, R-OPTIN-2) and they carry no marketing.

// Reply kinds, also the keys of Consent.LastReply.
const (
	replyStop  = "stop"  // the opt-out confirmation
	replyHelp  = "help"  // the HELP answer
	replyOptIn = "optin" // the opt-in confirmation
	replyDOI   = "doi"   // the double opt-in request
)

// Reply rate limits. One opt-out confirmation per 24 h is R-STOP-3's test;
// one double opt-in request per 24 h stops /join from being used to text a
// stranger over and over. HELP gets one answer per hour: R-HELP asks for
// one reply, and an auto-responder on the other end that answers our HELP
// text with "HELP"-like words would otherwise loop.
const (
	stopReplyEvery = 24 * time.Hour
	doiReplyEvery  = 24 * time.Hour
	helpReplyEvery = time.Hour
)

// replyDue reports whether a reply of kind may go to c now.
func replyDue(c *store.Consent, kind string, now time.Time) bool {
	every := map[string]time.Duration{replyStop: stopReplyEvery, replyHelp: helpReplyEvery, replyDOI: doiReplyEvery}[kind]
	last, ok := c.LastReply[kind]
	return !ok || every == 0 || !now.Before(last.Add(every))
}

// noteReply records in c that a reply of kind went out at now.
func noteReply(c *store.Consent, kind string, now time.Time) {
	if c.LastReply == nil {
		c.LastReply = map[string]time.Time{}
	}
	c.LastReply[kind] = now
}

// templateFor returns the reply template of kind.
func templateFor(s ComplianceSettings, kind string) string {
	switch kind {
	case replyStop:
		return s.Replies.OptOutConfirmation
	case replyHelp:
		return s.Replies.Help
	case replyOptIn:
		return s.Replies.OptInConfirmation
	case replyDOI:
		return s.Replies.DoubleOptInRequest
	}
	return ""
}

// queueReply commits the reply of kind to number to the outbox, through
// the same path as Submit (validation, durable enqueue, live event, wake
// the dispatcher). key is derived from what caused the reply
// ("reply:<inbound id>:stop"), so handling the same cause again after a
// crash finds the first reply instead of queueing a second (the outbox
// keeps idempotency keys for 24 h).
func (g *Gateway) queueReply(number, kind, key string, s ComplianceSettings) (store.Message, error) {
	text := renderReply(templateFor(s, kind), s)
	m, err := g.newMessage(SubmitRequest{To: number, Text: text, IdempotencyKey: key})
	if err != nil {
		return store.Message{}, fmt.Errorf("gateway: %s reply: %w", kind, err)
	}
	m.Kind = store.KindCompliance
	m.History[0].Note = "automatic " + replyLabel(kind)
	stored, existing, err := g.db.Enqueue(m)
	if err != nil {
		return store.Message{}, fmt.Errorf("gateway: enqueue %s reply: %w", kind, err)
	}
	if !existing {
		g.publishMessage(stored)
		g.kick()
	}
	return stored, nil
}

func replyLabel(kind string) string {
	switch kind {
	case replyStop:
		return "opt-out confirmation"
	case replyHelp:
		return "HELP reply"
	case replyOptIn:
		return "opt-in confirmation"
	case replyDOI:
		return "double opt-in request"
	}
	return kind + " reply"
}

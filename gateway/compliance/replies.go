package compliance

import (
	"time"

	"github.com/simgate/simgate/store"
)

// Automatic replies (opt-in and opt-out confirmations, double opt-in
// requests, HELP answers) are queued as KindCompliance texts: the guard
// lets them through quiet hours, caps and opt-outs, because the rules
// require them (R-STOP-3, R-HELP, R-OPTIN-2) and they carry no marketing.

// Reply kinds, also the keys of Consent.LastReply.
const (
	ReplyStop  = "stop"  // the opt-out confirmation
	ReplyHelp  = "help"  // the HELP answer
	ReplyOptIn = "optin" // the opt-in confirmation
	ReplyDOI   = "doi"   // the double opt-in request
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

// ReplyDue reports whether a reply of kind may go to c now.
func ReplyDue(c *store.Consent, kind string, now time.Time) bool {
	every := map[string]time.Duration{ReplyStop: stopReplyEvery, ReplyHelp: helpReplyEvery, ReplyDOI: doiReplyEvery}[kind]
	last, ok := c.LastReply[kind]
	return !ok || every == 0 || !now.Before(last.Add(every))
}

// NoteReply records in c that a reply of kind went out at now.
func NoteReply(c *store.Consent, kind string, now time.Time) {
	if c.LastReply == nil {
		c.LastReply = map[string]time.Time{}
	}
	c.LastReply[kind] = now
}

// templateFor returns the reply template of kind.
func templateFor(s Settings, kind string) string {
	switch kind {
	case ReplyStop:
		return s.Replies.OptOutConfirmation
	case ReplyHelp:
		return s.Replies.Help
	case ReplyOptIn:
		return s.Replies.OptInConfirmation
	case ReplyDOI:
		return s.Replies.DoubleOptInRequest
	}
	return ""
}

// ReplyText is the reply of kind as it is sent: its template filled from s.
func ReplyText(s Settings, kind string) string { return renderReply(templateFor(s, kind), s) }

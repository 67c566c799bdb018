// Package compliance is the gateway's marketing policy as pure functions:
// the shop's compliance settings and their validation, the judge that
// decides whether one text may go now (consent, quiet hours, frequency
// cap), the time zones a number may be in, and the wording rules for the
// box's own replies.
//
// It must not do I/O: it never opens the store, a modem or the clock. The
// parts that do (consent, outbox) read the facts and hand them in, so the
// same inputs always give the same answer.
package compliance

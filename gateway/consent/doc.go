// Package consent keeps what each customer said about being texted: the
// consent ledger and the operations that change it (opt-in, opt-out,
// review, evidence), the inbound keywords that change it by text (STOP,
// START, HELP, YES, the join keyword, texts that read like an opt-out) with
// the automatic replies they require, GDPR export and erasure, the
// retention purge of message bodies, and the compliance settings that
// govern all of it.
//
// It must not send or hold back a text itself: its replies go through the
// outbox like every text, and the outbox's guard applies what the ledger
// says at the moment a text goes out.
package consent

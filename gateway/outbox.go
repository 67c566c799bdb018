package gateway

import (
	"context"

	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// The outbox and its modems (package outbox).
type (
	// OpenFunc opens a modem's port and returns a driver ready for Init.
	OpenFunc = outbox.OpenFunc
	// ModemConfig registers one modem with the gateway.
	ModemConfig = outbox.ModemConfig
	// Limits are one SIM's sending limits; 0 turns a limit off.
	Limits = simlimits.Limits
	// Budget is what a SIM has used and may still use.
	Budget = simlimits.Budget
)

// Default SIM limits (see package simlimits for where each comes from).
const (
	DefaultPerMinute      = simlimits.DefaultPerMinute
	DefaultPerDay         = simlimits.DefaultPerDay
	DefaultUniquePerDay   = simlimits.DefaultUniquePerDay
	DefaultUniquePerMonth = simlimits.DefaultUniquePerMonth
)

// DefaultLimits returns the limits a SIM gets when nothing is configured.
func DefaultLimits() Limits { return simlimits.DefaultLimits() }

// Modem states shown in the API and console.
const (
	StateStarting = outbox.StateStarting // opening the port or running init
	StateUp       = outbox.StateUp       // registered and taking work
	StateDegraded = outbox.StateDegraded // answering, but not registered on a network or out of rotation
	StateDown     = outbox.StateDown     // port closed or not answering; the supervisor is reconnecting
)

// ErrModemUnavailable is returned for work a modem cannot take now (down,
// starting, or out of rotation).
var ErrModemUnavailable = outbox.ErrModemUnavailable

// PlanText reports how text will be encoded and into how many parts.
func PlanText(text string) Plan { return Plan(modem.PlanText(text)) }

// Submit validates a request and commits it to the outbox. It returns only
// after the message is durable. When the idempotency key was seen in the
// request's scope within 24 h, the original message is returned with
// existing = true and nothing new is stored, or, when that message was a
// different text, the error is ErrIdempotencyKeyReused.
func (g *Gateway) Submit(ctx context.Context, r SubmitRequest) (Message, bool, error) {
	req, err := view.SubmitRecord(r)
	if err != nil {
		return Message{}, false, err
	}
	m, existing, err := g.outbox.Submit(ctx, req)
	if err != nil {
		return Message{}, false, err
	}
	return view.FromMessage(m), existing, nil
}

// SubmitRefusal is why the compliance guard would suppress a text of kind
// to number to if it were submitted now, or "" when it would not (an
// opted-out or erased number; for marketing, no consent). It only reads:
// the guard still judges every text when it is due. An invalid number is a
// *FieldError for "to".
func (g *Gateway) SubmitRefusal(to string, kind Kind) (string, error) {
	k, ok := store.ParseKind(string(kind))
	if !ok {
		k = store.KindTransactional
	}
	return g.outbox.Refusal(to, k)
}

// Message returns one outbound message.
func (g *Gateway) Message(id uint64) (Message, error) {
	return view.One(view.FromMessage)(g.outbox.Message(id))
}

// Messages lists outbound messages, newest first.
func (g *Gateway) Messages(f ListFilter) ([]Message, uint64, error) {
	sf, err := view.ListFilterRecord(f)
	if err != nil {
		return nil, 0, err
	}
	return view.Page(view.FromMessage)(g.outbox.Messages(sf))
}

// Inbox lists received texts, newest first.
func (g *Gateway) Inbox(before uint64, limit int) ([]Inbound, uint64, error) {
	return view.Page(view.FromInbound)(g.outbox.Inbox(before, limit))
}

// Resend puts an unknown, failed or expired message back in the queue; for
// an unknown one this is a person accepting a possible duplicate.
func (g *Gateway) Resend(ctx context.Context, id uint64) (Message, error) {
	return view.One(view.FromMessage)(g.outbox.Resend(ctx, id))
}

// Drop ends a queued or unknown message without sending it (again).
func (g *Gateway) Drop(ctx context.Context, id uint64) (Message, error) {
	return view.One(view.FromMessage)(g.outbox.Drop(ctx, id))
}

// RecheckQueued judges every queued text to number again at once (after a
// STOP or an opt-out review), not when each falls due.
func (g *Gateway) RecheckQueued(number string) error { return g.outbox.RecheckQueued(number) }

// Modems returns the status of every configured modem (an empty list, not
// nil, when there is none).
func (g *Gateway) Modems() []ModemStatus { return view.Map(g.outbox.Modems(), view.FromModemStatus) }

// DefaultUSSDAllow is the USSD allow-list when none is configured: balance
// and information codes (*100#, *101*1#), never a supplementary-service
// code such as **21*…# (call forwarding).
var DefaultUSSDAllow = modem.DefaultUSSDAllow

// CheckUSSDAllow checks an allow-list's patterns, as the config file is
// read; errors are *FieldError for "ussd_allow[i]".
func CheckUSSDAllow(patterns []string) error {
	_, err := outbox.ParseUSSDAllowList(patterns)
	return err
}

// USSDAllow returns the USSD allow-list in force, as written.
func (g *Gateway) USSDAllow() []string { return g.outbox.USSDAllow() }

// USSD sends a USSD code (a balance check such as *100#) through the named
// modem and returns the network's reply, after any submit in flight.
func (g *Gateway) USSD(ctx context.Context, modemName, code string) (USSDReply, error) {
	return view.One(view.FromUSSDReply)(g.outbox.USSD(ctx, modemName, code))
}

// SetModemPaused pauses or resumes sending through a modem; a paused modem
// still receives texts and reports, and the choice survives restarts.
func (g *Gateway) SetModemPaused(name string, paused bool) (ModemStatus, error) {
	return view.One(view.FromModemStatus)(g.outbox.SetModemPaused(name, paused))
}

// ModemHistory returns a modem's recent health readings, oldest first.
func (g *Gateway) ModemHistory(name string) ([]Health, error) {
	return view.List(view.FromHealth)(g.outbox.ModemHistory(name))
}

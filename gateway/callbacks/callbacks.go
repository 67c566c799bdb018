// Package callbacks sends the compatible APIs' callbacks: Twilio's
// StatusCallback and inbound posts, Kannel's dlr-url. The routes store a
// callback with the text (webui), the webhooks' delivery outbox sends one
// request per status change, and the formatters here say what each
// request is; package compat builds it.
package callbacks

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/simgate/simgate/gateway/compat"
	"github.com/simgate/simgate/gateway/webhooks"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Accounts finds the Twilio accounts that sign the callbacks
// (access.Accounts).
type Accounts interface {
	TwilioAccount(accountSID string) (store.Token, error)
	Tokens() ([]store.Token, error)
}

// Registrar takes the formatters (webhooks.Service).
type Registrar interface {
	RegisterFormat(name string, f webhooks.Formatter)
}

// Register teaches the delivery outbox the compatible APIs' callback
// formats.
func Register(r Registrar, accounts Accounts) {
	f := formats{accounts: accounts}
	r.RegisterFormat(compat.FormatTwilio, webhooks.FormatterFunc(f.twilio))
	r.RegisterFormat(compat.FormatKannel, webhooks.FormatterFunc(kannel))
}

type formats struct{ accounts Accounts }

// callbackState is what a message.status change says about a text, with
// what the message says now (who failed it, the modem).
func callbackState(d webhooks.Delivery) (compat.MessageState, error) {
	if d.Change.Kind != store.ChangeMessageStatus {
		return compat.MessageState{}, webhooks.ErrSkip
	}
	var c store.MessageChange
	if err := json.Unmarshal(d.Change.Data, &c); err != nil {
		return compat.MessageState{}, fmt.Errorf("gateway: callback: decode change %d: %w", d.Change.Seq, err)
	}
	st := compat.MessageState{ID: c.ID, To: c.To, Status: c.Status, Error: c.Error, Modem: c.Modem, At: d.Change.At}
	if m := d.Message; m != nil {
		for _, p := range m.Parts {
			if p.Status == store.StatusFailed && !p.DoneAt.IsZero() {
				st.ReportFailed = true // a status report, not the sending side
			}
		}
		if st.Modem == "" {
			st.Modem = m.Modem
		}
	}
	return st, nil
}

// twilio is Twilio's signed status post for a text's callback, or
// its inbound post for an endpoint subscribed to inbound texts. A revoked
// account has no key to sign with: its callbacks are dropped rather than
// sent unsigned.
func (f formats) twilio(d webhooks.Delivery) (webhooks.Request, error) {
	if d.Change.Kind == store.ChangeMessageInbound {
		return f.twilioInbound(d)
	}
	st, err := callbackState(d)
	if err != nil {
		return webhooks.Request{}, err
	}
	var p compat.TwilioCallbackParams
	if err := json.Unmarshal(d.Params, &p); err != nil {
		return webhooks.Request{}, fmt.Errorf("gateway: twilio callback params: %w", err)
	}
	acct, err := f.accounts.TwilioAccount(p.AccountSID)
	if errors.Is(err, store.ErrNotFound) {
		return webhooks.Request{}, webhooks.ErrSkip
	}
	if err != nil {
		return webhooks.Request{}, err
	}
	req, ok, err := compat.TwilioStatusRequest(d.URL, d.Params, acct.TwilioSigningKey, st)
	if err != nil {
		return webhooks.Request{}, err
	}
	if !ok {
		return webhooks.Request{}, webhooks.ErrSkip
	}
	return webhookRequest(req), nil
}

// kannel is Kannel's dlr-url GET, when the client's dlr-mask asks
// for this report.
func kannel(d webhooks.Delivery) (webhooks.Request, error) {
	st, err := callbackState(d)
	if err != nil {
		return webhooks.Request{}, err
	}
	req, ok, err := compat.KannelDLRRequest(d.Params, st)
	if err != nil {
		return webhooks.Request{}, err
	}
	if !ok {
		return webhooks.Request{}, webhooks.ErrSkip
	}
	return webhookRequest(req), nil
}

func webhookRequest(r compat.CallbackRequest) webhooks.Request {
	h := map[string][]string{}
	for k, v := range r.Header {
		h[k] = []string{v}
	}
	return webhooks.Request{Method: r.Method, URL: r.URL, Header: h, Body: r.Body}
}

// twilioInbound posts a received text as Twilio posts to a number's
// messaging webhook, signed by the Twilio account whose inbound URL the
// endpoint's is (simgate token create --twilio-inbound-url).
func (f formats) twilioInbound(d webhooks.Delivery) (webhooks.Request, error) {
	var in store.InboundChange
	if err := json.Unmarshal(d.Change.Data, &in); err != nil {
		return webhooks.Request{}, fmt.Errorf("gateway: twilio inbound: decode change %d: %w", d.Change.Seq, err)
	}
	tokens, err := f.accounts.Tokens()
	if err != nil {
		return webhooks.Request{}, err
	}
	for _, t := range tokens {
		if t.TwilioSID == "" || t.TwilioInboundURL != d.URL {
			continue
		}
		// To is the modem's name: the box does not always know its SIM's
		// number, and the name tells a receiver which line it came in on.
		req := compat.TwilioInboundRequest(d.URL, t.TwilioSigningKey, compat.TwilioInbound{AccountSID: t.TwilioSID,
			MessageSID: compat.InboundSID(in.ID), From: in.From, To: in.Modem, Body: in.Text,
			NumSegments: modem.PlanText(in.Text).Parts})
		return webhookRequest(req), nil
	}
	return webhooks.Request{}, fmt.Errorf("no Twilio account has %s as its inbound URL (simgate token create --twilio --twilio-inbound-url)", d.URL)
}

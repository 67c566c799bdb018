package compat

import (
	"encoding/json"
	"strings"
	"time"
)

// The per-message callbacks of the compatible APIs: what a route stores
// with the text (the params, as JSON, in the message's callback record) and
// the request each status change becomes. The delivery itself (retries,
// backoff, the SSRF check) belongs to the webhooks' outbox; these only say
// what to send.

// Callback formats, the names the delivery outbox knows them by.
const (
	FormatTwilio = "twilio"
	FormatKannel = "kannel"
)

// TwilioCallbackParams is what a Twilio StatusCallback needs besides the
// message: whose account signs it and what the client said the text was from.
type TwilioCallbackParams struct {
	AccountSID          string `json:"account_sid"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
}

// KannelCallbackParams is what a dlr-url needs: the client's URL with its
// escapes (the callback's own URL is that template with the escapes
// emptied, a URL that parses), which reports it asked for and its sender.
type KannelCallbackParams struct {
	Template string `json:"dlr_url"`
	Mask     int    `json:"dlr_mask"`
	From     string `json:"from,omitempty"`
}

// CallbackRequest is one request a callback becomes. Header holds one
// value per name (the core speaks no net/http; the sender copies them).
type CallbackRequest struct {
	Method string
	URL    string
	Header map[string]string
	Body   []byte
}

// MessageState is what a callback reports about a text when its status
// changed.
type MessageState struct {
	ID           uint64
	To           string
	Status       string // simgate's API name ("sent", "delivered", ...)
	ReportFailed bool   // a delivery report, not the sending side, failed it
	Error        string // simgate's words for a failure ("" when none)
	Modem        string
	At           time.Time // when the status changed
}

// TwilioStatusRequest is the signed form post Twilio makes to a
// StatusCallback for state, or ok false when Twilio would not call for it
// (a text still queued). authToken is the account's Auth Token.
func TwilioStatusRequest(callbackURL string, raw json.RawMessage, authToken string, state MessageState) (CallbackRequest, bool, error) {
	var p TwilioCallbackParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return CallbackRequest{}, false, err
	}
	status, code := TwilioStatus(state.Status, state.ReportFailed)
	if status == "queued" {
		return CallbackRequest{}, false, nil
	}
	form := TwilioStatusCallback{AccountSID: p.AccountSID, MessageSID: MessageSID(state.ID), From: p.From, To: state.To,
		Status: status, ErrorCode: code, MessagingServiceSID: p.MessagingServiceSID}.Params()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Twilio-Signature": TwilioSignature(authToken, callbackURL, form)}
	return CallbackRequest{Method: "POST", URL: callbackURL, Header: h, Body: []byte(form.Encode())}, true, nil
}

// TwilioInboundRequest is the signed form post of a received text to an
// inbound URL, as Twilio posts to a number's messaging webhook.
func TwilioInboundRequest(inboundURL, authToken string, in TwilioInbound) CallbackRequest {
	form := in.Params()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Twilio-Signature": TwilioSignature(authToken, inboundURL, form)}
	return CallbackRequest{Method: "POST", URL: inboundURL, Header: h, Body: []byte(form.Encode())}
}

// KannelDLRRequest is the GET Kannel makes to a dlr-url for state, or ok
// false when the client's dlr-mask did not ask for this report.
func KannelDLRRequest(raw json.RawMessage, state MessageState) (CallbackRequest, bool, error) {
	var p KannelCallbackParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return CallbackRequest{}, false, err
	}
	template := p.Template
	v := KannelDLRValue(state.Status, state.ReportFailed)
	if !KannelWants(p.Mask, v) {
		return CallbackRequest{}, false, nil
	}
	reply := strings.ToUpper(state.Status)
	if state.Error != "" {
		reply += ": " + state.Error
	}
	u := KannelDLRURL(template, KannelDLR{Value: v, From: p.From, To: state.To, At: state.At, Reply: reply, SMSCID: state.Modem})
	return CallbackRequest{Method: "GET", URL: u}, true, nil
}

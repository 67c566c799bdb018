package compat

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// TwilioAPIVersion is the only version of Twilio's REST API served.
const TwilioAPIVersion = "2010-04-01"

// Twilio error codes clients branch on (https://www.twilio.com/docs/api/errors).
const (
	TwilioErrAuthenticate    = 20003 // bad or missing credentials
	TwilioErrInternal        = 20500 // the box failed
	TwilioErrUnavailable     = 20503 // the box cannot take it now (disk full, writes stopped)
	TwilioErrNotFound        = 20404 // no such resource
	TwilioErrInvalidParam    = 400   // "Bad Request" in Twilio's dictionary: for the mistakes without a code of their own
	TwilioErrInvalidTo       = 21211 // the To number is not a valid phone number
	TwilioErrBodyRequired    = 21602 // Body is empty
	TwilioErrToRequired      = 21604 // To is missing
	TwilioErrUnsubscribed    = 21610 // the recipient replied STOP
	TwilioErrValidity        = 21624 // ValidityPeriod is not an integer from 1 to 36,000
	TwilioErrBodyTooLong     = 21617 // Body exceeds the segment limit
	TwilioErrExpired         = 30036 // the validity period passed in the queue
	TwilioErrUnreachable     = 30003 // the handset could not be reached
	TwilioErrUnknown         = 30008 // the SMSC reported a failure without a reason
	TwilioErrBlocked         = 30007 // filtered: here, the compliance guard's suppression
	TwilioMaxValiditySeconds = 36000 // ValidityPeriod's upper bound
)

// MessageSID is the Twilio-shaped SID of message id: "SM" and 32 hex digits
// that are the id, so that a SID maps back without a lookup table.
func MessageSID(id uint64) string { return fmt.Sprintf("SM%032x", id) }

// ParseMessageSID returns the message id a SID made by MessageSID names.
func ParseMessageSID(sid string) (uint64, bool) {
	if len(sid) != 34 || !strings.HasPrefix(sid, "SM") {
		return 0, false
	}
	body := sid[2:]
	if strings.TrimLeft(body[:16], "0") != "" {
		return 0, false // larger than 64 bits: never one of ours
	}
	id, err := strconv.ParseUint(body[16:], 16, 64)
	if err != nil || id == 0 || strings.ToLower(body) != body {
		return 0, false
	}
	return id, true
}

// IsAccountSID reports whether s has the shape of an Account SID.
func IsAccountSID(s string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, "AC") {
		return false
	}
	for _, c := range s[2:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// TwilioStatus maps a simgate message status (its API name) to Twilio's
// status and, for a failure, the error code Twilio would give.
// reportFailed says a delivery report, not the sending side, ended it:
// Twilio calls that "undelivered". An "unknown" text (it may have left;
// a person decides) stays "sending", Twilio's state for "not yet known".
func TwilioStatus(status string, reportFailed bool) (string, int) {
	switch status {
	case "queued":
		return "queued", 0
	case "sending", "unknown":
		return "sending", 0
	case "sent":
		return "sent", 0
	case "delivered":
		return "delivered", 0
	case "failed":
		if reportFailed {
			return "undelivered", TwilioErrUnreachable
		}
		return "failed", TwilioErrUnknown
	case "suppressed":
		return "failed", TwilioErrBlocked
	case "expired":
		return "failed", TwilioErrExpired
	}
	return "failed", TwilioErrUnknown
}

// TwilioSignature is X-Twilio-Signature for a request to fullURL (scheme,
// host, path and query exactly as the receiver sees them) with form
// params, as Twilio computes it: the URL followed by each parameter name
// and value, names sorted, HMAC-SHA1 keyed by the account's Auth Token,
// in base64. A name with several values contributes each, in the order
// given.
func TwilioSignature(authToken, fullURL string, params url.Values) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range names {
		for _, v := range params[k] {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TwilioStatusCallback is what a status callback reports about a text.
type TwilioStatusCallback struct {
	AccountSID string
	MessageSID string
	From, To   string
	Status     string // Twilio's status (TwilioStatus)
	ErrorCode  int    // 0: none
	// MessagingServiceSID, when the text was sent with one.
	MessagingServiceSID string
}

// Params is the form body Twilio posts to a StatusCallback URL.
func (c TwilioStatusCallback) Params() url.Values {
	v := url.Values{}
	v.Set("AccountSid", c.AccountSID)
	v.Set("ApiVersion", TwilioAPIVersion)
	v.Set("From", c.From)
	v.Set("To", c.To)
	v.Set("MessageSid", c.MessageSID)
	v.Set("SmsSid", c.MessageSID)
	v.Set("MessageStatus", c.Status)
	v.Set("SmsStatus", c.Status)
	if c.MessagingServiceSID != "" {
		v.Set("MessagingServiceSid", c.MessagingServiceSID)
	}
	if c.ErrorCode != 0 {
		v.Set("ErrorCode", strconv.Itoa(c.ErrorCode))
	}
	return v
}

// TwilioInbound is a received text as Twilio posts it to a number's
// messaging webhook.
type TwilioInbound struct {
	AccountSID  string
	MessageSID  string // "SM" + 32 hex: inbound texts get their own SID space (InboundSID)
	From, To    string
	Body        string
	NumSegments int
}

// InboundSID is the SID of inbound text id. Outbound and inbound ids are
// separate sequences, so the inbound space sets the top bit to keep the two
// apart.
func InboundSID(id uint64) string { return fmt.Sprintf("SM8%031x", id) }

// Params is the form body of an inbound post (Twilio's messaging webhook).
func (in TwilioInbound) Params() url.Values {
	v := url.Values{}
	v.Set("AccountSid", in.AccountSID)
	v.Set("ApiVersion", TwilioAPIVersion)
	v.Set("MessageSid", in.MessageSID)
	v.Set("SmsMessageSid", in.MessageSID)
	v.Set("SmsSid", in.MessageSID)
	v.Set("SmsStatus", "received")
	v.Set("From", in.From)
	v.Set("To", in.To)
	v.Set("Body", in.Body)
	v.Set("NumMedia", "0")
	n := in.NumSegments
	if n < 1 {
		n = 1
	}
	v.Set("NumSegments", strconv.Itoa(n))
	return v
}

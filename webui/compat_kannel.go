package webui

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/gateway/compat"
)

// Kannel's sendsms interface (issue 12 §1), for monitoring scripts and
// plugins written for Kannel: GET or POST /cgi-bin/sendsms with the
// sendsms-user's username and password (here a token's name and secret),
// answered with Kannel's status lines. Every recipient becomes one text
// through the same outbox and guard as the native API.

// kannelReply is one of Kannel's plain-text answers and its HTTP status.
type kannelReply struct {
	status int
	text   string
}

func (e *kannelReply) Error() string { return e.text }

var (
	kannelAccepted   = kannelReply{http.StatusAccepted, "0: Accepted for delivery"}
	errKannelAuth    = &kannelReply{http.StatusForbidden, "Authorization failed for sendsms"}
	errKannelNoTo    = &kannelReply{http.StatusBadRequest, "Missing receiver number"}
	errKannelNoText  = &kannelReply{http.StatusBadRequest, "Missing text"}
	errKannelCharset = &kannelReply{http.StatusBadRequest, "Charset or body conversion failed"}
	errKannelFailed  = &kannelReply{http.StatusServiceUnavailable, "Sending failed."}
)

// checkNameSecret is the authentication of Kannel's username/password and
// SMSEagle's login/pass: a token's name and its secret. The secret finds
// the token (by hash); the name must then be its name.
func (s *server) checkNameSecret(name, secret string) (access.Token, bool, error) {
	if name == "" || secret == "" {
		return access.Token{}, false, nil
	}
	tok, err := s.gw.Access().CheckToken(secret)
	if errors.Is(err, gateway.ErrNotFound) {
		return access.Token{}, false, nil
	}
	if err != nil {
		return access.Token{}, false, err
	}
	if subtle.ConstantTimeCompare([]byte(tok.Name), []byte(name)) != 1 {
		return access.Token{}, false, nil
	}
	return tok, true, nil
}

// formFirst is the first non-empty value among names (Kannel accepts
// "username" or "user", "password" or "pass").
func formFirst(f url.Values, names ...string) string {
	for _, n := range names {
		if v := f.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// kannelText decodes text as Kannel reads it: charset names its bytes'
// encoding; without one, UTF-8 for coding 0 and UTF-16BE for coding 2 (UCS-2).
func kannelText(raw, charset, coding string) (string, error) {
	cs := strings.ToLower(strings.ReplaceAll(charset, "_", "-"))
	if cs == "" && coding == "2" {
		cs = "utf-16be"
	}
	switch cs {
	case "", "utf-8", "utf8":
		if !utf8.ValidString(raw) {
			return "", errKannelCharset
		}
		return raw, nil
	case "iso-8859-1", "latin1", "iso8859-1":
		r := make([]rune, len(raw))
		for i := 0; i < len(raw); i++ {
			r[i] = rune(raw[i])
		}
		return string(r), nil
	case "utf-16be", "utf-16", "ucs-2", "ucs2":
		if len(raw)%2 != 0 {
			return "", errKannelCharset
		}
		u := make([]uint16, len(raw)/2)
		for i := range u {
			u[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		return string(utf16.Decode(u)), nil
	}
	return "", errKannelCharset
}

// kannelSend answers /cgi-bin/sendsms. Several recipients are separated by
// spaces or "+"; the answer is "0: Accepted for delivery" (202) when every
// one was queued, and names each recipient refused otherwise.
func (s *server) kannelSend(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, text string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, text)
	}
	fail := func(err error) {
		var k *kannelReply
		if !errors.As(err, &k) {
			s.log.Error("kannel sendsms failed", "err", err)
			k = errKannelFailed
		}
		reply(k.status, k.text)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		fail(&kannelReply{http.StatusBadRequest, "Malformed request: " + err.Error()})
		return
	}
	f := r.Form
	tok, ok, err := s.checkNameSecret(formFirst(f, "username", "user"), formFirst(f, "password", "pass"))
	if err != nil {
		fail(err)
		return
	}
	if !ok {
		fail(errKannelAuth)
		return
	}
	recipients := compat.KannelRecipients(f.Get("to"))
	if len(recipients) == 0 {
		fail(errKannelNoTo)
		return
	}
	if f.Get("coding") == "1" {
		fail(&kannelReply{http.StatusBadRequest, "coding=1 (8-bit data) is not supported: send text with coding 0 or 2"})
		return
	}
	text, err := kannelText(f.Get("text"), f.Get("charset"), f.Get("coding"))
	if err != nil {
		fail(err)
		return
	}
	if strings.TrimSpace(text) == "" {
		fail(errKannelNoText)
		return
	}
	mask := 0
	if v := f.Get("dlr-mask"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 31 {
			fail(&kannelReply{http.StatusBadRequest, "Invalid dlr-mask: a number from 0 to 31"})
			return
		}
		mask = n
	}
	var callback *gateway.Callback
	if v := f.Get("dlr-url"); v != "" {
		// The stored URL is the template with its escapes emptied: it
		// parses, and its host is where the reports go.
		plain := compat.KannelDLRURL(v, compat.KannelDLR{})
		if u, err := url.Parse(plain); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(&kannelReply{http.StatusBadRequest, "Invalid dlr-url: an absolute http or https URL"})
			return
		}
		if mask != 0 { // Kannel reports only what dlr-mask asks for
			params, err := json.Marshal(compat.KannelCallbackParams{Template: v, Mask: mask, From: f.Get("from")})
			if err != nil {
				fail(err)
				return
			}
			callback = &gateway.Callback{URL: plain, Format: compat.FormatKannel, Params: params, AllowPrivate: tok.PrivateCallbacks}
		}
	}
	var refused []string
	var last error
	for _, to := range recipients {
		_, _, err := s.compatSubmit(r.Context(), tok, to, text, r.Header.Get("Idempotency-Key"), len(recipients) > 1, callback)
		if err != nil {
			var field *gateway.FieldError
			if !errors.As(err, &field) {
				fail(err) // the box, not the request: stop here
				return
			}
			refused = append(refused, to+": "+field.Error())
			last = err
		}
	}
	switch {
	case len(refused) == 0:
		reply(kannelAccepted.status, kannelAccepted.text)
	case len(refused) == len(recipients) && len(recipients) == 1:
		var field *gateway.FieldError
		errors.As(last, &field)
		reply(http.StatusBadRequest, "Invalid request: "+field.Error())
	case len(refused) == len(recipients):
		reply(http.StatusBadRequest, "Failed receivers:\n"+strings.Join(refused, "\n"))
	default:
		reply(kannelAccepted.status, kannelAccepted.text+"\nFailed receivers:\n"+strings.Join(refused, "\n"))
	}
}

// compatSubmit queues one text of a compatibility API for tok. key, from
// the Idempotency-Key header, is made per recipient when a request names
// several, so each recipient's text is its own.
func (s *server) compatSubmit(ctx context.Context, tok access.Token, to, text, key string, several bool, cb *gateway.Callback) (gateway.Message, bool, error) {
	if key != "" && several {
		key += ":" + to
	}
	return s.gw.Submit(ctx, gateway.SubmitRequest{To: to, Text: text, IdempotencyKey: key,
		IdempotencyScope: tokenScope(tok), Kind: compatKind(tok), Callback: cb})
}

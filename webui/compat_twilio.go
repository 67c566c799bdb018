package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/gateway/compat"
)

// Twilio's Messages API (issue 12 §1), for shop plugins that speak Twilio:
// the same outbox, guard, limits and idempotency as POST /api/v1/messages,
// with Twilio's paths, HTTP Basic credentials (Account SID and Auth Token of
// a token made with `simgate token create --twilio`), field names, types
// and error codes.

// twilioError is an error in Twilio's JSON shape.
type twilioError struct {
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	// MoreInfo is Twilio's page about the code, as Twilio links it.
	MoreInfo string `json:"more_info"`
}

func (e *twilioError) Error() string { return e.Message }

func newTwilioError(status, code int, format string, args ...any) *twilioError {
	return &twilioError{Status: status, Code: code, Message: fmt.Sprintf(format, args...),
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)}
}

// twilioMessage is Twilio's Message resource.
type twilioMessage struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// twilioMessagePage is a page of Twilio's Messages list. twilio-node finds
// the list as the one key that is not paging metadata: add none.
type twilioMessagePage struct {
	Messages        []twilioMessage `json:"messages"`
	End             int             `json:"end"`
	FirstPageURI    string          `json:"first_page_uri"`
	NextPageURI     *string         `json:"next_page_uri"`
	Page            int             `json:"page"`
	PageSize        int             `json:"page_size"`
	PreviousPageURI *string         `json:"previous_page_uri"`
	Start           int             `json:"start"`
	URI             string          `json:"uri"`
}

// twilioDate is RFC 2822 as Twilio writes it ("Thu, 24 Aug 2023 05:01:45 +0000").
func twilioDate(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

// twilioPrefix is the path every route shares.
const twilioPrefix = "/" + compat.TwilioAPIVersion + "/Accounts/"

// twilioView is a message as Twilio shows it. from and service are what the
// client gave when it created the text; simgate keeps neither, so later
// reads show null.
func twilioView(account string, m gateway.Message, from, service string) twilioMessage {
	reportFailed := false
	for _, p := range m.Parts {
		if p.Status == gateway.StatusFailed && p.DoneAt != nil {
			reportFailed = true
		}
	}
	status, code := compat.TwilioStatus(string(m.Status), reportFailed)
	sid := compat.MessageSID(m.ID)
	uri := twilioPrefix + account + "/Messages/" + sid
	v := twilioMessage{
		AccountSID: account, APIVersion: compat.TwilioAPIVersion, Body: m.Text,
		DateCreated: twilioDate(m.CreatedAt), DateUpdated: twilioDate(m.UpdatedAt),
		Direction: "outbound-api", NumMedia: "0", NumSegments: strconv.Itoa(len(m.Parts)),
		PriceUnit: "USD", SID: sid, Status: status, To: m.To, URI: uri + ".json",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json"},
	}
	for _, p := range m.Parts {
		if p.SentAt != nil {
			d := twilioDate(*p.SentAt)
			v.DateSent = &d
			break
		}
	}
	if code != 0 {
		v.ErrorCode = &code
		msg := string(m.Status)
		if m.Error != nil {
			msg = *m.Error
		}
		v.ErrorMessage = &msg
	}
	if from != "" {
		v.From = &from
	}
	if service != "" {
		v.MessagingServiceSID = &service
	}
	return v
}

// twilio adapts a handler of Twilio's API: it checks HTTP Basic
// credentials against the path's Account SID and answers errors in
// Twilio's shape.
func (s *server) twilio(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, secret, ok := r.BasicAuth()
		account := r.PathValue("account")
		if !ok || sid != account || !compat.IsAccountSID(sid) {
			s.twilioFail(w, r, errTwilioAuth)
			return
		}
		tok, err := s.gw.Access().CheckTwilioToken(sid, secret)
		if err != nil {
			if errors.Is(err, gateway.ErrNotFound) {
				err = errTwilioAuth
			}
			s.twilioFail(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
		if err := h(w, r); err != nil {
			s.twilioFail(w, r, err)
		}
	})
}

var errTwilioAuth = newTwilioError(http.StatusUnauthorized, compat.TwilioErrAuthenticate, "Authenticate")

// twilioFail answers err as Twilio would: the codes its clients check for
// the mistakes they make, the native API's meaning otherwise.
func (s *server) twilioFail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		te       *twilioError
		field    *gateway.FieldError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &te):
	case errors.As(err, &field) && field.Field == "to":
		te = newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidTo,
			"The 'To' number %s is not a valid phone number.", r.PostFormValue("To"))
	case errors.As(err, &field) && field.Field == "text" && strings.TrimSpace(r.PostFormValue("Body")) == "":
		te = newTwilioError(http.StatusBadRequest, compat.TwilioErrBodyRequired, "Message body is required.")
	case errors.As(err, &field) && field.Field == "text" && strings.Contains(field.Message, "parts"):
		te = newTwilioError(http.StatusBadRequest, compat.TwilioErrBodyTooLong, "The concatenated message body exceeds the limit: %s", field.Message)
	case errors.As(err, &field):
		te = newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "%s", field.Error())
	case errors.As(err, &tooLarge):
		te = newTwilioError(http.StatusRequestEntityTooLarge, compat.TwilioErrInvalidParam, "request body is larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, gateway.ErrNotFound):
		te = newTwilioError(http.StatusNotFound, compat.TwilioErrNotFound, "The requested resource %s was not found", r.URL.Path)
	case errors.Is(err, gateway.ErrIdempotencyKeyReused):
		te = newTwilioError(http.StatusUnprocessableEntity, compat.TwilioErrInvalidParam,
			"Idempotency-Key was used within 24 h for a different text; send a new key for a new text")
	case errors.Is(err, gateway.ErrWritesStopped), errors.Is(err, gateway.ErrDiskFull), errors.Is(err, gateway.ErrDamaged),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		if errors.Is(err, gateway.ErrDiskFull) {
			w.Header().Set("Retry-After", strconv.Itoa(diskFullRetryAfter))
		}
		te = newTwilioError(http.StatusServiceUnavailable, compat.TwilioErrUnavailable, "Service unavailable: nothing was stored; retry later")
	default:
		s.log.Error("twilio request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		te = newTwilioError(http.StatusInternalServerError, compat.TwilioErrInternal, "Internal Server Error")
	}
	if te.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	_ = writeJSON(w, te.Status, te)
}

// twilioCreate answers POST .../Messages.json: 201 with the new message,
// or, for an Idempotency-Key seen before, 200 with the original.
func (s *server) twilioCreate(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "the body must be form-encoded: %v", err)
	}
	f := r.PostForm
	to := strings.TrimSpace(f.Get("To"))
	if to == "" {
		return newTwilioError(http.StatusBadRequest, compat.TwilioErrToRequired, "A 'To' phone number is required.")
	}
	if f.Get("MediaUrl") != "" {
		return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "MediaUrl: simgate sends SMS only, not MMS")
	}
	var expires time.Time
	if v := f.Get("ValidityPeriod"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > compat.TwilioMaxValiditySeconds {
			return newTwilioError(http.StatusBadRequest, compat.TwilioErrValidity,
				"Invalid validity period value: an integer from 1 to %d seconds", compat.TwilioMaxValiditySeconds)
		}
		expires = s.now().Add(time.Duration(n) * time.Second)
	}
	tok := callerToken(r)
	var callback *gateway.Callback
	if cb := f.Get("StatusCallback"); cb != "" {
		if u, err := url.Parse(cb); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "StatusCallback must be an absolute http or https URL")
		}
		params, err := json.Marshal(compat.TwilioCallbackParams{AccountSID: tok.TwilioSID, From: f.Get("From"),
			MessagingServiceSID: f.Get("MessagingServiceSid")})
		if err != nil {
			return err
		}
		callback = &gateway.Callback{URL: cb, Format: compat.FormatTwilio, Params: params, AllowPrivate: tok.PrivateCallbacks}
	}
	kind := compatKind(tok)
	if strings.TrimSpace(f.Get("Body")) != "" {
		// Twilio refuses a text to a number that replied STOP when it is
		// created (21610), and clients branch on that; the guard still
		// judges the text again when it is due.
		reason, err := s.gw.SubmitRefusal(to, kind)
		if err != nil {
			return err
		}
		if reason != "" {
			return newTwilioError(http.StatusBadRequest, compat.TwilioErrUnsubscribed, "Attempt to send to unsubscribed recipient (%s)", reason)
		}
	}
	m, existing, err := s.gw.Submit(r.Context(), gateway.SubmitRequest{
		To: to, Text: f.Get("Body"), IdempotencyKey: r.Header.Get("Idempotency-Key"),
		IdempotencyScope: tokenScope(tok), ExpiresAt: expires, Kind: kind, Callback: callback,
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if existing {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	}
	return writeJSON(w, status, twilioView(tok.TwilioSID, m, f.Get("From"), f.Get("MessagingServiceSid")))
}

// compatKind is the kind of a text a compatibility API submits: those APIs
// have no kind field, so the token says (transactional unless marked).
func compatKind(t access.Token) gateway.Kind {
	if t.Marketing {
		return gateway.KindMarketing
	}
	return gateway.KindTransactional
}

// tokenScope is the idempotency scope of a token, shared by every API it
// uses, so a key sent through Twilio's route and the native one is one key.
func tokenScope(t access.Token) string { return "token:" + strconv.FormatUint(t.ID, 10) }

// twilioFetch answers GET .../Messages/{sid}.json.
func (s *server) twilioFetch(w http.ResponseWriter, r *http.Request) error {
	sid := strings.TrimSuffix(r.PathValue("sid"), ".json")
	id, ok := compat.ParseMessageSID(sid)
	if !ok {
		return gateway.ErrNotFound
	}
	m, err := s.gw.Message(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, twilioView(callerToken(r).TwilioSID, m, "", ""))
}

// twilioList answers GET .../Messages.json, newest first, in Twilio's
// pages: PageSize (default 50), Page (the page's number, echoed), and
// PageToken, which carries the cursor of the page that follows.
func (s *server) twilioList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for _, filter := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
		if q.Has(filter) {
			// Answering every text to a client that asked for some would
			// be a wrong answer that looks right.
			return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam,
				"%s: simgate's Twilio API lists every text, newest first, and does not filter", filter)
		}
	}
	size := defaultLimit
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "PageSize must be a positive integer")
		}
		size = min(n, maxLimit)
	}
	pageNo := 0
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "Page must be a whole number")
		}
		pageNo = n
	}
	var before uint64
	if v := q.Get("PageToken"); v != "" {
		id, ok := compat.ParseMessageSID(strings.TrimPrefix(v, "PA"))
		if !ok || !strings.HasPrefix(v, "PA") {
			return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "PageToken must come from a next_page_uri")
		}
		before = id
	} else if pageNo != 0 {
		return newTwilioError(http.StatusBadRequest, compat.TwilioErrInvalidParam, "Page needs the PageToken of its next_page_uri")
	}
	msgs, next, err := s.gw.Messages(gateway.ListFilter{Before: before, Limit: size})
	if err != nil {
		return err
	}
	account := callerToken(r).TwilioSID
	base := twilioPrefix + account + "/Messages.json"
	pageURI := func(n int, token string) string {
		v := url.Values{"PageSize": {strconv.Itoa(size)}, "Page": {strconv.Itoa(n)}}
		if token != "" {
			v.Set("PageToken", token)
		}
		return base + "?" + v.Encode()
	}
	out := twilioMessagePage{Messages: make([]twilioMessage, 0, len(msgs)), Page: pageNo, PageSize: size,
		Start: pageNo * size, FirstPageURI: pageURI(0, ""), URI: pageURI(pageNo, q.Get("PageToken"))}
	out.End = out.Start + len(msgs) - 1
	if len(msgs) == 0 {
		out.End = out.Start
	}
	for _, m := range msgs {
		out.Messages = append(out.Messages, twilioView(account, m, "", ""))
	}
	if next != 0 {
		u := pageURI(pageNo+1, "PA"+compat.MessageSID(next))
		out.NextPageURI = &u
	}
	return writeJSON(w, http.StatusOK, out)
}

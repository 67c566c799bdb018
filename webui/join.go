package webui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/simgate/simgate/gateway"
)

// The public sign-up page (/join): the shop links to it or prints it as a
// QR code. It needs no login, so it is guarded three ways: cross-origin
// posts are refused (s.csrf), each address may sign up joinPerWindow
// numbers per loginWindow (the login limiter's window), and it only starts
// a double opt-in, so a stranger's number typed in gets one request text at
// most per day and is never subscribed without their YES (R-DOI).

// joinPerWindow is how many sign-ups one address may post per
// loginWindow (15 min): a family at one router signs up a few; a script
// cycling through numbers is stopped at the fifth.
const joinPerWindow = loginMaxFailures

type joinData struct {
	Brand      string
	Disclosure string
	Frequency  string
	TermsURL   string
	PrivacyURL string
	Number     string
	Cart       bool
	Closed     bool // no brand or disclosure saved yet
	Sent       bool // the thank-you page
}

func (s *server) newJoinData() joinData {
	cs := s.gw.ComplianceSettings()
	return joinData{Brand: cs.Brand, Disclosure: cs.Disclosure.Text, Frequency: cs.Frequency,
		TermsURL: cs.TermsURL, PrivacyURL: cs.PrivacyURL,
		Closed: cs.Brand == "" || cs.Disclosure.Version == "" || cs.Disclosure.Text == ""}
}

func (s *server) renderJoin(w http.ResponseWriter, r *http.Request, status int, d joinData, errMsg string) {
	title := "Get texts from " + d.Brand
	switch {
	case d.Closed:
		title = "Sign-up is not open yet"
	case d.Sent:
		title = "Check your phone"
	}
	s.renderPublic(w, r, status, "join", view{Title: title, Error: errMsg, Data: d})
}

// joinPage answers GET /join (and the thank-you page, ?sent=1).
func (s *server) joinPage(w http.ResponseWriter, r *http.Request) {
	d := s.newJoinData()
	d.Sent = !d.Closed && r.URL.Query().Get("sent") != ""
	s.renderJoin(w, r, http.StatusOK, d, "")
}

// joinPost answers POST /join: the box must be ticked; then a double
// opt-in starts with the evidence R-RECORD asks for (page URL, address,
// browser) and the person is asked to reply YES.
func (s *server) joinPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	d := s.newJoinData()
	if d.Closed {
		s.renderJoin(w, r, http.StatusConflict, d, "")
		return
	}
	d.Number = strings.TrimSpace(r.PostFormValue("number"))
	d.Cart = r.PostFormValue("cart") == "yes"
	if r.PostFormValue("consent") != "yes" {
		// R-OPTIN-1: an affirmative act; an unticked box is no consent.
		s.renderJoin(w, r, http.StatusBadRequest, d, "Tick the box to agree to the texts, then press Sign up.")
		return
	}
	key := "join:" + clientIP(r)
	if blocked, _ := s.limiter.blocked(key); blocked {
		s.renderJoin(w, r, http.StatusTooManyRequests, d, "Too many sign-ups from this connection. Please try again in 15 minutes.")
		return
	}
	s.limiter.failed(key) // counts every attempt, not only failures
	ua := r.UserAgent()
	if len(ua) > 500 {
		ua = ua[:500]
	}
	cs := s.gw.ComplianceSettings()
	_, _, err := s.gw.OptIn(r.Context(), gateway.OptInRequest{
		Number: d.Number, Method: gateway.MethodWebForm, Source: pageURL(r),
		DisclosureVersion: cs.Disclosure.Version, DoubleOptIn: true, CartReminders: d.Cart,
		IP: clientIP(r), UserAgent: ua,
	})
	var fe *gateway.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "number":
		s.renderJoin(w, r, http.StatusBadRequest, d, "That phone number does not look right: "+fe.Message+".")
		return
	case errors.Is(err, gateway.ErrConflict):
		// Settings changed between the two reads: show the closed page.
		d.Closed = true
		s.renderJoin(w, r, http.StatusConflict, d, "")
		return
	case err != nil:
		s.consoleFail(w, r, err)
		return
	}
	// The same page whether or not a request was sent just now (one per
	// day): it must not tell a stranger whether a number is subscribed.
	seeOther(w, r, "/join?sent=1")
}

// pageURL is the address of the sign-up page as the browser saw it: the
// ledger's "source" for web-form consent.
func pageURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/join"
}

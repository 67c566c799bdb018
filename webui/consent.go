package webui

import (
	"net/http"

	"github.com/simgate/simgate/gateway"
)

// consentRoutes declares the consent API, the public /join page, the
// review queue and the compliance settings page.
func (s *server) consentRoutes() {
	m := s.mux
	m.Handle("POST /api/v1/consent", s.api(s.apiOptIn))
	m.Handle("POST /api/v1/consent/opt-out", s.api(s.apiOptOut))
	m.Handle("GET /api/v1/consent/review", s.api(s.apiReviewQueue))
	m.Handle("POST /api/v1/consent/review/{number}", s.api(s.apiResolveReview))
	m.Handle("GET /api/v1/consent/{number}", s.api(s.apiConsent))

	// The public sign-up page: no login, but same-origin posts only and a
	// per-address limit (join.go).
	m.HandleFunc("GET /join", s.joinPage)
	m.Handle("POST /join", s.csrf.Handler(http.HandlerFunc(s.joinPost)))

	m.Handle("GET /consent/review", s.console(s.reviewPage))
	m.Handle("POST /consent/review/{number}", s.form(s.reviewDecide))
	m.Handle("GET /consent/{number}", s.console(s.evidencePage)) // also {number}.json
	m.Handle("GET /settings/compliance", s.console(s.compliancePage))
	m.Handle("POST /settings/compliance", s.form(s.saveCompliance))
}

// optInBody is POST /api/v1/consent.
type optInBody struct {
	Number            string                `json:"number"`
	Method            gateway.ConsentMethod `json:"method"`
	Source            string                `json:"source"`
	DisclosureVersion string                `json:"disclosure_version"`
	DoubleOptIn       bool                  `json:"double_opt_in"`
	CartReminders     bool                  `json:"cart_reminders"`
	IP                string                `json:"ip"`
	UserAgent         string                `json:"user_agent"`
	Terminal          string                `json:"terminal"`
	Note              string                `json:"note"`
}

// consentAnswer is what the consent API answers after a change. Event is
// absent when nothing was recorded (a double opt-in request already sent
// in the last 24 h).
type consentAnswer struct {
	Event   *gateway.ConsentEvent `json:"event,omitempty"`
	Consent gateway.Consent       `json:"consent"`
}

func answer(ev gateway.ConsentEvent, c gateway.Consent) consentAnswer {
	a := consentAnswer{Consent: c}
	if ev.ID != 0 {
		a.Event = &ev
	}
	return a
}

// apiOptIn answers POST /api/v1/consent: 201 with the ledger entry and the
// number's consent; 400 naming a missing field (method, source,
// disclosure_version, ...); 409 for a number that opted out (single
// opt-in) or was erased on request.
func (s *server) apiOptIn(w http.ResponseWriter, r *http.Request) error {
	var b optInBody
	if err := s.decodeJSON(w, r, &b); err != nil {
		return err
	}
	ev, c, err := s.gw.OptIn(r.Context(), gateway.OptInRequest{
		Number: b.Number, Method: b.Method, Source: b.Source, DisclosureVersion: b.DisclosureVersion,
		DoubleOptIn: b.DoubleOptIn, CartReminders: b.CartReminders, IP: b.IP, UserAgent: b.UserAgent,
		Terminal: b.Terminal, Note: b.Note, Actor: "api:" + callerToken(r).Name,
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if ev.ID == 0 {
		status = http.StatusOK
	}
	return writeJSON(w, status, answer(ev, c))
}

// optOutBody is POST /api/v1/consent/opt-out.
type optOutBody struct {
	Number  string                 `json:"number"`
	Purpose gateway.ConsentPurpose `json:"purpose"` // "marketing" (default) or "all"
	Method  gateway.ConsentMethod  `json:"method"`  // default "api"
	Source  string                 `json:"source"`
	Note    string                 `json:"note"`
}

// apiOptOut answers POST /api/v1/consent/opt-out.
func (s *server) apiOptOut(w http.ResponseWriter, r *http.Request) error {
	var b optOutBody
	if err := s.decodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.Method == "" {
		b.Method = gateway.MethodAPI
	}
	ev, c, err := s.gw.OptOut(r.Context(), gateway.OptOutRequest{Number: b.Number, Purpose: b.Purpose,
		Method: b.Method, Source: b.Source, Note: b.Note, Actor: "api:" + callerToken(r).Name})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, answer(ev, c))
}

// apiConsent answers GET /api/v1/consent/{number}: the state and the
// whole ledger, with every disclosure text referred to.
func (s *server) apiConsent(w http.ResponseWriter, r *http.Request) error {
	ev, err := s.gw.ConsentEvidence(r.PathValue("number"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ev)
}

// apiReviewQueue answers GET /api/v1/consent/review.
func (s *server) apiReviewQueue(w http.ResponseWriter, r *http.Request) error {
	q, err := s.gw.ReviewQueue()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Review []gateway.Consent `json:"review"`
	}{q})
}

// apiResolveReview answers POST /api/v1/consent/review/{number}
// {"decision": "opt_out"|"keep"}; 409 when no review is open.
func (s *server) apiResolveReview(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Decision string `json:"decision"`
	}
	if err := s.decodeJSON(w, r, &b); err != nil {
		return err
	}
	ev, c, err := s.gw.ResolveReview(r.Context(), r.PathValue("number"), b.Decision, "api:"+callerToken(r).Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, answer(ev, c))
}

package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/alerting"
)

// The owner's alerts and the SIMs' balance checks (package
// gateway/alerting): the API under /api/v1 and the console's forms on the
// settings and modems pages.

// alertingRoutes declares them.
func (s *server) alertingRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/settings/alerts", s.api(s.getAlertSettings))
	m.Handle("PUT /api/v1/settings/alerts", s.api(s.putAlertSettings))
	m.Handle("GET /api/v1/modems/{name}/balance", s.api(s.getBalance))
	m.Handle("PUT /api/v1/modems/{name}/balance", s.api(s.putBalance))
	m.Handle("POST /api/v1/modems/{name}/balance/check", s.api(s.checkBalance))

	m.Handle("POST /settings/alerts", s.form(s.saveAlertsForm))
	m.Handle("POST /modems/{name}/balance", s.form(s.balanceForm))
	m.Handle("POST /modems/{name}/balance/check", s.form(s.balanceCheckForm))
}

// getAlertSettings answers the owner's number and whether alerts are
// texted to it.
func (s *server) getAlertSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := s.gw.Alerting().Settings()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, set)
}

// putAlertSettings changes them; fields left out keep their values, and a
// bad field answers 400 naming it and saves nothing.
func (s *server) putAlertSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := s.gw.Alerting().Settings()
	if err != nil {
		return err
	}
	if err := s.decodeJSON(w, r, &set); err != nil {
		return err
	}
	saved, err := s.gw.Alerting().SaveSettings(set)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, saved)
}

// knownModem returns the name in the path, or gateway.ErrNotFound when no
// modem has it: balance records are kept by name, and one for a typo
// would never be checked.
func (s *server) knownModem(r *http.Request) (string, error) {
	name := r.PathValue("name")
	for _, m := range s.gw.Modems() {
		if m.Name == name {
			return name, nil
		}
	}
	return "", gateway.ErrNotFound
}

// getBalance answers a SIM's balance check and its last reading.
func (s *server) getBalance(w http.ResponseWriter, r *http.Request) error {
	name, err := s.knownModem(r)
	if err != nil {
		return err
	}
	b, err := s.gw.Alerting().Balance(name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// putBalance sets a SIM's balance check (an empty code turns it off).
func (s *server) putBalance(w http.ResponseWriter, r *http.Request) error {
	name, err := s.knownModem(r)
	if err != nil {
		return err
	}
	var in alerting.BalanceCheckInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	b, err := s.gw.Alerting().SetBalanceCheck(name, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// checkBalance asks the network now and answers what it read.
func (s *server) checkBalance(w http.ResponseWriter, r *http.Request) error {
	name, err := s.knownModem(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), ussdTimeout)
	defer cancel()
	b, err := s.gw.Alerting().CheckBalance(ctx, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// saveAlertsForm answers POST /settings/alerts from the settings page.
func (s *server) saveAlertsForm(w http.ResponseWriter, r *http.Request, u user) error {
	in := alerting.Settings{OwnerNumber: strings.TrimSpace(r.PostFormValue("owner_number")), TextAlerts: r.PostFormValue("text_alerts") == "on"}
	if _, err := s.gw.Alerting().SaveSettings(in); err != nil {
		if msg := alertFormError(err); msg != "" {
			return s.renderSettings(w, r, http.StatusBadRequest, settingsData{AlertsForm: &in}, msg, "")
		}
		return err
	}
	seeOther(w, r, "/settings?done=alerts#alerts")
	return nil
}

// balanceForm answers POST /modems/{name}/balance from the modems page.
func (s *server) balanceForm(w http.ResponseWriter, r *http.Request, u user) error {
	name, err := s.knownModem(r)
	if err != nil {
		return err
	}
	in := alerting.BalanceCheckInput{Code: r.PostFormValue("code"), Interval: strings.TrimSpace(r.PostFormValue("interval")),
		Pattern: r.PostFormValue("pattern")}
	if t := strings.TrimSpace(r.PostFormValue("threshold")); t != "" {
		v, err := strconv.ParseFloat(strings.ReplaceAll(t, ",", "."), 64)
		if err != nil {
			return s.renderModemsNote(w, r, http.StatusBadRequest, name, "The alert threshold must be an amount such as 5 or 2.50.")
		}
		in.Threshold = v
	}
	if in.Interval != "" && !strings.ContainsAny(in.Interval, "hms") {
		in.Interval += "h" // the form asks for hours
	}
	if _, err := s.gw.Alerting().SetBalanceCheck(name, in); err != nil {
		if msg := alertFormError(err); msg != "" {
			return s.renderModemsNote(w, r, http.StatusBadRequest, name, msg)
		}
		return err
	}
	seeOther(w, r, "/modems#modem-"+name)
	return nil
}

// balanceCheckForm answers POST /modems/{name}/balance/check: the
// balance is read now and the page shows it.
func (s *server) balanceCheckForm(w http.ResponseWriter, r *http.Request, u user) error {
	name, err := s.knownModem(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), ussdTimeout)
	defer cancel()
	if _, err := s.gw.Alerting().CheckBalance(ctx, name); err != nil {
		if msg := alertFormError(err); msg != "" {
			return s.renderModemsNote(w, r, http.StatusBadRequest, name, msg)
		}
		return err
	}
	seeOther(w, r, "/modems#modem-"+name)
	return nil
}

// renderModemsNote shows the modems page with a message on one modem's
// balance form.
func (s *server) renderModemsNote(w http.ResponseWriter, r *http.Request, status int, name, msg string) error {
	return s.renderModems(w, r, status, nil, map[string]string{name: msg})
}

// alertFormError words a refused field of these forms for the owner.
func alertFormError(err error) string {
	var fe *gateway.FieldError
	if !errors.As(err, &fe) {
		return ""
	}
	what := map[string]string{"owner_number": "Your phone number", "code": "The balance code", "interval": "How often",
		"pattern": "Where the amount is", "threshold": "The alert threshold"}[fe.Field]
	if what == "" {
		what = fe.Field
	}
	return what + " " + fe.Message + "."
}

// agoWords says how long before now t was, as people say it: "just now",
// "12 min ago", "3 h ago", "2 days ago"; "never" for nil.
func agoWords(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
}

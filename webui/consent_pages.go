package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// reviewRow is one number waiting in the opt-out review queue.
type reviewRow struct {
	Number     string
	Text       string
	ReceivedAt time.Time
}

// reviewPage answers GET /consent/review: texts that read like an opt-out
// (R-STOP-4), each with "Opt out" and "Keep subscribed".
func (s *server) reviewPage(w http.ResponseWriter, r *http.Request, u user) error {
	q, err := s.gw.ReviewQueue()
	if err != nil {
		return err
	}
	rows := make([]reviewRow, 0, len(q))
	for _, c := range q {
		row := reviewRow{Number: c.Number, Text: c.ReviewText, ReceivedAt: c.UpdatedAt}
		// The ledger entry of the flagged text has when it came in.
		if evs, err := s.gw.ConsentEvents(c.Number); err == nil {
			for _, ev := range evs {
				if ev.Type == gateway.EventOptOutReview && ev.InboundID == c.ReviewInboundID {
					row.ReceivedAt = ev.At
				}
			}
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ReceivedAt.Before(rows[j].ReceivedAt) })
	notice := map[string]string{
		"opt_out": "The number is opted out; it got one confirmation text.",
		"keep":    "The number stays subscribed; its held texts go out again.",
	}[r.URL.Query().Get("done")]
	return s.render(w, r, http.StatusOK, "review", view{Title: "Opt-out review", Nav: "review", Notice: notice, Data: rows})
}

// reviewDecide answers POST /consent/review/{number} (decision=opt_out|keep).
func (s *server) reviewDecide(w http.ResponseWriter, r *http.Request, u user) error {
	decision := r.PostFormValue("decision")
	_, _, err := s.gw.ResolveReview(r.Context(), r.PathValue("number"), decision, u.Name)
	var fe *gateway.FieldError
	if errors.As(err, &fe) {
		s.consoleError(w, r, http.StatusBadRequest, formError(err))
		return nil
	}
	if err != nil {
		return err
	}
	seeOther(w, r, "/consent/review?done="+url.QueryEscape(decision))
	return nil
}

// evidencePage answers GET /consent/{number}: the readable evidence, a
// timeline of the ledger; GET /consent/{number}.json downloads it.
func (s *server) evidencePage(w http.ResponseWriter, r *http.Request, u user) error {
	number, asJSON := strings.CutSuffix(r.PathValue("number"), ".json")
	ev, err := s.gw.ConsentEvidence(number)
	var fe *gateway.FieldError
	if errors.As(err, &fe) {
		s.consoleError(w, r, http.StatusNotFound, "That is not a phone number.")
		return nil
	}
	if err != nil {
		return err
	}
	if asJSON {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="consent-%s.json"`, strings.TrimPrefix(ev.Number, "+")))
		return writeJSON(w, http.StatusOK, ev)
	}
	return s.render(w, r, http.StatusOK, "evidence", view{Title: "Consent of " + ev.Number, Nav: "review", Data: ev})
}

// complianceForm is the settings page's form, as typed.
type complianceForm struct {
	Brand, Support, Frequency, TermsURL, PrivacyURL string
	DisclosureVersion, DisclosureText, JoinKeyword  string
	OptIn, DOI, OptOut, Help                        string
	QuietDefault, QuietStrict, QuietCountries       string
	Cap, RetentionDays                              string
	Errors                                          map[string]string // input name → what is wrong
}

func newComplianceForm(cs gateway.ComplianceSettings) complianceForm {
	var countries []string
	for region, w := range cs.QuietCountries {
		countries = append(countries, region+" "+w.String())
	}
	sort.Strings(countries)
	return complianceForm{
		Brand: cs.Brand, Support: cs.SupportContact, Frequency: cs.Frequency, TermsURL: cs.TermsURL, PrivacyURL: cs.PrivacyURL,
		DisclosureVersion: cs.Disclosure.Version, DisclosureText: cs.Disclosure.Text, JoinKeyword: cs.JoinKeyword,
		OptIn: cs.Replies.OptInConfirmation, DOI: cs.Replies.DoubleOptInRequest, OptOut: cs.Replies.OptOutConfirmation, Help: cs.Replies.Help,
		QuietDefault: cs.QuietDefault.String(), QuietStrict: cs.QuietStrict.String(), QuietCountries: strings.Join(countries, "\n"),
		Cap: strconv.Itoa(cs.MarketingPer24h), RetentionDays: strconv.Itoa(cs.BodyRetentionDays),
	}
}

// settingsInput maps the gateway's field names to the form's inputs, so an
// error shows next to the input it is about.
func settingsInput(field string) string {
	if strings.HasPrefix(field, "quiet_countries") {
		return "quiet_countries" // "quiet_countries.FR" included
	}
	if input, ok := map[string]string{
		"disclosure.version": "disclosure_version", "disclosure.text": "disclosure_text",
		"replies.opt_in_confirmation": "reply_opt_in", "replies.double_opt_in_request": "reply_doi",
		"replies.opt_out_confirmation": "reply_opt_out", "replies.help": "reply_help",
	}[field]; ok {
		return input
	}
	return field
}

// parse reads the form into cs; every field that cannot be read is
// returned as a *gateway.FieldError (a field left unread keeps its saved
// value, so the other fields are still checked).
func (f complianceForm) parse(cs gateway.ComplianceSettings) (gateway.ComplianceSettings, []error) {
	var errs []error
	cs.Brand, cs.SupportContact, cs.Frequency = strings.TrimSpace(f.Brand), strings.TrimSpace(f.Support), strings.TrimSpace(f.Frequency)
	cs.TermsURL, cs.PrivacyURL = strings.TrimSpace(f.TermsURL), strings.TrimSpace(f.PrivacyURL)
	cs.Disclosure = gateway.Disclosure{Version: strings.TrimSpace(f.DisclosureVersion), Text: strings.TrimSpace(f.DisclosureText)}
	cs.JoinKeyword = strings.TrimSpace(f.JoinKeyword)
	cs.Replies = gateway.ReplyTemplates{OptInConfirmation: strings.TrimSpace(f.OptIn), DoubleOptInRequest: strings.TrimSpace(f.DOI),
		OptOutConfirmation: strings.TrimSpace(f.OptOut), Help: strings.TrimSpace(f.Help)}
	if w, err := gateway.ParseWindow("quiet_default", strings.TrimSpace(f.QuietDefault)); err != nil {
		errs = append(errs, err)
	} else {
		cs.QuietDefault = w
	}
	if w, err := gateway.ParseWindow("quiet_strict", strings.TrimSpace(f.QuietStrict)); err != nil {
		errs = append(errs, err)
	} else {
		cs.QuietStrict = w
	}
	countries := map[string]gateway.Window{}
	for i, line := range strings.Split(f.QuietCountries, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		region, window, ok := strings.Cut(line, " ")
		if !ok {
			errs = append(errs, &gateway.FieldError{Field: "quiet_countries", Message: fmt.Sprintf(
				"line %d: %q is not a country code and a window, such as FR 08:00-22:00", i+1, line)})
			countries = nil
			break
		}
		w, err := gateway.ParseWindow("quiet_countries", strings.TrimSpace(window))
		if err != nil {
			errs = append(errs, err)
			countries = nil
			break
		}
		countries[strings.ToUpper(region)] = w
	}
	if countries != nil {
		cs.QuietCountries = countries
		if len(countries) == 0 {
			cs.QuietCountries = nil
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f.Cap)); err != nil {
		errs = append(errs, &gateway.FieldError{Field: "marketing_per_24h", Message: "must be a whole number from 1 to 3"})
	} else {
		cs.MarketingPer24h = n
	}
	days := strings.TrimSpace(f.RetentionDays)
	if days == "" {
		days = "0"
	}
	if n, err := strconv.Atoi(days); err != nil {
		errs = append(errs, &gateway.FieldError{Field: "body_retention_days", Message: "must be a whole number of days (0 keeps texts)"})
	} else {
		cs.BodyRetentionDays = n
	}
	return cs, errs
}

// fieldSentence turns a field error's message ("must contain ...") into a
// sentence shown under the field ("This must contain ...").
func fieldSentence(msg string) string {
	if msg == "" {
		return ""
	}
	msg = strings.TrimSuffix(msg, ".")
	if strings.HasPrefix(msg, "\"") || strings.HasPrefix(msg, "line ") {
		return strings.ToUpper(msg[:1]) + msg[1:] + "."
	}
	return "This " + msg + "."
}

// compliancePage answers GET /settings/compliance.
func (s *server) compliancePage(w http.ResponseWriter, r *http.Request, u user) error {
	notice := ""
	if r.URL.Query().Get("done") == "saved" {
		notice = "Saved. The new rules apply to the next text sent."
	}
	return s.render(w, r, http.StatusOK, "compliance", view{Title: "Compliance", Nav: "compliance", Notice: notice,
		Data: newComplianceForm(s.gw.ComplianceSettings())})
}

// saveCompliance answers POST /settings/compliance. A bad field shows the
// form again with the error next to that field, and nothing is saved.
func (s *server) saveCompliance(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	v := r.PostFormValue
	f := complianceForm{
		Brand: v("brand"), Support: v("support_contact"), Frequency: v("frequency"), TermsURL: v("terms_url"), PrivacyURL: v("privacy_url"),
		DisclosureVersion: v("disclosure_version"), DisclosureText: v("disclosure_text"), JoinKeyword: v("join_keyword"),
		OptIn: v("reply_opt_in"), DOI: v("reply_doi"), OptOut: v("reply_opt_out"), Help: v("reply_help"),
		QuietDefault: v("quiet_default"), QuietStrict: v("quiet_strict"), QuietCountries: v("quiet_countries"),
		Cap: v("marketing_per_24h"), RetentionDays: v("body_retention_days"),
	}
	cs, errs := f.parse(s.gw.ComplianceSettings())
	// Every problem at once: the form's own and the rules', one per field.
	f.Errors = map[string]string{}
	for _, err := range append(errs, cs.Problems()...) {
		var fe *gateway.FieldError
		if !errors.As(err, &fe) {
			return err
		}
		if input := settingsInput(fe.Field); f.Errors[input] == "" {
			f.Errors[input] = fieldSentence(fe.Message)
		}
	}
	if len(f.Errors) == 0 {
		err := s.gw.SaveComplianceSettings(cs, u.Name)
		var fe *gateway.FieldError
		if errors.As(err, &fe) {
			f.Errors[settingsInput(fe.Field)] = fieldSentence(fe.Message)
		} else if err != nil {
			return err
		}
	}
	if n := len(f.Errors); n > 0 {
		msg := "Nothing was saved: 1 thing to fix, marked below."
		if n > 1 {
			msg = fmt.Sprintf("Nothing was saved: %d things to fix, marked below.", n)
		}
		return s.render(w, r, http.StatusBadRequest, "compliance", view{Title: "Compliance", Nav: "compliance", Error: msg, Data: f})
	}
	seeOther(w, r, "/settings/compliance?done=saved")
	return nil
}

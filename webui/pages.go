package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/gateway/alerting"
	"github.com/simgate/simgate/gateway/backups"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/datafile"
	"github.com/simgate/simgate/gateway/templates"
)

// formError is the plain-words message for a bad form field, or "" when
// err is not about the input.
func formError(err error) string {
	var fe *gateway.FieldError
	if !errors.As(err, &fe) {
		return ""
	}
	what := map[string]string{"to": "The phone number", "text": "The text", "name": "The name",
		"password": "The password"}[fe.Field]
	if what == "" {
		what = fe.Field
	}
	return what + " " + fe.Message + "."
}

// gsmEquivalents replaces the characters that typing tools put in by
// themselves (curly quotes, dashes, ellipsis, no-break space) with GSM-7
// ones, which often turns a 70-character UCS-2 text into a 160-character
// one. static/app.js has the same table for the one-click button.
var gsmEquivalents = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201A", "'", "\u201B", "'", "\u2032", "'",
	"\u201C", `"`, "\u201D", `"`, "\u201E", `"`, "\u201F", `"`, "\u2033", `"`,
	"\u2013", "-", "\u2014", "-", "\u2012", "-", "\u2212", "-", "\u2010", "-", "\u2011", "-",
	"\u2026", "...", "\u00A0", " ", "\u2009", " ", "\u202F", " ", "\u200B", "",
)

type composeData struct {
	To   string
	Text string
	Kind string // "transactional" or "marketing"
	Plan gateway.Plan
	// Fixable reports whether "use GSM equivalents" would change the text.
	Fixable bool
	// FieldErrors are shown at their field: "to", "text", "kind".
	FieldErrors map[string]string
	// Contacts feed the To field's picker (the first composeContacts).
	Contacts []contacts.Contact
	Brand    string // marketing texts start with it
	// The second form: a saved template sent to one number. TplTo and
	// TplID are what was chosen, TplPreview what that number would get,
	// TplErrors shown at their field ("to", "template").
	Templates  []templates.Template
	TplTo      string
	TplID      uint64
	TplPreview *templates.Rendering
	TplErrors  map[string]string
}

// composeContacts bounds the picker: enough for a shop's regulars, and the
// field still takes any number typed.
const composeContacts = 200

func newComposeData(to, text string) composeData {
	return composeData{To: to, Text: text, Kind: "transactional", Plan: gateway.PlanText(text), Fixable: gsmEquivalents.Replace(text) != text}
}

// encodingWords is what the counter says about the encoding.
func encodingWords(enc string) string {
	if enc == "UCS-2" {
		return "special characters"
	}
	return "plain characters"
}

func (s *server) renderCompose(w http.ResponseWriter, r *http.Request, status int, d composeData, errMsg, notice string) error {
	if cs, _, err := s.gw.Contacts().List(contacts.Filter{Limit: composeContacts}); err == nil {
		d.Contacts = cs
	}
	d.Brand = s.gw.ComplianceSettings().Brand
	if ts, err := s.gw.Templates().List(); err == nil {
		d.Templates = ts
	}
	return s.render(w, r, status, "compose", view{Title: "Send a text", Nav: "compose", Error: errMsg, Notice: notice, Data: d})
}

// composePage answers GET /compose.
func (s *server) composePage(w http.ResponseWriter, r *http.Request, u user) error {
	q := r.URL.Query()
	return s.renderCompose(w, r, http.StatusOK, newComposeData(q.Get("to"), q.Get("text")), "", "")
}

// numberHint is how to fix a phone number the gateway could not read.
func (s *server) numberHint() string {
	return "Add the country code, e.g. +1 201 555 0123 (numbers without one are read as " + s.gw.Region() + " numbers)."
}

// compose answers POST /compose: send, or (action=gsm) replace the
// characters that force UCS-2 and show the form again.
func (s *server) compose(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	to, text := strings.TrimSpace(r.PostFormValue("to")), r.PostFormValue("text")
	kind := gateway.KindTransactional
	if r.PostFormValue("kind") == "marketing" {
		kind = gateway.KindMarketing
	}
	if r.PostFormValue("action") == "gsm" {
		d := newComposeData(to, gsmEquivalents.Replace(text))
		d.Kind = string(kind)
		return s.renderCompose(w, r, http.StatusOK, d, "", "Replaced special characters with plain ones.")
	}
	m, _, err := s.gw.Submit(r.Context(), gateway.SubmitRequest{To: to, Text: text, Kind: kind})
	if msg := formError(err); msg != "" {
		d := newComposeData(to, text)
		d.Kind = string(kind)
		var fe *gateway.FieldError
		errors.As(err, &fe)
		field := fe.Field
		if field != "to" && field != "text" {
			field = "kind"
		}
		if field == "to" {
			msg += " " + s.numberHint()
		}
		d.FieldErrors = map[string]string{field: msg}
		return s.renderCompose(w, r, http.StatusBadRequest, d, "Nothing was sent: see the field marked below.", "")
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("/messages/%d?done=sent", m.ID))
	return nil
}

// composeTemplate answers POST /compose/template: preview a saved template
// for one number (action=preview) or send it (action=send), rendered for
// that contact with its short links, through the same guard as any text.
func (s *server) composeTemplate(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	d := newComposeData("", "")
	d.TplTo = strings.TrimSpace(r.PostFormValue("to"))
	id, _ := strconv.ParseUint(r.PostFormValue("template"), 10, 64)
	d.TplID = id
	fieldFail := func(err error) error {
		msg := formError(err)
		if msg == "" {
			return err
		}
		var fe *gateway.FieldError
		field := "template"
		if errors.As(err, &fe) && (fe.Field == "to" || fe.Field == "number") {
			field, msg = "to", msg+" "+s.numberHint()
		}
		d.TplErrors = map[string]string{field: msg}
		return s.renderCompose(w, r, http.StatusBadRequest, d, "Nothing was sent: see the field marked below.", "")
	}
	if id == 0 {
		return fieldFail(&gateway.FieldError{Field: "template", Message: "Choose a template."})
	}
	if r.PostFormValue("action") == "preview" {
		t, err := s.gw.Templates().Get(id)
		if err != nil {
			return fieldFail(&gateway.FieldError{Field: "template", Message: "That template no longer exists."})
		}
		p, err := s.gw.Templates().Preview(templates.PreviewRequest{Body: t.Body, Kind: t.Kind, Number: d.TplTo})
		if err != nil {
			return fieldFail(err)
		}
		d.TplPreview = &p.Sample
		return s.renderCompose(w, r, http.StatusOK, d, "", "")
	}
	msgID, err := s.gw.Templates().Send(r.Context(), templates.SendRequest{To: d.TplTo, TemplateID: id})
	if err != nil {
		return fieldFail(err)
	}
	seeOther(w, r, fmt.Sprintf("/messages/%d?done=sent", msgID))
	return nil
}

// plan answers POST /console/plan {"text": "..."} with the encoding and
// parts, for the live counter (the page works without it).
func (s *server) plan(w http.ResponseWriter, r *http.Request, u user) error {
	var in struct {
		Text string `json:"text"`
	}
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return nil
	}
	p := gateway.PlanText(in.Text)
	return writeJSON(w, http.StatusOK, struct {
		gateway.Plan
		Fixable bool `json:"fixable"`
		// Words is what the counter says instead of the encoding's name.
		Words string `json:"words"`
	}{p, gsmEquivalents.Replace(in.Text) != in.Text, encodingWords(p.Encoding)})
}

// messageFilter is the messages page's query.
type messageFilter struct {
	State  string
	Number string
	Modem  string
	From   string // date, 2006-01-02
	To     string
	Q      string
	Before uint64
}

// Active reports whether any filter is set (the filters stay unfolded).
func (f messageFilter) Active() bool { return f.State != "" || f.scanning() }

func (f messageFilter) scanning() bool {
	return f.Number != "" || f.Modem != "" || f.From != "" || f.To != "" || f.Q != ""
}

type messagesData struct {
	Filter  messageFilter
	States  []stateOption
	Rows    []gateway.Message
	Older   string // URL of the next page, "" at the end
	Review  bool   // the unknown review queue
	Scanned bool   // the search looked at the newest scanLimit only
}

type stateOption struct{ Value, Label string }

const messagesPerPage = 50

// messagesPage answers GET /messages. The state filter uses the store's
// index; number, modem, dates and text are matched during a bounded scan of
// the newest scanLimit messages (enough for a shop; an index would lift it).
func (s *server) messagesPage(w http.ResponseWriter, r *http.Request, u user) error {
	q := r.URL.Query()
	f := messageFilter{State: q.Get("state"), Number: strings.TrimSpace(q.Get("number")), Modem: q.Get("modem"),
		From: q.Get("from"), To: q.Get("to"), Q: strings.TrimSpace(q.Get("q"))}
	d := messagesData{Filter: f, Review: f.State == "unknown"}
	d.States = append(d.States, stateOption{"", "Any"})
	for _, n := range consoleStatuses() {
		d.States = append(d.States, stateOption{n, labelFor(n)})
	}
	v := view{Title: "Messages", Nav: "messages", Data: &d}
	if d.Review {
		v.Title = "Needs your decision"
	}
	v.Notice = doneNotice(q.Get("done"))
	var status gateway.Status
	if f.State != "" {
		st, ok := gateway.ParseStatus(f.State)
		if !ok {
			v.Error = "Pick a state from the list."
			return s.render(w, r, http.StatusBadRequest, "messages", v)
		}
		status = st
	}
	if c := q.Get("before"); c != "" {
		n, err := strconv.ParseUint(c, 10, 64)
		if err != nil {
			v.Error = "That page link is broken; showing the newest messages."
		}
		f.Before = n
	}
	var from, to time.Time
	for _, p := range []struct {
		raw string
		dst *time.Time
	}{{f.From, &from}, {f.To, &to}} {
		if p.raw == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", p.raw, time.Local)
		if err != nil {
			v.Error = "Dates look like 2025-03-14."
			return s.render(w, r, http.StatusBadRequest, "messages", v)
		}
		*p.dst = t
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !f.scanning() {
		rows, next, err := s.gw.Messages(gateway.ListFilter{Status: status, Before: f.Before, Limit: messagesPerPage})
		if err != nil {
			return err
		}
		d.Rows = rows
		if next != 0 {
			d.Older = olderURL(q, next)
		}
		return s.render(w, r, http.StatusOK, "messages", v)
	}
	all, capped, err := s.recentMessages(from, status)
	if err != nil {
		return err
	}
	d.Scanned = capped
	needle := strings.ToLower(f.Q)
	for _, m := range all {
		if f.Before != 0 && m.ID >= f.Before {
			continue
		}
		if (f.Number != "" && !strings.Contains(m.To, strings.TrimLeft(f.Number, "+0"))) ||
			(f.Modem != "" && m.Modem != f.Modem) ||
			(!to.IsZero() && !m.CreatedAt.Before(to)) ||
			(needle != "" && !strings.Contains(strings.ToLower(m.Text), needle)) {
			continue
		}
		if len(d.Rows) == messagesPerPage {
			d.Older = olderURL(q, d.Rows[len(d.Rows)-1].ID)
			break
		}
		d.Rows = append(d.Rows, m)
	}
	return s.render(w, r, http.StatusOK, "messages", v)
}

func olderURL(q url.Values, before uint64) string {
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	q2.Set("before", strconv.FormatUint(before, 10))
	return "/messages?" + q2.Encode()
}

// doneNotice maps a ?done= key to its message. Only known keys are shown:
// the page never echoes text from the URL.
func doneNotice(key string) string {
	switch key {
	case "sent":
		return "Your text is in the queue. This page updates by itself as it goes out."
	case "resent":
		return "The text will be sent again."
	case "dropped":
		return "The text will not be sent."
	case "revoked":
		return "The token no longer works."
	case "alerts":
		return "Alert settings saved."
	case "user":
		return "The user can log in now."
	case "replied":
		return "Your reply is in the queue."
	case "template-saved":
		return "The template is saved."
	case "template-deleted":
		return "The template is deleted."
	case "password":
		return "Your password is changed. Your other devices need to log in again."
	case "removed":
		return "The user was removed and logged out everywhere."
	}
	return ""
}

func parseID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, gateway.ErrNotFound
	}
	return id, nil
}

type messageData struct {
	M         gateway.Message
	CanResend bool
	CanDrop   bool
	// Suppressed: the compliance guard refused the text. The page then
	// shows why and what to do, not a modem, parts or a deadline.
	Suppressed bool
	// NeedsConsent: it was refused for want of marketing consent, which
	// the owner can record on the contact page (ContactID, 0 when the
	// number is not a contact yet).
	NeedsConsent bool
	ContactID    uint64
	// Pending: the text may still go out, so its deadline matters.
	Pending bool
	// NoModem says why a waiting text is not being sent when no modem can
	// send ("" when one can).
	NoModem string
	Length  string // "1 text", "4 texts (special characters)"
	KindSay string // the kind in plain words
}

// lengthWords says how many texts a message costs, and why more than the
// owner might think: UCS-2 (special characters) fits 70 characters a text.
func lengthWords(encoding string, parts int) string {
	n := "1 text"
	if parts != 1 {
		n = strconv.Itoa(parts) + " texts"
	}
	if encoding == "UCS-2" {
		n += " (special characters)"
	}
	return n
}

// kindWords names a message's kind for the owner.
func kindWords(k gateway.Kind) string {
	switch k {
	case gateway.KindMarketing:
		return "Marketing: needs the customer's consent; waits for quiet hours and the frequency cap"
	case gateway.KindCompliance:
		return "An automatic answer about consent (to STOP, HELP or a sign-up)"
	}
	return "Order or service text"
}

// newMessageData is what the message page shows about m (all but the
// contact, which needs a look-up).
func newMessageData(m gateway.Message) messageData {
	d := messageData{M: m,
		CanResend:  m.Status == gateway.StatusUnknown || m.Status == gateway.StatusFailed || m.Status == gateway.StatusExpired,
		CanDrop:    m.Status == gateway.StatusQueued || m.Status == gateway.StatusUnknown,
		Suppressed: m.Status == gateway.StatusSuppressed,
		Pending:    m.Status == gateway.StatusQueued || m.Status == gateway.StatusSending,
		Length:     lengthWords(m.Encoding, len(m.Parts)),
		KindSay:    kindWords(m.Kind),
	}
	d.NeedsConsent = d.Suppressed && m.Error != nil && strings.Contains(*m.Error, "no marketing consent")
	return d
}

// messagePage answers GET /messages/{id}.
func (s *server) messagePage(w http.ResponseWriter, r *http.Request, u user) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	m, err := s.gw.Message(id)
	if err != nil {
		return err
	}
	d := newMessageData(m)
	if c, err := s.gw.Contacts().ByNumber(m.To); err == nil {
		d.ContactID = c.ID
	}
	if d.Pending && m.Hold == nil {
		var cards []modemCard
		for _, st := range s.gw.Modems() {
			cards = append(cards, newModemCard(st))
		}
		if head, _ := noModemAlert(cards, 0); head != "" {
			d.NoModem = head
		}
	}
	p := newPeople(s.gw)
	return s.render(w, r, http.StatusOK, "message", view{Title: "Text to " + p.Label(m.To), Nav: "messages", People: p,
		Notice: doneNotice(r.URL.Query().Get("done")), Data: d})
}

// messageAction answers POST /messages/{id}/resend and /drop. back=review
// returns to the review queue.
func (s *server) messageAction(resend bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, u user) error {
		id, err := parseID(r)
		if err != nil {
			return err
		}
		done := "dropped"
		if resend {
			done = "resent"
			_, err = s.gw.Resend(r.Context(), id)
		} else {
			_, err = s.gw.Drop(r.Context(), id)
		}
		if err != nil {
			return err
		}
		if r.PostFormValue("back") == "review" {
			seeOther(w, r, "/messages?state=unknown&done="+done)
		} else {
			seeOther(w, r, fmt.Sprintf("/messages/%d?done=%s", id, done))
		}
		return nil
	}
}

// inboxPage answers GET /inbox: the newest conversations by number
// (conversations, people.go).
func (s *server) inboxPage(w http.ResponseWriter, r *http.Request, u user) error {
	list, err := s.conversations()
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "inbox", view{Title: "Inbox", Nav: "inbox", Data: list})
}

// bubble is one text in a conversation, either way.
type bubble struct {
	At      time.Time
	Text    string
	Out     bool
	ID      uint64
	Status  gateway.Status
	Keyword string // a received keyword the gateway answered by itself
}

type threadData struct {
	Number    string
	ContactID uint64 // 0: not in the contacts
	Review    bool   // an opt-out review is open for the number
	Bubbles   []bubble
	Reply     string
}

// threadPage answers GET /inbox/{number} and marks it read.
func (s *server) threadPage(w http.ResponseWriter, r *http.Request, u user) error {
	return s.renderThread(w, r, http.StatusOK, r.PathValue("number"), "", "", doneNotice(r.URL.Query().Get("done")))
}

// threadTexts is how many texts of each direction a conversation shows.
const threadTexts = 200

func (s *server) renderThread(w http.ResponseWriter, r *http.Request, status int, number, reply, errMsg, notice string) error {
	// The newest threadTexts each way, through the number's indexes.
	in, _, err := s.gw.InboundFrom(number, 0, threadTexts)
	if err != nil {
		return err
	}
	d := threadData{Number: number, Reply: reply}
	var newest uint64
	for _, m := range in {
		d.Bubbles = append(d.Bubbles, bubble{At: m.ReceivedAt, Text: m.Text, ID: m.ID, Keyword: s.gw.InboundKeyword(m.Text)})
		newest = max(newest, m.ID)
	}
	out, _, err := s.gw.MessagesTo(number, 0, threadTexts)
	if err != nil {
		return err
	}
	for _, m := range out {
		d.Bubbles = append(d.Bubbles, bubble{At: m.CreatedAt, Text: m.Text, Out: true, ID: m.ID, Status: m.Status})
	}
	if c, err := s.gw.Contacts().ByNumber(number); err == nil {
		d.ContactID = c.ID
	}
	if c, err := s.gw.Consent(number); err == nil {
		d.Review = c.Review
	}
	slices.SortStableFunc(d.Bubbles, func(a, b bubble) int { return a.At.Compare(b.At) })
	if newest > 0 {
		if err := s.gw.MarkInboxRead(number, newest); err != nil {
			return err
		}
	}
	p := newPeople(s.gw)
	return s.render(w, r, status, "thread", view{Title: p.Label(number), People: p, Nav: "inbox", Error: errMsg, Notice: notice, Data: d})
}

// reply answers POST /inbox/{number}/reply.
func (s *server) reply(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	number, text := r.PathValue("number"), r.PostFormValue("text")
	_, _, err := s.gw.Submit(r.Context(), gateway.SubmitRequest{To: number, Text: text})
	if msg := formError(err); msg != "" {
		return s.renderThread(w, r, http.StatusBadRequest, number, text, msg, "")
	}
	if err != nil {
		return err
	}
	seeOther(w, r, "/inbox/"+url.PathEscape(number)+"?done=replied")
	return nil
}

type modemsData struct {
	Modems  []modemCard
	USSD    map[string]*ussdResult      // by modem name, after a USSD post
	History map[string][]gateway.Health // recent readings by modem name, newest first
	// USSDAllow is the allow-list in force, shown under the USSD box
	// ("" when USSD is turned off).
	USSDAllow string
	// Balances is each SIM's balance check and last reading, by name;
	// BalanceNotes a refusal to show on one SIM's balance form.
	Balances     map[string]alerting.Balance
	BalanceNotes map[string]string
}

type ussdResult struct {
	Code  string
	Reply string
	Error string
}

// modemsPage answers GET /modems.
func (s *server) modemsPage(w http.ResponseWriter, r *http.Request, u user) error {
	return s.renderModems(w, r, http.StatusOK, nil, nil)
}

func (s *server) renderModems(w http.ResponseWriter, r *http.Request, status int, ussd map[string]*ussdResult, balanceNotes map[string]string) error {
	d := modemsData{USSD: ussd, History: map[string][]gateway.Health{}, USSDAllow: strings.Join(s.gw.USSDAllow(), ", "),
		Balances: map[string]alerting.Balance{}, BalanceNotes: balanceNotes}
	modems := s.gw.Modems()
	names := make([]string, len(modems))
	for i, m := range modems {
		names[i] = m.Name
	}
	balances, err := s.gw.Alerting().Balances(names)
	if err != nil {
		return err
	}
	for _, b := range balances {
		d.Balances[b.Modem] = b
	}
	for _, m := range modems {
		d.Modems = append(d.Modems, newModemCard(m))
		if h, err := s.gw.ModemHistory(m.Name); err == nil {
			// The newest few, newest first: enough to see a trend at a glance.
			for i := len(h) - 1; i >= 0 && len(d.History[m.Name]) < modemHistoryRows; i-- {
				d.History[m.Name] = append(d.History[m.Name], h[i])
			}
		}
	}
	return s.render(w, r, status, "modems", view{Title: "Modems", Nav: "modems", Data: d})
}

// modemHistoryRows is how many recent health readings the modems page lists.
const modemHistoryRows = 8

// pauseModem answers POST /modems/{name}/pause and /resume.
func (s *server) pauseModem(paused bool) func(http.ResponseWriter, *http.Request, user) error {
	return func(w http.ResponseWriter, r *http.Request, u user) error {
		if _, err := s.gw.SetModemPaused(r.PathValue("name"), paused); err != nil {
			return err
		}
		http.Redirect(w, r, "/modems", http.StatusSeeOther)
		return nil
	}
}

// ussdTimeout bounds a USSD session: networks answer within ~10 s or never.
const ussdTimeout = 40 * time.Second

// consoleUSSD answers POST /modems/{name}/ussd with the network's reply on the page.
func (s *server) consoleUSSD(w http.ResponseWriter, r *http.Request, u user) error {
	name, code := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("code"))
	ctx, cancel := context.WithTimeout(r.Context(), ussdTimeout)
	defer cancel()
	rep, err := s.gw.USSD(ctx, name, code)
	res := ussdResult{Code: code, Reply: rep.Text}
	status := http.StatusOK
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		return err
	case formError(err) != "":
		res.Error, status = formError(err), http.StatusBadRequest
	case err != nil:
		res.Error, status = "The modem did not answer: "+err.Error(), http.StatusBadGateway
	case rep.Text == "":
		res.Reply = "(the network sent no text)"
	}
	return s.renderModems(w, r, status, map[string]*ussdResult{name: &res}, nil)
}

type settingsData struct {
	Tokens    []access.Token
	Users     []access.User
	Region    string
	Backups   backups.Status
	NewToken  string // shown once, right after creating it
	TokenName string
	UserName  string
	File      datafile.Usage
	Me        string // the logged-in user, who may not remove themselves
	// PasswordError is shown next to the change-password form.
	PasswordError string
	// Alerts is the owner's alert settings; AlertsForm what a refused
	// form held, shown again instead.
	Alerts     alerting.Settings
	AlertsForm *alerting.Settings
}

// settingsPage answers GET /settings.
func (s *server) settingsPage(w http.ResponseWriter, r *http.Request, u user) error {
	return s.renderSettings(w, r, http.StatusOK, settingsData{}, "", doneNotice(r.URL.Query().Get("done")))
}

func (s *server) renderSettings(w http.ResponseWriter, r *http.Request, status int, d settingsData, errMsg, notice string) error {
	var err error
	if d.Tokens, err = s.gw.Access().Tokens(); err != nil {
		return err
	}
	if d.Users, err = s.gw.Access().Users(); err != nil {
		return err
	}
	d.Region = s.gw.Region()
	d.Me = currentUser(r).Name
	if d.Backups, err = s.gw.Backups(); err != nil {
		// The page still helps without the list; the log says why.
		s.log.Warn("list backups", "error", err)
	}
	if d.File, err = s.gw.DataFile().Usage(); err != nil {
		return err
	}
	if d.AlertsForm != nil {
		d.Alerts = *d.AlertsForm
	} else if d.Alerts, err = s.gw.Alerting().Settings(); err != nil {
		return err
	}
	return s.render(w, r, status, "settings", view{Title: "Settings", Nav: "settings", Error: errMsg, Notice: notice, Data: d})
}

// createToken answers POST /settings/tokens. The page shows the token
// once; it is not redirected so the token never appears in a URL.
func (s *server) createToken(w http.ResponseWriter, r *http.Request, u user) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	plaintext, _, err := s.gw.Access().CreateToken(name)
	if err != nil {
		if msg := formError(err); msg != "" {
			return s.renderSettings(w, r, http.StatusBadRequest, settingsData{TokenName: name}, msg, "")
		}
		return err
	}
	return s.renderSettings(w, r, http.StatusOK, settingsData{NewToken: plaintext}, "",
		"Token created. Copy it now: it is shown only this once.")
}

// revokeToken answers POST /settings/tokens/{id}/revoke.
func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, u user) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	if err := s.gw.Access().RevokeToken(id); err != nil {
		return err
	}
	seeOther(w, r, "/settings?done=revoked")
	return nil
}

// addUser answers POST /settings/users.
func (s *server) addUser(w http.ResponseWriter, r *http.Request, u user) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	err := s.gw.Access().AddUser(name, r.PostFormValue("password"))
	if msg := formError(err); msg != "" {
		return s.renderSettings(w, r, http.StatusBadRequest, settingsData{UserName: name}, msg, "")
	}
	if err != nil {
		return err
	}
	seeOther(w, r, "/settings?done=user")
	return nil
}

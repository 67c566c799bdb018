package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/shopevents"
)

// contactRow is one line of the contacts table.
type contactRow struct {
	contacts.Contact
	Marketing string // consent state, in plain words
}

type contactsData struct {
	Q, Tag string
	Rows   []contactRow
	Next   string // URL of the next page, "" at the end
	Total  int
}

// marketingLabel is what a shop owner reads for a consent state.
func marketingLabel(c gateway.Consent) string {
	switch {
	case c.OptedOutAll:
		return "Opted out of all texts"
	case c.Review:
		return "Paused: reply needs review"
	}
	switch c.Marketing {
	case gateway.MarketingConfirmed:
		return "Marketing: yes"
	case gateway.MarketingPending:
		return "Waiting for YES"
	case gateway.MarketingOptedOut:
		return "Marketing: opted out"
	}
	return "No marketing consent"
}

// contactsPage answers GET /contacts?q=&tag=&after=.
func (s *server) contactsPage(w http.ResponseWriter, r *http.Request, u user) error {
	q := r.URL.Query()
	d := contactsData{Q: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag"))}
	v := view{Title: "Contacts", Nav: "contacts", Data: &d, Notice: contactNotice(q.Get("done"))}
	f, err := parseContactFilter(r)
	if err != nil {
		v.Error = "That page link is broken; showing the first contacts."
		f = contacts.Filter{Query: d.Q, Tag: d.Tag, Limit: defaultLimit}
	}
	rows, next, err := s.gw.Contacts().List(f)
	if err != nil {
		return err
	}
	for _, c := range rows {
		cons, err := s.gw.Consent(c.Number)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, contactRow{Contact: c, Marketing: marketingLabel(cons)})
	}
	if d.Total, err = s.gw.Contacts().Count(); err != nil {
		return err
	}
	if next != 0 {
		nq := url.Values{"after": {strconv.FormatUint(next, 10)}}
		if d.Q != "" {
			nq.Set("q", d.Q)
		}
		if d.Tag != "" {
			nq.Set("tag", d.Tag)
		}
		d.Next = "/contacts?" + nq.Encode()
	}
	return s.render(w, r, http.StatusOK, "contacts", v)
}

func contactNotice(key string) string {
	switch key {
	case "created":
		return "The contact is saved. No consent was recorded: a contact gets marketing texts only after opting in."
	case "saved":
		return "The contact is saved."
	case "erased":
		return "The person's data was erased. Their number stays blocked from imports and sign-ups."
	case "opted_in":
		return "Consent recorded. They got the confirmation text, and marketing texts can go to them now."
	case "doi_sent":
		return "They got a text asking them to reply YES. Marketing texts start once they do."
	case "opt_in_unchanged":
		return "Nothing new to record: they already agreed, or were asked to confirm in the last 24 hours."
	}
	return ""
}

// contactForm is the edit form's fields as typed.
type contactForm struct {
	Number, Name, Tags, TimeZone, Language, Attributes string
}

func formFromContact(c contacts.Contact) contactForm {
	f := contactForm{Number: c.Number, Name: c.Name, Tags: strings.Join(c.Tags, ", "), Language: c.Language}
	if !c.TimeZoneDerived {
		f.TimeZone = c.TimeZone
	}
	keys := make([]string, 0, len(c.Attributes))
	for k := range c.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + " = " + c.Attributes[k]
	}
	f.Attributes = strings.Join(lines, "\n")
	return f
}

func readContactForm(r *http.Request) contactForm {
	return contactForm{Number: strings.TrimSpace(r.PostFormValue("number")), Name: r.PostFormValue("name"),
		Tags: r.PostFormValue("tags"), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")),
		Language: strings.TrimSpace(r.PostFormValue("language")), Attributes: r.PostFormValue("attributes")}
}

// parse turns the typed fields into contact fields; attributes are lines
// "key = value".
func (f contactForm) parse() (tags []string, attrs map[string]string, err error) {
	for _, t := range strings.FieldsFunc(f.Tags, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	attrs = map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(f.Attributes, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, nil, &gateway.FieldError{Field: "attributes", Message: fmt.Sprintf("line %d must look like key = value", i+1)}
		}
		attrs[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return tags, attrs, nil
}

// contactData is the contact page: the form, and for a stored contact its
// texts and consent timeline.
type contactData struct {
	Contact    *contacts.Contact
	Form       contactForm
	Marketing  string
	Messages   []gateway.Message
	Inbound    []gateway.Inbound
	Events     []gateway.ConsentEvent
	ShopEvents []shopevents.Event // the timeline of what the shop reported, newest first
	Confirm    bool               // the erase confirmation
	DerivedTZ  string
	FieldError string // the field the error is about, to mark it
	OptIn      optInData
	// CanOptIn: marketing consent can be recorded (not opted out of all
	// texts by the person; already confirmed numbers may add evidence).
	CanOptIn bool
}

// contactFormError is the plain-words message for a bad contact field.
func contactFormError(err error) (msg, field string) {
	var fe *gateway.FieldError
	if !errors.As(err, &fe) {
		return "", ""
	}
	label := map[string]string{"number": "The phone number", "name": "The name", "tags": "The tags",
		"time_zone": "The time zone", "language": "The language", "attributes": "The other details"}[fe.Field]
	if label == "" {
		label = "The other details (" + strings.TrimPrefix(fe.Field, "attributes.") + ")"
	}
	return label + " " + fe.Message + ".", fe.Field
}

// newContactPage answers GET /contacts/new.
func (s *server) newContactPage(w http.ResponseWriter, r *http.Request, u user) error {
	return s.render(w, r, http.StatusOK, "contact", view{Title: "New contact", Nav: "contacts",
		Data: &contactData{Form: contactForm{Number: r.URL.Query().Get("number")}}})
}

// createContactForm answers POST /contacts/new.
func (s *server) createContactForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	f := readContactForm(r)
	tags, attrs, err := f.parse()
	if err == nil {
		var c contacts.Contact
		c, err = s.gw.Contacts().Create(r.Context(), contacts.Contact{Number: f.Number, Name: f.Name, Tags: tags,
			Attributes: attrs, TimeZone: f.TimeZone, Language: f.Language, Source: "console"})
		if err == nil {
			seeOther(w, r, fmt.Sprintf("/contacts/%d?done=created", c.ID))
			return nil
		}
	}
	msg, field := contactFormError(err)
	switch {
	case errors.Is(err, gateway.ErrExists):
		msg, field = "This number already has a contact.", "number"
		if c, e := s.gw.Contacts().ByNumber(f.Number); e == nil {
			msg = fmt.Sprintf("This number already belongs to contact %d (%s).", c.ID, c.Name)
		}
	case errors.Is(err, gateway.ErrSuppressed):
		msg, field = "This number was erased at its owner's request and cannot be added again.", "number"
	case msg == "":
		return err
	}
	return s.render(w, r, http.StatusBadRequest, "contact", view{Title: "New contact", Nav: "contacts", Error: msg,
		Data: &contactData{Form: f, FieldError: field}})
}

// loadContactData fills the contact page's history and consent timeline.
func (s *server) loadContactData(c contacts.Contact) (*contactData, error) {
	d := &contactData{Contact: &c, Form: formFromContact(c)}
	if c.TimeZoneDerived {
		d.DerivedTZ = c.TimeZone
	}
	cons, err := s.gw.Consent(c.Number)
	if err != nil {
		return nil, err
	}
	d.Marketing = marketingLabel(cons)
	d.CanOptIn = cons.Marketing != gateway.MarketingConfirmed
	d.OptIn = optInData{Form: optInForm{Method: "pos", DoubleOptIn: true}, Disclosure: s.gw.ComplianceSettings().Disclosure.Version}
	if d.Events, err = s.gw.ConsentEvents(c.Number); err != nil {
		return nil, err
	}
	if d.Messages, _, err = s.gw.ContactMessages(c.Number, 0, 50); err != nil {
		return nil, err
	}
	if d.Inbound, _, err = s.gw.ContactInbound(c.Number, 0, 20); err != nil {
		return nil, err
	}
	evs, err := s.gw.Shop().Events(c.Number)
	if err != nil {
		return nil, err
	}
	// Newest first, and the last 50: a loyal customer's years of views
	// are for the export, not for one page.
	for i := len(evs) - 1; i >= 0 && len(d.ShopEvents) < 50; i-- {
		d.ShopEvents = append(d.ShopEvents, evs[i])
	}
	return d, nil
}

// contactFromPath loads the contact named by the path's {id} and what its
// page shows.
func (s *server) contactFromPath(r *http.Request) (contacts.Contact, *contactData, error) {
	id, err := parseID(r)
	if err != nil {
		return contacts.Contact{}, nil, err
	}
	c, err := s.gw.Contacts().Get(id)
	if err != nil {
		return contacts.Contact{}, nil, err
	}
	d, err := s.loadContactData(c)
	return c, d, err
}

// contactPage answers GET /contacts/{id}.
func (s *server) contactPage(w http.ResponseWriter, r *http.Request, u user) error {
	c, d, err := s.contactFromPath(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "contact", view{Title: contactTitle(c), Nav: "contacts",
		Notice: contactNotice(r.URL.Query().Get("done")), Data: d})
}

func contactTitle(c contacts.Contact) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Number
}

// saveContactForm answers POST /contacts/{id}: every field of the form
// is written (an empty time zone derives it from the number again).
func (s *server) saveContactForm(w http.ResponseWriter, r *http.Request, u user) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	f := readContactForm(r)
	tags, attrs, err := f.parse()
	if err == nil {
		_, err = s.gw.Contacts().Update(r.Context(), id, contacts.Patch{Number: &f.Number, Name: &f.Name, Tags: &tags,
			Attributes: &attrs, TimeZone: &f.TimeZone, Language: &f.Language})
		if err == nil {
			seeOther(w, r, fmt.Sprintf("/contacts/%d?done=saved", id))
			return nil
		}
	}
	msg, field := contactFormError(err)
	switch {
	case errors.Is(err, gateway.ErrExists):
		msg, field = "Another contact already has this number.", "number"
	case errors.Is(err, gateway.ErrSuppressed):
		msg, field = "This number was erased at its owner's request and cannot be used again.", "number"
	case msg == "":
		return err
	}
	c, err := s.gw.Contacts().Get(id)
	if err != nil {
		return err
	}
	d, err := s.loadContactData(c)
	if err != nil {
		return err
	}
	d.Form, d.FieldError = f, field
	return s.render(w, r, http.StatusBadRequest, "contact", view{Title: contactTitle(c), Nav: "contacts", Error: msg, Data: d})
}

// subjectDownload answers GET /contacts/{id}/export: the person's data as
// a JSON file (R-GDPR-1), the same document as the API's.
func (s *server) subjectDownload(w http.ResponseWriter, r *http.Request, u user) error {
	d, err := s.subjectData(r)
	if err != nil {
		return err
	}
	body, err := encodeJSON(d)
	if err != nil {
		return err
	}
	var id uint64
	if d.Profile != nil {
		id = d.Profile.ID
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="contact-%d.json"`, id))
	writeRaw(w, http.StatusOK, body)
	return nil
}

// eraseConfirmPage answers GET /contacts/{id}/erase: what erasing does,
// and the button that does it.
func (s *server) eraseConfirmPage(w http.ResponseWriter, r *http.Request, u user) error {
	c, d, err := s.contactFromPath(r)
	if err != nil {
		return err
	}
	d.Confirm = true
	return s.render(w, r, http.StatusOK, "contact", view{Title: "Erase " + contactTitle(c) + "?", Nav: "contacts", Data: d})
}

// eraseContactForm answers POST /contacts/{id}/erase. Without confirm=yes
// (a form from elsewhere, a stray click) it shows the confirmation.
func (s *server) eraseContactForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if r.PostFormValue("confirm") != "yes" {
		return s.eraseConfirmPage(w, r, u)
	}
	id, err := parseID(r)
	if err != nil {
		return err
	}
	if _, err := s.gw.EraseContact(r.Context(), id, u.Name); err != nil {
		return err
	}
	seeOther(w, r, "/contacts?done=erased")
	return nil
}

// exportContactsPage answers GET /contacts/export with the CSV file.
func (s *server) exportContactsPage(w http.ResponseWriter, r *http.Request, u user) error {
	s.writeContactsCSV(w, r)
	return nil
}

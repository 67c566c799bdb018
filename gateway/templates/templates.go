// Package templates is the room of saved message templates: the library
// a person edits on the console, the lint on save against the contacts
// and the compliance settings, the preview for a real contact, and
// sending one to a number through the outbox. The template language
// itself (parsing, variables, functions, the lint and preview rules) is
// package msgtemplate; this package gives it the records it works on.
package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

// Contacts finds the contact of a number a person typed (contacts.Book).
type Contacts interface {
	ByNumber(raw string) (store.Contact, error)
}

// Links makes a text's short links, or shows them with codes of the real
// length without storing anything (links.Service).
type Links interface {
	Shorten(text string, o links.Owner) (string, error)
	PreviewText(text string, kind store.Kind) (string, error)
}

// Outbox takes a text to send; the guard judges it like any other
// (outbox.Queue).
type Outbox interface {
	Submit(ctx context.Context, r outbox.SubmitRequest) (store.Message, bool, error)
}

// Policy gives the compliance settings the lint checks against.
type Policy interface {
	Settings() compliance.Settings
}

// Config wires a Service; every field is required.
type Config struct {
	DB       *store.DB
	Region   string
	Contacts Contacts
	Links    Links
	Outbox   Outbox
	Policy   Policy
	Clock    func() time.Time
}

// Service is the saved templates' face to the web layer.
type Service struct{ cfg Config }

// New returns the Service cfg wires.
func New(cfg Config) *Service { return &Service{cfg: cfg} }

// Template is a saved message template as the API and console show it.
type Template struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"` // marketing or transactional
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Input is a template to save: ID 0 creates one.
type Input struct {
	ID   uint64 `json:"-"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	Body string `json:"body"`
}

// Problem is one thing the template linter found, naming the field and,
// for a variable, the variable.
type Problem struct {
	Field    string `json:"field"`
	Variable string `json:"variable,omitempty"`
	Contacts int    `json:"contacts,omitempty"` // how many contacts it affects
	Message  string `json:"message"`
	Notice   bool   `json:"notice,omitempty"` // the box fixes it itself; saving is not refused
}

// Plan is how a text is encoded and into how many parts.
type Plan struct {
	Encoding  string   `json:"encoding"` // "GSM-7" or "UCS-2"
	Parts     int      `json:"parts"`
	Units     int      `json:"units"`      // septets (GSM-7) or UTF-16 code units (UCS-2)
	PerPart   int      `json:"per_part"`   // 160/153 (GSM-7) or 70/67 (UCS-2)
	UCS2Chars []string `json:"ucs2_chars"` // what forced UCS-2, in order of appearance
}

// Rendering is one render of a template and what it costs.
type Rendering struct {
	Number string `json:"number,omitempty"`
	Text   string `json:"text"`
	Plan
}

// Preview is a template's render for a sample contact and the longest
// render across the audience.
type Preview struct {
	Sample       Rendering  `json:"sample"`
	Longest      *Rendering `json:"longest,omitempty"`
	Rendered     int        `json:"rendered"`
	Failed       int        `json:"failed"`
	FirstFailure string     `json:"first_failure,omitempty"`
}

// ProblemsError refuses a save: the template has problems that are
// errors, all of them listed (notices too).
type ProblemsError struct {
	Problems []Problem
}

func (e *ProblemsError) Error() string {
	var msgs []string
	for _, p := range e.Problems {
		if !p.Notice {
			msgs = append(msgs, p.Field+": "+p.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

func templateOf(t store.Template) Template {
	return Template{ID: t.ID, Name: t.Name, Kind: t.Kind.String(), Body: t.Body, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func problemsOf(ps msgtemplate.Problems) []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		out[i] = Problem(p)
	}
	return out
}

func renderingOf(r msgtemplate.Rendering) Rendering {
	return Rendering{Number: r.Number, Text: r.Text, Plan: Plan(r.Plan)}
}

func previewOf(p msgtemplate.PreviewResult) Preview {
	v := Preview{Sample: renderingOf(p.Sample), Rendered: p.Rendered, Failed: p.Failed, FirstFailure: p.FirstFailure}
	if p.Longest != nil {
		l := renderingOf(*p.Longest)
		v.Longest = &l
	}
	return v
}

// kindOf reads a template's kind; empty is transactional.
func kindOf(k string) (store.Kind, error) {
	if k == "" {
		return store.KindTransactional, nil
	}
	kind, ok := store.ParseKind(k)
	if !ok || (kind != store.KindMarketing && kind != store.KindTransactional) {
		return 0, &store.FieldError{Field: "kind", Message: "must be marketing or transactional"}
	}
	return kind, nil
}

// List lists the saved templates.
func (s *Service) List() ([]Template, error) {
	ts, err := s.cfg.DB.ListTemplates()
	if err != nil {
		return nil, err
	}
	out := make([]Template, len(ts))
	for i, t := range ts {
		out[i] = templateOf(t)
	}
	return out, nil
}

// Get returns one saved template.
func (s *Service) Get(id uint64) (Template, error) {
	t, err := s.cfg.DB.GetTemplate(id)
	if err != nil {
		return Template{}, err
	}
	return templateOf(t), nil
}

// Lint checks a template against the contacts and the compliance
// settings (msgtemplate.Lint) and returns every problem, errors and
// notices.
func (s *Service) Lint(body, kind string) ([]Problem, error) {
	k, err := kindOf(kind)
	if err != nil {
		return nil, err
	}
	return problemsOf(msgtemplate.Lint(body, msgtemplate.LintInput{Kind: k, Settings: s.cfg.Policy.Settings(), Audience: s.cfg.DB.EachContact})), nil
}

// Save lints the template and stores it when no problem is an error;
// otherwise it returns a *ProblemsError with every problem. Notices (the
// opt-out line the box adds) come back with the saved template.
func (s *Service) Save(in Input) (Template, []Problem, error) {
	kind, err := kindOf(in.Kind)
	if err != nil {
		return Template{}, nil, err
	}
	problems, err := s.Lint(in.Body, in.Kind)
	if err != nil {
		return Template{}, nil, err
	}
	for _, p := range problems {
		if !p.Notice {
			return Template{}, problems, &ProblemsError{Problems: problems}
		}
	}
	t, err := s.cfg.DB.SaveTemplate(store.Template{ID: in.ID, Name: in.Name, Kind: kind, Body: in.Body})
	if err != nil {
		return Template{}, problems, err
	}
	return templateOf(t), problems, nil
}

// Delete deletes a saved template.
func (s *Service) Delete(id uint64) error { return s.cfg.DB.DeleteTemplate(id) }

// PreviewRequest asks for a template's renders.
type PreviewRequest struct {
	Body string `json:"body"`
	Kind string `json:"kind"`
	// Number is the sample contact's number, in any format the region
	// reads; empty: the first contact.
	Number string `json:"number"`
	// EventSeq picks a stored shop event as the sample event; 0: none.
	EventSeq uint64 `json:"event_seq"`
}

// Preview renders a template for a real contact (and event) and for
// every contact, with links shortened on the real public URL (codes of
// the real length, nothing stored), and reports the sample's render and
// the longest, with encoding, parts and the characters that forced UCS-2.
func (s *Service) Preview(r PreviewRequest) (Preview, error) {
	kind, err := kindOf(r.Kind)
	if err != nil {
		return Preview{}, err
	}
	t, err := msgtemplate.ParseKind(r.Body, kind)
	if err != nil {
		return Preview{}, err
	}
	sample, err := s.sample(r.Number)
	if err != nil {
		return Preview{}, err
	}
	var event msgtemplate.Vars
	if r.EventSeq != 0 {
		evs, err := s.cfg.DB.EventsAfter(r.EventSeq-1, 1)
		if err != nil {
			return Preview{}, err
		}
		if len(evs) == 0 || evs[0].Seq != r.EventSeq {
			return Preview{}, &store.FieldError{Field: "event_seq", Message: fmt.Sprintf("no stored event %d", r.EventSeq)}
		}
		event = msgtemplate.EventVars(evs[0])
	}
	p, err := t.Preview(msgtemplate.PreviewInput{Contact: sample, Event: event, Audience: s.cfg.DB.EachContact,
		Finish: func(text string) (string, error) { return s.cfg.Links.PreviewText(text, kind) }})
	if err != nil {
		return Preview{}, err
	}
	return previewOf(p), nil
}

// sample is the preview's contact: number's, or the first contact when
// number is empty.
func (s *Service) sample(number string) (store.Contact, error) {
	if number == "" {
		var sample store.Contact
		stop := errors.New("stop")
		err := s.cfg.DB.EachContact(func(c store.Contact) error { sample = c; return stop })
		if err != nil && !errors.Is(err, stop) {
			return store.Contact{}, err
		}
		return sample, nil
	}
	sample, err := s.cfg.Contacts.ByNumber(number)
	if errors.Is(err, store.ErrNotFound) {
		// A number that is not a contact gets the template's fallbacks,
		// as Send sends it.
		n, nerr := contacts.Normalize(number, s.cfg.Region)
		if nerr != nil {
			return store.Contact{}, &store.FieldError{Field: "number", Message: nerr.Error()}
		}
		sample, err = store.Contact{Number: n}, nil
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("number: %w", err)
	}
	return sample, nil
}

// SendRequest sends a saved template to one number from the console's
// Send page.
type SendRequest struct {
	To         string
	TemplateID uint64
}

// Send renders saved template r.TemplateID for the contact of r.To (a
// number that is not a contact gets the template's fallbacks), makes its
// short links and submits the text through the outbox with the template's
// kind, so the guard judges it like any other. It returns the message's
// ID. A variable the contact lacks without a fallback is a FieldError on
// "template" naming it.
func (s *Service) Send(ctx context.Context, r SendRequest) (uint64, error) {
	number, err := contacts.Normalize(r.To, s.cfg.Region)
	if err != nil {
		return 0, &store.FieldError{Field: "to", Message: err.Error()}
	}
	t, err := s.cfg.DB.GetTemplate(r.TemplateID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, &store.FieldError{Field: "template", Message: fmt.Sprintf("no saved template %d", r.TemplateID)}
	}
	if err != nil {
		return 0, err
	}
	c, err := s.cfg.DB.ContactByNumber(number)
	if errors.Is(err, store.ErrNotFound) {
		c, err = store.Contact{Number: number}, nil
	}
	if err != nil {
		return 0, err
	}
	tmpl, err := msgtemplate.ParseKind(t.Body, t.Kind)
	if err != nil {
		return 0, &store.FieldError{Field: "template", Message: err.Error()}
	}
	rendered, err := tmpl.Render(msgtemplate.ContactVars(c))
	if err != nil {
		return 0, &store.FieldError{Field: "template", Message: fmt.Sprintf("%q cannot be filled in for %s: %v", t.Name, number, err)}
	}
	origin := fmt.Sprintf("template:%d", t.ID)
	// One code per (text, URL): each send from the page is a new text.
	key := fmt.Sprintf("console:%s:%s:%d", origin, number, s.cfg.Clock().UnixNano())
	text, err := s.cfg.Links.Shorten(rendered, links.Owner{Number: number, Origin: origin, MessageKey: key, Kind: t.Kind})
	if errors.Is(err, links.ErrNoBaseURL) {
		return 0, &store.FieldError{Field: "template", Message: err.Error()}
	}
	if err != nil {
		return 0, err
	}
	m, _, err := s.cfg.Outbox.Submit(ctx, outbox.SubmitRequest{To: number, Text: text, Kind: t.Kind, Origin: origin})
	if err != nil {
		return 0, err
	}
	return m.ID, nil
}

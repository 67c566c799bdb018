package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// Template shapes: a saved template, one problem the linter found and a
// preview of a template's renders.
type (
	Template          = view.Template
	LinkStats         = view.LinkStats
	TemplateProblem   = view.TemplateProblem
	TemplatePreview   = view.TemplatePreview
	TemplateRendering = view.TemplateRendering
)

func problemsView(ps msgtemplate.Problems) []TemplateProblem {
	out := make([]TemplateProblem, len(ps))
	for i, p := range ps {
		out[i] = TemplateProblem(p)
	}
	return out
}

func renderingView(r msgtemplate.Rendering) TemplateRendering {
	return TemplateRendering{Number: r.Number, Text: r.Text, Plan: Plan(r.Plan)}
}

func previewView(p msgtemplate.PreviewResult) TemplatePreview {
	v := TemplatePreview{Sample: renderingView(p.Sample), Rendered: p.Rendered, Failed: p.Failed, FirstFailure: p.FirstFailure}
	if p.Longest != nil {
		l := renderingView(*p.Longest)
		v.Longest = &l
	}
	return v
}

// TemplateInput is a template to save: ID 0 creates one.
type TemplateInput struct {
	ID   uint64 `json:"-"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	Body string `json:"body"`
}

// TemplateProblemsError refuses a save: the template has problems that
// are errors, all of them listed (notices too).
type TemplateProblemsError struct {
	Problems []TemplateProblem
}

func (e *TemplateProblemsError) Error() string {
	var msgs []string
	for _, p := range e.Problems {
		if !p.Notice {
			msgs = append(msgs, p.Field+": "+p.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// templateKind reads a template's kind; empty is transactional.
func templateKind(k Kind) (store.Kind, error) {
	if k == "" {
		return store.KindTransactional, nil
	}
	kind, ok := store.ParseKind(string(k))
	if !ok || (kind != store.KindMarketing && kind != store.KindTransactional) {
		return 0, &store.FieldError{Field: "kind", Message: "must be marketing or transactional"}
	}
	return kind, nil
}

// Templates lists the saved templates.
func (g *Gateway) Templates() ([]Template, error) {
	ts, err := g.db.ListTemplates()
	if err != nil {
		return nil, err
	}
	out := make([]Template, len(ts))
	for i, t := range ts {
		out[i] = view.FromTemplate(t)
	}
	return out, nil
}

// Template returns one saved template.
func (g *Gateway) Template(id uint64) (Template, error) {
	return asView(view.FromTemplate)(g.db.GetTemplate(id))
}

// LintTemplate checks a template against the contacts and the compliance
// settings (msgtemplate.Lint) and returns every problem, errors and
// notices.
func (g *Gateway) LintTemplate(body string, kind Kind) ([]TemplateProblem, error) {
	k, err := templateKind(kind)
	if err != nil {
		return nil, err
	}
	return problemsView(msgtemplate.Lint(body, msgtemplate.LintInput{Kind: k, Settings: g.policy.Settings(), Audience: g.db.EachContact})), nil
}

// SaveTemplate lints the template and stores it when no problem is an
// error; otherwise it returns a *TemplateProblemsError with every problem.
// Notices (the opt-out line the box adds) come back with the saved
// template.
func (g *Gateway) SaveTemplate(in TemplateInput) (Template, []TemplateProblem, error) {
	kind, err := templateKind(in.Kind)
	if err != nil {
		return Template{}, nil, err
	}
	problems, err := g.LintTemplate(in.Body, in.Kind)
	if err != nil {
		return Template{}, nil, err
	}
	for _, p := range problems {
		if !p.Notice {
			return Template{}, problems, &TemplateProblemsError{Problems: problems}
		}
	}
	t, err := g.db.SaveTemplate(store.Template{ID: in.ID, Name: in.Name, Kind: kind, Body: in.Body})
	if err != nil {
		return Template{}, problems, err
	}
	return view.FromTemplate(t), problems, nil
}

// DeleteTemplate deletes a saved template.
func (g *Gateway) DeleteTemplate(id uint64) error { return g.db.DeleteTemplate(id) }

// PreviewRequest asks for a template's renders.
type PreviewRequest struct {
	Body string `json:"body"`
	Kind Kind   `json:"kind"`
	// Number is the sample contact's number, in any format the region
	// reads; empty: the first contact.
	Number string `json:"number"`
	// EventSeq picks a stored shop event as the sample event; 0: none.
	EventSeq uint64 `json:"event_seq"`
}

// PreviewTemplate renders a template for a real contact (and event) and
// for every contact, with links shortened on the real public URL (codes
// of the real length, nothing stored), and reports the sample's render
// and the longest, with encoding, parts and the characters that forced
// UCS-2.
func (g *Gateway) PreviewTemplate(r PreviewRequest) (TemplatePreview, error) {
	kind, err := templateKind(r.Kind)
	if err != nil {
		return TemplatePreview{}, err
	}
	t, err := msgtemplate.ParseKind(r.Body, kind)
	if err != nil {
		return TemplatePreview{}, err
	}
	var sample store.Contact
	if r.Number != "" {
		sample, err = g.contacts.ByNumber(r.Number)
		if errors.Is(err, store.ErrNotFound) {
			// A number that is not a contact gets the template's
			// fallbacks, as SendTemplate sends it.
			number, nerr := contacts.Normalize(r.Number, g.cfg.Region)
			if nerr != nil {
				return TemplatePreview{}, &store.FieldError{Field: "number", Message: nerr.Error()}
			}
			sample, err = store.Contact{Number: number}, nil
		}
		if err != nil {
			return TemplatePreview{}, fmt.Errorf("number: %w", err)
		}
	} else {
		stop := errors.New("stop")
		err := g.db.EachContact(func(c store.Contact) error { sample = c; return stop })
		if err != nil && !errors.Is(err, stop) {
			return TemplatePreview{}, err
		}
	}
	var event msgtemplate.Vars
	if r.EventSeq != 0 {
		evs, err := g.db.EventsAfter(r.EventSeq-1, 1)
		if err != nil {
			return TemplatePreview{}, err
		}
		if len(evs) == 0 || evs[0].Seq != r.EventSeq {
			return TemplatePreview{}, &store.FieldError{Field: "event_seq", Message: fmt.Sprintf("no stored event %d", r.EventSeq)}
		}
		event = msgtemplate.EventVars(evs[0])
	}
	p, err := t.Preview(msgtemplate.PreviewInput{Contact: sample, Event: event, Audience: g.db.EachContact,
		Finish: func(s string) (string, error) { return g.links.PreviewText(s, kind) }})
	if err != nil {
		return TemplatePreview{}, err
	}
	return previewView(p), nil
}

// FollowLink answers a request for a short link: the URL the code was
// made for, never anything from the request, or an error wrapping
// ErrNotFound. The click is queued (a preview robot's or a HEAD request's
// apart) and stored within links.DefaultFlushEvery.
func (g *Gateway) FollowLink(code, userAgent string, head bool) (string, error) {
	u, err := g.links.Follow(code, userAgent, head)
	if err == nil {
		g.flowLinkFollowed(code, userAgent, head)
	}
	return u, err
}

// LinkStats sums the short links whose origin starts with originPrefix.
func (g *Gateway) LinkStats(originPrefix string) (LinkStats, error) {
	return asView(view.FromLinkStats)(g.links.Stats(originPrefix))
}

// SendTemplateRequest sends a saved template to one number from the
// console's Send page.
type SendTemplateRequest struct {
	To         string
	TemplateID uint64
}

// SendTemplate renders saved template id for the contact of r.To (a number
// that is not a contact gets the template's fallbacks), makes its short
// links and submits the text through the outbox with the template's kind,
// so the guard judges it like any other. A variable the contact lacks
// without a fallback is a FieldError on "template" naming it.
func (g *Gateway) SendTemplate(ctx context.Context, r SendTemplateRequest) (Message, error) {
	number, err := contacts.Normalize(r.To, g.cfg.Region)
	if err != nil {
		return Message{}, &store.FieldError{Field: "to", Message: err.Error()}
	}
	t, err := g.db.GetTemplate(r.TemplateID)
	if errors.Is(err, store.ErrNotFound) {
		return Message{}, &store.FieldError{Field: "template", Message: fmt.Sprintf("no saved template %d", r.TemplateID)}
	}
	if err != nil {
		return Message{}, err
	}
	c, err := g.db.ContactByNumber(number)
	if errors.Is(err, store.ErrNotFound) {
		c, err = store.Contact{Number: number}, nil
	}
	if err != nil {
		return Message{}, err
	}
	tmpl, err := msgtemplate.ParseKind(t.Body, t.Kind)
	if err != nil {
		return Message{}, &store.FieldError{Field: "template", Message: err.Error()}
	}
	rendered, err := tmpl.Render(msgtemplate.ContactVars(c))
	if err != nil {
		return Message{}, &store.FieldError{Field: "template", Message: fmt.Sprintf("%q cannot be filled in for %s: %v", t.Name, number, err)}
	}
	origin := fmt.Sprintf("template:%d", t.ID)
	// One code per (text, URL): each send from the page is a new text.
	key := fmt.Sprintf("console:%s:%s:%d", origin, number, g.cfg.Clock().UnixNano())
	text, err := g.links.Shorten(rendered, links.Owner{Number: number, Origin: origin, MessageKey: key, Kind: t.Kind})
	if errors.Is(err, links.ErrNoBaseURL) {
		return Message{}, &store.FieldError{Field: "template", Message: err.Error()}
	}
	if err != nil {
		return Message{}, err
	}
	m, _, err := g.outbox.Submit(ctx, outbox.SubmitRequest{To: number, Text: text, Kind: t.Kind, Origin: origin})
	if err != nil {
		return Message{}, err
	}
	return view.FromMessage(m), nil
}

package gateway

import (
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/store"
)

// flowTemplates renders the flows' texts with the box's template language
// (flows.Renderer). Parsed templates are kept by source and kind: a flow's
// few templates are rendered for every entry.
type flowTemplates struct {
	mu     sync.Mutex
	parsed map[flowTemplateKey]*msgtemplate.Template
}

type flowTemplateKey struct {
	src  string
	kind store.Kind
}

// maxParsedFlowTemplates bounds the cache: edits make new sources, and a
// box's flows hold a few dozen templates at most.
const maxParsedFlowTemplates = 256

func (t *flowTemplates) template(src string, kind store.Kind) (*msgtemplate.Template, error) {
	k := flowTemplateKey{src, kind}
	t.mu.Lock()
	tmpl := t.parsed[k]
	t.mu.Unlock()
	if tmpl != nil {
		return tmpl, nil
	}
	tmpl, err := msgtemplate.ParseKind(src, kind)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.parsed == nil || len(t.parsed) >= maxParsedFlowTemplates {
		t.parsed = map[flowTemplateKey]*msgtemplate.Template{}
	}
	t.parsed[k] = tmpl
	t.mu.Unlock()
	return tmpl, nil
}

func (t *flowTemplates) Check(src string, kind store.Kind) error {
	_, err := t.template(src, kind)
	return err
}

func (t *flowTemplates) Render(src string, kind store.Kind, c store.Contact, ev *store.ShopEvent) (string, error) {
	tmpl, err := t.template(src, kind)
	if err != nil {
		return "", err
	}
	vars := msgtemplate.ContactVars(c)
	if ev != nil {
		maps.Copy(vars, msgtemplate.EventVars(*ev))
	}
	return tmpl.Render(vars)
}

func (t *flowTemplates) Plain(rendered string) string { return msgtemplate.Plain(rendered) }

// flowLinks makes the short links of the flows' texts (flows.Shortener).
type flowLinks struct{ links *links.Service }

func (f flowLinks) Shorten(rendered string, kind store.Kind, number, origin, key string) (string, error) {
	text, err := f.links.Shorten(rendered, links.Owner{Number: number, Origin: origin, MessageKey: key, Kind: kind})
	if errors.Is(err, links.ErrNoBaseURL) {
		return "", fmt.Errorf("%w: %v", flows.ErrCannotShorten, err)
	}
	return text, err
}

// flowLinkFollowed tells the flows that a person (not a preview robot)
// followed a short link, for the clicked counter of the flow that sent
// it. It reads the link again, as Follow answers with the URL only; the
// redirect has its URL by then, and a read costs microseconds.
func (g *Gateway) flowLinkFollowed(code, userAgent string, head bool) {
	if _, preview := links.Classify(userAgent, head); preview {
		return
	}
	if l, err := g.db.LinkByCode(code); err == nil {
		g.flows.LinkClicked(l.Origin)
	}
}

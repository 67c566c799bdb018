package msgtemplate

import (
	"maps"
	"sync"

	"github.com/simgate/simgate/store"
)

// Cache renders the flows' texts (flows.Renderer), keeping parsed
// templates by source and kind: a flow's few templates are rendered for
// every entry. The zero Cache is ready to use.
type Cache struct {
	mu     sync.Mutex
	parsed map[cacheKey]*Template
}

type cacheKey struct {
	src  string
	kind store.Kind
}

// maxCached bounds the cache: edits make new sources, and a box's flows
// hold a few dozen templates at most.
const maxCached = 256

func (c *Cache) template(src string, kind store.Kind) (*Template, error) {
	k := cacheKey{src, kind}
	c.mu.Lock()
	tmpl := c.parsed[k]
	c.mu.Unlock()
	if tmpl != nil {
		return tmpl, nil
	}
	tmpl, err := ParseKind(src, kind)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil || len(c.parsed) >= maxCached {
		c.parsed = map[cacheKey]*Template{}
	}
	c.parsed[k] = tmpl
	c.mu.Unlock()
	return tmpl, nil
}

// Check reports whether src parses as a template of kind.
func (c *Cache) Check(src string, kind store.Kind) error {
	_, err := c.template(src, kind)
	return err
}

// Render fills in src for contact ct and, when ev is not nil, the event.
func (c *Cache) Render(src string, kind store.Kind, ct store.Contact, ev *store.ShopEvent) (string, error) {
	tmpl, err := c.template(src, kind)
	if err != nil {
		return "", err
	}
	vars := ContactVars(ct)
	if ev != nil {
		maps.Copy(vars, EventVars(*ev))
	}
	return tmpl.Render(vars)
}

// Plain is the text a render sends when nothing shortens its links.
func (c *Cache) Plain(rendered string) string { return Plain(rendered) }

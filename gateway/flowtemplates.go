package gateway

import (
	"errors"

	"github.com/simgate/simgate/store"
)

// errNoTemplates is what a flow's send step meets until the template
// language (gateway/msgtemplate) is wired in: the entry ends with it as
// its reason, and nothing is sent.
var errNoTemplates = errors.New("message templates are not available in this build")

// flowRenderer is the flows' renderer until msgtemplate is merged.
type flowRenderer struct{}

func (flowRenderer) Check(src string, kind store.Kind) error { return nil }

func (flowRenderer) Render(src string, kind store.Kind, c store.Contact, ev *store.ShopEvent) (string, error) {
	return "", errNoTemplates
}

func (flowRenderer) Plain(s string) string { return s }

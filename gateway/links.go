package gateway

import (
	"errors"
	"fmt"

	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// LinkStats sums the short links of an origin.
type LinkStats = view.LinkStats

// FollowLink answers a request for a short link: the URL the code was
// made for, never anything from the request, or an error wrapping
// ErrNotFound. The click is queued (a preview robot's or a HEAD request's
// apart) and stored within links.DefaultFlushEvery.
func (g *Gateway) FollowLink(code, userAgent string, head bool) (string, error) {
	return g.links.Follow(code, userAgent, head)
}

// LinkStats sums the short links whose origin starts with originPrefix.
func (g *Gateway) LinkStats(originPrefix string) (LinkStats, error) {
	return view.One(view.FromLinkStats)(g.links.Stats(originPrefix))
}

// flowLinks makes the short links of the flows' texts (flows.Shortener).
type flowLinks struct{ links *links.Service }

func (f flowLinks) Shorten(rendered string, kind store.Kind, number, origin, key string) (string, error) {
	text, err := f.links.Shorten(rendered, links.Owner{Number: number, Origin: origin, MessageKey: key, Kind: kind})
	if errors.Is(err, links.ErrNoBaseURL) {
		return "", fmt.Errorf("%w: %v", flows.ErrCannotShorten, err)
	}
	return text, err
}

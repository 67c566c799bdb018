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
	u, err := g.links.Follow(code, userAgent, head)
	if err == nil {
		g.flowLinkFollowed(code, userAgent, head)
	}
	return u, err
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

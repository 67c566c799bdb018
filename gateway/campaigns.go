package gateway

import (
	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/links"
)

// Campaigns is the campaigns room: one-off sends to an audience, A/B
// tested against a holdout.
func (g *Gateway) Campaigns() *campaigns.Service { return g.campaigns }

// ClockJumped wakes every part that sleeps until a time: the dispatcher,
// the flows and the campaigns. The test clock (SIMGATE_TEST_CLOCK) calls it
// after moving forward; the real clock never jumps this way.
func (g *Gateway) ClockJumped() {
	g.outbox.Wake()
	g.flows.Wake()
	g.campaigns.Wake()
}

// newCampaigns makes the campaigns room with the other rooms it needs.
func (g *Gateway) newCampaigns() *campaigns.Service {
	return campaigns.New(campaigns.Config{DB: g.db, Outbox: g.outbox, Audiences: campaigns.SegmentAudiences(g.segments),
		Templates: campaigns.StoreTemplates(g.db), Shortener: campaigns.LinkShortener(g.links),
		Results: campaigns.AttributionResults(g.attribution), Prices: g.attribution, BestHours: g.attribution,
		Policy: g.policy, Log: g.events.Log, Clock: g.cfg.Clock, NewLinkCode: links.NewCode})
}

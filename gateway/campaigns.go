package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/store"
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
	return campaigns.New(campaigns.Config{DB: g.db, Outbox: g.outbox, Audiences: campaignAudiences{g},
		Templates: campaignTemplates{g.db}, Shortener: campaignLinks{g.links}, Results: campaignResults{g}, Prices: g.attribution,
		BestHours: g.attribution,
		Policy:    g.policy, Log: g.events.Log, Clock: g.cfg.Clock, NewLinkCode: links.NewCode})
}

// campaignAudiences evaluates a campaign's audience with the segments room:
// a saved segment's rules (copied into the campaign at creation), rules, or
// a pasted list.
type campaignAudiences struct{ g *Gateway }

func (a campaignAudiences) CheckSegment(rules json.RawMessage) error {
	_, err := segments.ParseDefinition(rules, "audience.segment")
	return err
}

func (a campaignAudiences) Segment(ctx context.Context, id uint64) (string, json.RawMessage, error) {
	s, err := a.g.segments.Get(id)
	if err != nil {
		return "", nil, err
	}
	raw, err := json.Marshal(s.Definition)
	return s.Name, raw, err
}

func (a campaignAudiences) Audience(ctx context.Context, rules json.RawMessage, marketing bool) (campaigns.AudienceResult, error) {
	def, err := segments.ParseDefinition(rules, "audience.segment")
	if err != nil {
		return campaigns.AudienceResult{}, err
	}
	aud, err := a.g.segments.Audience(ctx, def, marketing)
	return audienceResult(aud), err
}

func (a campaignAudiences) AudienceOf(ctx context.Context, numbers []string, marketing bool) (campaigns.AudienceResult, error) {
	aud, err := a.g.segments.AudienceOf(ctx, numbers, marketing)
	return audienceResult(aud), err
}

// reasonWords are the segments room's left-out reasons in the words the
// campaign pages count them by.
var reasonWords = map[string]string{segments.ReasonNoConsent: "no consent", segments.ReasonPending: "pending",
	segments.ReasonOptedOut: "opted out", segments.ReasonInvalidNumber: "invalid number"}

func audienceResult(a segments.Audience) campaigns.AudienceResult {
	out := campaigns.AudienceResult{Members: make([]campaigns.Member, len(a.Members)), Invalid: a.Invalid, LeftOut: map[string]int{}}
	for i, m := range a.Members {
		out.Members[i] = campaigns.Member{ContactID: m.ContactID, Number: m.Number, Name: m.Name, TimeZone: m.TimeZone,
			Language: m.Language, TimeZoneDerived: m.TimeZoneDerived}
	}
	for k, n := range a.LeftOut {
		if w, ok := reasonWords[k]; ok {
			k = w
		}
		out.LeftOut[k] += n
	}
	return out
}

// campaignResults reads the attribution room's figures of a campaign or a
// variant ("campaign:5", "campaign:5:variant:a").
type campaignResults struct{ g *Gateway }

func (r campaignResults) Results(key string) (campaigns.OriginResults, error) {
	res, err := r.g.attribution.Results(key)
	if err != nil {
		return campaigns.OriginResults{}, err
	}
	return campaigns.OriginResults{Sent: res.Sent, Delivered: res.Delivered, Failed: res.Failed, UniqueClicks: res.UniqueClicks,
		Orders: res.Orders, MembersOrdered: res.MembersOrdered}, nil
}

// campaignTemplates reads saved templates for campaigns.
type campaignTemplates struct{ db *store.DB }

func (t campaignTemplates) Template(id uint64) (string, string, bool, error) {
	tm, err := t.db.GetTemplate(id)
	if err != nil {
		return "", "", false, err
	}
	return tm.Name, tm.Body, tm.Kind == store.KindMarketing, nil
}

// campaignLinks makes the short links of campaign texts.
type campaignLinks struct{ links *links.Service }

func (l campaignLinks) Assign(texts []string, owners []campaigns.LinkOwner) ([]string, [][]store.Link, error) {
	os := make([]links.Owner, len(owners))
	for i, o := range owners {
		os[i] = links.Owner{Number: o.Number, Origin: o.Origin, MessageKey: o.Key, Kind: kindOf(o.Marketing)}
	}
	out, made, err := l.links.Assign(texts, os)
	if errors.Is(err, links.ErrNoBaseURL) {
		return nil, nil, fmt.Errorf("campaign texts with links: %w", err)
	}
	return out, made, err
}

func (l campaignLinks) Preview(text string, marketing bool) (string, error) {
	out, err := l.links.PreviewText(text, kindOf(marketing))
	if errors.Is(err, links.ErrNoBaseURL) {
		return "", err
	}
	return out, err
}

func kindOf(marketing bool) store.Kind {
	if marketing {
		return store.KindMarketing
	}
	return store.KindTransactional
}

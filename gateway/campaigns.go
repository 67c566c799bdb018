package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/links"
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
		Templates: campaignTemplates{g.db}, Shortener: campaignLinks{g.links}, Policy: g.policy,
		Log: g.events.log, Clock: g.cfg.Clock, NewLinkCode: links.NewCode})
}

// startCampaigns runs the campaigns' planner until ctx is done or the
// returned stop is called, which waits for it.
func (g *Gateway) startCampaigns(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.campaigns.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// campaignAudiences evaluates a campaign's audience. Pasted lists are
// read here from the contacts and the consent records; segment rules need
// the segments room, which the lead wires at merge (until then a campaign
// on a segment is refused naming the field).
type campaignAudiences struct{ g *Gateway }

var errNoSegments = &store.FieldError{Field: "audience.segment", Message: "segments are not available in this build: paste a list of numbers"}

func (a campaignAudiences) CheckSegment(json.RawMessage) error { return errNoSegments }

func (a campaignAudiences) Segment(context.Context, uint64) (string, json.RawMessage, error) {
	return "", nil, errNoSegments
}

func (a campaignAudiences) Audience(context.Context, json.RawMessage, bool) (campaigns.AudienceResult, error) {
	return campaigns.AudienceResult{}, errNoSegments
}

// maxInvalidShown bounds the raw inputs an audience quotes as not numbers.
const maxInvalidShown = 10

func (a campaignAudiences) AudienceOf(ctx context.Context, raw []string, marketing bool) (campaigns.AudienceResult, error) {
	out := campaigns.AudienceResult{LeftOut: map[string]int{}}
	seen := map[string]bool{}
	var numbers []string
	for _, r := range raw {
		n, err := contacts.Normalize(r, a.g.cfg.Region)
		if err != nil {
			out.LeftOut["invalid number"]++
			if len(out.Invalid) < maxInvalidShown {
				out.Invalid = append(out.Invalid, r)
			}
			continue
		}
		if !seen[n] {
			seen[n] = true
			numbers = append(numbers, n)
		}
	}
	standings, err := a.g.db.ConsentsOf(numbers)
	if err != nil {
		return out, err
	}
	for _, n := range numbers {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if marketing {
			st := standings[n]
			switch {
			case st.Suppressed:
				out.LeftOut["erased on request"]++
				continue
			case st.Consent.OptedOutAll || st.Consent.Marketing == store.MarketingOptedOut:
				out.LeftOut["opted out"]++
				continue
			case st.Consent.Marketing == store.MarketingPending:
				out.LeftOut["pending"]++
				continue
			case st.Consent.Marketing != store.MarketingConfirmed:
				out.LeftOut["no consent"]++
				continue
			}
		}
		m := campaigns.Member{Number: n}
		c, err := a.g.db.ContactByNumber(n)
		switch {
		case err == nil:
			m = campaigns.Member{ContactID: c.ID, Number: n, Name: c.Name, TimeZone: c.TimeZone, Language: c.Language, TimeZoneDerived: c.TimeZoneDerived}
		case !errors.Is(err, store.ErrNotFound):
			return out, err
		}
		out.Members = append(out.Members, m)
	}
	slices.SortFunc(out.Members, func(x, y campaigns.Member) int {
		if x.ContactID != y.ContactID {
			return compareUint(x.ContactID, y.ContactID)
		}
		if x.Number < y.Number {
			return -1
		}
		if x.Number > y.Number {
			return 1
		}
		return 0
	})
	return out, nil
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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

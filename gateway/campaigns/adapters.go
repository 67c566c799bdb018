package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/simgate/simgate/gateway/attribution"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/store"
)

// The adapters below turn the other rooms into the interfaces a campaign
// needs. They live here because the rules they apply are the campaigns'
// (the field an audience's error names, the words left-out members are
// counted by, the origin keys of results); gateway.New only wires them.

// SegmentAudiences evaluates a campaign's audience with the segments room:
// a saved segment's rules (copied into the campaign at creation), rules, or
// a pasted list.
func SegmentAudiences(s *segments.Service) Audiences { return segmentAudiences{s} }

type segmentAudiences struct{ s *segments.Service }

func (a segmentAudiences) CheckSegment(rules json.RawMessage) error {
	_, err := segments.ParseDefinition(rules, "audience.segment")
	return err
}

func (a segmentAudiences) Segment(ctx context.Context, id uint64) (string, json.RawMessage, error) {
	s, err := a.s.Get(id)
	if err != nil {
		return "", nil, err
	}
	raw, err := json.Marshal(s.Definition)
	return s.Name, raw, err
}

func (a segmentAudiences) Audience(ctx context.Context, rules json.RawMessage, marketing bool) (AudienceResult, error) {
	def, err := segments.ParseDefinition(rules, "audience.segment")
	if err != nil {
		return AudienceResult{}, err
	}
	aud, err := a.s.Audience(ctx, def, marketing)
	return audienceResult(aud), err
}

func (a segmentAudiences) AudienceOf(ctx context.Context, numbers []string, marketing bool) (AudienceResult, error) {
	aud, err := a.s.AudienceOf(ctx, numbers, marketing)
	return audienceResult(aud), err
}

// reasonWords are the segments room's left-out reasons in the words the
// campaign pages count them by.
var reasonWords = map[string]string{segments.ReasonNoConsent: "no consent", segments.ReasonPending: "pending",
	segments.ReasonOptedOut: "opted out", segments.ReasonInvalidNumber: "invalid number"}

func audienceResult(a segments.Audience) AudienceResult {
	out := AudienceResult{Members: make([]Member, len(a.Members)), Invalid: a.Invalid, LeftOut: map[string]int{}}
	for i, m := range a.Members {
		out.Members[i] = Member{ContactID: m.ContactID, Number: m.Number, Name: m.Name, TimeZone: m.TimeZone,
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

// AttributionResults reads the attribution room's figures of a campaign or
// a variant ("campaign:5", "campaign:5:variant:a").
func AttributionResults(s *attribution.Service) Results { return attributionResults{s} }

type attributionResults struct{ s *attribution.Service }

func (r attributionResults) Results(key string) (OriginResults, error) {
	res, err := r.s.Results(key)
	if err != nil {
		return OriginResults{}, err
	}
	return OriginResults{Sent: res.Sent, Delivered: res.Delivered, Failed: res.Failed, UniqueClicks: res.UniqueClicks,
		Orders: res.Orders, MembersOrdered: res.MembersOrdered}, nil
}

// StoreTemplates reads saved templates for campaigns.
func StoreTemplates(db *store.DB) Templates { return storeTemplates{db} }

type storeTemplates struct{ db *store.DB }

func (t storeTemplates) Template(id uint64) (string, string, bool, error) {
	tm, err := t.db.GetTemplate(id)
	if err != nil {
		return "", "", false, err
	}
	return tm.Name, tm.Body, tm.Kind == store.KindMarketing, nil
}

// LinkShortener makes the short links of campaign texts with the links
// room.
func LinkShortener(s *links.Service) Shortener { return linkShortener{s} }

type linkShortener struct{ s *links.Service }

func (l linkShortener) Assign(texts []string, owners []LinkOwner) ([]string, [][]store.Link, error) {
	os := make([]links.Owner, len(owners))
	for i, o := range owners {
		os[i] = links.Owner{Number: o.Number, Origin: o.Origin, MessageKey: o.Key, Kind: kindOf(o.Marketing)}
	}
	out, made, err := l.s.Assign(texts, os)
	if errors.Is(err, links.ErrNoBaseURL) {
		return nil, nil, fmt.Errorf("campaign texts with links: %w", err)
	}
	return out, made, err
}

func (l linkShortener) Preview(text string, marketing bool) (string, error) {
	out, err := l.s.PreviewText(text, kindOf(marketing))
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

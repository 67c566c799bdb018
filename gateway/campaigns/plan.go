package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

// maxSleep bounds Run's sleep: Wake and the times it computes do the
// work; this is the net under them.
const maxSleep = time.Minute

// Skipped reasons, in a shop owner's words.
const (
	skipRender    = "the text could not be filled in"
	skipAfterEnd  = "their time comes after the campaign ends"
	skipNeverOpen = "quiet hours never allow a text to their number"
	skipRefused   = "the text was refused"
)

// templates parses each variant's text.
func (p *plan) templates() ([]*msgtemplate.Template, error) {
	out := make([]*msgtemplate.Template, len(p.variants))
	for i := range p.variants {
		t, err := msgtemplate.ParseKind(p.bodyOf(i), p.kind)
		if err != nil {
			field := "template.body"
			if p.variants[i].Body != "" {
				field = fmt.Sprintf("variants[%d].body", i)
			}
			var fe *store.FieldError
			if errors.As(err, &fe) {
				return nil, fieldErr(field, "%s", fe.Message)
			}
			return nil, fieldErr(field, "%v", err)
		}
		out[i] = t
	}
	return out, nil
}

// renderFor renders t for m, with the contact's fields when m is one.
func renderFor(t *msgtemplate.Template, m Member, contacts map[uint64]store.Contact) (string, error) {
	c, ok := contacts[m.ContactID]
	if !ok {
		c = store.Contact{Number: m.Number, Name: m.Name, TimeZone: m.TimeZone, Language: m.Language}
	}
	return t.Render(msgtemplate.ContactVars(c))
}

// Run plans campaigns whose time has come and moves them along until ctx
// is done. Planning interrupted by a stop resumes at the next Run.
func (s *Service) Run(ctx context.Context) error {
	for {
		next := s.tick(ctx)
		if ctx.Err() != nil {
			return nil
		}
		sleep := maxSleep
		if !next.IsZero() {
			if d := next.Sub(s.now()); d < sleep {
				sleep = max(d, 0)
			}
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// tick advances every campaign that can move and returns when the next
// one wants looking at (zero: no time known).
func (s *Service) tick(ctx context.Context) time.Time {
	cs, err := s.db.Campaigns()
	if err != nil {
		s.log.Error("campaigns: list", "err", err)
		return s.now().Add(maxSleep)
	}
	var next time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, c := range cs {
		if ctx.Err() != nil {
			return next
		}
		t, err := s.advance(ctx, c)
		if err != nil && ctx.Err() == nil {
			s.log.Error("campaigns: advance", "campaign", c.ID, "err", err)
			soonest(s.now().Add(maxSleep))
		}
		soonest(t)
	}
	return next
}

// Step advances one campaign as Run would, for tests and a clock jump.
func (s *Service) Step(ctx context.Context, id uint64) error {
	c, err := s.db.GetCampaign(id)
	if err != nil {
		return err
	}
	_, err = s.advance(ctx, c)
	return err
}

// advance moves campaign c on as far as it can now and returns when it
// wants looking at next.
func (s *Service) advance(ctx context.Context, c store.Campaign) (time.Time, error) {
	now := s.now()
	x := readExtra(c)
	switch c.State {
	case store.CampaignScheduled:
		if c.StartAt.After(now) {
			return c.StartAt, nil
		}
		var err error
		c, err = s.db.UpdateCampaign(c.ID, func(c *store.Campaign) error {
			if c.State != store.CampaignScheduled {
				return fmt.Errorf("%w: the campaign is %s", store.ErrConflict, c.State)
			}
			c.State = store.CampaignSending
			return nil
		})
		if errors.Is(err, store.ErrConflict) {
			return time.Time{}, nil
		}
		if err != nil {
			return time.Time{}, err
		}
		fallthrough
	case store.CampaignSending:
		x = readExtra(c)
		switch {
		case c.Phase == "test" && x.TestDone:
			if x.AwaitingPick {
				return time.Time{}, nil
			}
			if x.DecideAt.After(now) {
				return x.DecideAt, nil
			}
			return now, s.decide(c)
		case c.Phase == "done":
			// Every member is planned; the campaign is done once the last
			// text's time has passed.
			if x.LastAt.After(now) {
				return x.LastAt, nil
			}
			_, err := s.db.UpdateCampaign(c.ID, func(c *store.Campaign) error {
				if c.State == store.CampaignSending {
					c.State = store.CampaignDone
				}
				return nil
			})
			return time.Time{}, err
		}
		return s.planPhase(ctx, c)
	}
	return time.Time{}, nil
}

// decide measures the test texts and either names the winner (the rest
// is planned with it) or waits for the owner's pick.
func (s *Service) decide(c store.Campaign) error {
	var def Definition
	if err := json.Unmarshal(c.Definition, &def); err != nil {
		return err
	}
	metric := MetricClickRate
	if def.TestFirst != nil {
		metric = def.TestFirst.Metric
	}
	var outcomes []VariantOutcome
	for _, v := range def.Variants {
		o := VariantOutcome{Key: v.Key}
		if s.cfg.Results != nil {
			r, err := s.cfg.Results.Results(Origin(c.ID, v.Key))
			if err != nil {
				return err
			}
			o.Trials, o.Successes = r.Sent, r.UniqueClicks
			if metric == MetricConversionRate {
				o.Successes = r.MembersOrdered
			}
		}
		outcomes = append(outcomes, o)
	}
	d := Decide(metric, outcomes)
	_, err := s.db.UpdateCampaign(c.ID, func(c *store.Campaign) error {
		x := readExtra(*c)
		if c.State != store.CampaignSending || x.Decision != nil {
			return nil
		}
		x.Decision = &d
		if d.Winner == "" {
			x.AwaitingPick = true
			c.Note = d.Summary
		} else {
			x.Picked = d.Winner
			c.Phase, c.Cursor, c.Note = "rest", "", d.Summary
		}
		c.Extra = x.raw()
		return nil
	})
	if err == nil {
		s.Wake()
	}
	return err
}

// cursorOf encodes the last member a batch planned; members are planned in
// (contact ID, number) order.
func cursorOf(m Member) string { return strconv.FormatUint(m.ContactID, 10) + " " + m.Number }

func afterCursor(m Member, cursor string) bool {
	if cursor == "" {
		return true
	}
	id, number, _ := strings.Cut(cursor, " ")
	cid, _ := strconv.ParseUint(id, 10, 64)
	if m.ContactID != cid {
		return m.ContactID > cid
	}
	return m.Number > number
}

// planPhase plans the current phase of campaign c in batches, from its
// cursor, and ends the phase when the audience is through.
func (s *Service) planPhase(ctx context.Context, c store.Campaign) (time.Time, error) {
	s.mu.Lock()
	if s.planning[c.ID] {
		s.mu.Unlock()
		return time.Time{}, nil
	}
	s.planning[c.ID] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.planning, c.ID)
		s.mu.Unlock()
	}()

	var def Definition
	if err := json.Unmarshal(c.Definition, &def); err != nil {
		return time.Time{}, err
	}
	p, err := normalise(def, time.Time{}, s.cfg.Zone)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored definition: %w", err)
	}
	tmpls, err := p.templates()
	if err != nil {
		return time.Time{}, fmt.Errorf("stored definition: %w", err)
	}
	aud, err := s.audience(ctx, p)
	if err != nil {
		return time.Time{}, err
	}
	members := aud.Members
	slices.SortFunc(members, func(a, b Member) int {
		if a.ContactID != b.ContactID {
			if a.ContactID < b.ContactID {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Number, b.Number)
	})
	x := readExtra(c)
	best, err := s.bestHoursFor(p, members)
	if err != nil {
		return time.Time{}, err
	}
	pl := &planner{s: s, c: c, p: p, tmpls: tmpls, x: x, settings: s.cfg.Policy.Settings(), rules: rulesCache{}, best: best}
	start := 0
	for start < len(members) && !afterCursor(members[start], c.Cursor) {
		start++
	}
	for i := start; i < len(members); i += s.cfg.BatchSize {
		if ctx.Err() != nil {
			return time.Time{}, nil
		}
		page := members[i:min(i+s.cfg.BatchSize, len(members))]
		last := i+len(page) >= len(members)
		done, err := pl.commit(ctx, page, last)
		if errors.Is(err, store.ErrConflict) {
			return time.Time{}, nil // paused or cancelled meanwhile
		}
		if err != nil {
			return time.Time{}, err
		}
		if done {
			break
		}
	}
	if len(members) == start {
		// Nothing (more) to plan: end the phase without a batch of members.
		if _, err := pl.commit(ctx, nil, true); err != nil && !errors.Is(err, store.ErrConflict) {
			return time.Time{}, err
		}
	}
	s.Wake()
	return time.Time{}, nil
}

// planner plans one phase of one campaign.
type planner struct {
	s        *Service
	c        store.Campaign
	p        plan
	tmpls    []*msgtemplate.Template
	x        extra
	settings compliance.Settings
	rules    rulesCache
	best     *bestHours // nil unless the schedule is best_hour
}

// commit plans page and records it in one transaction; last ends the
// phase. It reports whether the phase is over.
func (pl *planner) commit(ctx context.Context, page []Member, last bool) (bool, error) {
	s, c, p := pl.s, pl.c, &pl.p
	now := s.now()
	ids := make([]uint64, 0, len(page))
	for _, m := range page {
		if m.ContactID != 0 {
			ids = append(ids, m.ContactID)
		}
	}
	contacts, err := s.db.ContactsByID(ids)
	if err != nil {
		return false, err
	}
	hours := map[int64]int{}
	for h, n := range pl.x.Hours {
		hours[h] = n
	}
	x := pl.x
	x.Hours = hours
	type pending struct {
		member  store.CampaignMember
		req     outbox.SubmitRequest
		variant int
		links   []store.Link
	}
	var todo []pending
	var holdouts []store.CampaignPlan
	skipped := map[string]int64{}
	tf := p.def.TestFirst
	for _, m := range page {
		key := MemberKey(m.ContactID, m.Number)
		variant := Assign(c.ID, key, p.def.Holdout, p.variants)
		inTest := tf == nil || InTestGroup(c.ID, key, tf.Percent)
		switch c.Phase {
		case "test":
			// The holdout is recorded once, with the test part.
			if !inTest && variant != store.HoldoutVariant {
				continue
			}
		case "rest":
			if inTest || variant == store.HoldoutVariant {
				continue
			}
			variant = x.Picked
		}
		vi := 0
		for i, v := range p.variants {
			if v.Key == variant {
				vi = i
			}
		}
		hour, err := pl.best.of(m)
		if err != nil {
			return false, err
		}
		at := p.sendTime(m, vi, now, &pl.settings, s.cfg.Zone, pl.rules, hour)
		if p.kind == store.KindMarketing {
			at = compliance.NextAllowed(at, pl.rules.rules(m, &pl.settings))
			if at.IsZero() {
				skipped[skipNeverOpen]++
				continue
			}
		}
		member := store.CampaignMember{Variant: variant, Number: m.Number, ContactID: m.ContactID, At: at}
		if variant == store.HoldoutVariant {
			holdouts = append(holdouts, store.CampaignPlan{Member: member})
			continue
		}
		if p.def.Throttle != nil {
			at = throttleSlot(at, *p.def.Throttle, hours)
			member.At = at
		}
		if !p.end.IsZero() && !at.Before(p.end) {
			skipped[skipAfterEnd]++
			continue
		}
		rendered, err := renderFor(pl.tmpls[vi], m, contacts)
		if err != nil {
			skipped[skipRender]++
			continue
		}
		todo = append(todo, pending{member: member, variant: vi, req: outbox.SubmitRequest{
			To: m.Number, Text: rendered, Kind: p.kind, IdempotencyKey: TextKey(c.ID, key), IdempotencyScope: Scope(c.ID),
			ExitKey: store.CampaignExitKey(c.ID), Origin: Origin(c.ID, variant), NotBefore: at, ExpiresAt: p.end}})
	}
	if s.cfg.Shortener != nil && len(todo) > 0 {
		texts := make([]string, len(todo))
		owners := make([]LinkOwner, len(todo))
		for i, t := range todo {
			texts[i] = t.req.Text
			owners[i] = LinkOwner{Number: t.req.To, Origin: t.req.Origin, Key: t.req.IdempotencyKey, Marketing: p.kind == store.KindMarketing}
		}
		short, made, err := s.cfg.Shortener.Assign(texts, owners)
		if err != nil {
			return false, fmt.Errorf("short links: %w", err)
		}
		for i := range todo {
			todo[i].req.Text, todo[i].links = short[i], made[i]
		}
	} else {
		for i := range todo {
			todo[i].req.Text = msgtemplate.Plain(todo[i].req.Text)
		}
	}
	plans := holdouts
	for _, t := range todo {
		msg, err := s.cfg.Outbox.NewSubmission(t.req)
		if err != nil {
			var fe *store.FieldError
			if errors.As(err, &fe) {
				skipped[skipRefused+": "+fe.Message]++
				continue
			}
			return false, err
		}
		plans = append(plans, store.CampaignPlan{Member: t.member, Message: &msg, Links: t.links})
		if x.FirstAt.IsZero() || t.member.At.Before(x.FirstAt) {
			x.FirstAt = t.member.At
		}
		if t.member.At.After(x.LastAt) {
			x.LastAt = t.member.At
		}
	}
	for _, h := range holdouts {
		if x.FirstAt.IsZero() || h.Member.At.Before(x.FirstAt) {
			x.FirstAt = h.Member.At
		}
	}
	cursor := c.Cursor
	if len(page) > 0 {
		cursor = cursorOf(page[len(page)-1])
	}
	res, err := s.db.CommitCampaignBatch(store.CampaignBatch{Campaign: c.ID, Plans: plans, Skipped: skipped, Cursor: cursor,
		NewLinkCode: s.cfg.NewLinkCode,
		Update: func(sc *store.Campaign) error {
			if !last {
				sc.Extra = x.raw()
				return nil
			}
			switch sc.Phase {
			case "test":
				x.TestDone = true
				wait := time.Duration(p.def.TestFirst.WaitHours) * time.Hour
				x.DecideAt = now.Add(wait)
				if x.LastAt.After(now) {
					x.DecideAt = x.LastAt.Add(wait)
				}
			default:
				sc.Phase = "done"
			}
			sc.Extra = x.raw()
			return nil
		}})
	if err != nil {
		return false, err
	}
	pl.c, pl.x = res.Campaign, readExtra(res.Campaign)
	s.cfg.Outbox.Published(res.Messages)
	return last, nil
}

package campaigns

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// DryRun is what a campaign would do if sent now, before anything is
// stored or sent.
type DryRun struct {
	// Audience is who the segment or list holds after the consent rule;
	// Recipients those who would get a text.
	Audience   int            `json:"audience"`
	Recipients int            `json:"recipients"`
	Holdout    int            `json:"holdout"`
	ByVariant  map[string]int `json:"by_variant"`
	// SplitEstimated: the campaign is not saved yet, so who falls in which
	// variant or the holdout is drawn for a stand-in ID (assignment hashes
	// the campaign's ID with the contact). The shares hold; the saved
	// campaign's own dry run has its exact split.
	SplitEstimated bool `json:"split_estimated,omitempty"`
	// LeftOut counts who gets nothing and why (the audience's consent
	// rule, the guard, the end time, a text that cannot be filled in).
	LeftOut map[string]int `json:"left_out,omitempty"`
	Invalid []string       `json:"invalid,omitempty"`
	// Delayed counts texts the guard would hold past their planned time
	// (frequency cap, quiet hours, an open opt-out review).
	Delayed int `json:"delayed,omitempty"`
	// Parts is the SMS parts of all texts; Longest the longest rendering.
	Parts   int        `json:"parts"`
	Longest *Rendering `json:"longest,omitempty"`
	// FirstAt is the first planned text; Finish when the last would go,
	// given the SIMs' daily and per-minute limits, quiet hours and the
	// throttle.
	FirstAt time.Time `json:"first_at,omitempty"`
	Finish  time.Time `json:"finish,omitempty"`
	SIMs    int       `json:"sims"`
	// Cost of the parts at the SIMs' price per part; CostNote says why
	// there is none ("no price set").
	Cost     *Money   `json:"cost,omitempty"`
	CostNote string   `json:"cost_note,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Rendering is one member's text as it would be sent.
type Rendering struct {
	Number   string `json:"number"`
	Variant  string `json:"variant"`
	Text     string `json:"text"`
	Parts    int    `json:"parts"`
	Encoding string `json:"encoding"`
}

// Money is an amount in minor units of an ISO 4217 currency.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// DryRun validates def as Create would and reports what sending it would
// do; nothing is stored.
func (s *Service) DryRun(ctx context.Context, def Definition) (DryRun, error) {
	p, aud, err := s.prepare(ctx, def)
	if err != nil {
		return DryRun{}, err
	}
	d, err := s.dryRun(ctx, p, aud, 0)
	d.SplitEstimated = len(def.Variants) > 1 || def.Holdout > 0
	return d, err
}

// DryRunOf is DryRun for a saved draft.
func (s *Service) DryRunOf(ctx context.Context, id uint64) (DryRun, error) {
	c, err := s.db.GetCampaign(id)
	if err != nil {
		return DryRun{}, err
	}
	var def Definition
	if err := json.Unmarshal(c.Definition, &def); err != nil {
		return DryRun{}, err
	}
	p, aud, err := s.prepare(ctx, def)
	if err != nil {
		return DryRun{}, err
	}
	return s.dryRun(ctx, p, aud, id)
}

// dryRunPage is how many members a dry run renders and judges at a time.
const dryRunPage = 2000

func (s *Service) dryRun(ctx context.Context, p plan, aud AudienceResult, id uint64) (DryRun, error) {
	now := s.now()
	settings := s.cfg.Policy.Settings()
	tmpls, err := p.templates()
	if err != nil {
		return DryRun{}, err
	}
	out := DryRun{Audience: len(aud.Members), ByVariant: map[string]int{}, LeftOut: map[string]int{}, Invalid: aud.Invalid}
	maps.Copy(out.LeftOut, aud.LeftOut)
	hours := map[int64]int{}
	rc := rulesCache{}
	best, err := s.bestHoursFor(p, aud.Members)
	if err != nil {
		return DryRun{}, err
	}
	type send struct {
		at    time.Time
		parts int
	}
	var sends []send
	for i := 0; i < len(aud.Members); i += dryRunPage {
		if err := ctx.Err(); err != nil {
			return DryRun{}, err
		}
		page := aud.Members[i:min(i+dryRunPage, len(aud.Members))]
		var ids []uint64
		var numbers []string
		for _, m := range page {
			ids = append(ids, m.ContactID)
			numbers = append(numbers, m.Number)
		}
		contacts, err := s.db.ContactsByID(ids)
		if err != nil {
			return DryRun{}, err
		}
		standings, err := s.db.ConsentsOf(numbers)
		if err != nil {
			return DryRun{}, err
		}
		for _, m := range page {
			key := MemberKey(m.ContactID, m.Number)
			variant := Assign(id, key, p.def.Holdout, p.variants)
			if variant == store.HoldoutVariant {
				out.Holdout++
				continue
			}
			vi := strings.IndexByte(variantKeys, variant[0])
			hour, err := best.of(m)
			if err != nil {
				return DryRun{}, err
			}
			at := p.sendTime(m, vi, now, &settings, s.cfg.Zone, rc, hour)
			if p.def.Throttle != nil {
				at = throttleSlot(at, *p.def.Throttle, hours)
			}
			rendered, err := renderFor(tmpls[vi], m, contacts)
			if err != nil {
				out.LeftOut[skipRender]++
				continue
			}
			text := rendered
			if s.cfg.Shortener != nil {
				if text, err = s.cfg.Shortener.Preview(rendered, p.kind == store.KindMarketing); err != nil {
					return DryRun{}, err
				}
			}
			// Ask the guard what it would decide at the planned time.
			st := standings[m.Number]
			msg := store.Message{To: m.Number, Kind: p.kind, Status: store.StatusQueued, ExpiresAt: p.end}
			if msg.ExpiresAt.IsZero() {
				msg.ExpiresAt = at.Add(30 * 24 * time.Hour)
			}
			v := compliance.Judge(&msg, &st.Consent, st.Suppressed, rc.rules(m, &settings), &settings, at)
			switch v.Kind {
			case compliance.VerdictSuppress:
				out.LeftOut[shortReason(v.Reason)]++
				continue
			case compliance.VerdictExpire:
				out.LeftOut[skipAfterEnd]++
				continue
			case compliance.VerdictDefer:
				if v.Until.After(at) {
					out.Delayed++
					at = v.Until
				}
			}
			if !p.end.IsZero() && !at.Before(p.end) {
				out.LeftOut[skipAfterEnd]++
				continue
			}
			tp := modem.PlanText(text)
			out.Recipients++
			out.ByVariant[variant]++
			out.Parts += tp.Parts
			if out.Longest == nil || tp.Parts > out.Longest.Parts || (tp.Parts == out.Longest.Parts && len(text) > len(out.Longest.Text)) {
				out.Longest = &Rendering{Number: m.Number, Variant: variant, Text: text, Parts: tp.Parts, Encoding: tp.Encoding}
			}
			sends = append(sends, send{at, tp.Parts})
		}
	}
	if len(out.LeftOut) == 0 {
		out.LeftOut = nil
	}
	sort.Slice(sends, func(i, j int) bool { return sends[i].at.Before(sends[j].at) })
	fleet := s.cfg.Outbox.Modems()
	out.SIMs = len(fleet)
	if len(sends) > 0 {
		out.FirstAt = sends[0].at
		at := make([]time.Time, len(sends))
		parts := make([]int, len(sends))
		for i, sd := range sends {
			at[i], parts[i] = sd.at, sd.parts
		}
		out.Finish = estimateFinish(at, parts, fleet, s.cfg.Zone, now)
	}
	s.costOf(&out, fleet)
	out.Warnings = warnings(out, p, fleet, s.cfg.Zone)
	return out, nil
}

// shortReason is the guard's reason without its detail, to count by.
func shortReason(r string) string {
	switch {
	case strings.Contains(r, "opted out"):
		return "opted out"
	case strings.Contains(r, "not confirmed"):
		return "pending"
	case strings.Contains(r, "suppression list"):
		return "erased on request"
	case strings.Contains(r, "no marketing consent"):
		return "no consent"
	case strings.Contains(r, "never opens"):
		return skipNeverOpen
	}
	return r
}

// estimateFinish walks the planned times in order through the fleet's
// combined limits: the parts per minute of the SIMs that are up, their
// parts and new recipients per day (what is left of today's first), days
// in the box's zone. Quiet hours are in the planned times already.
func estimateFinish(at []time.Time, parts []int, fleet []outboxModem, zone *time.Location, now time.Time) time.Time {
	perMinute, perDay, uniquePerDay, leftToday := 0, 0, 0, 0
	unlimitedDay := false
	for _, m := range fleet {
		if m.Paused {
			continue
		}
		l := defaultLimits()
		if m.Budget != nil {
			l = m.Budget.Limits
		}
		perMinute += l.PerMinute
		if l.PerDay == 0 {
			unlimitedDay = true
		}
		perDay += l.PerDay
		uniquePerDay += l.UniquePerDay
		if m.Budget != nil && m.Budget.RemainingToday >= 0 {
			leftToday += m.Budget.RemainingToday
		} else {
			leftToday += l.PerDay
		}
	}
	if perMinute == 0 && perDay == 0 && !unlimitedDay {
		return time.Time{} // no SIM: never
	}
	day := func(t time.Time) string { return t.In(zone).Format(dateLayout) }
	t := now
	curDay, usedParts, usedTexts := day(now), perDay-leftToday, 0
	for i := range at {
		if at[i].After(t) {
			t = at[i]
		}
		if d := day(t); d != curDay {
			curDay, usedParts, usedTexts = d, 0, 0
		}
		for (!unlimitedDay && perDay > 0 && usedParts+parts[i] > perDay) || (uniquePerDay > 0 && usedTexts+1 > uniquePerDay) {
			lt := t.In(zone)
			t = time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, zone)
			curDay, usedParts, usedTexts = day(t), 0, 0
		}
		usedParts += parts[i]
		usedTexts++
		if perMinute > 0 {
			t = t.Add(time.Duration(parts[i]) * time.Minute / time.Duration(perMinute))
		}
	}
	return t
}

func (s *Service) costOf(out *DryRun, fleet []outboxModem) {
	if s.cfg.Prices == nil {
		out.CostNote = "no price set"
		return
	}
	var price int64
	currency := ""
	for _, m := range fleet {
		minor, cur, ok := s.cfg.Prices.PartPrice(m.Name)
		if !ok {
			continue
		}
		if currency != "" && cur != currency {
			out.CostNote = "the SIMs' prices are in different currencies"
			return
		}
		currency, price = cur, max(price, minor)
	}
	if currency == "" {
		out.CostNote = "no price set"
		return
	}
	out.Cost = &Money{Minor: price * int64(out.Parts), Currency: currency}
	if len(fleet) > 1 {
		out.CostNote = "at the dearest SIM's price per part"
	}
}

// warnings says in words what the owner should know before pressing Send.
func warnings(out DryRun, p plan, fleet []outboxModem, zone *time.Location) []string {
	var w []string
	if len(fleet) == 0 {
		w = append(w, "no SIM is set up: nothing can be sent until one is")
	}
	if out.Recipients == 0 {
		w = append(w, "no one would get a text")
	}
	finish := func() string { return out.Finish.In(zone).Format("Monday 2 January at 15:04") }
	if !out.Finish.IsZero() && len(fleet) > 0 {
		perDay := 0
		for _, m := range fleet {
			l := defaultLimits()
			if m.Budget != nil {
				l = m.Budget.Limits
			}
			perDay = l.PerDay
		}
		sims := fmt.Sprintf("%d SIM", len(fleet))
		if len(fleet) > 1 {
			sims += "s"
		}
		if !p.end.IsZero() && out.Finish.After(p.end) {
			w = append(w, fmt.Sprintf("%s at %d a day: the last text goes on %s, after your sale ends (%s); texts not sent by then are dropped",
				sims, perDay, finish(), p.end.In(zone).Format("Monday 2 January at 15:04")))
		} else if !out.FirstAt.IsZero() && out.Finish.In(zone).YearDay() != out.FirstAt.In(zone).YearDay() {
			w = append(w, fmt.Sprintf("%s at %d a day: the last text goes on %s", sims, perDay, finish()))
		}
	}
	if out.Delayed > 0 {
		w = append(w, fmt.Sprintf("%d text(s) would wait for quiet hours, the frequency cap or an open opt-out review", out.Delayed))
	}
	if out.Longest != nil && out.Longest.Parts > 1 {
		w = append(w, fmt.Sprintf("the longest text is %d SMS parts (%s): each part is paid and counts against the SIMs' limits", out.Longest.Parts, out.Longest.Encoding))
	}
	return w
}

// leftOutWords lists reasons with their counts, most first.
func leftOutWords(m map[string]int) string {
	if len(m) == 0 {
		return "the audience is empty"
	}
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return "left out: " + strings.Join(parts, ", ")
}

type outboxModem = outbox.ModemStatus

func defaultLimits() simlimits.Limits { return simlimits.DefaultLimits() }

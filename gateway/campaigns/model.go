package campaigns

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/store"
)

// Definition is a campaign as the owner asks for it: who, what, when. At
// creation a saved segment's rules and a saved template's body are copied
// in (a snapshot), so editing or deleting either later changes no
// campaign already made.
type Definition struct {
	Name     string   `json:"name"`
	Audience Audience `json:"audience"`
	Template Template `json:"template"`
	// Kind is "marketing" (the default) or "transactional". A saved
	// template's kind wins.
	Kind     string   `json:"kind,omitempty"`
	Schedule Schedule `json:"schedule"`
	// End is when the sale is over: texts not sent by then expire. In the
	// shop's zone ("2026-12-08T23:00") or RFC 3339.
	End string `json:"end,omitempty"`
	// Throttle is the most texts per hour the campaign sends across the
	// fleet, on top of each SIM's own limits; nil: no throttle.
	Throttle *int `json:"throttle,omitempty"`
	// Variants are 2-4 versions of the text or send time, each with a
	// share of the audience; none: one text for everyone.
	Variants []Variant `json:"variants,omitempty"`
	// Holdout is the percentage of the audience that gets nothing, so the
	// campaign's lift over doing nothing can be measured.
	Holdout int `json:"holdout,omitempty"`
	// TestFirst sends the variants to part of the audience first and the
	// winner to the rest.
	TestFirst *TestFirst `json:"test_first,omitempty"`
}

// Audience is who a campaign is for: a saved segment, a segment
// definition, or a pasted list of numbers.
type Audience struct {
	SegmentID   uint64          `json:"segment_id,omitempty"`
	SegmentName string          `json:"segment_name,omitempty"` // filled in at creation
	Segment     json.RawMessage `json:"segment,omitempty"`      // the rules (a snapshot of a saved segment's)
	Numbers     []string        `json:"numbers,omitempty"`
}

// Template is the text: a saved template or a body written for the
// campaign, in the box's template language.
type Template struct {
	ID   uint64 `json:"template_id,omitempty"`
	Name string `json:"template_name,omitempty"` // filled in at creation
	Body string `json:"body,omitempty"`
}

// Schedule modes.
const (
	ScheduleNow   = "now"
	ScheduleAt    = "at"    // At, in the shop's zone
	ScheduleLocal = "local" // Time on Date in each recipient's own zone
	// ScheduleBestHour sends on Date at the hour each recipient clicked
	// most in the past, on their own clock; one who never clicked gets the
	// audience's best hour, and Time (default 10:00) when no one in the
	// box ever clicked.
	ScheduleBestHour = "best_hour"
)

// Schedule is when the texts go.
type Schedule struct {
	Mode string `json:"mode"`
	// At is the moment of mode "at": "2026-12-08T10:00" in the shop's zone,
	// or RFC 3339.
	At string `json:"at,omitempty"`
	// Date ("2026-12-08") and Time ("10:00") of mode "local".
	Date string `json:"date,omitempty"`
	Time string `json:"time,omitempty"`
}

// Variant is one version of a campaign.
type Variant struct {
	Key   string `json:"key"`             // "a".."d", given in order when empty
	Share int    `json:"share,omitempty"` // percent of the audience; 0 for all: equal shares
	// Body replaces the campaign's text for this variant; empty: the same
	// text (a send-time test).
	Body string `json:"body,omitempty"`
	// Time replaces the schedule's clock time ("09:00") for this variant.
	Time string `json:"time,omitempty"`
}

// Winner metrics of a test-first campaign.
const (
	MetricClickRate      = "click_rate"
	MetricConversionRate = "conversion_rate"
)

// TestFirst sends the variants to Percent of the audience, waits
// WaitHours after the last test text, and sends the winner by Metric to
// the rest: a winner only when significant, else the variant the owner
// picks.
type TestFirst struct {
	Percent   int    `json:"percent"`
	WaitHours int    `json:"wait_hours"`
	Metric    string `json:"metric"`
}

// Limits of what a campaign may ask for.
const (
	MaxVariants   = 4
	MaxHoldout    = 50
	MaxNumbers    = 100000
	maxNameLen    = 200
	maxBodyLen    = 2000
	MaxThrottle   = 100000
	MaxWaitHours  = 7 * 24
	variantKeys   = "abcd"
	localLayout   = "2006-01-02T15:04"
	dateLayout    = "2006-01-02"
	clockLayout   = "15:04"
	defaultMetric = MetricClickRate
)

func fieldErr(field, format string, args ...any) error {
	return &store.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ParseShopTime reads a moment written in the shop's zone
// ("2026-12-08T10:00", "2026-12-08 10:00") or as RFC 3339.
func ParseShopTime(field, s string, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{localLayout, "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fieldErr(field, "must be a date and time such as 2026-12-08T10:00")
}

// parseClock reads "10:00" as minutes after midnight.
func parseClock(field, s string) (int, error) {
	t, err := time.Parse(clockLayout, strings.TrimSpace(s))
	if err != nil {
		return 0, fieldErr(field, "must be a time of day such as 10:00")
	}
	return t.Hour()*60 + t.Minute(), nil
}

// plan is a validated Definition with its times read.
type plan struct {
	def      Definition
	kind     store.Kind
	start    time.Time // mode at: the moment; mode now: zero
	date     time.Time // mode local: midnight of the date in the shop's zone
	minute   int       // mode local/at: clock time in minutes
	end      time.Time // zero: none
	variants []Variant // with keys and shares filled in
	minutes  []int     // per variant: its clock time in minutes, -1: the schedule's
}

// normalise fills in what an owner may leave out, and checks the shape of
// everything that needs no store: every error names its field.
func normalise(def Definition, now time.Time, zone *time.Location) (plan, error) {
	p := plan{def: def}
	d := &p.def
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		return p, fieldErr("name", "must not be empty")
	}
	if len(d.Name) > maxNameLen {
		return p, fieldErr("name", "must be at most %d characters", maxNameLen)
	}
	switch d.Kind {
	case "", "marketing":
		d.Kind, p.kind = "marketing", store.KindMarketing
	case "transactional":
		p.kind = store.KindTransactional
	default:
		return p, fieldErr("kind", "must be marketing or transactional")
	}

	a := d.Audience
	given := 0
	if a.SegmentID != 0 {
		given++
	}
	if len(a.Segment) > 0 && string(a.Segment) != "null" {
		given++
	}
	if len(a.Numbers) > 0 {
		given++
	}
	switch {
	case given == 0:
		return p, fieldErr("audience", "choose a segment or paste a list of numbers")
	case a.SegmentID != 0 && len(a.Numbers) > 0, len(a.Segment) > 0 && len(a.Numbers) > 0:
		return p, fieldErr("audience", "a segment or a list of numbers, not both")
	case len(a.Numbers) > MaxNumbers:
		return p, fieldErr("audience.numbers", "at most %d numbers", MaxNumbers)
	}

	if d.Template.ID == 0 && strings.TrimSpace(d.Template.Body) == "" {
		return p, fieldErr("template", "choose a saved template or write the text")
	}
	if len(d.Template.Body) > maxBodyLen {
		return p, fieldErr("template.body", "must be at most %d characters", maxBodyLen)
	}

	switch d.Schedule.Mode {
	case "", ScheduleNow:
		d.Schedule = Schedule{Mode: ScheduleNow}
	case ScheduleAt:
		at, err := ParseShopTime("schedule.at", d.Schedule.At, zone)
		if err != nil {
			return p, err
		}
		if !at.After(now) {
			return p, fieldErr("schedule.at", "is in the past (%s)", at.In(zone).Format("Mon 2 Jan 15:04"))
		}
		p.start = at
		lt := at.In(zone)
		p.date = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, zone)
		p.minute = lt.Hour()*60 + lt.Minute()
	case ScheduleLocal, ScheduleBestHour:
		date, err := time.ParseInLocation(dateLayout, strings.TrimSpace(d.Schedule.Date), zone)
		if err != nil {
			return p, fieldErr("schedule.date", "must be a date such as 2026-12-08")
		}
		if d.Schedule.Mode == ScheduleBestHour && strings.TrimSpace(d.Schedule.Time) == "" {
			d.Schedule.Time = "10:00"
		}
		m, err := parseClock("schedule.time", d.Schedule.Time)
		if err != nil {
			return p, err
		}
		p.date, p.minute = date, m
		// The latest clock on earth (UTC-12) is the last to reach the
		// time: if even it is past, no recipient's is still ahead.
		if last := time.Date(date.Year(), date.Month(), date.Day(), m/60, m%60, 0, 0, time.FixedZone("UTC-12", -12*3600)); !last.After(now) {
			return p, fieldErr("schedule.date", "is in the past: %s at %s has passed everywhere", d.Schedule.Date, d.Schedule.Time)
		}
	default:
		return p, fieldErr("schedule.mode", "must be now, at, local or best_hour")
	}

	if d.End != "" {
		end, err := ParseShopTime("end", d.End, zone)
		if err != nil {
			return p, err
		}
		begin := now
		if p.start.After(begin) {
			begin = p.start
		}
		if d.Schedule.Mode == ScheduleLocal || d.Schedule.Mode == ScheduleBestHour {
			// The earliest clock on earth (UTC+14) is the first to reach it.
			begin = time.Date(p.date.Year(), p.date.Month(), p.date.Day(), p.minute/60, p.minute%60, 0, 0, time.FixedZone("UTC+14", 14*3600))
			if begin.Before(now) {
				begin = now
			}
		}
		if !end.After(begin) {
			return p, fieldErr("end", "must be after the start (%s)", begin.In(zone).Format("Mon 2 Jan 15:04"))
		}
		p.end = end
	}
	if d.Throttle != nil && (*d.Throttle <= 0 || *d.Throttle > MaxThrottle) {
		return p, fieldErr("throttle", "must be 1 to %d texts per hour (leave it out for no throttle)", MaxThrottle)
	}

	if d.Holdout < 0 || d.Holdout > MaxHoldout {
		return p, fieldErr("holdout", "must be 0 to %d percent", MaxHoldout)
	}
	if len(d.Variants) == 1 || len(d.Variants) > MaxVariants {
		return p, fieldErr("variants", "must be 2 to %d variants (or none for one text)", MaxVariants)
	}
	vs := d.Variants
	if len(vs) == 0 {
		vs = []Variant{{Key: "a", Share: 100 - d.Holdout}}
	}
	p.variants = make([]Variant, len(vs))
	p.minutes = make([]int, len(vs))
	anyShare, sum := false, d.Holdout
	for i, v := range vs {
		f := fmt.Sprintf("variants[%d]", i)
		want := string(variantKeys[i])
		if v.Key == "" {
			v.Key = want
		}
		if v.Key != want {
			return p, fieldErr(f+".key", "must be %q (variants are a, b, c, d in order)", want)
		}
		if v.Share < 0 || v.Share > 100 {
			return p, fieldErr(f+".share", "must be 0 to 100 percent")
		}
		if v.Share > 0 {
			anyShare = true
		}
		sum += v.Share
		if len(v.Body) > maxBodyLen {
			return p, fieldErr(f+".body", "must be at most %d characters", maxBodyLen)
		}
		p.minutes[i] = -1
		if strings.TrimSpace(v.Time) != "" {
			if d.Schedule.Mode != ScheduleAt && d.Schedule.Mode != ScheduleLocal {
				return p, fieldErr(f+".time", "needs a schedule at a time (at or local)")
			}
			m, err := parseClock(f+".time", v.Time)
			if err != nil {
				return p, err
			}
			p.minutes[i] = m
		}
		p.variants[i] = v
	}
	if len(d.Variants) > 0 && !anyShare {
		// Equal shares of what the holdout leaves; the remainder to the first.
		left := 100 - d.Holdout
		for i := range p.variants {
			p.variants[i].Share = left / len(p.variants)
		}
		p.variants[0].Share += left % len(p.variants)
		sum = 100
	}
	if len(d.Variants) > 0 && anyShare {
		for i, v := range p.variants {
			if v.Share == 0 {
				return p, fieldErr(fmt.Sprintf("variants[%d].share", i), "must be given when other variants give theirs")
			}
		}
	}
	if sum > 100 {
		return p, fieldErr("variants", "the shares and the holdout add up to %d %%; at most 100 %%", sum)
	}
	if sum < 100 {
		return p, fieldErr("variants", "the shares and the holdout add up to %d %%; they must add up to 100 %%", sum)
	}

	if t := d.TestFirst; t != nil {
		if len(d.Variants) < 2 {
			return p, fieldErr("test_first", "needs at least 2 variants to test")
		}
		if t.Percent < 1 || t.Percent > 90 {
			return p, fieldErr("test_first.percent", "must be 1 to 90 percent of the audience")
		}
		if t.WaitHours < 1 || t.WaitHours > MaxWaitHours {
			return p, fieldErr("test_first.wait_hours", "must be 1 to %d hours", MaxWaitHours)
		}
		switch t.Metric {
		case "":
			t.Metric = defaultMetric
		case MetricClickRate, MetricConversionRate:
		default:
			return p, fieldErr("test_first.metric", "must be click_rate or conversion_rate")
		}
	}
	d.Variants = nil
	if len(p.variants) > 1 {
		d.Variants = p.variants
	}
	return p, nil
}

// bodyOf is the template source of variant i.
func (p *plan) bodyOf(i int) string {
	if b := strings.TrimSpace(p.variants[i].Body); b != "" {
		return p.variants[i].Body
	}
	return p.def.Template.Body
}

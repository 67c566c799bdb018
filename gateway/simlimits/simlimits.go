// Package simlimits keeps a SIM within its sending limits: parts per
// minute (spaced with jitter), parts per day, and distinct recipients per
// day and per calendar month. It tracks a SIM's use against them, says
// which limit stops a text, and when a stopped SIM may send again. The
// outbox routes with it; it stores nothing (the outbox writes the usage
// with each MR).
package simlimits

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/simgate/simgate/store"
)

// Limits are one SIM's sending limits; 0 turns a limit off. No carrier
// publishes the numbers that trip its spam filters or the fair-use clause
// of a consumer "unlimited" plan, so the defaults are conservative: a shop
// that outgrows them raises them knowingly, ideally with a business SIM.
type Limits struct {
	PerMinute      int `json:"per_minute"`       // parts per minute, spaced with jitter
	PerDay         int `json:"per_day"`          // parts per day (box local time)
	UniquePerDay   int `json:"unique_per_day"`   // distinct recipients per day
	UniquePerMonth int `json:"unique_per_month"` // distinct recipients per calendar month
}

const (
	// DefaultPerMinute is the bottom of the 6-10 texts/min a modem sustains
	// (docs/modems.md §2.5: 3-5 s per submit), so a healthy modem is rarely
	// slowed but a burst is spread out rather than sent back to back.
	DefaultPerMinute = 6
	// DefaultPerDay is a busy shop's day on one SIM, about 80 minutes of
	// sending at DefaultPerMinute; sustained volume from one consumer SIM is
	// what carriers' anti-spam systems look at first.
	DefaultPerDay = 500
	// DefaultUniquePerDay caps distinct recipients a day: texting many new
	// numbers rather than regulars is what bulk messaging looks like.
	DefaultUniquePerDay = 200
	// DefaultUniquePerMonth is the "unlimited plan" trap: a SIM under every
	// daily figure that still texts a new list each day is cut off at the
	// month's review.
	DefaultUniquePerMonth = 1000
)

// DefaultLimits returns the limits a SIM gets when nothing is configured.
func DefaultLimits() Limits {
	return Limits{PerMinute: DefaultPerMinute, PerDay: DefaultPerDay, UniquePerDay: DefaultUniquePerDay, UniquePerMonth: DefaultUniquePerMonth}
}

// Budget is what a SIM has used and may still use, for the API and console.
type Budget struct {
	Limits      Limits    `json:"limits"`
	Day         string    `json:"day"`
	PartsToday  int       `json:"parts_today"`
	UniqueToday int       `json:"unique_today"`
	UniqueMonth int       `json:"unique_month"`
	NextSendAt  time.Time `json:"next_send_at,omitempty"` // per-minute spacing
	// RemainingToday is the parts the SIM may still send today; -1 without
	// a daily limit.
	RemainingToday int    `json:"remaining_today"`
	Exhausted      string `json:"exhausted,omitempty"` // which limit stops it now, if any
}

// Tracker tracks one SIM's use against its limits. It is not safe for
// concurrent use: the outbox guards it with the SIM's runner's mutex, as
// the dispatcher (routing) and the runner (recording) both use it.
type Tracker struct {
	limits    Limits
	day       string
	month     string
	parts     int
	todayRcpt map[string]bool
	monthRcpt map[string]bool
	next      time.Time
}

// New returns the Tracker of a SIM with limits l that has used u so far
// (the usage stored with its MRs).
func New(l Limits, u store.Usage) *Tracker {
	b := &Tracker{limits: l, day: u.Day, month: u.Month, parts: u.PartsToday, todayRcpt: map[string]bool{}, monthRcpt: map[string]bool{}}
	for _, r := range u.DayRecipients {
		b.todayRcpt[r] = true
	}
	for _, r := range u.MonthRecipients {
		b.monthRcpt[r] = true
	}
	return b
}

// roll starts a new day or month when the clock passed into one.
func (b *Tracker) roll(now time.Time) {
	if d := now.Format("2006-01-02"); d != b.day {
		b.day, b.parts, b.todayRcpt = d, 0, map[string]bool{}
	}
	if m := now.Format("2006-01"); m != b.month {
		b.month, b.monthRcpt = m, map[string]bool{}
	}
}

// Blocked says which limit stops a text of parts parts to recipient now,
// or "" when the SIM may send it.
func (b *Tracker) Blocked(now time.Time, recipient string, parts int) string {
	b.roll(now)
	l := b.limits
	switch {
	case l.PerMinute > 0 && now.Before(b.next):
		return "per_minute"
	case l.PerDay > 0 && b.parts+parts > l.PerDay && b.parts > 0:
		// A text longer than the whole daily allowance may still go on a
		// fresh day, or it could never be sent at all.
		return "per_day"
	case l.UniquePerDay > 0 && !b.todayRcpt[recipient] && len(b.todayRcpt) >= l.UniquePerDay:
		return "unique_per_day"
	case l.UniquePerMonth > 0 && !b.monthRcpt[recipient] && len(b.monthRcpt) >= l.UniquePerMonth:
		return "unique_per_month"
	}
	return ""
}

// Record counts parts sent to recipient and spaces the next send: the
// per-minute interval times the parts, stretched by up to a quarter at
// random so the SIM never sends on a machine-regular beat and never exceeds
// the limit in any minute.
func (b *Tracker) Record(now time.Time, recipient string, parts int) {
	b.roll(now)
	b.parts += parts
	b.todayRcpt[recipient] = true
	b.monthRcpt[recipient] = true
	if b.limits.PerMinute > 0 {
		gap := time.Duration(parts) * time.Minute / time.Duration(b.limits.PerMinute)
		gap += time.Duration(rand.Int64N(int64(gap)/4 + 1))
		base := now
		if b.next.After(now) {
			base = b.next // parts sent back to back add up
		}
		b.next = base.Add(gap)
	}
}

// Next is when the per-minute spacing next lets the SIM send.
func (b *Tracker) Next() time.Time { return b.next }

// Knows reports whether this SIM texted recipient this month (sticky sender).
func (b *Tracker) Knows(recipient string) bool { return b.monthRcpt[recipient] }

// Snapshot is what the SIM has used and may still use at now.
func (b *Tracker) Snapshot(now time.Time) Budget {
	b.roll(now)
	out := Budget{
		Limits: b.limits, Day: b.day, PartsToday: b.parts,
		UniqueToday: len(b.todayRcpt), UniqueMonth: len(b.monthRcpt), RemainingToday: -1,
	}
	if b.limits.PerMinute > 0 && now.Before(b.next) {
		out.NextSendAt = b.next
	}
	if b.limits.PerDay > 0 {
		out.RemainingToday = max(b.limits.PerDay-b.parts, 0)
	}
	for _, limit := range []string{"per_day", "unique_per_day", "unique_per_month"} {
		if b.exhaustedBy(limit) {
			out.Exhausted = limit
			break
		}
	}
	return out
}

// exhaustedBy reports whether a limit is used up for any new recipient.
func (b *Tracker) exhaustedBy(limit string) bool {
	l := b.limits
	switch limit {
	case "per_day":
		return l.PerDay > 0 && b.parts >= l.PerDay
	case "unique_per_day":
		return l.UniquePerDay > 0 && len(b.todayRcpt) >= l.UniquePerDay
	case "unique_per_month":
		return l.UniquePerMonth > 0 && len(b.monthRcpt) >= l.UniquePerMonth
	}
	return false
}

// Validate checks limits from configuration.
func (l Limits) Validate() error {
	for name, v := range map[string]int{"per_minute": l.PerMinute, "per_day": l.PerDay, "unique_per_day": l.UniquePerDay, "unique_per_month": l.UniquePerMonth} {
		if v < 0 {
			return &store.FieldError{Field: name, Message: fmt.Sprintf("must not be negative, got %d", v)}
		}
	}
	return nil
}

// budgetLimits are the limits that hold a SIM until its day or month
// starts again, as opposed to per_minute, which only spaces texts out.
var budgetLimits = map[string]bool{"per_day": true, "unique_per_day": true, "unique_per_month": true}

// UntilLater reports whether limit holds a SIM until its day or month
// starts again (per_day, unique_per_day, unique_per_month), as opposed to
// per_minute, which only spaces texts out.
func UntilLater(limit string) bool { return budgetLimits[limit] }

// FreeAt is when the limit that blocks this SIM lets it send again: the
// next local midnight for the daily limits, the first of next month for
// unique_per_month.
func FreeAt(limit string, now time.Time) time.Time {
	y, m, d := now.Date()
	if limit == "unique_per_month" {
		return time.Date(y, m+1, 1, 0, 0, 0, 0, now.Location())
	}
	return time.Date(y, m, d+1, 0, 0, 0, 0, now.Location())
}

// HoldReason is the hold reason for a text when limits are what stops each
// available SIM from sending it now: a message naming when the first of
// them may send again when every one is a daily or monthly limit, or ""
// when at least one SIM could send it now or soon (or none is available:
// then modems, not budgets, are why it waits).
func HoldReason(limits []string, now time.Time) string {
	var next time.Time
	for _, limit := range limits {
		if !UntilLater(limit) {
			return ""
		}
		if at := FreeAt(limit, now); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if next.IsZero() {
		return ""
	}
	return "all SIMs reached today's limit; next send at " + next.Format("2006-01-02 15:04 MST")
}

package simlimits

import (
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

func TestBudgetBlocks(t *testing.T) {
	day := time.Date(2026, 11, 28, 23, 59, 0, 0, time.Local)
	cases := []struct {
		name   string
		limits Limits
		sent   []string // recipients already texted today, one part each
		to     string
		parts  int
		at     time.Time
		want   string
	}{
		{"no limits", Limits{}, []string{"a", "b", "c"}, "d", 1, day, ""},
		{"per day reached", Limits{PerDay: 3}, []string{"a", "b", "c"}, "a", 1, day, "per_day"},
		{"per day would overflow", Limits{PerDay: 3}, []string{"a", "b"}, "a", 2, day, "per_day"},
		{"long text on a fresh day", Limits{PerDay: 3}, nil, "a", 5, day, ""},
		{"per day resets at midnight", Limits{PerDay: 3}, []string{"a", "b", "c"}, "a", 1, day.Add(2 * time.Minute), ""},
		{"unique per day, new number", Limits{UniquePerDay: 2}, []string{"a", "b"}, "c", 1, day, "unique_per_day"},
		{"unique per day, known number", Limits{UniquePerDay: 2}, []string{"a", "b"}, "a", 1, day, ""},
		{"unique per month survives the day", Limits{UniquePerMonth: 2}, []string{"a", "b"}, "c", 1, day.Add(2 * time.Minute), "unique_per_month"},
		{"unique per month resets with the month", Limits{UniquePerMonth: 2}, []string{"a", "b"}, "c", 1, day.AddDate(0, 0, 3), ""},
		{"per minute spacing", Limits{PerMinute: 6}, []string{"a"}, "b", 1, day.Add(5 * time.Second), "per_minute"},
		{"per minute after the gap", Limits{PerMinute: 6}, []string{"a"}, "b", 1, day.Add(13 * time.Second), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := New(c.limits, store.Usage{Day: day.Format("2006-01-02"), Month: day.Format("2006-01")})
			for _, r := range c.sent {
				b.Record(day, r, 1)
			}
			if got := b.Blocked(c.at, c.to, c.parts); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestBudgetSpacingAddsUpParts(t *testing.T) {
	now := time.Now()
	b := New(Limits{PerMinute: 6}, store.Usage{})
	b.Record(now, "a", 1)
	b.Record(now, "a", 1)
	b.Record(now, "a", 1)
	// Three parts at 6/min: at least 30 s, at most 37.5 s with jitter.
	if gap := b.Next().Sub(now); gap < 30*time.Second || gap > 38*time.Second {
		t.Errorf("got next send after %v, want 30-37.5s", gap)
	}
}

func TestHoldReason(t *testing.T) {
	now := time.Date(2026, 11, 28, 15, 4, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		limits []string
		want   string
	}{
		{"no SIM available", nil, ""},
		{"one SIM may send", []string{"per_day", ""}, ""},
		{"one SIM only spaced out", []string{"per_day", "per_minute"}, ""},
		{"every SIM spent today", []string{"per_day", "unique_per_day"}, "all SIMs reached today's limit; next send at 2026-11-29 00:00 UTC"},
		{"the month's limit waits longer", []string{"unique_per_month"}, "all SIMs reached today's limit; next send at 2026-12-01 00:00 UTC"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := HoldReason(c.limits, now); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

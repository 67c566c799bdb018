package view

import (
	"fmt"
	"time"

	"github.com/simgate/simgate/store"
)

// PeriodCounts is one hour or day of the overview: the texts created in it
// by their status now, and the texts received in it.
type PeriodCounts struct {
	Start    time.Time
	ByStatus map[Status]int
	Inbound  int
}

// FromStatusCounts converts the store's counts by status to the API's
// status names.
func FromStatusCounts(in map[store.Status]int) map[Status]int {
	out := make(map[Status]int, len(in))
	for s, n := range in {
		out[Status(s.String())] += n
	}
	return out
}

// Periods converts the store's hours or days of counters, passing on
// its error.
func Periods(in []store.PeriodCounts, err error) ([]PeriodCounts, error) {
	if err != nil {
		return nil, fmt.Errorf("gateway: counters: %w", err)
	}
	out := make([]PeriodCounts, len(in))
	for i, p := range in {
		out[i] = PeriodCounts{Start: p.Start, ByStatus: FromStatusCounts(p.ByStatus), Inbound: p.Inbound}
	}
	return out, nil
}

package gateway

import (
	"fmt"
	"time"

	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// InboxRead returns the highest inbound ID from number marked as read (0
// when none). The console counts newer texts as unread.
func (g *Gateway) InboxRead(number string) (uint64, error) {
	id, err := g.db.InboxRead(number)
	if err != nil {
		return 0, fmt.Errorf("gateway: read marker: %w", err)
	}
	return id, nil
}

// MarkInboxRead records that texts from number up to id were seen. The
// marker never moves back, so a stale page cannot mark newer texts unread,
// even when two requests mark at once.
func (g *Gateway) MarkInboxRead(number string, id uint64) error {
	return g.db.MarkInboxRead(number, id)
}

// PeriodCounts is one hour or day of the overview: the texts created in it
// by their status now, and the texts received in it.
type PeriodCounts struct {
	Start    time.Time
	ByStatus map[Status]int
	Inbound  int
}

// StatusCounts counts all messages by status, from the store's counters.
func (g *Gateway) StatusCounts() (map[Status]int, error) {
	counts, err := g.db.CountByStatus()
	if err != nil {
		return nil, fmt.Errorf("gateway: count messages: %w", err)
	}
	return viewStatuses(counts), nil
}

// HourCounts returns n hours from from (truncated to the hour), from the
// store's counters: the cost does not grow with the box's history.
func (g *Gateway) HourCounts(from time.Time, n int) ([]PeriodCounts, error) {
	return viewPeriods(g.db.HourCounts(from, n))
}

// DayCounts returns n days of the box's local time from the day of from,
// from the store's counters.
func (g *Gateway) DayCounts(from time.Time, n int) ([]PeriodCounts, error) {
	return viewPeriods(g.db.DayCounts(from, n))
}

// ReviewCount is how many numbers wait in the opt-out review queue.
func (g *Gateway) ReviewCount() (int, error) { return g.db.ReviewCount() }

// InboundCountFrom counts the texts received from number, and those newer
// than the console's read marker for it.
func (g *Gateway) InboundCountFrom(number string) (total, unread int, err error) {
	read, err := g.db.InboxRead(number)
	if err != nil {
		return 0, 0, fmt.Errorf("gateway: read marker: %w", err)
	}
	return g.db.InboundCountFrom(number, read)
}

func viewStatuses(in map[store.Status]int) map[Status]int {
	out := make(map[Status]int, len(in))
	for s, n := range in {
		out[Status(s.String())] += n
	}
	return out
}

func viewPeriods(in []store.PeriodCounts, err error) ([]PeriodCounts, error) {
	if err != nil {
		return nil, fmt.Errorf("gateway: counters: %w", err)
	}
	out := make([]PeriodCounts, len(in))
	for i, p := range in {
		out[i] = PeriodCounts{Start: p.Start, ByStatus: viewStatuses(p.ByStatus), Inbound: p.Inbound}
	}
	return out, nil
}

// MessagesTo lists the texts sent (or to be sent) to number, newest first,
// through the store's recipient index.
func (g *Gateway) MessagesTo(number string, before uint64, limit int) ([]Message, uint64, error) {
	return view.Page(view.FromMessage)(g.db.MessagesTo(number, before, limit))
}

// InboundFrom lists the texts received from number, newest first, through
// the store's sender index.
func (g *Gateway) InboundFrom(number string, before uint64, limit int) ([]Inbound, uint64, error) {
	return view.Page(view.FromInbound)(g.db.InboundFrom(number, before, limit))
}

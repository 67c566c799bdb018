package webui

import (
	"fmt"
	"net/http"
	"time"

	"github.com/simgate/simgate/gateway"
)

// scanLimit bounds the scans that remain for searches the store has no
// index for (the messages page's number, modem and text filters): the
// newest scanLimit texts. The overview, its counts and the inbox do not
// scan: they read the store's counters and indexes.
const scanLimit = 5000

// counts are today's totals, by what a shop owner cares about.
type counts struct {
	Queued    int `json:"queued"` // waiting to send (queued or being sent), any day
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Inbound   int `json:"inbound"`
	Unknown   int `json:"unknown"` // waiting for a person's decision, any day
	Review    int `json:"review"`  // replies that read like an opt-out, waiting for a decision
}

// recentMessages returns the newest messages created at or after since, at
// most scanLimit, newest first, and whether the limit cut the scan short.
func (s *server) recentMessages(since time.Time, status gateway.Status) ([]gateway.Message, bool, error) {
	var out []gateway.Message
	var before uint64
	for len(out) < scanLimit {
		page, next, err := s.gw.Messages(gateway.ListFilter{Status: status, Before: before, Limit: 500})
		if err != nil {
			return nil, false, err
		}
		for _, m := range page {
			if m.CreatedAt.Before(since) {
				return out, false, nil
			}
			out = append(out, m)
		}
		if next == 0 {
			return out, false, nil
		}
		before = next
	}
	return out, true, nil
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// todayCounts computes the totals shown on the dashboard and sent in the
// websocket snapshot, from the store's counters: a few dozen keys, however
// many texts the box holds.
func (s *server) todayCounts(now time.Time) (counts, error) {
	all, err := s.gw.StatusCounts()
	if err != nil {
		return counts{}, err
	}
	days, err := s.gw.DayCounts(now, 1)
	if err != nil {
		return counts{}, err
	}
	var c counts
	for st, n := range days[0].ByStatus {
		tally(&c, st, n)
	}
	// Waiting to send is every text still to go, whenever it was made.
	c.Queued = all[gateway.StatusQueued] + all[gateway.StatusSending]
	c.Inbound = days[0].Inbound
	c.Unknown = all[gateway.StatusUnknown]
	if c.Review, err = s.gw.ReviewCount(); err != nil {
		return counts{}, err
	}
	return c, nil
}

// tally adds n texts of status st to today's totals.
func tally(c *counts, st gateway.Status, n int) {
	switch st {
	case gateway.StatusQueued, gateway.StatusSending:
		c.Queued += n
	case gateway.StatusSent:
		c.Sent += n
	case gateway.StatusDelivered:
		c.Delivered += n
	case gateway.StatusFailed, gateway.StatusExpired:
		c.Failed += n
	}
}

// chart is a stacked bar chart drawn as SVG by the template: coordinates
// are computed here so the template only places rectangles.
type chart struct {
	Title  string
	Width  int
	Height int
	Bars   []chartBar
	Max    int
	Labels []chartLabel
}

type chartBar struct {
	X, W     float64
	Segments []chartSegment
	Label    string // for the <title> tooltip and screen readers
}

type chartSegment struct {
	Class string
	Y, H  float64
}

type chartLabel struct {
	X    float64
	Text string
}

const chartW, chartH, chartPad = 600, 160, 14

// buildChart draws one bar per period (hours or days from the store's
// counters), stacked by what became of the texts made in it.
func buildChart(title string, periods []gateway.PeriodCounts, label func(time.Time) string, every int) chart {
	type slot struct{ delivered, sent, failed int }
	n := len(periods)
	slots := make([]slot, n)
	for i, p := range periods {
		slots[i] = slot{
			delivered: p.ByStatus[gateway.StatusDelivered],
			sent:      p.ByStatus[gateway.StatusSent],
			failed:    p.ByStatus[gateway.StatusFailed] + p.ByStatus[gateway.StatusExpired],
		}
	}
	maxv := 1
	for _, sl := range slots {
		maxv = max(maxv, sl.delivered+sl.sent+sl.failed)
	}
	// 24 units of margin each side keep the first and last labels whole.
	c := chart{Title: title, Width: chartW + 48, Height: chartH + chartPad, Max: maxv}
	w := float64(chartW) / float64(n)
	for i, sl := range slots {
		x := float64(i) * w
		b := chartBar{X: x + 1, W: max(w-2, 1)}
		y := float64(chartH)
		for _, seg := range []struct {
			class string
			v     int
		}{{"delivered", sl.delivered}, {"sent", sl.sent}, {"failed", sl.failed}} {
			if seg.v == 0 {
				continue
			}
			h := float64(seg.v) / float64(maxv) * (chartH - 4)
			y -= h
			b.Segments = append(b.Segments, chartSegment{Class: seg.class, Y: y, H: h})
		}
		t := periods[i].Start
		b.Label = fmt.Sprintf("%s: %d delivered, %d sent, %d failed", label(t), sl.delivered, sl.sent, sl.failed)
		c.Bars = append(c.Bars, b)
		if i%every == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x + w/2, Text: label(t)})
		}
	}
	return c
}

// modemCard is one modem on the dashboard and the modems page.
type modemCard struct {
	gateway.ModemStatus
	Bars       int    // 0-4
	StateLabel string // plain words for State
	BudgetText string
}

func newModemCard(m gateway.ModemStatus) modemCard {
	c := modemCard{ModemStatus: m, Bars: signalBars(m.Health.SignalDBm), StateLabel: stateLabel(m.State)}
	if m.Paused {
		c.StateLabel += ", paused: sends nothing"
	}
	if b := m.Budget; b != nil {
		if b.Limits.PerDay > 0 {
			c.BudgetText = fmt.Sprintf("%d of %d texts today", b.PartsToday, b.Limits.PerDay)
		} else {
			c.BudgetText = fmt.Sprintf("%d texts today (no daily limit)", b.PartsToday)
		}
		if b.Exhausted != "" {
			c.BudgetText += ", paused: " + b.Exhausted + " limit reached"
		}
	}
	return c
}

// signalBars maps dBm to the 0-4 bars phones show (thresholds as Android's
// GSM levels: -109, -93, -83, -73 dBm).
func signalBars(dbm int) int {
	switch {
	case dbm == 0:
		return 0 // unknown
	case dbm >= -73:
		return 4
	case dbm >= -83:
		return 3
	case dbm >= -93:
		return 2
	case dbm >= -109:
		return 1
	}
	return 0
}

func stateLabel(state string) string {
	switch state {
	case "up":
		return "Working"
	case "degraded":
		return "Having trouble"
	case "down":
		return "Not working"
	case "starting":
		return "Starting"
	}
	return state
}

type dashboardData struct {
	Modems []modemCard
	Today  counts
	Alerts []gateway.Alert
	Hourly chart
	Daily  chart
}

// dashboard answers GET /.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request, u user) error {
	now := s.now()
	today, err := s.todayCounts(now)
	if err != nil {
		return err
	}
	d := dashboardData{Today: today, Alerts: s.gw.Alerts()}
	for _, m := range s.gw.Modems() {
		d.Modems = append(d.Modems, newModemCard(m))
	}
	hours, err := s.gw.HourCounts(now.Truncate(time.Hour).Add(-23*time.Hour), 24)
	if err != nil {
		return err
	}
	d.Hourly = buildChart("Last 24 hours", hours, func(t time.Time) string { return t.Local().Format("15:00") }, 6)
	days, err := s.gw.DayCounts(startOfDay(now).AddDate(0, 0, -29), 30)
	if err != nil {
		return err
	}
	d.Daily = buildChart("Last 30 days", days, func(t time.Time) string { return t.Local().Format("2 Jan") }, 7)
	return s.render(w, r, http.StatusOK, "dashboard", view{Title: "Overview", Nav: "dashboard", Data: d})
}

// countsJSON answers GET /console/counts: today's totals, which the
// overview page fetches (debounced) after live events rather than have the
// stream rescan messages for every event and every client.
func (s *server) countsJSON(w http.ResponseWriter, r *http.Request, u user) error {
	c, err := s.todayCounts(s.now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

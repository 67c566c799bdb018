package webui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// scanLimit bounds the scans that remain for searches the store has no
// index for (the messages page's number, modem and text filters): the
// newest scanLimit texts. The overview, its counts and the inbox do not
// scan: they read the store's counters and indexes.
const scanLimit = 5000

// counts are today's totals, by what a shop owner cares about. The texts
// created today fall into exactly one of Queued, Sent, Delivered, Failed,
// Expired, Suppressed and Undecided, which add up to Total: the tiles
// agree with each other.
type counts struct {
	Total      int `json:"total"`
	Queued     int `json:"queued"` // made today and waiting to send (being sent, or held back)
	Sent       int `json:"sent"`   // went out, delivery not yet confirmed
	Delivered  int `json:"delivered"`
	Failed     int `json:"failed"`
	Expired    int `json:"expired"`
	Suppressed int `json:"suppressed"` // refused by the compliance rules: never sent
	Undecided  int `json:"undecided"`  // may or may not have gone out
	Inbound    int `json:"inbound"`
	Unknown    int `json:"unknown"` // waiting for a person's decision, any day
	Waiting    int `json:"waiting"` // waiting to send, made any day (Queued is today's only)
	Review     int `json:"review"`  // replies that read like an opt-out, waiting for a decision
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
	c.Inbound = days[0].Inbound
	c.Unknown = all[gateway.StatusUnknown]
	c.Waiting = all[gateway.StatusQueued] + all[gateway.StatusSending]
	if c.Review, err = s.gw.ReviewCount(); err != nil {
		return counts{}, err
	}
	return c, nil
}

// tally adds n texts made today of status st to the totals.
func tally(c *counts, st gateway.Status, n int) {
	c.Total += n
	switch st {
	case gateway.StatusQueued, gateway.StatusSending:
		c.Queued += n
	case gateway.StatusSent:
		c.Sent += n
	case gateway.StatusDelivered:
		c.Delivered += n
	case gateway.StatusFailed:
		c.Failed += n
	case gateway.StatusExpired:
		c.Expired += n
	case gateway.StatusSuppressed:
		c.Suppressed += n
	case gateway.StatusUnknown:
		c.Undecided += n
	}
}

// tile is one of the overview's totals, linking to the texts it counts.
type tile struct {
	Key   string // the counts field, for data-count
	Label string
	N     int
	Href  string
	Note  string // a second line ("3 held back on purpose")
}

// tiles lays out today's counts; rare states show only when they happen.
func (c counts) tiles(today string) []tile {
	list := func(state string) string { return "/messages?state=" + state + "&from=" + today }
	ts := []tile{
		{Key: "total", Label: "Texts today", N: c.Total, Href: "/messages?from=" + today},
		{Key: "queued", Label: "Waiting to send", N: c.Queued, Href: list("queued")},
		{Key: "sent", Label: "Sent, not yet confirmed", N: c.Sent, Href: list("sent")},
		{Key: "delivered", Label: "Delivered", N: c.Delivered, Href: list("delivered")},
		{Key: "failed", Label: "Failed", N: c.Failed, Href: list("failed")},
		{Key: "expired", Label: "Expired", N: c.Expired, Href: list("expired")},
		{Key: "suppressed", Label: "Not sent (consent rules)", N: c.Suppressed, Href: list("suppressed")},
		{Key: "undecided", Label: "Needs your decision", N: c.Undecided, Href: list("unknown")},
		{Key: "inbound", Label: "Received", N: c.Inbound, Href: "/inbox"},
	}
	if older := c.Waiting - c.Queued; older > 0 {
		// Texts made on earlier days still wait (held for quiet hours, a
		// SIM's daily limit): the tile counts today's, and says so.
		ts[1].Note = fmt.Sprintf("and %d from earlier days (%d in all)", older, c.Waiting)
	}
	out := ts[:0]
	for _, t := range ts {
		if t.N == 0 && (t.Key == "expired" || t.Key == "undecided") {
			continue
		}
		out = append(out, t)
	}
	return out
}

// chart is a stacked bar chart: the bars are SVG rectangles stretched to
// the width of the page; the axes' labels are HTML text beside it, so they
// keep their size on a phone (an SVG scaled to 375 px shrinks its text to
// nothing). Coordinates are computed here so the template only places them.
type chart struct {
	Title   string
	Caption string // the scale and the time zone, in words
	Bars    []chartBar
	Max     int      // the top of the y-axis
	YTicks  []string // top to bottom: Max, half, 0
	XLabels []string // one per bar; "" where there is none
	// Received is the received texts per slot as an SVG polyline over the
	// bars ("" when none came in).
	Received string
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

const chartW, chartH = 600, 160

// niceCeil rounds a chart's highest value up to 2, 4, 6, 8 or 10 times a
// power of ten, so the y-axis ticks (top, half, 0) are whole numbers that
// read well (0, 4, 8 rather than 0, 3.5, 7).
func niceCeil(v int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{2, 4, 6, 8, 10} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

// buildChart draws one bar per period (hours or days from the store's
// counters), stacked by what became of the texts made in it, with the
// texts received in it as a line. end is the end of the last period, whose
// zone names the times. label names a period; every n-th is labelled on
// the axis, and the last one is nowLabel (the period still filling).
func buildChart(title string, periods []gateway.PeriodCounts, end time.Time, label func(time.Time) string, every int, nowLabel string) chart {
	type slot struct{ delivered, sent, failed, suppressed, received int }
	n := len(periods)
	slots := make([]slot, n)
	for i, p := range periods {
		slots[i] = slot{
			delivered:  p.ByStatus[gateway.StatusDelivered],
			sent:       p.ByStatus[gateway.StatusSent],
			failed:     p.ByStatus[gateway.StatusFailed] + p.ByStatus[gateway.StatusExpired],
			suppressed: p.ByStatus[gateway.StatusSuppressed],
			received:   p.Inbound,
		}
	}
	top := 0
	for _, sl := range slots {
		top = max(top, sl.delivered+sl.sent+sl.failed+sl.suppressed, sl.received)
	}
	maxv := niceCeil(top)
	zone := end.Add(-time.Nanosecond).Format("MST")
	if name := end.Location().String(); name != "Local" && name != "UTC" {
		zone = name
	}
	c := chart{Title: title, Max: maxv, YTicks: []string{strconv.Itoa(maxv), strconv.Itoa(maxv / 2), "0"},
		Caption: fmt.Sprintf("%s, times in %s. Highest: %d.", title, zone, top)}
	w := float64(chartW) / float64(n)
	var line []string
	for i, sl := range slots {
		x := float64(i) * w
		b := chartBar{X: x + 1, W: max(w-2, 1)}
		y := float64(chartH)
		for _, seg := range []struct {
			class string
			v     int
		}{{"delivered", sl.delivered}, {"sent", sl.sent}, {"failed", sl.failed}, {"suppressed", sl.suppressed}} {
			if seg.v == 0 {
				continue
			}
			h := float64(seg.v) / float64(maxv) * chartH
			y -= h
			b.Segments = append(b.Segments, chartSegment{Class: seg.class, Y: y, H: h})
		}
		t := periods[i].Start
		name := label(t)
		if i == n-1 {
			name = nowLabel
		}
		b.Label = fmt.Sprintf("%s: %d delivered, %d sent, %d failed, %d not sent (consent), %d received",
			name, sl.delivered, sl.sent, sl.failed, sl.suppressed, sl.received)
		c.Bars = append(c.Bars, b)
		xl := ""
		if i == n-1 {
			xl = nowLabel
		} else if i%every == 0 && n-1-i >= every/2 {
			xl = label(t) // not so close to "now" that the two labels touch
		}
		c.XLabels = append(c.XLabels, xl)
		line = append(line, fmt.Sprintf("%.1f,%.1f", x+w/2, chartH-float64(sl.received)/float64(maxv)*chartH))
		if sl.received > 0 {
			c.Received = "on"
		}
	}
	if c.Received != "" {
		c.Received = strings.Join(line, " ")
	}
	return c
}

// modemCard is one modem on the dashboard and the modems page.
type modemCard struct {
	gateway.ModemStatus
	Bars       int    // 0-4
	StateLabel string // plain words for State
	StateSays  string // what the state means, with the next step
	BudgetText string
	// Stale: the health reading is not current (the modem is not
	// answering), so signal, network and SIM are shown as the last
	// reading, with its time, not as the present.
	Stale bool
	// CanSend: the dispatcher may hand it texts now.
	CanSend bool
	// Problem explains LastError ("" Says when there is none).
	Problem problem
}

func newModemCard(m gateway.ModemStatus) modemCard {
	c := modemCard{ModemStatus: m, StateLabel: stateLabel(m.State)}
	c.Stale = (m.State != "up" && m.State != "degraded") || m.Health.At.IsZero()
	if !c.Stale {
		c.Bars = signalBars(m.Health.SignalDBm)
	}
	if m.State == "starting" && m.Identity.IMEI != "" {
		c.StateLabel = "Reconnecting" // it was working: this is not a first start
	}
	st := m.State
	if m.Paused {
		c.StateLabel += ", paused: sends nothing"
		st = "paused"
	}
	c.StateSays = explainState(st, m.Name).Text()
	if m.LastError != "" {
		c.Problem = explain(m.LastError, m.Name)
	}
	c.CanSend = m.State == "up" && !m.Paused
	if b := m.Budget; b != nil {
		// The budget counts SMS parts (what the operator bills), not texts:
		// say so, since the overview's tiles count texts.
		if b.Limits.PerDay > 0 {
			c.BudgetText = fmt.Sprintf("%d of %d SMS today (a long text counts as several)", b.PartsToday, b.Limits.PerDay)
		} else {
			c.BudgetText = fmt.Sprintf("%d SMS today, no daily limit (a long text counts as several)", b.PartsToday)
		}
		if b.Exhausted != "" {
			c.BudgetText += "; paused: " + b.Exhausted + " limit reached"
			c.CanSend = false
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

// noModemAlert is the overview's alert when no modem can send: how many
// texts wait, and why each modem cannot take them. "" when one can.
func noModemAlert(cards []modemCard, waiting int) (string, []string) {
	var why []string
	for _, c := range cards {
		if c.CanSend {
			return "", nil
		}
		switch {
		case c.Paused:
			why = append(why, c.Name+": paused by a person. Resume it on the Modems page.")
		case c.Budget != nil && c.Budget.Exhausted != "":
			why = append(why, c.Name+": its "+c.Budget.Exhausted+" limit is used up. It sends again when the limit resets.")
		case c.Problem.Says != "":
			why = append(why, c.Name+": "+c.Problem.Text())
		default:
			why = append(why, c.Name+": "+c.StateSays)
		}
	}
	head := "No modem can send right now"
	switch {
	case len(cards) == 0:
		head = "No modem is configured, so no text can be sent"
	case waiting == 1:
		head += ": 1 text is waiting."
	case waiting > 1:
		head += fmt.Sprintf(": %d texts are waiting.", waiting)
	default:
		head += "."
	}
	return head, why
}

// alertView is a gateway alert on the overview; a modem's alert is told
// through the problems table (Problem), others in their own words.
type alertView struct {
	gateway.Alert
	Problem problem
}

// modemAlertKinds are the alerts about one modem's ability to send.
var modemAlertKinds = map[string]bool{"modem_down": true, "sim_out_of_rotation": true, "wrong_modem": true}

type dashboardData struct {
	Modems []modemCard
	Today  counts
	Tiles  []tile
	Alerts []alertView
	// NoModem is the alert when no modem can send ("" when one can), and
	// NoModemWhy each modem's reason.
	NoModem    string
	NoModemWhy []string
	// Trouble lists modems that cannot send while others can.
	Trouble   []modemCard
	Checklist []checkItem // the first-run steps; nil once all are done
	Hourly    chart
	Daily     chart
}

// checkItem is one step of the first-run checklist.
type checkItem struct {
	Done bool
	Text string
	Href string
	Do   string // the link's words
}

// checklist is the first-run list: what a new box needs before it is of
// use to a shop. nil once every step is done.
func (s *server) checklist(cards []modemCard, anyText bool) []checkItem {
	cs := s.gw.ComplianceSettings()
	tokens, _ := s.gw.Access().Tokens()
	modemOK := false
	for _, c := range cards {
		modemOK = modemOK || c.State == "up"
	}
	items := []checkItem{
		{cs.Brand != "" && cs.Disclosure.Text != "", "Name your shop and write the consent text customers agree to", "/settings/compliance", "Open compliance settings"},
		{modemOK, "Get a modem working", "/modems", "See the modems"},
		{len(tokens) > 0, "Create a token for your website or shop system", "/settings#tokens", "Create a token"},
		{anyText, "Send a first test text (to your own phone)", "/compose", "Send a text"},
	}
	for _, it := range items {
		if !it.Done {
			return items
		}
	}
	return nil
}

// dashboard answers GET /.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request, u user) error {
	now := s.now()
	today, err := s.todayCounts(now)
	if err != nil {
		return err
	}
	d := dashboardData{Today: today, Tiles: today.tiles(now.Local().Format("2006-01-02"))}
	for _, m := range s.gw.Modems() {
		d.Modems = append(d.Modems, newModemCard(m))
	}
	d.NoModem, d.NoModemWhy = noModemAlert(d.Modems, today.Waiting)
	if d.NoModem == "" {
		for _, c := range d.Modems {
			if !c.CanSend && !c.Paused && (c.State != "starting" || c.Identity.IMEI != "") {
				d.Trouble = append(d.Trouble, c)
			}
		}
	}
	// A modem's own alert says again what the no-modem alert or its
	// trouble line already says: it shows only when neither does.
	covered := map[string]bool{}
	for _, c := range d.Trouble {
		covered[c.Name] = true
	}
	for _, c := range d.Modems {
		covered[c.Name] = covered[c.Name] || d.NoModem != ""
	}
	for _, al := range s.gw.Alerts() {
		v := alertView{Alert: al}
		if modemAlertKinds[al.Kind] {
			if covered[al.Modem] {
				continue
			}
			v.Problem = explain(al.Message, al.Modem)
		}
		d.Alerts = append(d.Alerts, v)
	}
	all, err := s.gw.StatusCounts()
	if err != nil {
		return err
	}
	anyText := false
	for _, n := range all {
		anyText = anyText || n > 0
	}
	d.Checklist = s.checklist(d.Modems, anyText)
	hourEnd := now.Truncate(time.Hour).Add(time.Hour)
	hours, err := s.gw.HourCounts(hourEnd.Add(-24*time.Hour), 24)
	if err != nil {
		return err
	}
	d.Hourly = buildChart("Last 24 hours", hours, hourEnd, func(t time.Time) string { return t.Local().Format("15:00") }, 6, "now")
	dayEnd := startOfDay(now).AddDate(0, 0, 1)
	days, err := s.gw.DayCounts(startOfDay(now).AddDate(0, 0, -29), 30)
	if err != nil {
		return err
	}
	d.Daily = buildChart("Last 30 days", days, dayEnd, func(t time.Time) string { return t.Local().Format("2 Jan") }, 7, "today")
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

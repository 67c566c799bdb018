package webui

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/simgate/simgate/gateway"
)

// The dashboard's figures come from a bounded scan of the newest messages
// (scanLimit), not from counters in the store: simple and correct for a
// shop's volume. A box that sends more than scanLimit texts in 30 days sees
// the charts cut off, and the page says so; per-hour counters kept by the
// gateway would lift that limit.
const scanLimit = 5000

// counts are today's totals, by what a shop owner cares about. The texts
// created today fall into exactly one of Queued, Sent, Delivered, Failed,
// Expired, Suppressed and Undecided, which add up to Total: the tiles
// agree with each other.
type counts struct {
	Total      int `json:"total"`
	Queued     int `json:"queued"` // waiting to send (being sent, or held: see Held)
	Held       int `json:"held"`   // of Queued, those held back on purpose (quiet hours, a cap, ...)
	Sent       int `json:"sent"`   // went out, delivery not yet confirmed
	Delivered  int `json:"delivered"`
	Failed     int `json:"failed"`
	Expired    int `json:"expired"`
	Suppressed int `json:"suppressed"` // refused by the compliance rules: never sent
	Undecided  int `json:"undecided"`  // may or may not have gone out
	Inbound    int `json:"inbound"`
	Unknown    int `json:"unknown"` // waiting for a person's decision, any day
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

// recentInbound is recentMessages for received texts.
func (s *server) recentInbound(limit int) ([]gateway.Inbound, error) {
	var out []gateway.Inbound
	var before uint64
	for len(out) < limit {
		page, next, err := s.gw.Inbox(before, 500)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == 0 {
			break
		}
		before = next
	}
	return out, nil
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// todayCounts computes the totals shown on the dashboard and sent in the
// websocket snapshot.
func (s *server) todayCounts(now time.Time) (counts, error) {
	msgs, _, err := s.recentMessages(startOfDay(now), "")
	if err != nil {
		return counts{}, err
	}
	var c counts
	for _, m := range msgs {
		tally(&c, m)
	}
	in, err := s.recentInbound(scanLimit)
	if err != nil {
		return counts{}, err
	}
	for _, m := range in {
		if !m.ReceivedAt.Before(startOfDay(now)) {
			c.Inbound++
		}
	}
	unknown, _, err := s.gw.Messages(gateway.ListFilter{Status: gateway.StatusUnknown, Limit: 500})
	if err != nil {
		return counts{}, err
	}
	c.Unknown = len(unknown)
	review, err := s.gw.ReviewQueue()
	if err != nil {
		return counts{}, err
	}
	c.Review = len(review)
	return c, nil
}

func tally(c *counts, m gateway.Message) {
	c.Total++
	switch m.Status {
	case gateway.StatusQueued, gateway.StatusSending:
		c.Queued++
		if m.Hold != nil {
			c.Held++
		}
	case gateway.StatusSent:
		c.Sent++
	case gateway.StatusDelivered:
		c.Delivered++
	case gateway.StatusFailed:
		c.Failed++
	case gateway.StatusExpired:
		c.Expired++
	case gateway.StatusSuppressed:
		c.Suppressed++
	case gateway.StatusUnknown:
		c.Undecided++
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
		{Key: "suppressed", Label: "Not sent: no consent", N: c.Suppressed, Href: list("suppressed")},
		{Key: "undecided", Label: "Needs your decision", N: c.Undecided, Href: list("unknown")},
		{Key: "inbound", Label: "Received", N: c.Inbound, Href: "/inbox"},
	}
	if c.Held > 0 {
		ts[1].Note = strconv.Itoa(c.Held) + " held back on purpose"
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

// buildChart buckets messages by creation time into n slots of size step
// ending at end.
func buildChart(title string, msgs []gateway.Message, end time.Time, step time.Duration, n int, label func(time.Time) string, every int) chart {
	type slot struct{ delivered, sent, failed int }
	slots := make([]slot, n)
	start := end.Add(-time.Duration(n) * step)
	for _, m := range msgs {
		if m.CreatedAt.Before(start) || !m.CreatedAt.Before(end) {
			continue
		}
		i := int(m.CreatedAt.Sub(start) / step)
		switch m.Status {
		case gateway.StatusDelivered:
			slots[i].delivered++
		case gateway.StatusSent:
			slots[i].sent++
		case gateway.StatusFailed, gateway.StatusExpired:
			slots[i].failed++
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
		t := start.Add(time.Duration(i) * step)
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

type dashboardData struct {
	Modems []modemCard
	Today  counts
	Tiles  []tile
	Alerts []gateway.Alert
	// NoModem is the alert when no modem can send ("" when one can), and
	// NoModemWhy each modem's reason.
	NoModem    string
	NoModemWhy []string
	// Trouble lists modems that cannot send while others can.
	Trouble   []modemCard
	Checklist []checkItem // the first-run steps; nil once all are done
	Hourly    chart
	Daily     chart
	Capped    bool
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
	tokens, _ := s.gw.Tokens()
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

// waitingTexts counts the texts waiting to be sent, whatever the day
// (at most 1,000: beyond that the exact figure matters less than the alert).
func (s *server) waitingTexts() (int, error) {
	n := 0
	for _, st := range []gateway.Status{gateway.StatusQueued, gateway.StatusSending} {
		page, _, err := s.gw.Messages(gateway.ListFilter{Status: st, Limit: 1000})
		if err != nil {
			return 0, err
		}
		n += len(page)
	}
	return n, nil
}

// dashboard answers GET /.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request, u user) error {
	now := s.now()
	msgs, capped, err := s.recentMessages(startOfDay(now).AddDate(0, 0, -29), "")
	if err != nil {
		return err
	}
	today, err := s.todayCounts(now)
	if err != nil {
		return err
	}
	d := dashboardData{Today: today, Tiles: today.tiles(now.Local().Format("2006-01-02")), Alerts: s.gw.Alerts(), Capped: capped}
	for _, m := range s.gw.Modems() {
		d.Modems = append(d.Modems, newModemCard(m))
	}
	waiting, err := s.waitingTexts()
	if err != nil {
		return err
	}
	d.NoModem, d.NoModemWhy = noModemAlert(d.Modems, waiting)
	if d.NoModem == "" {
		for _, c := range d.Modems {
			if !c.CanSend && !c.Paused && (c.State != "starting" || c.Identity.IMEI != "") {
				d.Trouble = append(d.Trouble, c)
			}
		}
	}
	anyText := len(msgs) > 0
	if !anyText {
		older, _, err := s.gw.Messages(gateway.ListFilter{Limit: 1})
		if err != nil {
			return err
		}
		anyText = len(older) > 0
	}
	d.Checklist = s.checklist(d.Modems, anyText)
	hourEnd := now.Truncate(time.Hour).Add(time.Hour)
	d.Hourly = buildChart("Last 24 hours", msgs, hourEnd, time.Hour, 24,
		func(t time.Time) string { return t.Local().Format("15:00") }, 6)
	dayEnd := startOfDay(now).AddDate(0, 0, 1)
	d.Daily = buildChart("Last 30 days", msgs, dayEnd, 24*time.Hour, 30,
		func(t time.Time) string { return t.Local().Format("2 Jan") }, 7)
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

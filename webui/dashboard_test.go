package webui

import (
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestNiceCeil(t *testing.T) {
	for v, want := range map[int]int{0: 2, 1: 2, 2: 2, 3: 4, 7: 8, 9: 10, 11: 20, 43: 60, 100: 100, 101: 200, 4999: 6000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", v, got, want)
		}
	}
}

// The chart counts every series in its slot, labels the current slot and
// says the time zone (issue 13 point 16).
func TestBuildChart(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	end := time.Date(2025, 3, 14, 16, 0, 0, 0, loc)
	// The store's counters per hour, as gateway.HourCounts gives them: the
	// last hour has one text of each outcome and 5 received, 21 one sent.
	hours := make([]gateway.PeriodCounts, 24)
	for i := range hours {
		hours[i] = gateway.PeriodCounts{Start: end.Add(time.Duration(i-24) * time.Hour), ByStatus: map[gateway.Status]int{}}
	}
	hours[23].ByStatus = map[gateway.Status]int{gateway.StatusDelivered: 1, gateway.StatusFailed: 1, gateway.StatusSuppressed: 1}
	hours[23].Inbound = 5
	hours[21].ByStatus[gateway.StatusSent] = 1
	c := buildChart("Last 24 hours", hours, end, func(t time.Time) string { return t.In(loc).Format("15:00") }, 6, "now")
	if len(c.Bars) != 24 || len(c.XLabels) != 24 || c.XLabels[23] != "now" || c.XLabels[0] != "16:00" {
		t.Fatalf("bars %d, labels %q", len(c.Bars), c.XLabels)
	}
	if want := "now: 1 delivered, 0 sent, 1 failed, 1 not sent (consent), 5 received"; c.Bars[23].Label != want {
		t.Errorf("last bar %q, want %q", c.Bars[23].Label, want)
	}
	if len(c.Bars[23].Segments) != 3 || !strings.Contains(c.Bars[21].Label, "1 sent") {
		t.Errorf("segments %+v, bar 21 %q", c.Bars[23].Segments, c.Bars[21].Label)
	}
	if c.Max != 6 || strings.Join(c.YTicks, ",") != "6,3,0" || !strings.Contains(c.Caption, "times in CET") || !strings.Contains(c.Caption, "Highest: 5") {
		t.Errorf("max %d ticks %v caption %q", c.Max, c.YTicks, c.Caption)
	}
	if c.Received == "" || strings.Count(c.Received, ",") != 24 {
		t.Errorf("received line %q", c.Received)
	}
	for i, l := range c.XLabels[21:23] {
		if l != "" {
			t.Errorf("label %q at %d crowds \"now\"", l, 21+i)
		}
	}
}

// A modem that is not answering shows no signal bars and no "SIM ready":
// its last reading is marked as such, with its time (issue 13 point 2).
func TestModemCardStaleReading(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 4, 5, 0, time.UTC)
	healthy := gateway.Health{At: at, SignalDBm: -73, Registration: "home", Operator: "SimNet", SIM: "READY"}
	for _, c := range []struct {
		st        gateway.ModemStatus
		stale     bool
		label     string
		canSend   bool
		troubleIs string
	}{
		{gateway.ModemStatus{Name: "sim1", State: "up", Health: healthy}, false, "Working", true, ""},
		{gateway.ModemStatus{Name: "sim1", State: "starting", Health: healthy, Identity: gateway.Identity{IMEI: "1"},
			LastError: "modem hung: no answer to AT after an escape: modem: command timed out"}, true, "Reconnecting", false, "The modem sim1 stopped answering."},
		{gateway.ModemStatus{Name: "sim2", State: "down", Health: healthy, LastError: "SIM taken out of rotation: AT+CMGS=14: +CMS ERROR: 310"},
			true, "Not working", false, "The SIM card is missing or not seated. Check the SIM in sim2."},
		{gateway.ModemStatus{Name: "sim1", State: "up", Paused: true, Health: healthy}, false, "Working, paused: sends nothing", false, ""},
	} {
		card := newModemCard(c.st)
		if card.Stale != c.stale || card.StateLabel != c.label || card.CanSend != c.canSend {
			t.Errorf("%s %s: stale %v label %q canSend %v", c.st.Name, c.st.State, card.Stale, card.StateLabel, card.CanSend)
		}
		if c.stale && card.Bars != 0 {
			t.Errorf("%s %s: %d bars from a reading that is not current", c.st.Name, c.st.State, card.Bars)
		}
		if !strings.HasPrefix(card.Problem.Text(), c.troubleIs) {
			t.Errorf("%s: problem %q", c.st.Name, card.Problem.Text())
		}
	}
	r := newRig(t)
	s := r.h.(*server)
	cards := []modemCard{newModemCard(gateway.ModemStatus{Name: "sim2", State: "down", Health: healthy, LastError: "+CMS ERROR: 310"})}
	head, why := noModemAlert(cards, 3)
	if head != "No modem can send right now: 3 texts are waiting." || len(why) != 1 || !strings.Contains(why[0], "Check the SIM in sim2") {
		t.Errorf("no-modem alert %q %q", head, why)
	}
	var buf strings.Builder
	if err := s.pages["dashboard"].ExecuteTemplate(&buf, "modemcard", cards[0]); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, `class="bars`) || strings.Contains(out, "SIM</dt>") || !strings.Contains(out, "No current reading") ||
		!strings.Contains(out, "Last reading at") {
		t.Errorf("stale card:\n%s", out)
	}
}

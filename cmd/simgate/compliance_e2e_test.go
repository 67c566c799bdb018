package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inWindowRecipient picks a customer number whose local time is well
// inside the marketing window now, so that quiet hours cannot be what
// holds the texts back in the end-to-end compliance test.
func inWindowRecipient(t *testing.T) string {
	t.Helper()
	for _, c := range []struct{ number, zone string }{
		{"+12125550147", "America/New_York"},
		{"+442079460147", "Europe/London"},
		{"+61291234567", "Australia/Sydney"},
		{"+81312345678", "Asia/Tokyo"},
		{"+919812345678", "Asia/Kolkata"},
		{"+13105550147", "America/Los_Angeles"},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		if h := time.Now().In(loc).Hour(); h >= 9 && h < 19 {
			return c.number
		}
	}
	t.Fatal("no candidate recipient is inside 09:00-19:00 local time now") // cannot happen: the zones span the globe
	return ""
}

// TestEndToEndStopWhileMarketingQueued is the end-to-end test: a
// batch of marketing texts to a customer waits in the queue (the SIM's
// per-minute pace holds it), the customer texts STOP into the simulator,
// and none of the batch reaches the network; exactly one opt-out
// confirmation does, and a second STOP gets no second confirmation.
func TestEndToEndStopWhileMarketingQueued(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, control := startSim(t, dir, 1)
	token := createToken(t, data)
	// One text per 10 s: the batch queued behind the first text waits long
	// enough for the STOP to arrive.
	p := startProc(t, "serve", "--data", data, "--listen", "127.0.0.1:0",
		"--modem", links[0]+",name=sim1,per_minute=6,per_day=0,unique_per_day=0,unique_per_month=0")
	base := p.expect(t, reListening)[1]
	c := &api{t: t, base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	customer := inWindowRecipient(t)

	settings := map[string]any{
		"brand": "Rosa's Bakery", "support_contact": "rosa@example.com", "frequency": "up to 4 msgs/month",
		"disclosure":        map[string]string{"version": "v1", "text": "By ticking this box you agree to receive recurring automated marketing texts from Rosa's Bakery, up to 4 msgs/month. Consent is not a condition of purchase. Msg&data rates may apply. Reply HELP for help, STOP to cancel."},
		"marketing_per_24h": 3,
	}
	if code, err := c.do("PUT", "/api/v1/settings/compliance", settings, nil); err != nil || code != http.StatusOK {
		t.Fatalf("save settings: %d %v", code, err)
	}
	optIn := map[string]any{"number": customer, "method": "pos", "source": "till 1", "terminal": "till 1",
		"disclosure_version": "v1", "double_opt_in": false}
	if code, err := c.do("POST", "/api/v1/consent", optIn, nil); err != nil || code >= 300 {
		t.Fatalf("opt in: %d %v", code, err)
	}
	// The opt-in confirmation goes first (R-OPTIN-2) and takes the SIM's
	// slot for the next 10 s; the batch queues behind it.
	waitSim(t, control, func(ms []simMessage) bool { return countTo(ms, customer, "Thanks for joining") == 1 })

	var ids []string
	for i := range 3 {
		var m apiMessage
		text := fmt.Sprintf("Rosa's Bakery: %d%% off all croissants today! Reply STOP to opt out", 10*(i+1))
		if code, err := c.do("POST", "/api/v1/messages", map[string]any{"to": customer, "text": text, "kind": "marketing"}, &m); err != nil || code != http.StatusAccepted {
			t.Fatalf("submit marketing %d: %d %v", i, code, err)
		}
		ids = append(ids, m.ID.String())
	}
	postJSON(t, control+"/inbound", map[string]any{"to": 0, "from": customer, "text": " stop "})
	final := waitAll(t, c, ids, messageSettled)
	for id, s := range final {
		if s != "suppressed" {
			t.Errorf("marketing text %s ended %s, want suppressed", id, s)
		}
	}
	waitSim(t, control, func(ms []simMessage) bool { return countTo(ms, customer, "unsubscribed") == 1 })

	// A second STOP within 24 h: no second confirmation (R-STOP-3). Its
	// ledger entry names the confirmation it caused, so the box queues any
	// confirmation before it writes the entry: once the entry is there, the
	// queue shows whether a second confirmation was made, whatever the
	// SIM's pace would let reach the network by now.
	postJSON(t, control+"/inbound", map[string]any{"to": 0, "from": customer, "text": "STOP"})
	var stops []consentEvent
	waitFor(t, 60*time.Second, "the second STOP in the consent ledger", func() error {
		stops = keywordOptOuts(t, c, customer)
		if len(stops) < 2 {
			return fmt.Errorf("the ledger holds %d keyword opt-outs: %+v", len(stops), stops)
		}
		return nil
	})
	if len(stops) != 2 || stops[0].MessageID == 0 || stops[1].MessageID != 0 {
		t.Errorf("keyword opt-outs %+v: want two, only the first with a confirmation", stops)
	}
	if n := countQueuedTo(t, c, customer, "unsubscribed"); n != 1 {
		t.Errorf("%d opt-out confirmations in the gateway's messages, want exactly 1", n)
	}
	ms := simMessages(t, control)
	if n := countTo(ms, customer, "off all croissants"); n != 0 {
		t.Errorf("%d marketing texts reached the network after STOP", n)
	}
	if n := countTo(ms, customer, "unsubscribed"); n != 1 {
		t.Errorf("%d opt-out confirmations, want exactly 1", n)
	}
	// And a transactional text to a number that opted out of everything is
	// suppressed too.
	var m apiMessage
	if code, err := c.do("POST", "/api/v1/messages", map[string]any{"to": customer, "text": "Your order is ready"}, &m); err != nil || code != http.StatusAccepted {
		t.Fatalf("submit transactional: %d %v", code, err)
	}
	if s := waitAll(t, c, []string{m.ID.String()}, messageSettled)[m.ID.String()]; s != "suppressed" {
		t.Errorf("transactional text to a number that texted STOP ended %s, want suppressed", s)
	}
}

func messageSettled(status string) bool {
	switch status {
	case "sent", "delivered", "failed", "suppressed", "expired", "unknown":
		return true
	}
	return false
}

func countTo(ms []simMessage, to, contains string) int {
	n := 0
	for _, m := range ms {
		if m.To == to && strings.Contains(m.Text, contains) {
			n++
		}
	}
	return n
}

func waitSim(t *testing.T, control string, done func([]simMessage) bool) {
	t.Helper()
	waitFor(t, 60*time.Second, "the simulator to see the expected texts", func() error {
		if ms := simMessages(t, control); !done(ms) {
			return fmt.Errorf("it holds %+v", ms)
		}
		return nil
	})
}

// consentEvent is the part of a consent ledger entry the tests look at.
type consentEvent struct {
	Type      string `json:"type"`
	Method    string `json:"method"`
	Keyword   string `json:"keyword"`
	InboundID uint64 `json:"inbound_id"`
	MessageID uint64 `json:"message_id"`
}

// keywordOptOuts returns number's opt-outs by keyword from its consent
// evidence, oldest first.
func keywordOptOuts(t *testing.T, c *api, number string) []consentEvent {
	t.Helper()
	var evidence struct {
		Events []consentEvent `json:"events"`
	}
	if code, err := c.do("GET", "/api/v1/consent/"+number, nil, &evidence); err != nil || code != http.StatusOK {
		t.Fatalf("consent evidence of %s: %d %v", number, code, err)
	}
	var out []consentEvent
	for _, ev := range evidence.Events {
		if ev.Type == "opt_out" && ev.Method == "keyword" {
			out = append(out, ev)
		}
	}
	return out
}

// countQueuedTo counts the gateway's outbound messages to number whose
// text contains contains, whatever their status.
func countQueuedTo(t *testing.T, c *api, number, contains string) int {
	t.Helper()
	var list struct {
		Messages []struct {
			To   string `json:"to"`
			Text string `json:"text"`
		} `json:"messages"`
		NextCursor *string `json:"next_cursor"`
	}
	if code, err := c.do("GET", "/api/v1/messages?limit=500", nil, &list); err != nil || code != http.StatusOK {
		t.Fatalf("list messages: %d %v", code, err)
	}
	if list.NextCursor != nil {
		t.Fatalf("more than one page of messages; the test expects a handful")
	}
	n := 0
	for _, m := range list.Messages {
		if m.To == number && strings.Contains(m.Text, contains) {
			n++
		}
	}
	return n
}

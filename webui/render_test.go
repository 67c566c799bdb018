package webui

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
)

// TestRenderEveryTemplate renders each page with fixture data that fills
// every branch (alerts, budgets, errors, tokens), so a template mistake
// fails here rather than in a shop.
func TestRenderEveryTemplate(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := r.h.(*server)
	now := time.Date(2025, 3, 14, 15, 4, 5, 0, time.UTC)
	modems := []modemCard{
		newModemCard(gateway.ModemStatus{Name: "sim1", Path: "/dev/ttyUSB2", State: "up", Since: now,
			Identity: gateway.Identity{Manufacturer: "SIMCOM", Model: "SIM800", Revision: "1.0", IMEI: "490154203237518", IMSI: "310150123456789", ICCID: "8901"},
			Health:   gateway.Health{At: now, SignalDBm: -71, Registration: "home", Operator: "AT&T", SIM: "READY", StorageUsed: 3, StorageTotal: 30},
			Budget:   &gateway.Budget{Limits: gateway.Limits{PerDay: 200}, PartsToday: 12, Exhausted: "per-day"}}),
		newModemCard(gateway.ModemStatus{Name: "sim2", State: "down", LastError: "no answer to AT", Budget: &gateway.Budget{PartsToday: 3}}),
	}
	msgs := []gateway.Message{
		{ID: 2, To: "+12015550123", Text: "<script>alert(1)</script>", Status: gateway.StatusDelivered, CreatedAt: now.Add(-time.Hour), Modem: "sim1",
			Encoding: "GSM-7", Parts: []gateway.Part{{Seq: 1, MR: ptr(3), Modem: ptr("sim1"), Status: gateway.StatusDelivered, SentAt: &now}},
			History: []gateway.Transition{{At: now, Status: gateway.StatusQueued, Note: "accepted"}, {At: now, Status: gateway.StatusDelivered}}},
		{ID: 1, To: "+12015550124", Text: "x", Status: gateway.StatusUnknown, CreatedAt: now.Add(-30 * time.Hour), Error: ptr("timeout"),
			Parts: []gateway.Part{{Seq: 1, Status: gateway.StatusUnknown, Error: ptr("timeout")}}},
		{ID: 3, To: "+12015550125", Text: "Rosa's: 20% off", Kind: gateway.KindMarketing, Status: gateway.StatusQueued, CreatedAt: now,
			Hold: ptr("quiet hours: 22:10 in America/New_York; marketing allowed 08:00-21:00 local (US federal rule)"), NextAttemptAt: now.Add(10 * time.Hour),
			Parts: []gateway.Part{{Seq: 1, Status: gateway.StatusQueued}}},
		{ID: 4, To: "+12015550126", Text: "Rosa's: 20% off", Kind: gateway.KindMarketing, Status: gateway.StatusSuppressed, CreatedAt: now,
			Error: ptr("no marketing consent on record for this number"), Parts: []gateway.Part{{Seq: 1, Status: gateway.StatusQueued}}},
	}
	fixtures := map[string]view{
		"login": {Title: "Log in", Error: "Wrong user name or password.", Data: loginData{Name: "ana", Next: "/inbox"}},
		"error": {Title: "Not Found", Error: "There is no such page."},
		"dashboard": {Title: "Overview", Data: dashboardData{Modems: modems, Today: counts{Queued: 1, Sent: 2, Delivered: 3, Failed: 4, Inbound: 5, Unknown: 6, Review: 2},
			Alerts: []alertView{{Alert: gateway.Alert{Key: "backup/", Kind: "backup", Message: "sim2 is not answering", Since: now}},
				{Alert: gateway.Alert{Key: "modem_down/sim2", Kind: "modem_down", Modem: "sim2", Message: "modem sim2 is not answering (4 attempts, including a reboot): modem hung"}, Problem: explain("modem hung", "sim2")}},
			Hourly: buildChart("Last 24 hours", periods(now, time.Hour, 24), now, func(t time.Time) string { return t.Format("15:00") }, 6, "now"),
			Daily:  buildChart("Last 30 days", periods(now, 24*time.Hour, 30), now, func(t time.Time) string { return t.Format("2 Jan") }, 7, "today")}},
		"compose":  {Title: "Send a text", Error: "The phone number is required.", Data: newComposeData("+1", "\u201chi\u201d")},
		"messages": {Title: "Messages", Data: &messagesData{Rows: msgs, Review: true, Scanned: true, Older: "/messages?before=1", States: []stateOption{{"", "Any"}}}},
		"message":  {Title: "Text", Notice: "sent", Data: newMessageData(msgs[0])},
		"inbox":    {Title: "Inbox", Data: []*conversation{{Number: "+12015550123", Last: gateway.Inbound{Text: "hi", ReceivedAt: now}, Count: 2, Unread: 1}}},
		"thread": {Title: "+1", Error: "The text must not be empty.", Data: threadData{Number: "+12015550123", Reply: "ok",
			Bubbles: []bubble{{At: now, Text: "hi"}, {At: now, Text: "yes", Out: true, ID: 2, Status: gateway.StatusSent}}}},
		"modems": {Title: "Modems", Data: modemsData{Modems: modems, USSD: map[string]*ussdResult{"sim1": {Code: "*100#", Reply: "Balance $5"}, "sim2": {Code: "*1#", Error: "no"}}}},
		"settings": {Title: "Settings", Notice: "Token created.", Data: settingsData{NewToken: "sg_abc", Region: "US",
			Tokens: []access.Token{{ID: 1, Name: "Website", CreatedAt: now, LastUsed: now}}, Users: []access.User{{Name: "ana", CreatedAt: now}}}},
	}
	maps.Copy(fixtures, contactFixtures(now, msgs)) // contacts_console_test.go
	maps.Copy(fixtures, consentFixtures(now))       // consent_test.go
	maps.Copy(fixtures, integrationFixtures(now))   // events_test.go
	maps.Copy(fixtures, templateFixtures(now))      // templates_test.go
	maps.Copy(fixtures, flowFixtures(now))          // flows_test.go
	maps.Copy(fixtures, campaignFixtures(now))      // campaigns_test.go
	maps.Copy(fixtures, webhookFixtures(now))       // webhooks_test.go
	maps.Copy(fixtures, segmentFixtures(now))       // segments_test.go
	maps.Copy(fixtures, analyticsFixtures(now))     // analytics_test.go
	for name := range s.pages {
		if _, ok := fixtures[name]; !ok {
			t.Errorf("template %s has no fixture", name)
		}
	}
	want := map[string][]string{
		"dashboard": {"sim2 is not answering", "The modem sim2 stopped answering. The gateway restarts it", "12 of 200 SMS today", "Not working", "bars b4", "<rect class=\"delivered\"", "now: 3 delivered, 1 sent, 2 failed"},
		"messages":  {"&lt;script&gt;", "Needs your decision", "Send again", "Older messages", "held: quiet hours", "no marketing consent on record"},
		"message":   {"accepted", "Delivered", "Network reference", "1 text<"},
		"modems":    {"490154203237518", "Balance $5", "8901"},
		"settings":  {"sg_abc", "Website"},
		"compose":   {"UCS-2", "<mark>\u201c</mark>"},
		"contact":   {"order 1001", "199.00 USD"},
		"integrations": {"https://texts.example.com/hooks/shopify", "set: ••••••••cdef", "not set: WooCommerce webhooks are refused",
			"bad signature", `id="test-event"`},
		"webhooks":     {"<strong>paused</strong>", "failing since", `value="https://new.example/h"`, "&lt;b&gt;x&lt;/b&gt;", `value="consent.opt_out" checked`},
		"campaigns":    {"33 %", "<progress"},
		"campaign":     {"30 of 90 texts sent", "no clear winner", "Send this variant", `id="campaign-results"`, "after the campaign ends"},
		"campaign_new": {`<option value="2" selected>VIP buyers</option>`, "after your sale ends", "Left out: no consent", "&lt;b&gt;Rosa", "9.00", `value="local" checked`},
		"webhook":      {"whsec_abc", "HTTP 503", "&lt;h1&gt;down&lt;/h1&gt;", "dial tcp: refused", "replay of 3", "next try", `value="resume"`},
	}
	for name, v := range fixtures {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if err := s.render(w, req, http.StatusOK, name, v); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		body := w.Body.String()
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s: text not escaped", name)
		}
		if !strings.Contains(body, "</html>") {
			t.Errorf("%s: truncated", name)
		}
		for _, s := range want[name] {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q", name, s)
			}
		}
	}
	// A marketing text held by the guard says why and until when.
	w := httptest.NewRecorder()
	if err := s.render(w, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "message",
		view{Title: "Text", Data: newMessageData(msgs[2])}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Waiting because", "quiet hours: 22:10", "Next try", "needs the customer", "Drop (do not send)", "Give up after"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("held message page lacks %q", want)
		}
	}
	// A suppressed text says why and what to do, and shows no modem, no
	// part waiting to be sent and no deadline.
	w = httptest.NewRecorder()
	if err := s.render(w, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "message",
		view{Title: "Text", Data: newMessageData(msgs[3])}); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	for _, want := range []string{"Why it was not sent", "no marketing consent on record", "record their consent", "/contacts/new?number=%2b12015550126"} {
		if !strings.Contains(body, want) {
			t.Errorf("suppressed message page lacks %q", want)
		}
	}
	for _, not := range []string{"<dt>Modem</dt>", "Give up after", "Waiting to send", "Drop (do not send)", `id="parts"`} {
		if strings.Contains(body, not) {
			t.Errorf("suppressed message page shows %q", not)
		}
	}
	// A template that fails writes nothing, so the error page is clean.
	w = httptest.NewRecorder()
	if err := s.render(w, httptest.NewRequest(http.MethodGet, "/", nil), 200, "dashboard", view{Data: 42}); err == nil {
		t.Error("bad data rendered")
	} else if w.Body.Len() != 0 || w.Code != 200 || len(w.Header()) != 0 {
		t.Errorf("partial output on error: %d %q", w.Code, w.Body)
	}
}

// ptr is the address of a copy of v, for the views' optional fields.
func ptr[T any](v T) *T { return &v }

// periods makes n chart periods of length step ending at end, the last
// holding texts of each status the chart stacks.
func periods(end time.Time, step time.Duration, n int) []gateway.PeriodCounts {
	out := make([]gateway.PeriodCounts, n)
	for i := range out {
		out[i] = gateway.PeriodCounts{Start: end.Add(time.Duration(i-n) * step), ByStatus: map[gateway.Status]int{}}
	}
	out[n-1].ByStatus = map[gateway.Status]int{gateway.StatusDelivered: 3, gateway.StatusSent: 1, gateway.StatusFailed: 1, gateway.StatusExpired: 1}
	return out
}

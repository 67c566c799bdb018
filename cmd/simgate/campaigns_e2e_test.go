package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The acceptance of issue 11 (campaigns): a sale at 10:00 on each
// customer's own clock across three US zones, two variants and a holdout,
// with the real binary, the simulator and the test clock.

// campaignZones are the test's customers' zones by area code.
var campaignZones = []struct{ area, zone string }{
	{"212", "America/New_York"}, {"312", "America/Chicago"}, {"213", "America/Los_Angeles"},
}

// campaignCustomer i: every fifth has no consent, even ones are tagged
// vip, i%4 == 0 or 1 ordered 10 days ago and i%4 == 2 ordered 120 days ago.
func campaignCustomer(i int) (number, zone string, consented, vip bool) {
	z := campaignZones[i%3]
	return fmt.Sprintf("+1%s555%04d", z.area, i), z.zone, i%5 != 4, i%2 == 0
}

// clockBox is a box on the test clock.
type clockBox struct {
	t       *testing.T
	data    string
	links   []string
	control string
	token   string
	p       *proc
	c       *api
	// The test clock read start at real time realStart (moved by jump).
	start, realStart time.Time
}

func (b *clockBox) now() time.Time { return b.start.Add(time.Since(b.realStart)) }

// run starts the daemon with its clock where it was.
func (b *clockBox) run() {
	b.t.Helper()
	at := b.now()
	b.t.Setenv("SIMGATE_TEST_CLOCK", at.UTC().Format(time.RFC3339Nano))
	b.start, b.realStart = at, time.Now()
	args := []string{"serve", "--data", b.data, "--listen", "127.0.0.1:0", "--public-url", e2ePublicURL}
	for i, l := range b.links {
		args = append(args, "--modem", fmt.Sprintf("%s,name=sim%d,per_minute=0,per_day=0,unique_per_day=0,unique_per_month=0", l, i+1))
	}
	b.p = startProc(b.t, args...)
	b.c = &api{t: b.t, base: b.p.expect(b.t, reListening)[1], token: b.token, http: &http.Client{Timeout: 60 * time.Second}}
}

// jump moves the daemon's clock to t over the control socket.
func (b *clockBox) jump(t time.Time) {
	b.t.Helper()
	sock := filepath.Join(b.data, controlSocket)
	cl := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := cl.Post("http://simgate/clock?to="+url.QueryEscape(t.UTC().Format(time.RFC3339)), "", nil)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("jump to %s: %d %s", t, resp.StatusCode, body)
	}
	b.start, b.realStart = t, time.Now()
}

type e2eCampaign struct {
	ID      uint64           `json:"id"`
	State   string           `json:"state"`
	Phase   string           `json:"phase"`
	Texts   int              `json:"texts"`
	Holdout int              `json:"holdout"`
	Planned map[string]int   `json:"planned"`
	Skipped map[string]int64 `json:"skipped"`
}

type e2eMember struct {
	Number    string    `json:"number"`
	Variant   string    `json:"variant"`
	At        time.Time `json:"at"`
	MessageID uint64    `json:"message_id"`
}

func (b *clockBox) members(id uint64) []e2eMember {
	b.t.Helper()
	var all []e2eMember
	after := ""
	for {
		var page struct {
			Members    []e2eMember `json:"members"`
			NextCursor *string     `json:"next_cursor"`
		}
		if code, err := b.c.do("GET", fmt.Sprintf("/api/v1/campaigns/%d/members?after=%s", id, url.QueryEscape(after)), nil, &page); err != nil || code != http.StatusOK {
			b.t.Fatalf("members: %d %v", code, err)
		}
		all = append(all, page.Members...)
		if page.NextCursor == nil {
			return all
		}
		after = *page.NextCursor
	}
}

// campaignTexts are the simulator's texts of the campaign, by number.
func campaignTexts(t *testing.T, control string) map[string][]simMessage {
	out := map[string][]simMessage{}
	for _, m := range simMessages(t, control) {
		if strings.Contains(m.Text, "December sale") {
			out[m.To] = append(out[m.To], m)
		}
	}
	return out
}

func TestEndToEndCampaignLocalTime(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	// Monday 7 December 2026, 06:00 in New York, 03:00 in Los Angeles.
	monday := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	b := &clockBox{t: t, data: filepath.Join(dir, "data"), start: monday, realStart: time.Now()}
	b.links, b.control = startSim(t, dir, 3)
	b.token = createToken(t, b.data)
	b.run()
	if !strings.Contains(b.p.output(), "TEST CLOCK") {
		t.Errorf("the daemon does not warn that its clock is a test clock:\n%s", b.p.output())
	}
	settings := map[string]any{
		"brand": "Rosa's Bakery", "support_contact": "rosa@example.com", "frequency": "up to 4 msgs/month",
		"disclosure": map[string]string{"version": "v1", "text": "By ticking this box you agree to receive recurring automated marketing texts from Rosa's Bakery, up to 4 msgs/month. Consent is not a condition of purchase. Msg&data rates may apply. Reply HELP for help, STOP to cancel."},
	}
	if code, err := b.c.do("PUT", "/api/v1/settings/compliance", settings, nil); err != nil || code != http.StatusOK {
		t.Fatalf("save settings: %d %v", code, err)
	}

	// 1,000 contacts by CSV, 800 of them consented; some without a zone
	// (derived from the number).
	var csv strings.Builder
	csv.WriteString("phone,name,time_zone,tags,consent\n")
	for i := range 1000 {
		number, zone, ok, vip := campaignCustomer(i)
		if i%10 == 0 {
			zone = ""
		}
		tags, consent := "", "no"
		if vip {
			tags = "vip"
		}
		if ok {
			consent = "yes"
		}
		fmt.Fprintf(&csv, "%s,Customer %d,%s,%s,%s\n", number, i, zone, tags, consent)
	}
	req, _ := http.NewRequest("POST", b.c.base+"/api/v1/contacts/import?file_name=customers.csv&disclosure_version=v1", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := b.c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var job importJobView
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	waitFor(t, 60*time.Second, "the import", func() error {
		if _, j := getJob(t, b.c, job.ID); j.State != "done" || j.Report.Imported != 1000 {
			return fmt.Errorf("job %+v", j)
		}
		return nil
	})

	// Purchases: recent ones (in the last 90 days) and old ones.
	var events []map[string]any
	var audience []string // ordered in the last 90 days and tagged vip
	for i := range 1000 {
		number, _, _, vip := campaignCustomer(i)
		var ago time.Duration
		switch i % 4 {
		case 0, 1:
			ago = 10 * 24 * time.Hour
		case 2:
			ago = 120 * 24 * time.Hour
		default:
			continue
		}
		if vip && ago < 90*24*time.Hour {
			audience = append(audience, number)
		}
		events = append(events, map[string]any{"id": fmt.Sprintf("order-%d", i), "type": "order_placed", "phone": number,
			"occurred_at": monday.Add(-ago).Format(time.RFC3339),
			"properties":  map[string]any{"order_id": fmt.Sprint(5000 + i), "total": 4200, "currency": "USD"}})
	}
	for i := 0; i < len(events); i += 500 {
		var out map[string]any
		if code, err := b.c.do("POST", "/api/v1/events", events[i:min(i+500, len(events))], &out); err != nil || code != http.StatusAccepted {
			t.Fatalf("events: %d %v %v", code, err, out)
		}
	}

	// The segment "ordered in the last 90 days and tagged vip", saved.
	var seg struct {
		ID uint64 `json:"id"`
	}
	segment := map[string]any{"name": "VIP buyers", "definition": map[string]any{"match": "all", "rules": []map[string]any{
		{"field": "ordered", "op": "within_days", "days": 90}, {"field": "tag", "op": "has", "value": "vip"}}}}
	if code, err := b.c.do("POST", "/api/v1/segments", segment, &seg); err != nil || code != http.StatusCreated || seg.ID == 0 {
		t.Fatalf("save the segment: %d %v", code, err)
	}
	// The campaign: two variants and a 10 % holdout at 10:00 local time.
	campaign := map[string]any{
		"name":     "December sale",
		"audience": map[string]any{"segment_id": seg.ID},
		"template": map[string]any{"body": "Rosa's Bakery: December sale, 20% off today: https://rosa.example/sale"},
		"schedule": map[string]any{"mode": "local", "date": "2026-12-07", "time": "10:00"},
		"variants": []map[string]any{{"share": 45}, {"share": 45, "body": "Rosa's Bakery: our December sale starts now! https://rosa.example/sale"}},
		"holdout":  10,
		"end":      "2026-12-08T06:00",
	}
	var dry struct {
		Audience   int            `json:"audience"`
		Recipients int            `json:"recipients"`
		Holdout    int            `json:"holdout"`
		LeftOut    map[string]int `json:"left_out"`
	}
	if code, err := b.c.do("POST", "/api/v1/campaigns/dry-run", campaign, &dry); err != nil || code != http.StatusOK {
		t.Fatalf("dry run: %d %v", code, err)
	}
	consentedInAudience := 0
	for i := range 1000 {
		number, _, ok, _ := campaignCustomer(i)
		if ok && contains(audience, number) {
			consentedInAudience++
		}
	}
	if dry.Audience != consentedInAudience || dry.LeftOut["no consent"] != len(audience)-consentedInAudience {
		t.Errorf("dry run: %+v; want %d in the audience and %d without consent", dry, consentedInAudience, len(audience)-consentedInAudience)
	}
	var c e2eCampaign
	if code, err := b.c.do("POST", "/api/v1/campaigns", campaign, &c); err != nil || code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, err)
	}
	if code, err := b.c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/send", c.ID), nil, &c); err != nil || code != http.StatusOK {
		t.Fatalf("send: %d %v", code, err)
	}
	// SIGKILL while planning may be under way; the restarted daemon
	// resumes it.
	b.p.kill(syscall.SIGKILL)
	<-b.p.done
	b.run()
	waitFor(t, 60*time.Second, "the campaign planned", func() error {
		if _, err := b.c.do("GET", fmt.Sprintf("/api/v1/campaigns/%d", c.ID), nil, &c); err != nil {
			return err
		}
		if c.Phase != "done" {
			return fmt.Errorf("campaign %+v", c)
		}
		return nil
	})
	members := b.members(c.ID)
	if len(members) != consentedInAudience || c.Texts+c.Holdout != consentedInAudience {
		t.Fatalf("%d members, campaign counts %d texts + %d holdout; want the %d consented in the audience", len(members), c.Texts, c.Holdout, consentedInAudience)
	}
	if got := campaignTexts(t, b.control); len(got) != 0 {
		t.Fatalf("texts before 10:00 anywhere: %d", len(got))
	}

	zoneOf := map[string]string{}
	consentedSet := map[string]bool{}
	for i := range 1000 {
		number, zone, ok, _ := campaignCustomer(i)
		zoneOf[number], consentedSet[number] = zone, ok
	}
	expectIn := func(zones ...string) int {
		n := 0
		for _, m := range members {
			if m.Variant != "holdout" && contains(zones, zoneOf[m.Number]) {
				n++
			}
		}
		return n
	}
	// 10:00 in New York, then Chicago, then Los Angeles.
	steps := []struct {
		at    time.Time
		zones []string
	}{
		{time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), []string{"America/New_York"}},
		{time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC), []string{"America/New_York", "America/Chicago"}},
		{time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC), []string{"America/New_York", "America/Chicago", "America/Los_Angeles"}},
	}
	for _, st := range steps {
		b.jump(st.at)
		want := expectIn(st.zones...)
		waitFor(t, 120*time.Second, fmt.Sprintf("the texts due by %s", st.at.Format(time.RFC3339)), func() error {
			if got := len(campaignTexts(t, b.control)); got != want {
				return fmt.Errorf("%d texts, want %d", got, want)
			}
			return nil
		})
		for number := range campaignTexts(t, b.control) {
			if !contains(st.zones, zoneOf[number]) {
				t.Errorf("%s (%s) got its text before its 10:00", number, zoneOf[number])
			}
		}
	}

	// Every consented member exactly one text at their own 10:00, the
	// holdout none, the non-consented none; the campaign's numbers equal
	// the simulator's count.
	texts := campaignTexts(t, b.control)
	perVariant := map[string]int{}
	for _, m := range members {
		got := texts[m.Number]
		if !consentedSet[m.Number] {
			t.Errorf("%s has no consent but is a member", m.Number)
		}
		if m.Variant == "holdout" {
			if len(got) != 0 {
				t.Errorf("holdout member %s got %d texts", m.Number, len(got))
			}
			continue
		}
		if len(got) != 1 {
			t.Errorf("%s got %d texts, want 1", m.Number, len(got))
			continue
		}
		wantB := strings.Contains(got[0].Text, "starts now")
		if (m.Variant == "b") != wantB {
			t.Errorf("%s is in variant %s but got %q", m.Number, m.Variant, got[0].Text)
		}
		perVariant[m.Variant]++
		var msg struct {
			Parts []struct {
				SentAt *time.Time `json:"sent_at"`
			} `json:"parts"`
			Origin string `json:"origin"`
		}
		if _, err := b.c.do("GET", fmt.Sprintf("/api/v1/messages/%d", m.MessageID), nil, &msg); err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation(zoneOf[m.Number])
		if len(msg.Parts) == 0 || msg.Parts[0].SentAt == nil {
			t.Errorf("%s: message %d has no sent time", m.Number, m.MessageID)
			continue
		}
		if lt := msg.Parts[0].SentAt.In(loc); lt.Hour() != 10 || lt.Minute() > 5 || lt.Day() != 7 {
			t.Errorf("%s (%s) was sent at %s local, want 10:00 on the 7th", m.Number, zoneOf[m.Number], lt.Format(time.RFC3339))
		}
	}
	for number := range texts {
		if !contains(audience, number) || !consentedSet[number] {
			t.Errorf("%s got a campaign text but is not a consented member of the audience", number)
		}
	}
	if c.Planned["a"] != perVariant["a"] || c.Planned["b"] != perVariant["b"] || c.Texts != perVariant["a"]+perVariant["b"] {
		t.Errorf("campaign counts %v (%d texts); the simulator counted %v", c.Planned, c.Texts, perVariant)
	}
	if c.Holdout == 0 || perVariant["a"] == 0 || perVariant["b"] == 0 {
		t.Errorf("a split without a holdout or a variant: %v, holdout %d", perVariant, c.Holdout)
	}

	type results struct {
		Sent             int `json:"sent"`
		Delivered        int `json:"delivered"`
		UniqueClicks     int `json:"unique_clicks"`
		Orders           int `json:"orders"`
		OrdersByClick    int `json:"orders_by_click"`
		OrdersByDelivery int `json:"orders_by_delivery"`
		Members          int `json:"members"`
		MembersOrdered   int `json:"members_ordered"`
	}
	result := func(key string) results {
		var r results
		if code, err := b.c.do("GET", "/api/v1/results?key="+url.QueryEscape(key), nil, &struct {
			Results *results `json:"results"`
		}{&r}); err != nil || code != http.StatusOK {
			t.Fatalf("results of %s: %d %v", key, code, err)
		}
		return r
	}
	// Clicks and orders: every third texted member follows their link,
	// half of those order, and so do a few who did not click (credited by
	// delivery) and a few in the holdout (the lift's baseline). The
	// campaign's results equal the simulator's count and the test's own
	// clicks and orders.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type tally struct{ sent, clicks, byClick, byDelivery int }
	want := map[string]*tally{"a": {}, "b": {}}
	holdoutOrders := 0
	var orders []map[string]any
	for k, m := range members {
		order := func() {
			orders = append(orders, map[string]any{"id": fmt.Sprintf("sale-order-%d", k), "type": "order_placed", "phone": m.Number,
				"properties": map[string]any{"order_id": fmt.Sprint(9000 + k), "total": 5000, "currency": "USD"}})
		}
		if m.Variant == "holdout" {
			if k%2 == 0 {
				order()
				holdoutOrders++
			}
			continue
		}
		w := want[m.Variant]
		w.sent++
		switch k % 6 {
		case 0, 3:
			code := shortLink.FindStringSubmatch(texts[m.Number][0].Text)
			if code == nil {
				t.Fatalf("text to %s carries no short link: %q", m.Number, texts[m.Number][0].Text)
			}
			req, _ := http.NewRequest("GET", b.c.base+"/l/"+code[1], nil)
			req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148")
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://rosa.example/sale" {
				t.Errorf("GET /l/%s: %d → %q", code[1], resp.StatusCode, resp.Header.Get("Location"))
			}
			w.clicks++
			if k%6 == 0 {
				order()
				w.byClick++
			}
		case 1:
			order()
			w.byDelivery++
		}
	}
	// The clicks are written in the background every 250 ms; the orders
	// come after the box has them all (an order before its click would be
	// credited by delivery, rightly).
	waitFor(t, 60*time.Second, "the clicks recorded", func() error {
		for v, w := range want {
			if r := result(fmt.Sprintf("campaign:%d:variant:%s", c.ID, v)); r.UniqueClicks != w.clicks {
				return fmt.Errorf("variant %s: %d unique clicks, want %d", v, r.UniqueClicks, w.clicks)
			}
		}
		return nil
	})
	// The orders are stamped to the nanosecond: a click and an order in
	// the same second must keep their order.
	for _, o := range orders {
		o["occurred_at"] = b.now().Format(time.RFC3339Nano)
	}
	if code, err := b.c.do("POST", "/api/v1/events", orders, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("orders: %d %v", code, err)
	}
	waitFor(t, 60*time.Second, "the campaign's results", func() error {
		for v, w := range want {
			r := result(fmt.Sprintf("campaign:%d:variant:%s", c.ID, v))
			if r.Sent != w.sent || r.Delivered != w.sent || r.UniqueClicks != w.clicks || r.OrdersByClick != w.byClick || r.OrdersByDelivery != w.byDelivery {
				return fmt.Errorf("variant %s: %+v, want sent and delivered %d, clicks %d, orders by click %d, by delivery %d",
					v, r, w.sent, w.clicks, w.byClick, w.byDelivery)
			}
		}
		return nil
	})
	all := result(fmt.Sprintf("campaign:%d", c.ID))
	if all.Sent != perVariant["a"]+perVariant["b"] || all.Orders != want["a"].byClick+want["a"].byDelivery+want["b"].byClick+want["b"].byDelivery {
		t.Errorf("campaign results %+v; the simulator counted %v texts and the test made %d + %d orders", all, perVariant,
			want["a"].byClick+want["b"].byClick, want["a"].byDelivery+want["b"].byDelivery)
	}
	if h := result(fmt.Sprintf("campaign:%d:variant:holdout", c.ID)); h.Members != c.Holdout || h.MembersOrdered != holdoutOrders || h.Sent != 0 {
		t.Errorf("holdout results %+v; want %d members, %d who ordered, nothing sent", h, c.Holdout, holdoutOrders)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

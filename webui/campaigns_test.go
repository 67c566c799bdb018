package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/attribution"
	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/store"
)

// consented records confirmed marketing consent for numbers.
func consented(t *testing.T, r *rig, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		_, _, _, err := r.db.AppendConsent(store.ConsentEvent{Number: n, Type: store.EventOptIn, Purpose: store.PurposeMarketing,
			Method: store.MethodAPI, Source: "test"}, func(c *store.Consent) error {
			c.Marketing, c.ConfirmedAt = store.MarketingConfirmed, time.Now()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCampaignAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	openForConsent(t, r)
	consented(t, r, "+12125550101", "+12125550102", "+13125550103")
	body := `{"name":"Sale","audience":{"numbers":["+12125550101","+12125550102","+13125550103","+12125550199","not a number"]},
		"template":{"body":"Rosa's Bakery: 20% off today only"},"schedule":{"mode":"now"}}`

	w := r.do("POST", "/api/v1/campaigns/dry-run", body)
	if w.Code != http.StatusOK {
		t.Fatalf("dry run: %d %s", w.Code, w.Body)
	}
	var dry campaigns.DryRun
	decodeBody(t, w, &dry)
	if dry.Recipients != 3 || dry.LeftOut["no consent"] != 1 || dry.LeftOut["invalid number"] != 1 || dry.Parts != 3 || dry.CostNote != "no price set" {
		t.Errorf("dry run %+v", dry)
	}
	if n := r.countT(t); n != 0 {
		t.Fatalf("the dry run queued %d texts", n)
	}

	for _, tc := range []struct{ body, field string }{
		{`{"name":"x","audience":{"numbers":["+12125550101"]},"template":{"body":"Rosa's Bakery: hi"},"schedule":{"mode":"at","at":"2020-01-01T10:00"}}`, "schedule.at"},
		{`{"name":"x","audience":{"numbers":["+12125550101"]},"template":{"body":"Rosa's Bakery: hi"},"holdout":20,"variants":[{"share":50},{"share":50}]}`, "variants"},
		{`{"name":"x","audience":{"numbers":["+12125550199"]},"template":{"body":"Rosa's Bakery: hi"}}`, "audience"},
		{`{"name":"x","audience":{"numbers":["+12125550101"]},"template":{"body":"Rosa's Bakery: hi"},"throttle":0}`, "throttle"},
	} {
		w := r.do("POST", "/api/v1/campaigns", tc.body)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%.90s: %d, want 400", tc.body, w.Code)
			continue
		}
		if e := apiErr(t, w); e.Field != tc.field {
			t.Errorf("%.90s: error %+v, want field %s", tc.body, e, tc.field)
		}
	}

	w = r.do("POST", "/api/v1/campaigns", body)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var c campaigns.Campaign
	decodeBody(t, w, &c)
	if c.State != "draft" || w.Header().Get("Location") != "/api/v1/campaigns/1" {
		t.Fatalf("created %+v at %q", c, w.Header().Get("Location"))
	}
	if w := r.do("POST", "/api/v1/campaigns/1/dry-run", ""); w.Code != http.StatusOK {
		t.Errorf("dry run of the draft: %d %s", w.Code, w.Body)
	}
	w = r.do("POST", "/api/v1/campaigns/1/send", "")
	decodeBody(t, w, &c)
	if w.Code != http.StatusOK || c.State != "scheduled" {
		t.Fatalf("send: %d %+v", w.Code, c)
	}
	if err := r.gw.Campaigns().Step(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if n := r.countT(t); n != 3 {
		t.Errorf("%d texts queued, want 3", n)
	}
	w = r.do("GET", "/api/v1/campaigns/1/members?limit=2", "")
	var page struct {
		Members    []campaigns.MemberRecord `json:"members"`
		NextCursor *string                  `json:"next_cursor"`
	}
	decodeBody(t, w, &page)
	if w.Code != http.StatusOK || len(page.Members) != 2 || page.NextCursor == nil || page.Members[0].MessageID == 0 || page.Members[0].Variant != "a" {
		t.Fatalf("members: %d %s", w.Code, w.Body)
	}
	w = r.do("GET", "/api/v1/campaigns/1/members?after="+url.QueryEscape(*page.NextCursor), "")
	decodeBody(t, w, &page)
	if len(page.Members) != 1 || page.NextCursor != nil || page.Members[0].Number != "+13125550103" {
		t.Errorf("second page of members: %s", w.Body)
	}
	w = r.do("POST", "/api/v1/campaigns/1/pause", "")
	decodeBody(t, w, &c)
	if w.Code != http.StatusOK || c.State != "paused" {
		t.Errorf("pause: %d %+v", w.Code, c)
	}
	if w := r.do("POST", "/api/v1/campaigns/1/pick", `{"variant":"a"}`); w.Code != http.StatusConflict {
		t.Errorf("pick without a test: %d, want 409", w.Code)
	}
	w = r.do("POST", "/api/v1/campaigns/1/cancel", "")
	decodeBody(t, w, &c)
	if w.Code != http.StatusOK || c.State != "cancelled" {
		t.Errorf("cancel: %d %+v", w.Code, c)
	}
	if w := r.do("DELETE", "/api/v1/campaigns/1", ""); w.Code != http.StatusConflict {
		t.Errorf("deleting a sent campaign: %d, want 409", w.Code)
	}
	w = r.do("GET", "/api/v1/campaigns", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"state":"cancelled"`) {
		t.Errorf("list: %d %s", w.Code, w.Body)
	}
	if w := r.do("GET", "/api/v1/campaigns/9", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown campaign: %d", w.Code)
	}
}

func TestCampaignFormReadsVariants(t *testing.T) {
	f := url.Values{"name": {"Sale"}, "numbers": {"+12125550101\n+12125550102, +12125550103"}, "body": {"Rosa's: sale"},
		"mode": {"local"}, "date": {"2030-01-02"}, "time": {"10:00"}, "holdout": {"10"}, "throttle": {"500"},
		"va_share": {"45"}, "vb_share": {"45"}, "vb_body": {"Rosa's: the sale is on"}, "test_first": {"1"}, "test_percent": {"20"}, "wait_hours": {"4"}, "metric": {"click_rate"}}
	d, err := definitionFromCampaignForm(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Audience.Numbers) != 3 || len(d.Variants) != 2 || d.Variants[1].Body != "Rosa's: the sale is on" || d.Holdout != 10 ||
		d.Throttle == nil || *d.Throttle != 500 || d.TestFirst == nil || d.TestFirst.Percent != 20 || d.Schedule.Mode != "local" {
		t.Errorf("definition %+v", d)
	}
	f.Set("holdout", "ten")
	if _, err := definitionFromCampaignForm(f); formError(err) == "" || !strings.Contains(formError(err), "holdout") {
		t.Errorf("a holdout in words: %v", err)
	}
}

func campaignFixtures(now time.Time) map[string]view {
	c := campaigns.Campaign{ID: 3, Name: "<script>alert(1)</script>", State: "sending", Texts: 90, Holdout: 10,
		Planned: map[string]int64{"a": 45, "b": 45, "holdout": 10}, FirstAt: now, LastAt: now.Add(3 * time.Hour),
		Skipped:  map[string]int64{"their time comes after the campaign ends": 2},
		Results:  &campaigns.OriginResults{Sent: 30, Delivered: 25},
		Decision: &campaigns.Decision{Summary: "no clear winner: pick the variant to send"}, AwaitingPick: true,
		Definition: campaigns.Definition{Variants: []campaigns.Variant{{Key: "a", Share: 45}, {Key: "b", Share: 45}}}}
	dry := &campaigns.DryRun{Audience: 100, Recipients: 90, Holdout: 10, ByVariant: map[string]int{"a": 45, "b": 45},
		LeftOut: map[string]int{"no consent": 20}, Parts: 180, FirstAt: now, Finish: now.Add(50 * time.Hour), SIMs: 2,
		Longest:  &campaigns.Rendering{Number: "+12125550101", Variant: "b", Text: "<b>Rosa's</b>", Parts: 2, Encoding: "GSM-7"},
		Cost:     &campaigns.Money{Minor: 900, Currency: "USD"},
		Warnings: []string{"2 SIMs at 500 a day: the last text goes on Thursday, after your sale ends"}}
	lift, _ := attribution.LiftOf(62, 1000, 31, 1000)
	res := attribution.Results{Key: "campaign:3", Sent: 30, Delivered: 25, UniqueClicks: 6, ClickRate: 0.2, Orders: 2, Lift: &lift}
	page := campaignPageData{campaignRow: campaignRowOf(c), Variants: []variantRow{{Key: "a", Planned: 45, Results: &campaigns.OriginResults{Sent: 15}}, {Key: "b", Planned: 45}},
		Skipped: []string{"2: their time comes after the campaign ends"},
		Results: &resultsView{Key: "campaign:3", Results: res, Breakdown: []attribution.Results{res}, LiftLine: liftLine(&lift)}}
	return map[string]view{
		"campaigns": {Title: "Campaigns", Data: []campaignRow{campaignRowOf(c)}},
		"campaign":  {Title: "Sale", Notice: "Paused", Data: page},
		"campaign_new": {Title: "New campaign", Error: "variants the shares add up to 110 %.", Data: campaignFormData{Form: url.Values{"mode": {"local"}, "vb_body": {"x"}, "segment_id": {"2"}},
			Segments: []segments.Segment{{ID: 2, Name: "VIP buyers"}}, DryRun: dry}},
	}
}

package webui

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/attribution"
	"github.com/simgate/simgate/store"
)

// deliveredCampaignText stores a delivered marketing text of campaign 3,
// variant a, and an order an hour later, then lets the attribution room
// read the log.
func deliveredCampaignText(t *testing.T, r *rig) {
	t.Helper()
	now := time.Now()
	m, _, err := r.db.Enqueue(store.Message{To: "+12015550123", Text: "Sale", Kind: store.KindMarketing, Encoding: "GSM-7",
		Origin: "campaign:3:variant:a", Parts: []store.Part{{Seq: 1, MR: -1, Status: store.StatusQueued}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.Update(m.ID, func(m *store.Message) error {
		m.Status, m.Parts[0].Status, m.Parts[0].SentAt, m.Parts[0].DoneAt = store.StatusDelivered, store.StatusDelivered, now.Add(-time.Hour), now.Add(-time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.AppendEvents([]store.ShopEvent{{ID: "o1", Source: "api", Type: "order_placed", Number: "+12015550123",
		OccurredAt: now, OrderID: "1001", Total: 2500, Currency: "USD"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.gw.Attribution().CatchUp(); err != nil {
		t.Fatal(err)
	}
}

func TestResultsAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	deliveredCampaignText(t, r)
	w := r.do("GET", "/api/v1/results?key=campaign:3", "")
	if w.Code != http.StatusOK {
		t.Fatalf("results: %d %s", w.Code, w.Body)
	}
	var out struct {
		Results   attribution.Results   `json:"results"`
		Breakdown []attribution.Results `json:"breakdown"`
	}
	decodeBody(t, w, &out)
	if out.Results.Orders != 1 || out.Results.OrdersByDelivery != 1 || out.Results.Revenue != 2500 || out.Results.Currency != "USD" ||
		len(out.Breakdown) != 1 || out.Breakdown[0].Key != "campaign:3:variant:a" {
		t.Errorf("results %+v", out)
	}
	w = r.do("GET", "/api/v1/results?key=campaign:x", "")
	if w.Code != http.StatusBadRequest || apiErr(t, w).Field != "key" {
		t.Errorf("a bad key: %d %s", w.Code, w.Body)
	}
	w = r.do("GET", "/api/v1/analytics/clicks", "")
	var heat attribution.Heat
	decodeBody(t, w, &heat)
	if w.Code != http.StatusOK || heat.Scope != "all" || heat.Total != 0 || heat.BusiestHour != -1 {
		t.Errorf("clicks: %d %+v", w.Code, heat)
	}
}

func TestAttributionSettingsAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, tc := range []struct{ body, field string }{
		{`{"click_window_hours":0,"delivery_window_hours":24}`, "click_window_hours"},
		{`{"click_window_hours":48,"delivery_window_hours":500}`, "delivery_window_hours"},
	} {
		w := r.do("PUT", "/api/v1/settings/attribution", tc.body)
		if w.Code != http.StatusBadRequest || apiErr(t, w).Field != tc.field {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.body, w.Code, w.Body, tc.field)
		}
	}
	var st attribution.Settings
	decodeBody(t, r.do("GET", "/api/v1/settings/attribution", ""), &st)
	if st.ClickWindowHours != 120 || st.DeliveryWindowHours != 24 {
		t.Errorf("bad input changed the settings: %+v", st)
	}
	if w := r.do("PUT", "/api/v1/settings/attribution", `{"click_window_hours":72,"delivery_window_hours":12}`); w.Code != http.StatusOK {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	decodeBody(t, r.do("GET", "/api/v1/settings/attribution", ""), &st)
	if st.ClickWindowHours != 72 || st.DeliveryWindowHours != 12 {
		t.Errorf("after saving: %+v", st)
	}

	w := r.do("PUT", "/api/v1/part-prices/sim1", `{"price":4,"currency":"usd"}`)
	if w.Code != http.StatusBadRequest || apiErr(t, w).Field != "currency" {
		t.Errorf("a lower-case currency: %d %s", w.Code, w.Body)
	}
	if w := r.do("PUT", "/api/v1/part-prices/sim1", `{"price":4,"currency":"USD"}`); w.Code != http.StatusOK {
		t.Fatalf("price: %d %s", w.Code, w.Body)
	}
	var prices struct {
		PartPrices []attribution.PartPriceSetting `json:"part_prices"`
	}
	decodeBody(t, r.do("GET", "/api/v1/part-prices", ""), &prices)
	if len(prices.PartPrices) != 1 || prices.PartPrices[0] != (attribution.PartPriceSetting{Modem: "sim1", Price: 4, Currency: "USD"}) {
		t.Errorf("prices %+v", prices)
	}
}

func TestAnalyticsConsole(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	deliveredCampaignText(t, c.rig)
	wantBody(t, c.get("/analytics"), http.StatusOK, "When do my customers read their texts?", `data-key="campaign:3"`,
		"Campaign 3", "brought <strong>1</strong> order worth 25.00 USD", "How orders are counted", `value="5"`)
	wantBody(t, c.get("/analytics/results?key=campaign:3"), http.StatusOK, "What it earned", "Variant A",
		"Orders after the text was only delivered, without a click: <strong>1</strong>")
	wantBody(t, c.post("/analytics/settings", url.Values{"click_window_days": {"40"}, "delivery_window_hours": {"24"}}),
		http.StatusBadRequest, "The click window must be 1 to 720 hours")
	if st, _ := c.gw.Attribution().Settings(); st.ClickWindowHours != 120 {
		t.Errorf("a refused form changed the settings: %+v", st)
	}
	wantRedirect(t, c.post("/analytics/settings", url.Values{"click_window_days": {"2.5"}, "delivery_window_hours": {"12"}}), "/analytics?done=settings")
	if st, _ := c.gw.Attribution().Settings(); st.ClickWindowHours != 60 || st.DeliveryWindowHours != 12 {
		t.Errorf("after the form: %+v", st)
	}
	wantBody(t, c.post("/analytics/prices", url.Values{"modem": {"sim1"}, "price": {"0.045"}, "currency": {"USD"}}),
		http.StatusBadRequest, "more than two decimal places")
	wantRedirect(t, c.post("/analytics/prices", url.Values{"modem": {"sim1"}, "price": {"0.04"}, "currency": {"usd"}}), "/analytics?done=prices")
	if p, cur, ok := c.gw.Attribution().PartPrice("sim1"); !ok || p != 4 || cur != "USD" {
		t.Errorf("price after the form: %d %s %v", p, cur, ok)
	}
}

func analyticsFixtures(now time.Time) map[string]view {
	lift, _ := attribution.LiftOf(62, 1000, 31, 1000)
	roc := 3.5
	res := attribution.Results{Key: "campaign:5", Sent: 1000, Delivered: 980, UniqueClicks: 120, ClickRate: 0.12, Orders: 40,
		OrdersByClick: 30, OrdersByDelivery: 10, Revenue: 400000, RevenueByClick: 300000, RevenueByDelivery: 100000, Currency: "USD",
		Cost: 4000, Parts: 1000, ReturnOnCost: &roc, OptOuts: 3, Lift: &lift}
	d := analyticsData{Total: 7, Busiest: "Fridays, and around 11:00", Table: []attribution.Results{res}, All: res,
		Settings: attribution.Settings{ClickWindowHours: 120, DeliveryWindowHours: 24},
		Prices:   []priceRow{{Modem: "sim1", Price: "0.04", Currency: "USD"}}}
	for h := range 24 {
		d.Hours = append(d.Hours, h)
	}
	for _, day := range weekdays {
		row := heatRow{Day: day}
		for h := range 24 {
			row.Cells = append(row.Cells, heatCell{Clicks: int64(h % 3), Level: h % 6})
		}
		d.Heat = append(d.Heat, row)
	}
	return map[string]view{"analytics": {Title: "Analytics", Notice: "Saved", Data: d}}
}

func TestLiftLine(t *testing.T) {
	l, _ := attribution.LiftOf(62, 1000, 31, 1000)
	if got := liftLine(&l); got != "Texting this group earned 3.1 % more orders than not texting (95 % sure: between 1.3 and 5.0 %). "+
		"6.2 % of those texted ordered, 3.1 % of the holdout who got nothing." {
		t.Errorf("liftLine = %q", got)
	}
	l, _ = attribution.LiftOf(32, 1000, 31, 1000)
	if got := liftLine(&l); got[:36] != "We cannot tell yet whether texting m" {
		t.Errorf("a difference that could be chance: %q", got)
	}
}

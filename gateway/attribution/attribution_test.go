package attribution

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

func openStore(t *testing.T, now func() time.Time) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fieldOf(err error) string {
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func TestSettingsValidation(t *testing.T) {
	db := openStore(t, time.Now)
	s := New(Config{DB: db})
	st, err := s.Settings()
	if err != nil || st.ClickWindowHours != 120 || st.DeliveryWindowHours != 24 {
		t.Fatalf("defaults: %+v %v", st, err)
	}
	for _, c := range []struct {
		st    Settings
		field string
	}{
		{Settings{ClickWindowHours: 0, DeliveryWindowHours: 24}, "click_window_hours"},
		{Settings{ClickWindowHours: 24 * 31, DeliveryWindowHours: 24}, "click_window_hours"},
		{Settings{ClickWindowHours: 48, DeliveryWindowHours: -1}, "delivery_window_hours"},
		{Settings{ClickWindowHours: 48, DeliveryWindowHours: 24 * 8}, "delivery_window_hours"},
	} {
		if _, err := s.SetSettings(c.st); fieldOf(err) != c.field {
			t.Errorf("SetSettings(%+v) = %v, want an error naming %s", c.st, err, c.field)
		}
	}
	if st, _ := s.Settings(); st.ClickWindowHours != 120 || st.DeliveryWindowHours != 24 {
		t.Errorf("bad input changed the settings: %+v", st)
	}
	if _, err := s.SetSettings(Settings{ClickWindowHours: 72, DeliveryWindowHours: 12}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Settings(); st.ClickWindowHours != 72 || st.DeliveryWindowHours != 12 {
		t.Errorf("after saving 72/12: %+v", st)
	}
}

func TestResultKeyValidation(t *testing.T) {
	s := New(Config{DB: openStore(t, time.Now)})
	for _, k := range []string{"", "campaign:", "campaign:x", "flow:1:entry:2:step:3", "campaign:1:variant:", "console"} {
		if _, err := s.Results(k); fieldOf(err) != "key" {
			t.Errorf("Results(%q) = %v, want an error naming key", k, err)
		}
	}
	for _, k := range []string{"all", "campaign:1", "campaign:1:variant:b", "campaign:1:variant:holdout", "flow:2", "flow:2:step:3"} {
		if _, err := s.Results(k); err != nil {
			t.Errorf("Results(%q): %v", k, err)
		}
	}
}

// sendText stores a text of origin to number, sent through modem and
// delivered at now, as the outbox would leave it.
func sendText(t *testing.T, db *store.DB, number, origin, modem string, kind store.Kind, now time.Time) store.Message {
	t.Helper()
	m, _, err := db.Enqueue(store.Message{To: number, Text: "Sale today", Kind: kind, Encoding: "GSM-7", Origin: origin,
		IdempotencyKey: fmt.Sprint(origin, number, now.UnixNano()), IdempotencyScope: "test",
		Parts: []store.Part{{Seq: 1, MR: -1, Status: store.StatusQueued}, {Seq: 2, MR: -1, Status: store.StatusQueued}}})
	if err != nil {
		t.Fatal(err)
	}
	m, err = db.Update(m.ID, func(m *store.Message) error {
		m.Status, m.Modem = store.StatusDelivered, modem
		for i := range m.Parts {
			m.Parts[i].Status, m.Parts[i].Modem, m.Parts[i].SentAt, m.Parts[i].DoneAt = store.StatusDelivered, modem, now, now
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResultsRatesCostAndHeat(t *testing.T) {
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC) // a Friday
	clock := func() time.Time { return now }
	db := openStore(t, clock)
	s := New(Config{DB: db, Clock: clock})
	if err := s.SetPartPrice(PartPriceSetting{Modem: "sim1", Price: 4, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPartPrice(PartPriceSetting{Modem: "sim1", Price: 4, Currency: "dollars"}); fieldOf(err) != "currency" {
		t.Errorf("a currency that is no ISO code: %v", err)
	}
	if p, cur, ok := s.PartPrice("sim1"); !ok || p != 4 || cur != "USD" {
		t.Errorf("PartPrice(sim1) = %d %s %v", p, cur, ok)
	}
	if _, err := db.CreateContact(store.Contact{Number: "+12125550100", TimeZone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	a := sendText(t, db, "+12125550100", "campaign:7:variant:a", "sim1", store.KindMarketing, now)
	sendText(t, db, "+13105550100", "campaign:7:variant:b", "sim2", store.KindMarketing, now)
	ls, err := db.EnsureLinks([]store.Link{{URL: "https://shop.example/", Number: a.To, Origin: a.Origin, MessageKey: a.IdempotencyKey}},
		func() (string, error) { return "abcdefg1", nil })
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour) // 16:00 UTC, 11:00 in New York
	for range 2 {
		if err := db.RecordClicks([]store.Click{{Code: ls[0].Code, At: now, Agent: "browser"}}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Hour)
	if _, err := db.AppendEvents([]store.ShopEvent{
		{ID: "1", Source: "api", Type: "order_placed", Number: "+12125550100", OccurredAt: now, OrderID: "1001", Total: 5000, Currency: "USD"},
		{ID: "2", Source: "api", Type: "order_placed", Number: "+13105550100", OccurredAt: now, OrderID: "1002", Total: 2000, Currency: "USD"},
		{ID: "3", Source: "api", Type: "order_placed", Number: "+13105550100", OccurredAt: now, OrderID: "1002", Total: 2000, Currency: "USD"},
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CatchUp(); err != nil || n != 2 {
		t.Fatalf("CatchUp = %d, %v; want 2 orders credited (the third is the second sent again)", n, err)
	}
	r, err := s.Results("campaign:7")
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 2 || r.Delivered != 2 || r.Parts != 4 || r.UniqueClicks != 1 || r.Orders != 2 || r.OrdersByClick != 1 ||
		r.OrdersByDelivery != 1 || r.Revenue != 7000 || r.RevenueByClick != 5000 || r.RevenueByDelivery != 2000 || r.Cost != 8 {
		t.Errorf("campaign:7 = %+v", r)
	}
	if r.ClickRate != 0.5 || r.ConversionRate != 1 || r.RevenuePerText != 3500 || r.ReturnOnCost == nil || *r.ReturnOnCost != 875 {
		t.Errorf("rates of campaign:7 = click %v conversion %v per text %v return %v", r.ClickRate, r.ConversionRate, r.RevenuePerText, r.ReturnOnCost)
	}
	b, err := s.Breakdown("campaign:7")
	if err != nil || len(b) != 2 || b[0].Key != "campaign:7:variant:a" || b[0].OrdersByClick != 1 || b[1].OrdersByDelivery != 1 {
		t.Errorf("Breakdown(campaign:7) = %+v, %v", b, err)
	}
	heat, err := s.ClickHeat("campaign:7")
	if err != nil || heat.Total != 2 || heat.Cells[5][11] != 2 || heat.BusiestHour != 11 || heat.BusiestDay != 5 {
		t.Errorf("ClickHeat = %+v, %v; want 2 clicks on Friday at 11 New York time", heat, err)
	}
	if h, ok, err := s.BestHour("+12125550100"); err != nil || !ok || h != 11 {
		t.Errorf("BestHour = %d %v %v, want 11", h, ok, err)
	}
	if _, ok, _ := s.BestHour("+13105550100"); ok {
		t.Error("a best hour for a number that never clicked")
	}
	if h, ok, err := s.BestHourOf([]string{"+13105550100", "+12125550100"}); err != nil || !ok || h != 11 {
		t.Errorf("BestHourOf the audience = %d %v %v, want 11", h, ok, err)
	}
	if h, ok, err := s.BestHourOf([]string{"+13105550100"}); err != nil || !ok || h != 11 {
		t.Errorf("BestHourOf an audience that never clicked = %d %v %v, want every clicker's 11", h, ok, err)
	}
	tl, err := s.Timeline("campaign:7", now.Add(-3*time.Hour), 4)
	if err != nil || len(tl) != 3 || tl[0].Sent != 2 || tl[1].Clicks != 2 || tl[2].Orders != 2 {
		t.Errorf("Timeline = %+v, %v", tl, err)
	}
	table, err := s.Table()
	if err != nil || len(table) != 1 || table[0].Key != "campaign:7" {
		t.Errorf("Table = %+v, %v", table, err)
	}
}

// TestResultsLiftOverHoldout: a campaign's results carry the lift of its
// texted members over its holdout, from the members who ordered.
func TestResultsLiftOverHoldout(t *testing.T) {
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := openStore(t, clock)
	s := New(Config{DB: db, Clock: clock})
	c, err := db.CreateCampaign(store.Campaign{Name: "Sale", State: store.CampaignSending})
	if err != nil {
		t.Fatal(err)
	}
	var plans []store.CampaignPlan
	var events []store.ShopEvent
	for i := range 400 {
		v := "a"
		if i%4 == 0 {
			v = store.HoldoutVariant
		}
		n := fmt.Sprintf("+1201555%04d", i)
		plans = append(plans, store.CampaignPlan{Member: store.CampaignMember{Variant: v, Number: n, At: now}})
		// Texted members order one in three, the holdout one in ten.
		if v == "a" && i%3 == 0 || v == store.HoldoutVariant && i%40 == 0 {
			events = append(events, store.ShopEvent{ID: n, Source: "api", Type: "order_placed", Number: n,
				OccurredAt: now.Add(time.Hour), OrderID: n, Total: 100, Currency: "USD"})
		}
	}
	if _, err := db.CommitCampaignBatch(store.CampaignBatch{Campaign: c.ID, Plans: plans}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendEvents(events); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CatchUp(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Results(fmt.Sprintf("campaign:%d", c.ID))
	if err != nil {
		t.Fatal(err)
	}
	l := r.Lift
	if l == nil || l.TreatedMembers != 300 || l.HoldoutMembers != 100 || l.TreatedOrdered != 100 || l.HoldoutOrdered != 10 {
		t.Fatalf("lift %+v", l)
	}
	want, _ := LiftOf(100, 300, 10, 100)
	if l.Difference != want.Difference || l.Low != want.Low || !l.Significant {
		t.Errorf("lift %+v, want %+v", *l, want)
	}
	if h, err := s.Results(fmt.Sprintf("campaign:%d:variant:holdout", c.ID)); err != nil || h.Lift != nil || h.Members != 100 {
		t.Errorf("the holdout's own results: %+v %v", h, err)
	}
}

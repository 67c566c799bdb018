package gateway

import (
	"context"
	"encoding/json"
	"github.com/simgate/simgate/gateway/contacts"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// flowRig is a gateway with one simulated modem, the brand and a
// disclosure saved, and a contact who agreed to marketing and to cart
// reminders.
func flowRig(t *testing.T, zone string) (*rig, string) {
	// Health checks and storage sweeps every 10 minutes: the flows wait
	// hours of bubble time, and the checks are not what these tests look
	// at.
	r := newRig(t, rigOptions{modems: []sim.Config{{Number: "+15550000001"}}, gwCfg: Config{HealthInterval: 10 * time.Minute, PublicURL: "https://texts.shop.example"},
		modemCfg: modem.Config{SweepInterval: 10 * time.Minute}})
	s := testSettings()
	s.Disclosure = Disclosure{Version: "v1", Text: disclosureV1}
	if err := r.g.SaveComplianceSettings(s, "test"); err != nil {
		t.Fatal(err)
	}
	const anne = "+12125550181"
	if _, err := r.g.Contacts().Create(context.Background(), contacts.Contact{Number: anne, Name: "Anne Smith", TimeZone: zone}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.g.OptIn(context.Background(), OptInRequest{Number: anne, Method: MethodPOS, Source: "till 1", Terminal: "till 1",
		DisclosureVersion: "v1", CartReminders: true}); err != nil {
		t.Fatal(err)
	}
	return r, anne
}

func checkoutEvent(id, number, checkout string, at time.Time) store.ShopEvent {
	return store.ShopEvent{ID: id, Source: "shopify", Type: "checkout_started", Number: number, OccurredAt: at, CheckoutID: checkout,
		Total: 4200, Currency: "USD",
		Properties: json.RawMessage(`{"items":[{"name":"Blue mug","price":4200,"quantity":1}],"resume_url":"https://shop.example/r/` + checkout + `"}`)}
}

// flowTexts are the texts the gateway made for flows to number.
func flowTexts(t *testing.T, db *store.DB, number string) []store.Message {
	t.Helper()
	ms, _, err := db.MessagesTo(number, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Message
	for _, m := range ms {
		if strings.HasPrefix(m.Origin, "flow:") {
			out = append(out, m)
		}
	}
	return out
}

// An abandoned checkout gets one text after the flow's delay, delivered
// through the modem, and the entry and counters record it.
func TestFlowAbandonedCartDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at midnight UTC: 14:00 in Honolulu, when
		// marketing may go.
		r, anne := flowRig(t, "Pacific/Honolulu")
		f, err := r.g.Flows().EnablePreset("abandoned_cart", flows.PresetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.start()
		if _, err := r.db.AppendEvents([]store.ShopEvent{checkoutEvent("e1", anne, "c1", time.Now())}); err != nil {
			t.Fatal(err)
		}
		r.g.flows.EventsAppended(0)
		elapse(59 * time.Minute)
		if got := flowTexts(t, r.db, anne); len(got) != 0 {
			t.Fatalf("%d texts before the hour", len(got))
		}
		r.waitForLong("the cart text delivered", 2*time.Hour, func() bool {
			got := flowTexts(t, r.db, anne)
			return len(got) == 1 && got[0].Status == store.StatusDelivered
		})
		m := flowTexts(t, r.db, anne)[0]
		if !strings.Contains(m.Text, "Anne") || !strings.Contains(m.Text, "Blue mug") || m.ExitKey != "checkout:shopify:c1" {
			t.Errorf("text %q exit key %q", m.Text, m.ExitKey)
		}
		r.waitFor("the flow's counters", func() bool {
			got, err := r.g.Flows().Flow(f.ID)
			return err == nil && got.Counters.Sent == 1 && got.Counters.Entered == 1 && got.Counters.Waiting == 0
		})
	})
}

// A checkout's text held for quiet hours is withdrawn when its order
// lands, and the entry records why.
func TestFlowHeldTextWithdrawnByOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at midnight UTC: in London the hour is up at
		// 01:00, inside quiet hours.
		r, anne := flowRig(t, "Europe/London")
		f, err := r.g.Flows().EnablePreset("abandoned_cart", flows.PresetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.start()
		if _, err := r.db.AppendEvents([]store.ShopEvent{checkoutEvent("e1", anne, "c1", time.Now())}); err != nil {
			t.Fatal(err)
		}
		r.g.flows.EventsAppended(0)
		elapse(59 * time.Minute)
		var held store.Message
		r.waitForLong("the cart text held for quiet hours", 2*time.Hour, func() bool {
			got := flowTexts(t, r.db, anne)
			if len(got) == 1 && strings.Contains(got[0].Hold, "quiet hours") {
				held = got[0]
				return true
			}
			return false
		})
		order := store.ShopEvent{ID: "e2", Source: "shopify", Type: "order_placed", Number: anne, OccurredAt: time.Now(),
			CheckoutID: "c1", OrderID: "1001", Total: 4200, Currency: "USD", Ends: []string{"checkout:shopify:c1"}}
		if _, err := r.db.AppendEvents([]store.ShopEvent{order}); err != nil {
			t.Fatal(err)
		}
		r.g.flows.EventsAppended(0)
		r.waitStatus(held.ID, store.StatusSuppressed)
		r.waitFor("the entry to record the withdrawal", func() bool {
			es, _, err := r.g.Flows().Entries(f.ID, 0, 10)
			return err == nil && len(es) == 1 && len(es[0].Steps) == 3 && es[0].Steps[2].Status == "suppressed" &&
				strings.Contains(es[0].Steps[2].Note, "order")
		})
		elapse(8 * time.Hour) // past 08:00 in London, when the text would have gone
		for _, m := range r.net.Messages() {
			if strings.Contains(m.Text, "Blue mug") {
				t.Errorf("the withdrawn text reached the network: %q", m.Text)
			}
		}
	})
}

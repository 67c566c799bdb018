package gateway

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/store"
)

// An order placed hours after a flow's cart text was delivered is
// credited to that text by the attribution room, woken by the event
// append, and the flows page shows the order by the same rule.
func TestFlowOrderAttributedByDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, anne := flowRig(t, "Pacific/Honolulu")
		f, err := r.g.EnableFlowPreset("abandoned_cart", FlowPresetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.start()
		if _, err := r.db.AppendEvents([]store.ShopEvent{checkoutEvent("e1", anne, "c1", time.Now())}); err != nil {
			t.Fatal(err)
		}
		r.g.events.EventsAppended(0)
		r.waitForLong("the cart text delivered", 2*time.Hour, func() bool {
			got := flowTexts(t, r.db, anne)
			return len(got) == 1 && got[0].Status == store.StatusDelivered
		})
		elapse(2 * time.Hour)
		order := store.ShopEvent{ID: "e2", Source: "shopify", Type: "order_placed", Number: anne, OccurredAt: time.Now(),
			OrderID: "1001", Total: 4200, Currency: "USD"}
		if _, err := r.db.AppendEvents([]store.ShopEvent{order}); err != nil {
			t.Fatal(err)
		}
		r.g.events.EventsAppended(0)
		key := fmt.Sprintf("flow:%d", f.ID)
		r.waitFor("the order credited to the flow", func() bool {
			res, err := r.g.Attribution().Results(key)
			return err == nil && res.Orders == 1
		})
		res, err := r.g.Attribution().Results(key)
		if err != nil {
			t.Fatal(err)
		}
		if res.OrdersByDelivery != 1 || res.RevenueByDelivery != 4200 || res.Sent != 1 || res.Delivered != 1 {
			t.Errorf("results of %s: %+v", key, res)
		}
		got, err := r.g.Flow(f.ID)
		if err != nil || got.Counters.Orders != 1 || got.Counters.Revenue["USD"] != 4200 {
			t.Errorf("the flow's counters: %+v, %v", got.Counters, err)
		}
	})
}

package gateway

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/store"
)

// An order placed hours after a flow's cart text was delivered is
// credited to that text by the attribution room, woken by the event
// append, and the flows page shows the order by the same rule.
func TestFlowOrderAttributedByDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, anne := flowRig(t, "Pacific/Honolulu")
		f, err := r.g.Flows().EnablePreset("abandoned_cart", flows.PresetOptions{})
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
		got, err := r.g.Flows().Flow(f.ID)
		if err != nil || got.Counters.Orders != 1 || got.Counters.Revenue["USD"] != 4200 {
			t.Errorf("the flow's counters: %+v, %v", got.Counters, err)
		}

		// Anne follows the text's link; her next order is the click's.
		text := flowTexts(t, r.db, anne)[0].Text
		i := strings.Index(text, "/l/")
		if i < 0 {
			t.Fatalf("no short link in %q", text)
		}
		code := strings.TrimRightFunc(text[i+3:], func(c rune) bool { return c == ' ' || c == '.' })
		if j := strings.IndexAny(code, " \n"); j >= 0 {
			code = code[:j]
		}
		if _, err := r.g.FollowLink(code, "Mozilla/5.0 (iPhone)", false); err != nil {
			t.Fatal(err)
		}
		r.waitFor("the click counted", func() bool {
			res, err := r.g.Attribution().Results(key)
			return err == nil && res.UniqueClicks == 1
		})
		elapse(time.Hour)
		if _, err := r.db.AppendEvents([]store.ShopEvent{{ID: "e3", Source: "shopify", Type: "order_placed", Number: anne,
			OccurredAt: time.Now(), OrderID: "1002", Total: 1000, Currency: "USD"}}); err != nil {
			t.Fatal(err)
		}
		r.g.events.EventsAppended(0)
		r.waitFor("the second order credited to the click", func() bool {
			res, err := r.g.Attribution().Results(key)
			return err == nil && res.OrdersByClick == 1 && res.RevenueByClick == 1000 && res.OrdersByDelivery == 1
		})
	})
}

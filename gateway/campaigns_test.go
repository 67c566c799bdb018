package gateway

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/store"
)

// A campaign sent through the facade is planned by Run's planner and its
// texts reach the modem; the holdout gets none; cancel withdraws what is
// still queued.
func TestCampaignThroughTheGateway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at midnight UTC: 14:00 in Honolulu.
		r, anne := flowRig(t, "Pacific/Honolulu")
		numbers := []string{anne}
		for _, n := range []string{"+18085550182", "+18085550183", "+18085550184", "+18085550185", "+18085550186"} {
			if _, err := r.g.CreateContact(context.Background(), Contact{Number: n, Name: "Ben Lee", TimeZone: "Pacific/Honolulu"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.g.OptIn(context.Background(), OptInRequest{Number: n, Method: MethodPOS, Source: "till 1", Terminal: "till 1", DisclosureVersion: "v1"}); err != nil {
				t.Fatal(err)
			}
			numbers = append(numbers, n)
		}
		r.start()
		svc := r.g.Campaigns()
		c, err := svc.Create(context.Background(), campaigns.Definition{Name: "Sale", Audience: campaigns.Audience{Numbers: append(numbers, "+18085550199", "nope")},
			Template: campaigns.Template{Body: "Rosa's Bakery: 20% off today: https://shop.example/sale"}, Holdout: 20,
			Variants: []campaigns.Variant{{Share: 40}, {Share: 40, Body: "Rosa's Bakery: the sale is on https://shop.example/sale"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Send(context.Background(), c.ID); err != nil {
			t.Fatal(err)
		}
		r.waitFor("the campaign planned and its texts delivered", func() bool {
			got, _ := svc.Get(c.ID)
			if got.Phase != "done" {
				return false
			}
			delivered := 0
			for _, n := range numbers {
				ms, _, _ := r.db.MessagesTo(n, 0, 10)
				for _, m := range ms {
					if strings.HasPrefix(m.Origin, "campaign:") && m.Status == store.StatusDelivered {
						delivered++
					}
				}
			}
			return int64(delivered) == got.Texts
		})
		got, _ := svc.Get(c.ID)
		if got.Texts+got.Holdout != int64(len(numbers)) || got.Skipped != nil {
			t.Errorf("campaign %+v: want %d members", got, len(numbers))
		}
		members, _, err := svc.Members(c.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			ms, _, _ := r.db.MessagesTo(m.Number, 0, 10)
			texts := 0
			for _, msg := range ms {
				if strings.HasPrefix(msg.Origin, "campaign:") {
					texts++
				}
			}
			if want := map[bool]int{true: 0, false: 1}[m.Variant == "holdout"]; texts != want {
				t.Errorf("%s (%s) got %d campaign texts, want %d", m.Number, m.Variant, texts, want)
			}
		}
		// The test clock's poke wakes everything and changes nothing.
		r.g.ClockJumped()
		elapse(time.Second)
		if _, err := svc.Cancel(context.Background(), c.ID, "test"); err == nil {
			// A campaign whose texts all went is done or still sending; a
			// cancel now withdraws nothing.
			for _, n := range numbers {
				ms, _, _ := r.db.MessagesTo(n, 0, 10)
				for _, m := range ms {
					if m.Status == store.StatusSuppressed {
						t.Errorf("cancel after delivery withdrew %d", m.ID)
					}
				}
			}
		}
		r.stop()
	})
}

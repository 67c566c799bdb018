package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/contacts"
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
			if _, err := r.g.Contacts().Create(context.Background(), contacts.Contact{Number: n, Name: "Ben Lee", TimeZone: "Pacific/Honolulu"}); err != nil {
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
		// Anne follows her text's short link, then orders: the order is
		// credited to the campaign and her variant by the click.
		var annes store.Message
		ms, _, _ := r.db.MessagesTo(anne, 0, 10)
		for _, m := range ms {
			if strings.HasPrefix(m.Origin, "campaign:") {
				annes = m
			}
		}
		if annes.ID == 0 {
			var variant string
			for _, m := range members {
				if m.Number == anne {
					variant = m.Variant
				}
			}
			t.Fatalf("Anne (%s) got no campaign text", variant)
		}
		i := strings.Index(annes.Text, "/l/")
		if i < 0 {
			t.Fatalf("Anne's text carries no short link: %q", annes.Text)
		}
		code := annes.Text[i+3 : i+3+7]
		if _, err := r.g.FollowLink(code, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", false); err != nil {
			t.Fatal(err)
		}
		elapse(time.Second) // the click queue is written
		order := fmt.Sprintf(`{"id":"o-1","type":"order_placed","phone":%q,"occurred_at":%q,"properties":{"order_id":"1001","total":4200,"currency":"USD"}}`,
			anne, time.Now().UTC().Format(time.RFC3339))
		if _, err := r.g.Shop().Ingest(context.Background(), []byte(order)); err != nil {
			t.Fatal(err)
		}
		r.waitFor("the order credited to the campaign by the click", func() bool {
			res, err := r.g.Attribution().Results(fmt.Sprintf("campaign:%d", c.ID))
			return err == nil && res.OrdersByClick == 1 && res.UniqueClicks == 1
		})
		got, _ = svc.Get(c.ID)
		if got.Results == nil || got.Results.Orders != 1 || got.Results.UniqueClicks != 1 || got.Results.Sent != got.Texts {
			t.Errorf("campaign results %+v, %d texts", got.Results, got.Texts)
		}
		variant := strings.TrimPrefix(annes.Origin, fmt.Sprintf("campaign:%d:variant:", c.ID))
		if v := got.ByVariant[variant]; v.Orders != 1 || v.UniqueClicks != 1 {
			t.Errorf("variant %s results %+v", variant, v)
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

package gateway

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/shopevents"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

const shopSecret = "shpss_facade_test_secret"

// shopFixture reads a webhook payload shaped like the platform's
// documented example (package shopevents keeps them).
func shopFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("shopevents", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func setShopifySecret(t *testing.T, g *Gateway) {
	t.Helper()
	secret := shopSecret
	if _, err := g.Shop().SaveSettings(shopevents.SettingsPatch{ShopifySecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
}

// TestOrderWithdrawsTextHeldForQuietHours: a marketing text about a
// checkout, held for quiet hours, is withdrawn when the checkout's order
// arrives from Shopify, and never reaches a modem when the window opens.
func TestOrderWithdrawsTextHeldForQuietHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		s := lintSettings()
		s.Disclosure = Disclosure{Version: "v1", Text: disclosureV1}
		// The bubble starts at 2000-01-01 00:00 UTC, 19:00 in New Jersey:
		// a window from 20:00 makes it quiet hours there for an hour.
		s.QuietDefault = Window{Start: 20 * 60, End: 21 * 60}
		if err := r.g.SaveComplianceSettings(s, "test"); err != nil {
			t.Fatal(err)
		}
		setShopifySecret(t, r.g)
		r.start()
		ctx := context.Background()
		if _, _, err := r.g.consent.OptIn(ctx, webForm(customer)); err != nil {
			t.Fatal(err)
		}
		exitKey := shopevents.ExitKey(shopevents.SourceShopify, "981820079255243537")
		m, _, err := r.g.outbox.Submit(ctx, outbox.SubmitRequest{To: customer, Text: "Rosa's Bakery: your cart misses you. Reply STOP to opt out",
			Kind: store.KindMarketing, ExitKey: exitKey})
		if err != nil {
			t.Fatal(err)
		}
		r.waitFor("the reminder to be held for quiet hours", func() bool {
			got, err := r.db.Get(m.ID)
			return err == nil && got.Status == store.StatusQueued && strings.Contains(got.Hold, "quiet")
		})
		body := shopFixture(t, "shopify_orders_create.json")
		res, err := r.g.Shop().Shopify(ctx, shopevents.Delivery{Topic: "orders/create", DeliveryID: "w-1", Shop: "atelier.myshopify.com",
			Body: body, Signature: shopevents.Sign(shopSecret, body)})
		if err != nil || res.Stored != 1 {
			t.Fatalf("orders/create: %+v, %v", res, err)
		}
		got, err := r.db.Get(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.StatusSuppressed || !strings.Contains(got.Error, "withdrawn: the customer placed order 1001") {
			t.Fatalf("after the order: %s %q, want suppressed and withdrawn", got.Status, got.Error)
		}
		// The window opens at 20:00 in New Jersey: nothing goes.
		elapse(90 * time.Minute)
		synctest.Wait()
		for _, sent := range r.net.Messages() {
			if strings.Contains(sent.Text, "cart misses you") {
				t.Errorf("the withdrawn reminder reached the network: %+v", sent)
			}
		}
	})
}

// TestShopifyCheckoutConsentInLedger: a Shopify customer whose SMS
// marketing consent was collected at the shop's checkout gets a ledger
// entry (method checkout, the shop as source, the saved disclosure) and
// the opt-in confirmation as first text.
func TestShopifyCheckoutConsentInLedger(t *testing.T) {
	c := newConsentGW(t)
	setShopifySecret(t, c.g)
	body := shopFixture(t, "shopify_customers_create.json")
	res, err := c.g.Shop().Shopify(context.Background(), shopevents.Delivery{Topic: "customers/create", DeliveryID: "c-1", Shop: "atelier.myshopify.com",
		Body: body, Signature: shopevents.Sign(shopSecret, body)})
	if err != nil || res.Stored != 1 {
		t.Fatalf("customers/create: %+v, %v", res, err)
	}
	const number = "+12015550177"
	if con := c.consent(number); con.Marketing != store.MarketingConfirmed {
		t.Fatalf("consent %+v, want confirmed", con)
	}
	evs := c.events(number)
	if len(evs) != 1 || evs[0].Method != store.MethodCheckout || evs[0].Source != "shopify:atelier.myshopify.com" ||
		evs[0].DisclosureVersion != "v1" || evs[0].DisclosureText != disclosureV1 || !strings.Contains(evs[0].Note, "SHOPIFY") {
		t.Errorf("ledger %+v", evs)
	}
	c.wantReplies(number, c.reply(compliance.ReplyOptIn))
	contact, err := c.db.ContactByNumber(number)
	if err != nil || contact.Name != "Bo Carter" || contact.Source != "shopify" {
		t.Errorf("contact %+v, %v", contact, err)
	}
	deliveries, _ := c.g.Shop().Deliveries()
	if len(deliveries) == 0 || !strings.Contains(deliveries[0].Outcome, "consent given at checkout recorded") {
		t.Errorf("delivery log %+v", deliveries)
	}
	// The same customer after a STOP: the shop's flag cannot undo it.
	c.text(number, "STOP")
	body2 := []byte(strings.Replace(string(body), `"2026-11-29T10:12:41-05:00"`, `"2026-11-29T11:00:00-05:00"`, 1))
	if _, err := c.g.Shop().Shopify(context.Background(), shopevents.Delivery{Topic: "customers/update", DeliveryID: "c-2",
		Body: body2, Signature: shopevents.Sign(shopSecret, body2)}); err != nil {
		t.Fatal(err)
	}
	if con := c.consent(number); !con.OptedOutAll {
		t.Errorf("a customers/update re-subscribed a number that texted STOP: %+v", con)
	}
	deliveries, _ = c.g.Shop().Deliveries()
	if !strings.Contains(deliveries[0].Outcome, "consent not recorded") {
		t.Errorf("delivery log after STOP: %q", deliveries[0].Outcome)
	}
}

// TestShopEventsInGDPRExportAndErase: a contact's events are in its
// export and gone after its erasure.
func TestShopEventsInGDPRExportAndErase(t *testing.T) {
	c := newConsentGW(t)
	ctx := context.Background()
	if _, err := c.g.Shop().Ingest(ctx, []byte(`{"id":"e1","type":"checkout_started","phone":"+12015550123","properties":{"checkout_id":"c1"}}`)); err != nil {
		t.Fatal(err)
	}
	contact, err := c.db.ContactByNumber(customer)
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.g.ExportSubject(ctx, contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(data.ShopEvents) != 1 || data.ShopEvents[0].CheckoutID != "c1" {
		t.Fatalf("export's shop events %+v", data.ShopEvents)
	}
	rep, err := c.g.EraseContact(ctx, contact.ID, "test")
	if err != nil || rep.ShopEvents != 1 {
		t.Fatalf("erase: %+v, %v", rep, err)
	}
	if evs, _ := c.g.Shop().Events(customer); len(evs) != 0 {
		t.Errorf("%d events left after erasure", len(evs))
	}
	// A later event for the erased number is not kept.
	res, err := c.g.Shop().Ingest(ctx, []byte(`{"id":"e2","type":"checkout_started","phone":"+12015550123","properties":{"checkout_id":"c2"}}`))
	if err != nil || res.Suppressed != 1 || res.Stored != 0 {
		t.Errorf("event for an erased number: %+v, %v", res, err)
	}
}

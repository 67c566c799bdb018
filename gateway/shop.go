package gateway

import (
	"context"
	"fmt"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/shopevents"
	"github.com/simgate/simgate/store"
)

// Shop is the room of the shop's events (package shopevents): the API's
// event batches, the Shopify and WooCommerce webhooks, the integration
// settings, the delivery log and each contact's events.
func (g *Gateway) Shop() *shopevents.API { return g.shopAPI }

// checkoutConsent enters consent given at the shop's checkout in the
// ledger through the consent part's opt-in, so its rules hold: a number
// that opted out stays out, an erased one stays erased, and the opt-in
// confirmation is the number's first text. The disclosure on record is
// the one saved in Settings → Compliance, which the shop's checkout must
// show (docs/compliance.md).
type checkoutConsent struct{ g *Gateway }

func (c checkoutConsent) CheckoutOptIn(ctx context.Context, number string, sc shopevents.ShopConsent) error {
	d := c.g.policy.Settings().Disclosure
	if d.Version == "" {
		return fmt.Errorf("%w: no disclosure is saved in Settings → Compliance, so the consent has no text to point to", store.ErrConflict)
	}
	note := sc.Note
	if !sc.At.IsZero() {
		note += "; the shop dates it " + sc.At.UTC().Format("2006-01-02T15:04:05Z")
	}
	_, _, err := c.g.consent.OptIn(ctx, consent.OptInRequest{Number: number, Method: store.MethodCheckout, Source: sc.Source,
		DisclosureVersion: d.Version, Actor: "shop", Note: note})
	return err
}

package gateway

import (
	"context"

	"github.com/simgate/simgate/gateway/shopevents"
)

// Shop is the room of the shop's events (package shopevents): the API's
// event batches, the Shopify and WooCommerce webhooks, the integration
// settings, the delivery log and each contact's events.
func (g *Gateway) Shop() *shopevents.API { return g.shopAPI }

// checkoutConsent hands consent given at the shop's checkout to the
// consent ledger (consent.Ledger.CheckoutOptIn has the rules).
type checkoutConsent struct{ g *Gateway }

func (c checkoutConsent) CheckoutOptIn(ctx context.Context, number string, sc shopevents.ShopConsent) error {
	return c.g.consent.CheckoutOptIn(ctx, number, sc.Source, sc.Note, sc.At)
}

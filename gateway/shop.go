package gateway

import (
	"context"
	"fmt"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/shopevents"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// The shop's events (package shopevents): the API's event batches, the
// Shopify and WooCommerce webhooks, the integration settings, the delivery
// log and each contact's events.
type (
	ShopEvent           = view.ShopEvent
	HookDelivery        = view.HookDelivery
	IntegrationSettings = view.IntegrationSettings
	// EventBatchError names every bad event of a batch by index and field.
	EventBatchError = shopevents.BatchError
	// EventBatchResult says what a batch stored, per event.
	EventBatchResult = shopevents.Result
	// WebhookDelivery is one webhook POST: topic, delivery id, signature,
	// shop and the raw body.
	WebhookDelivery = shopevents.Delivery
	// WebhookResult is what a verified delivery did.
	WebhookResult = shopevents.HookResult
	// MalformedWebhookError is a signed body that is not the JSON its
	// topic promises.
	MalformedWebhookError = shopevents.MalformedError
	// IntegrationPatch changes some integration settings (nil: keep).
	IntegrationPatch = shopevents.SettingsPatch
)

// Webhook errors.
var (
	ErrWebhookNoSecret     = shopevents.ErrNoSecret
	ErrWebhookBadSignature = shopevents.ErrBadSignature
)

// Event sources, as stored and as exit keys name them.
const (
	EventSourceShopify     = shopevents.SourceShopify
	EventSourceWooCommerce = shopevents.SourceWooCommerce
)

// MaxEventBatch is how many events one POST /api/v1/events may carry.
const MaxEventBatch = shopevents.MaxBatch

// FormatMoney writes an amount in minor units as a decimal of its
// currency ("199.00", "1500" for yen).
func FormatMoney(minor int64, currency string) string { return shopevents.FormatMoney(minor, currency) }

// IngestEvents stores the events of an API request body (one event object
// or an array of them); a batch with a bad event stores nothing and
// returns an *EventBatchError.
func (g *Gateway) IngestEvents(ctx context.Context, body []byte) (EventBatchResult, error) {
	return g.shop.Ingest(ctx, body)
}

// ShopifyWebhook verifies and stores a Shopify webhook delivery.
func (g *Gateway) ShopifyWebhook(ctx context.Context, d WebhookDelivery) (WebhookResult, error) {
	return g.shop.Shopify(ctx, d)
}

// WooCommerceWebhook verifies and stores a WooCommerce webhook delivery.
func (g *Gateway) WooCommerceWebhook(ctx context.Context, d WebhookDelivery) (WebhookResult, error) {
	return g.shop.WooCommerce(ctx, d)
}

// WooCommercePing reports whether body is WooCommerce's ping on webhook
// creation ("webhook_id=N"), and logs it.
func (g *Gateway) WooCommercePing(body []byte) bool { return g.shop.WooCommercePing(body) }

// LogWebhookRefusal records a delivery the HTTP layer refused before
// reading it (too large, wrong content type) in the delivery log.
func (g *Gateway) LogWebhookRefusal(source, topic string, status int, reason string) {
	g.shop.LogRefusal(source, topic, status, reason)
}

// WebhookDeliveries returns the last deliveries, newest first.
func (g *Gateway) WebhookDeliveries() ([]HookDelivery, error) {
	ds, err := g.shop.Deliveries()
	return mapViews(ds, view.FromHookDelivery), err
}

// IntegrationSettings returns the integration settings, secrets masked.
func (g *Gateway) IntegrationSettings() IntegrationSettings {
	return integrationView(g.shop.Settings())
}

func integrationView(s shopevents.Settings) IntegrationSettings {
	return IntegrationSettings{ShopifySecretSet: s.ShopifySecret != "", ShopifySecretMasked: shopevents.Mask(s.ShopifySecret),
		WooCommerceSecretSet: s.WooCommerceSecret != "", WooCommerceSecretMask: shopevents.Mask(s.WooCommerceSecret),
		EventRetentionDays: s.RetentionDays}
}

// SaveIntegrationSettings applies p; a bad field gives a *FieldError and
// changes nothing.
func (g *Gateway) SaveIntegrationSettings(p IntegrationPatch, actor string) (IntegrationSettings, error) {
	s, err := g.shop.SaveSettings(p, actor)
	if err != nil {
		return IntegrationSettings{}, err
	}
	return integrationView(s), nil
}

// SendTestEvent stores a "test" event for number through the events' own
// path and returns it.
func (g *Gateway) SendTestEvent(ctx context.Context, number, actor string) (ShopEvent, error) {
	ev, err := g.shop.TestEvent(ctx, number, actor)
	if err != nil {
		return ShopEvent{}, err
	}
	return view.FromShopEvent(ev), nil
}

// ContactEvents returns the events of a contact's number, oldest first.
func (g *Gateway) ContactEvents(number string) ([]ShopEvent, error) {
	evs, err := g.shop.Events(number)
	if err != nil {
		return nil, err
	}
	return view.FromShopEvents(evs), nil
}

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

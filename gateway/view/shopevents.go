package view

import (
	"encoding/json"
	"time"

	"github.com/simgate/simgate/store"
)

// ShopEvent is one event from the shop as the API, the timeline and the
// GDPR export show it. Total is in minor units of Currency (cents).
type ShopEvent struct {
	Seq        uint64          `json:"seq"`
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Type       string          `json:"type"`
	Number     string          `json:"number"`
	OccurredAt time.Time       `json:"occurred_at"`
	ReceivedAt time.Time       `json:"received_at"`
	CheckoutID string          `json:"checkout_id,omitempty"`
	OrderID    string          `json:"order_id,omitempty"`
	Total      int64           `json:"total,omitempty"`
	Currency   string          `json:"currency,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
	// Ends are the exit keys the event marked: an order ends its
	// checkout's texts.
	Ends []string `json:"ends,omitempty"`
}

// FromShopEvent is the view of a stored event.
func FromShopEvent(e store.ShopEvent) ShopEvent {
	return ShopEvent{Seq: e.Seq, ID: e.ID, Source: e.Source, Type: e.Type, Number: e.Number, OccurredAt: e.OccurredAt,
		ReceivedAt: e.ReceivedAt, CheckoutID: e.CheckoutID, OrderID: e.OrderID, Total: e.Total, Currency: e.Currency,
		Properties: e.Properties, Ends: e.Ends}
}

// FromShopEvents converts a list.
func FromShopEvents(es []store.ShopEvent) []ShopEvent { return mapViews(es, FromShopEvent) }

// HookDelivery is one entry of the integrations' delivery log.
type HookDelivery struct {
	ID      uint64    `json:"id"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
	Topic   string    `json:"topic,omitempty"`
	Status  int       `json:"status"`
	Outcome string    `json:"outcome"`
	Events  []uint64  `json:"events,omitempty"`
}

// FromHookDelivery is the view of a hook log entry.
func FromHookDelivery(d store.HookDelivery) HookDelivery { return HookDelivery(d) }

// IntegrationSettings are the integrations' settings as the console and
// the API show them: the secrets masked, never in full.
type IntegrationSettings struct {
	ShopifySecretSet      bool   `json:"shopify_secret_set"`
	ShopifySecretMasked   string `json:"shopify_secret_masked,omitempty"`
	WooCommerceSecretSet  bool   `json:"woocommerce_secret_set"`
	WooCommerceSecretMask string `json:"woocommerce_secret_masked,omitempty"`
	EventRetentionDays    int    `json:"event_retention_days"`
}

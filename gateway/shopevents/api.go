package shopevents

import (
	"context"
	"encoding/json"
	"time"

	"github.com/simgate/simgate/store"
)

// API is what the web layer may do with the shop's events: hand in API
// batches and the shops' webhook deliveries, read the delivery log and
// each contact's events, and change the integration settings. It speaks
// only this package's types, converted from the store's records here;
// the Service beside it is the machinery the facade wires.
type API struct{ s *Service }

// NewAPI returns the API over s.
func NewAPI(s *Service) *API { return &API{s: s} }

// Event is one event from the shop as the API, the timeline and the GDPR
// export show it. Total is in minor units of Currency (cents).
type Event struct {
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

// EventOf is the view of a stored event (the GDPR export shows them too).
func EventOf(e store.ShopEvent) Event {
	return Event{Seq: e.Seq, ID: e.ID, Source: e.Source, Type: e.Type, Number: e.Number, OccurredAt: e.OccurredAt,
		ReceivedAt: e.ReceivedAt, CheckoutID: e.CheckoutID, OrderID: e.OrderID, Total: e.Total, Currency: e.Currency,
		Properties: e.Properties, Ends: e.Ends}
}

// LogEntry is one entry of the integrations' delivery log.
type LogEntry struct {
	ID      uint64    `json:"id"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
	Topic   string    `json:"topic,omitempty"`
	Status  int       `json:"status"`
	Outcome string    `json:"outcome"`
	Events  []uint64  `json:"events,omitempty"`
}

// MaskedSettings are the integrations' settings as the console and the
// API show them: the secrets masked, never in full.
type MaskedSettings struct {
	ShopifySecretSet      bool   `json:"shopify_secret_set"`
	ShopifySecretMasked   string `json:"shopify_secret_masked,omitempty"`
	WooCommerceSecretSet  bool   `json:"woocommerce_secret_set"`
	WooCommerceSecretMask string `json:"woocommerce_secret_masked,omitempty"`
	EventRetentionDays    int    `json:"event_retention_days"`
}

func masked(s Settings) MaskedSettings {
	return MaskedSettings{ShopifySecretSet: s.ShopifySecret != "", ShopifySecretMasked: Mask(s.ShopifySecret),
		WooCommerceSecretSet: s.WooCommerceSecret != "", WooCommerceSecretMask: Mask(s.WooCommerceSecret),
		EventRetentionDays: s.RetentionDays}
}

// Ingest stores the events of an API request body (one event object or
// an array of them); a batch with a bad event stores nothing and returns
// a *BatchError.
func (a *API) Ingest(ctx context.Context, body []byte) (Result, error) { return a.s.Ingest(ctx, body) }

// Shopify verifies and stores a Shopify webhook delivery.
func (a *API) Shopify(ctx context.Context, d Delivery) (HookResult, error) {
	return a.s.Shopify(ctx, d)
}

// WooCommerce verifies and stores a WooCommerce webhook delivery.
func (a *API) WooCommerce(ctx context.Context, d Delivery) (HookResult, error) {
	return a.s.WooCommerce(ctx, d)
}

// WooCommercePing reports whether body is WooCommerce's ping on webhook
// creation ("webhook_id=N"), and logs it.
func (a *API) WooCommercePing(body []byte) bool { return a.s.WooCommercePing(body) }

// LogRefusal records a delivery the HTTP layer refused before reading it
// (too large, wrong content type) in the delivery log.
func (a *API) LogRefusal(source, topic string, status int, reason string) {
	a.s.LogRefusal(source, topic, status, reason)
}

// Deliveries returns the last deliveries, newest first.
func (a *API) Deliveries() ([]LogEntry, error) {
	ds, err := a.s.Deliveries()
	out := make([]LogEntry, len(ds))
	for i, d := range ds {
		out[i] = LogEntry(d)
	}
	return out, err
}

// Settings returns the integration settings, secrets masked.
func (a *API) Settings() MaskedSettings { return masked(a.s.Settings()) }

// SaveSettings applies p; a bad field gives a *store.FieldError and
// changes nothing.
func (a *API) SaveSettings(p SettingsPatch, actor string) (MaskedSettings, error) {
	s, err := a.s.SaveSettings(p, actor)
	if err != nil {
		return MaskedSettings{}, err
	}
	return masked(s), nil
}

// TestEvent stores a "test" event for number through the events' own
// path and returns it.
func (a *API) TestEvent(ctx context.Context, number, actor string) (Event, error) {
	ev, err := a.s.TestEvent(ctx, number, actor)
	if err != nil {
		return Event{}, err
	}
	return EventOf(ev), nil
}

// Events returns the events of a contact's number, oldest first.
func (a *API) Events(number string) ([]Event, error) {
	evs, err := a.s.Events(number)
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = EventOf(e)
	}
	return out, nil
}

package gateway

import (
	"context"
	"errors"

	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/gateway/webhooks"
)

// Webhook views, under this package's names.
type (
	WebhookEndpoint = view.WebhookEndpoint
	// EndpointDelivery is one change on its way to a webhook endpoint.
	EndpointDelivery = view.WebhookDelivery
	// WebhookAttempt is one try of a delivery.
	WebhookAttempt = view.WebhookAttempt
	// WebhookInput is what a person sets on an endpoint; nil fields of an
	// update keep their value.
	WebhookInput = webhooks.EndpointInput
	// Callback is a per-message status callback (SubmitRequest.Callback).
	Callback = view.Callback
)

// WebhookKinds lists the change kinds an endpoint may subscribe to.
func WebhookKinds() []string { return webhooks.Kinds() }

// noWebhookSender stands in when Config.WebhookSender is nil: endpoints
// can be set, but every attempt fails saying why.
type noWebhookSender struct{}

var errNoWebhookSender = errors.New("this gateway was started without an HTTP client for webhooks")

func (noWebhookSender) Check(context.Context, string, bool) error { return nil }
func (noWebhookSender) Send(context.Context, string, string, map[string][]string, []byte, bool) (int, string, error) {
	return 0, "", errNoWebhookSender
}

// RegisterWebhookFormat adds a formatter for endpoints and per-message
// callbacks whose format names it (Twilio, Kannel). Call before Run.
func (g *Gateway) RegisterWebhookFormat(name string, f webhooks.Formatter) {
	g.webhooks.RegisterFormat(name, f)
}

// WebhookEndpoints lists the endpoints.
func (g *Gateway) WebhookEndpoints() ([]WebhookEndpoint, error) {
	es, err := g.webhooks.Endpoints()
	if err != nil {
		return nil, err
	}
	out := make([]WebhookEndpoint, 0, len(es))
	for _, e := range es {
		out = append(out, view.FromWebhookEndpoint(e))
	}
	return out, nil
}

// WebhookEndpoint returns endpoint id.
func (g *Gateway) WebhookEndpoint(id uint64) (WebhookEndpoint, error) {
	e, err := g.webhooks.Endpoint(id)
	return view.FromWebhookEndpoint(e), err
}

// CreateWebhookEndpoint checks and stores a new endpoint with a fresh
// signing secret; bad input is a *store.FieldError naming the field.
func (g *Gateway) CreateWebhookEndpoint(ctx context.Context, in WebhookInput) (WebhookEndpoint, error) {
	e, err := g.webhooks.CreateEndpoint(ctx, in)
	return view.FromWebhookEndpoint(e), err
}

// UpdateWebhookEndpoint changes endpoint id (pausing and resuming too).
func (g *Gateway) UpdateWebhookEndpoint(ctx context.Context, id uint64, in WebhookInput) (WebhookEndpoint, error) {
	e, err := g.webhooks.UpdateEndpoint(ctx, id, in)
	return view.FromWebhookEndpoint(e), err
}

// RotateWebhookSecret gives endpoint id a new signing secret.
func (g *Gateway) RotateWebhookSecret(id uint64) (WebhookEndpoint, error) {
	e, err := g.webhooks.RotateSecret(id)
	return view.FromWebhookEndpoint(e), err
}

// DeleteWebhookEndpoint removes endpoint id and its deliveries.
func (g *Gateway) DeleteWebhookEndpoint(id uint64) error { return g.webhooks.DeleteEndpoint(id) }

// EndpointDeliveries returns a page of endpoint id's deliveries, newest
// first, with IDs below before (0: from the newest).
func (g *Gateway) EndpointDeliveries(id, before uint64, limit int) ([]EndpointDelivery, error) {
	ds, err := g.webhooks.Deliveries(id, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]EndpointDelivery, 0, len(ds))
	for _, d := range ds {
		out = append(out, view.FromWebhookDelivery(d))
	}
	return out, nil
}

// ReplayWebhookDelivery sends delivery seq of endpoint id again.
func (g *Gateway) ReplayWebhookDelivery(id, seq uint64) (EndpointDelivery, error) {
	d, err := g.webhooks.Replay(id, seq)
	return view.FromWebhookDelivery(d), err
}

// SendWebhookTest queues a webhook.test event to endpoint id.
func (g *Gateway) SendWebhookTest(id uint64) (EndpointDelivery, error) {
	d, err := g.webhooks.SendTest(id)
	return view.FromWebhookDelivery(d), err
}

// WebhookBacklog returns how many deliveries wait.
func (g *Gateway) WebhookBacklog() (int, error) { return g.webhooks.Backlog() }

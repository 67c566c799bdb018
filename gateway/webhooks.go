package gateway

import (
	"context"
	"errors"

	"github.com/simgate/simgate/gateway/webhooks"
)

// Webhooks is the room of webhooks out (package webhooks): the endpoints
// and their deliveries.
func (g *Gateway) Webhooks() *webhooks.API { return g.webhooksAPI }

// noWebhookSender stands in when Config.WebhookSender is nil: endpoints
// can be set, but every attempt fails saying why.
type noWebhookSender struct{}

var errNoWebhookSender = errors.New("this gateway was started without an HTTP client for webhooks")

func (noWebhookSender) Check(context.Context, string, bool) error { return nil }
func (noWebhookSender) Send(context.Context, string, string, map[string][]string, []byte, bool) (int, string, error) {
	return 0, "", errNoWebhookSender
}

package gateway

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/webhooks"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// hangingSender is a receiver network in memory: requests to hang.example
// hang for a minute (the bubble's clock), others are recorded and answered
// 200 at once.
type hangingSender struct {
	mu   sync.Mutex
	sent []string // "host body"
}

func (*hangingSender) Check(context.Context, string, bool) error { return nil }

func (h *hangingSender) Send(ctx context.Context, _, rawURL string, _ map[string][]string, body []byte, _ bool) (int, string, error) {
	u, _ := url.Parse(rawURL)
	if u.Host == "hang.example" {
		select {
		case <-ctx.Done():
			return 0, "", ctx.Err()
		case <-time.After(time.Minute):
			return 200, "late", nil
		}
	}
	h.mu.Lock()
	h.sent = append(h.sent, u.Host+" "+string(body))
	h.mu.Unlock()
	return 200, "", nil
}

func (h *hangingSender) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sent)
}

// TestHangingWebhookDelaysNoText: with an endpoint whose receiver hangs a
// minute on every request, every text is still delivered before that
// receiver has answered once, and each text's own callback hears its
// statuses in order.
func TestHangingWebhookDelaysNoText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := &hangingSender{}
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}, gwCfg: Config{WebhookSender: hs}})
		r.g.webhooks.RegisterFormat("plain", webhooks.FormatterFunc(func(d webhooks.Delivery) (webhooks.Request, error) {
			var mc store.MessageChange
			if err := json.Unmarshal(d.Change.Data, &mc); err != nil {
				return webhooks.Request{}, err
			}
			return webhooks.Request{URL: d.URL, Body: []byte(d.Change.Subject + ":" + mc.Status)}, nil
		}))
		ep, err := r.g.Webhooks().CreateEndpoint(context.Background(), webhooks.EndpointInput{URL: ptr("https://hang.example/h"),
			Kinds: ptr([]string{store.ChangeMessageStatus})})
		if err != nil {
			t.Fatal(err)
		}
		r.start()
		var ids []uint64
		for i := range 5 {
			m, _, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: "order " + string(rune('a'+i)),
				Callback: &Callback{URL: "https://shop.example/status", Format: "plain"}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		for _, id := range ids {
			r.waitStatus(id, store.StatusDelivered)
		}
		// Every text is delivered; the hanging receiver has not answered
		// its first request yet.
		ds, err := r.g.Webhooks().Deliveries(ep.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.State != store.DeliveryPending || len(d.Attempts) != 0 {
				t.Fatalf("the hanging receiver finished an attempt before the texts were delivered: %+v", d)
			}
		}
		r.waitFor("the callbacks", func() bool { return hs.count() == 5*4 })
		hs.mu.Lock()
		byText := map[string][]string{}
		for _, s := range hs.sent {
			id, status, _ := strings.Cut(strings.TrimPrefix(s, "shop.example "), ":")
			byText[id] = append(byText[id], status)
		}
		hs.mu.Unlock()
		for id, statuses := range byText {
			if strings.Join(statuses, ",") != "queued,sending,sent,delivered" {
				t.Errorf("text %s: callbacks %v", id, statuses)
			}
		}
	})
}

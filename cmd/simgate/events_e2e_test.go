package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shopifyPost sends a webhook to the real binary as Shopify does: the raw
// body, its base64 HMAC-SHA256 with the shop's secret, topic and id.
func shopifyPost(t *testing.T, base, topic, id, secret string, body []byte) (int, string) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	q, err := http.NewRequest("POST", base+"/hooks/shopify", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	q.Header.Set("Content-Type", "application/json")
	q.Header.Set("X-Shopify-Topic", topic)
	q.Header.Set("X-Shopify-Webhook-Id", id)
	q.Header.Set("X-Shopify-Shop-Domain", "atelier.myshopify.com")
	q.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type e2eShopEvent struct {
	Seq        uint64   `json:"seq"`
	Type       string   `json:"type"`
	Source     string   `json:"source"`
	CheckoutID string   `json:"checkout_id"`
	OrderID    string   `json:"order_id"`
	Total      int64    `json:"total"`
	Ends       []string `json:"ends"`
}

// TestEndToEndShopifyCheckoutAndOrder: the real binary verifies a signed
// Shopify checkout and its order, refuses a forged one, stores both
// durably (a SIGKILL later they are there, and a redelivery is a
// duplicate), and the order ends the checkout's exit key.
func TestEndToEndShopifyCheckoutAndOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	links, _ := startSim(t, dir, 1)
	data := filepath.Join(dir, "data")
	token := createToken(t, data)
	p, base := startServe(t, data, links)
	c := &api{t: t, base: base, token: token, http: &http.Client{Timeout: 10 * time.Second}}

	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "gateway", "shopevents", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	checkout, order := read("shopify_checkouts_create.json"), read("shopify_orders_create.json")
	const secret = "shpss_e2e_0123456789"

	if code, body := shopifyPost(t, base, "checkouts/create", "wh-1", secret, checkout); code != http.StatusServiceUnavailable {
		t.Fatalf("before a secret is set: %d %s", code, body)
	}
	var settings map[string]any
	if code, err := c.do("PUT", "/api/v1/settings/integrations", map[string]string{"shopify_secret": secret}, &settings); err != nil || code != http.StatusOK {
		t.Fatalf("set the secret: %d %v", code, err)
	}
	if strings.Contains(p.output(), secret) {
		t.Fatal("the daemon logged the webhook secret")
	}
	if code, body := shopifyPost(t, base, "checkouts/create", "wh-forged", "not the secret", checkout); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d %s", code, body)
	}
	// What a shop's misconfigured or hostile sender may post: each gets
	// its answer, and none stores anything (checked after the restart
	// below: the phone's events are the checkout and the order only).
	signed := func(contentType string, body []byte, topic string) (int, string) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		q, _ := http.NewRequest("POST", base+"/hooks/shopify", bytes.NewReader(body))
		q.Header.Set("Content-Type", contentType)
		q.Header.Set("X-Shopify-Topic", topic)
		q.Header.Set("X-Shopify-Webhook-Id", "wh-bad-"+topic+contentType)
		q.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	huge := append([]byte(`{"id":1,"note":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	huge = append(huge, `"}`...)
	for _, bad := range []struct {
		name, contentType, topic string
		body                     []byte
		want                     int
	}{
		{"wrong content type", "text/plain", "checkouts/create", checkout, http.StatusUnsupportedMediaType},
		{"1 MB body", "application/json", "checkouts/create", huge, http.StatusRequestEntityTooLarge},
		{"malformed JSON", "application/json", "checkouts/create", []byte(`{"id": 1, "phone": `), http.StatusBadRequest},
		{"unknown topic", "application/json", "carts/update", checkout, http.StatusOK},
	} {
		if code, body := signed(bad.contentType, bad.body, bad.topic); code != bad.want || strings.Contains(body, `"stored":1`) {
			t.Errorf("%s: %d %.200s, want %d and nothing stored", bad.name, code, body, bad.want)
		}
	}
	if code, body := shopifyPost(t, base, "checkouts/create", "wh-1", secret, checkout); code != http.StatusOK || !strings.Contains(body, `"stored":1`) {
		t.Fatalf("checkout: %d %s", code, body)
	}
	if code, body := shopifyPost(t, base, "orders/create", "wh-2", secret, order); code != http.StatusOK || !strings.Contains(body, `"stored":1`) {
		t.Fatalf("order: %d %s", code, body)
	}

	// SIGKILL: what was answered 200 is on disk.
	p.kill(syscall.SIGKILL)
	<-p.done
	_, base = startServe(t, data, links)
	c.base = base
	var list struct {
		Events []e2eShopEvent `json:"events"`
	}
	if code, err := c.do("GET", "/api/v1/events?phone=%2B12015550123", nil, &list); err != nil || code != http.StatusOK {
		t.Fatalf("list events: %d %v", code, err)
	}
	if len(list.Events) != 2 {
		t.Fatalf("events after the restart: %+v", list.Events)
	}
	chk, ord := list.Events[0], list.Events[1]
	if chk.Type != "checkout_started" || chk.Source != "shopify" || chk.CheckoutID != "981820079255243537" || chk.Total != 19900 {
		t.Errorf("checkout %+v", chk)
	}
	if ord.Type != "order_placed" || ord.OrderID != "1001" || len(ord.Ends) != 1 || ord.Ends[0] != "checkout:shopify:981820079255243537" {
		t.Errorf("order %+v", ord)
	}
	// Shopify retries a delivery with the same webhook id: stored once.
	if code, body := shopifyPost(t, base, "checkouts/create", "wh-1", secret, checkout); code != http.StatusOK || !strings.Contains(body, `"duplicates":1`) {
		t.Errorf("redelivery after the restart: %d %s", code, body)
	}
	var contacts struct {
		Contacts []struct {
			Number string `json:"number"`
			Name   string `json:"name"`
		} `json:"contacts"`
	}
	if code, err := c.do("GET", "/api/v1/contacts?q=Ana", nil, &contacts); err != nil || code != http.StatusOK {
		t.Fatalf("contacts: %d %v", code, err)
	}
	if len(contacts.Contacts) != 1 || contacts.Contacts[0].Number != "+12015550123" || contacts.Contacts[0].Name != "Ana Lima" {
		raw, _ := json.Marshal(contacts)
		t.Errorf("the checkout's contact: %s", raw)
	}
}

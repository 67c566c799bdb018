package webui

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/shopevents"
)

// sign is the platforms' signature: base64 HMAC-SHA256 of the raw body,
// computed here independently of the code under test.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func shopFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "gateway", "shopevents", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *rig) lastEventSeq() uint64 {
	r.t.Helper()
	seq, err := r.db.LastEventSeq()
	if err != nil {
		r.t.Fatal(err)
	}
	return seq
}

func TestEventsAPI(t *testing.T) {
	r := newRig(t)
	w := r.do("POST", "/api/v1/events", `{"id":"e1","type":"x","phone":"+12015550123"}`, "Authorization", "-")
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", w.Code)
	}
	batch := `[{"id":"chk-1","type":"checkout_started","phone":"(201) 555-0123","occurred_at":"2026-12-01T10:00:00Z",
	  "properties":{"checkout_id":"4471","currency":"USD","total":"199.00","resume_url":"https://shop.example/c/4471","items":[{"name":"Linen Shirt","price":"49.50","quantity":2}]}},
	 {"id":"view-1","type":"product_viewed","phone":"+12015550123","properties":{"product_id":"p1"}}]`
	w = r.do("POST", "/api/v1/events", batch)
	if w.Code != http.StatusAccepted {
		t.Fatalf("batch: %d %s", w.Code, w.Body)
	}
	var res struct {
		Stored, Duplicates int
		Events             []struct {
			ID, Status string
			Seq        uint64
		}
	}
	decodeBody(t, w, &res)
	if res.Stored != 2 || res.Events[0].ID != "chk-1" || res.Events[0].Status != "stored" || res.Events[1].Seq <= res.Events[0].Seq {
		t.Errorf("batch result %s", w.Body)
	}
	// The same POST again: a no-op, answered 200.
	w = r.do("POST", "/api/v1/events", batch)
	decodeBody(t, w, &res)
	if w.Code != http.StatusOK || res.Duplicates != 2 || res.Stored != 0 {
		t.Errorf("retry: %d %s", w.Code, w.Body)
	}
	before := r.lastEventSeq()
	w = r.do("POST", "/api/v1/events", `[{"id":"a","type":"x","phone":"+12015550123"},{"id":"b","type":"Bad Type","phone":"+12015550123","occurred_at":"soon"}]`)
	var bad struct {
		Error    errorDetail
		Problems []errorDetail
	}
	decodeBody(t, w, &bad)
	if w.Code != http.StatusBadRequest || len(bad.Problems) != 2 || bad.Problems[0].Field != "events[1].type" || bad.Problems[1].Field != "events[1].occurred_at" ||
		bad.Error.Field != "events[1].type" || !strings.Contains(bad.Error.Message, "nothing was stored") {
		t.Errorf("bad batch: %d %s", w.Code, w.Body)
	}
	if r.lastEventSeq() != before {
		t.Error("a batch with a bad event stored some")
	}
	if w := r.do("POST", "/api/v1/events", `{"id":"a"}`, "Content-Type", "text/plain"); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", w.Code)
	}
	big := `{"id":"a","type":"x","phone":"+12015550123","properties":{"pad":"` + strings.Repeat("x", DefaultEventMaxBodyBytes) + `"}}`
	if w := r.do("POST", "/api/v1/events", big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", w.Code)
	}
}

// hookServer is the handler on a real listener (127.0.0.1), as Shopify
// and WooCommerce reach it: no session, no token.
func hookServer(t *testing.T, r *rig) *httptest.Server {
	srv := httptest.NewServer(r.h)
	t.Cleanup(srv.Close)
	return srv
}

func postHook(t *testing.T, url, contentType string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	q, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	q.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(hdr); i += 2 {
		q.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

const hookSecret = "shpss_webui_hook_secret"

func TestShopifyHookAnswers(t *testing.T) {
	r := newRig(t)
	srv := hookServer(t, r)
	url := srv.URL + "/hooks/shopify"
	body := shopFixture(t, "shopify_checkouts_create.json")
	headers := func(sig string) []string {
		return []string{"X-Shopify-Topic", "checkouts/create", "X-Shopify-Hmac-Sha256", sig, "X-Shopify-Webhook-Id", "wh-1",
			"X-Shopify-Shop-Domain", "atelier.myshopify.com"}
	}
	if code, b := postHook(t, url, "application/json", body, headers(sign(hookSecret, body))...); code != http.StatusServiceUnavailable || !strings.Contains(b, "no webhook secret") {
		t.Errorf("no secret set: %d %s", code, b)
	}
	secret := hookSecret
	if _, err := r.gw.Shop().SaveSettings(shopevents.SettingsPatch{ShopifySecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		contentType string
		body        []byte
		hdr         []string
		want        int
	}{
		"bad signature":      {"application/json", body, headers(sign("not the secret", body)), http.StatusUnauthorized},
		"no signature":       {"application/json", body, headers(""), http.StatusUnauthorized},
		"wrong content type": {"text/plain", body, headers(sign(hookSecret, body)), http.StatusUnsupportedMediaType},
		"1 MB body":          {"application/json", bytes.Repeat([]byte("x"), 1<<20), headers(sign(hookSecret, bytes.Repeat([]byte("x"), 1<<20))), http.StatusRequestEntityTooLarge},
		"malformed JSON":     {"application/json", []byte(`{"id": 1,`), headers(sign(hookSecret, []byte(`{"id": 1,`))), http.StatusBadRequest},
	} {
		if code, b := postHook(t, url, tc.contentType, tc.body, tc.hdr...); code != tc.want {
			t.Errorf("%s: %d %s, want %d", name, code, b, tc.want)
		}
	}
	unknown := []byte(`{"id": 788032119674292922, "title": "Shirt"}`)
	code, b := postHook(t, url, "application/json", unknown, "X-Shopify-Topic", "products/update", "X-Shopify-Hmac-Sha256", sign(hookSecret, unknown))
	if code != http.StatusOK || !strings.Contains(b, "products/update") {
		t.Errorf("unknown topic: %d %s", code, b)
	}
	if seq := r.lastEventSeq(); seq != 0 {
		t.Fatalf("refused or unknown deliveries stored events (last seq %d)", seq)
	}
	code, b = postHook(t, url, "application/json", body, headers(sign(hookSecret, body))...)
	if code != http.StatusOK || !strings.Contains(b, `"stored":1`) {
		t.Fatalf("signed checkout: %d %s", code, b)
	}
	code, b = postHook(t, url, "application/json", body, headers(sign(hookSecret, body))...)
	if code != http.StatusOK || !strings.Contains(b, `"duplicates":1`) {
		t.Errorf("redelivery: %d %s", code, b)
	}
	ds, err := r.gw.Shop().Deliveries()
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[int]bool{}
	for _, d := range ds {
		statuses[d.Status] = true
	}
	for _, s := range []int{200, 400, 401, 413, 415, 503} {
		if !statuses[s] {
			t.Errorf("no delivery logged with status %d: %+v", s, ds)
		}
	}
}

func TestWooCommerceHookAndPing(t *testing.T) {
	r := newRig(t)
	srv := hookServer(t, r)
	url := srv.URL + "/hooks/woocommerce"
	if code, b := postHook(t, url, "application/x-www-form-urlencoded", []byte("webhook_id=42")); code != http.StatusOK {
		t.Errorf("ping: %d %s", code, b)
	}
	if code, _ := postHook(t, url, "application/x-www-form-urlencoded", []byte("a=b")); code != http.StatusUnsupportedMediaType {
		t.Errorf("a form that is no ping: %d", code)
	}
	secret := "wc_secret_webui"
	if _, err := r.gw.Shop().SaveSettings(shopevents.SettingsPatch{WooCommerceSecret: &secret}, "test"); err != nil {
		t.Fatal(err)
	}
	body := shopFixture(t, "woocommerce_order_processing.json")
	code, b := postHook(t, url, "application/json", body, "X-WC-Webhook-Topic", "order.created", "X-WC-Webhook-Signature", sign(secret, body),
		"X-WC-Webhook-Delivery-ID", "9f1c", "X-WC-Webhook-Source", "https://shop.example/")
	if code != http.StatusOK || !strings.Contains(b, `"stored":1`) {
		t.Fatalf("order: %d %s", code, b)
	}
	evs, err := r.gw.Shop().Events("+4915123456789")
	if err != nil || len(evs) != 1 || evs[0].Type != "order_placed" || evs[0].Total != 2935 || evs[0].Ends[0] != "checkout:woocommerce:727" {
		t.Errorf("events %+v, %v", evs, err)
	}
	if code, _ := postHook(t, url, "application/json", body, "X-WC-Webhook-Topic", "order.created", "X-WC-Webhook-Signature", sign("other", body)); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d", code)
	}
}

func TestIntegrationsPage(t *testing.T) {
	c := newConsoleRig(t, func(cfg *Config) { cfg.PublicURL = "https://texts.example.com" })
	w := c.get("/settings/integrations")
	wantBody(t, w, http.StatusOK, "https://texts.example.com/hooks/shopify", "https://texts.example.com/hooks/woocommerce", "not set: Shopify webhooks are refused")
	w = c.post("/settings/integrations", url.Values{"shopify_secret": {"shpss_0123456789abcdef"}, "woocommerce_secret": {""}, "event_retention_days": {"90"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	w = c.get("/settings/integrations")
	wantBody(t, w, http.StatusOK, "set: ••••••••cdef", `value="90"`)
	if strings.Contains(w.Body.String(), "shpss_0123456789abcdef") {
		t.Error("the page shows the secret in full")
	}
	// An empty field keeps the secret.
	if w := c.post("/settings/integrations", url.Values{"shopify_secret": {""}, "event_retention_days": {"90"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save again: %d", w.Code)
	}
	if !c.gw.Shop().Settings().ShopifySecretSet {
		t.Error("saving with an empty secret field removed the secret")
	}
	w = c.post("/settings/integrations", url.Values{"shopify_secret": {"short"}})
	wantBody(t, w, http.StatusBadRequest, "shopify_secret")
	w = c.post("/settings/integrations", url.Values{"event_retention_days": {"a year"}})
	wantBody(t, w, http.StatusBadRequest, "whole number of days")

	// The test event goes through the events' path and shows up.
	w = c.post("/settings/integrations/test", url.Values{"number": {"(201) 555-0199"}})
	wantBody(t, w, http.StatusOK, "Test event", "+12015550199", `id="test-event"`, "test event: stored 1")
	contact, err := c.gw.Contacts().ByNumber("+12015550199")
	if err != nil {
		t.Fatalf("the test event created no contact: %v", err)
	}
	w = c.get(fmt.Sprintf("/contacts/%d", contact.ID))
	wantBody(t, w, http.StatusOK, `id="shop-events"`, "<code>test</code>", "console")
	w = c.post("/settings/integrations/test", url.Values{"number": {"not a number"}})
	wantBody(t, w, http.StatusBadRequest)

	// The API shows the settings masked.
	w = c.do("GET", "/api/v1/settings/integrations", "")
	var s shopevents.MaskedSettings
	decodeBody(t, w, &s)
	if !s.ShopifySecretSet || s.ShopifySecretMasked != "••••••••cdef" || s.EventRetentionDays != 90 || strings.Contains(w.Body.String(), "0123456789") {
		t.Errorf("API settings %s", w.Body)
	}
	w = c.do("PUT", "/api/v1/settings/integrations", `{"woocommerce_secret":"wc_secret_from_api","event_retention_days":30}`)
	decodeBody(t, w, &s)
	if w.Code != http.StatusOK || !s.WooCommerceSecretSet || !s.ShopifySecretSet || s.EventRetentionDays != 30 || strings.Contains(w.Body.String(), "wc_secret_from_api") {
		t.Errorf("PUT settings: %d %s", w.Code, w.Body)
	}
	if w := c.do("PUT", "/api/v1/settings/integrations", `{"shopify_secret":"x"}`); w.Code != http.StatusBadRequest || apiErr(t, w).Field != "shopify_secret" {
		t.Errorf("PUT a short secret: %d %s", w.Code, w.Body)
	}
	w = c.do("GET", "/api/v1/events?phone=%2B12015550199", "")
	var list struct{ Events []shopevents.Event }
	decodeBody(t, w, &list)
	if w.Code != http.StatusOK || len(list.Events) != 1 || list.Events[0].Type != "test" {
		t.Errorf("GET events: %d %s", w.Code, w.Body)
	}
	if w := c.do("GET", "/api/v1/events?phone=%2B12015550100", ""); w.Code != http.StatusNotFound {
		t.Errorf("GET events of an unknown number: %d", w.Code)
	}
	// Without a session, the page is not shown.
	c.cookie = nil
	if w := c.get("/settings/integrations"); w.Code != http.StatusSeeOther {
		t.Errorf("no session: %d", w.Code)
	}
}

// TestContactTimelineShowsEvents: the contact's page lists its events,
// newest first, with the money in the currency's units.
func TestContactTimelineShowsEvents(t *testing.T) {
	c := newConsoleRig(t)
	w := c.do("POST", "/api/v1/events", `[{"id":"o1","type":"order_placed","phone":"+12015550123","occurred_at":"`+time.Now().UTC().Format(time.RFC3339)+`",
	  "properties":{"order_id":"1001","checkout_id":"c9","currency":"USD","total":"199.00"}}]`)
	if w.Code != http.StatusAccepted {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var res struct{ Events []struct{ Seq uint64 } }
	_ = json.Unmarshal(w.Body.Bytes(), &res)
	contact, err := c.gw.Contacts().ByNumber("+12015550123")
	if err != nil {
		t.Fatal(err)
	}
	wantBody(t, c.get(fmt.Sprintf("/contacts/%d", contact.ID)), http.StatusOK, "<code>order_placed</code>", "order 1001", "199.00 USD")
}

// integrationFixtures fill every branch of the integrations page for
// TestRenderEveryTemplate.
func integrationFixtures(now time.Time) map[string]view {
	return map[string]view{
		"integrations": {Title: "Integrations", Error: "shopify_secret must be 8 to 256 characters.", Notice: "Saved.", Data: integrationsData{
			ShopifyURL: "https://texts.example.com/hooks/shopify", WooURL: "https://texts.example.com/hooks/woocommerce",
			EventsURL: "https://texts.example.com/api/v1/events", PublicURLSet: false,
			Settings: shopevents.MaskedSettings{ShopifySecretSet: true, ShopifySecretMasked: "••••••••cdef", EventRetentionDays: 365},
			Deliveries: []shopevents.LogEntry{{ID: 2, At: now, Source: "shopify", Topic: "orders/create", Status: 401, Outcome: "refused: bad signature"},
				{ID: 1, At: now, Source: "api", Topic: "<script>alert(1)</script>", Status: 200, Outcome: "stored 1"}},
			TestNumber: "+12015550199", TestEvent: &shopevents.Event{Seq: 3, Type: "test", Number: "+12015550199", ReceivedAt: now},
			RetentionInput: "365"}},
	}
}

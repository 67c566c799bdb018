package webui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/webhooks"
)

// TestWebhooksAPI: create (errors name the field), list, patch, test
// event, deliveries, replay, delete.
func TestWebhooksAPI(t *testing.T) {
	r := newRig(t)
	for body, field := range map[string]string{
		`{"url":"ftp://example.com/","kinds":["message.status"]}`:          "url",
		`{"url":"https://example.com/h","kinds":[]}`:                       "kinds",
		`{"url":"https://example.com/h","kinds":["message.nope"]}`:         "kinds",
		`{"url":"https://example.com/h","kinds":["message.status"],"x":1}`: "x",
	} {
		w := r.do("POST", "/api/v1/webhooks", body)
		if w.Code != http.StatusBadRequest || apiErr(t, w).Field != field {
			t.Errorf("%s: %d %s, want a 400 naming %s", body, w.Code, w.Body, field)
		}
	}
	w := r.do("POST", "/api/v1/webhooks", `{"url":"https://example.com/h","description":"CRM","kinds":["message.inbound","consent.opt_out"]}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var ep webhooks.Endpoint
	decodeBody(t, w, &ep)
	if !strings.HasPrefix(ep.Secret, "whsec_") || ep.ID == 0 || len(ep.Kinds) != 2 {
		t.Fatalf("created %+v", ep)
	}
	base := fmt.Sprintf("/api/v1/webhooks/%d", ep.ID)
	var list struct {
		Endpoints []webhooks.Endpoint `json:"endpoints"`
		Kinds     []string            `json:"kinds"`
	}
	decodeBody(t, r.do("GET", "/api/v1/webhooks", ""), &list)
	if len(list.Endpoints) != 1 || len(list.Kinds) != len(webhooks.Kinds()) {
		t.Errorf("list %+v", list)
	}
	w = r.do("PATCH", base, `{"paused":true,"description":"CRM (paused)"}`)
	decodeBody(t, w, &ep)
	if !ep.Paused || ep.Description != "CRM (paused)" || len(ep.Kinds) != 2 {
		t.Errorf("patched %+v", ep)
	}
	if w := r.do("POST", base+"/test", ""); w.Code != http.StatusAccepted {
		t.Fatalf("test: %d %s", w.Code, w.Body)
	}
	var page struct {
		Deliveries []webhooks.EndpointDelivery `json:"deliveries"`
	}
	decodeBody(t, r.do("GET", base+"/deliveries", ""), &page)
	if len(page.Deliveries) != 1 || page.Deliveries[0].Type != "webhook.test" || page.Deliveries[0].State != "pending" {
		t.Fatalf("deliveries %+v", page.Deliveries)
	}
	w = r.do("POST", fmt.Sprintf("%s/deliveries/%d/replay", base, page.Deliveries[0].ID), "")
	if w.Code != http.StatusAccepted {
		t.Fatalf("replay: %d %s", w.Code, w.Body)
	}
	if w := r.do("POST", base+"/deliveries/999/replay", ""); w.Code != http.StatusNotFound {
		t.Errorf("replay of nothing: %d", w.Code)
	}
	if w := r.do("GET", base+"/deliveries?limit=x", ""); w.Code != http.StatusBadRequest || apiErr(t, w).Field != "limit" {
		t.Errorf("bad limit: %d %s", w.Code, w.Body)
	}
	if w := r.do("DELETE", base, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	if w := r.do("GET", base, ""); w.Code != http.StatusNotFound {
		t.Errorf("deleted endpoint: %d", w.Code)
	}
}

// TestWebhooksPages: Settings → Webhooks adds an endpoint (errors name
// the field, the form keeps what was typed), shows its secret, and its
// buttons queue a test event and pause it.
func TestWebhooksPages(t *testing.T) {
	c := newConsoleRig(t)
	wantBody(t, c.get("/settings/webhooks"), http.StatusOK, "No endpoint yet.", `value="message.status"`)
	w := c.post("/settings/webhooks", url.Values{"url": {"https://example.com/h"}, "description": {"CRM"}})
	wantBody(t, w, http.StatusBadRequest, "kinds", `value="https://example.com/h"`)
	w = c.post("/settings/webhooks", url.Values{"url": {"https://example.com/h"}, "kinds": {"message.status", "modem.down"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("add: %d %s", w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	wantBody(t, c.get(loc), http.StatusOK, "whsec_", "Nothing sent yet.", "Give its signing secret")
	page := strings.SplitN(loc, "?", 2)[0]
	if w := c.post(page, url.Values{"action": {"test"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("test: %d %s", w.Code, w.Body)
	}
	wantBody(t, c.get(page), http.StatusOK, "<code>webhook.test</code>", "not tried yet", `value="replay"`)
	if w := c.post(page, url.Values{"action": {"pause"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("pause: %d", w.Code)
	}
	wantBody(t, c.get(page), http.StatusOK, `id="ep-state">paused`, `value="resume"`)
	wantBody(t, c.get("/settings/webhooks"), http.StatusOK, "<strong>paused</strong>")
}

// webhookFixtures fill every branch of the webhook pages for
// TestRenderEveryTemplate.
func webhookFixtures(now time.Time) map[string]view {
	eps := []webhooks.Endpoint{
		{ID: 1, URL: "https://crm.example/h", Description: "CRM", Secret: "whsec_abc", Kinds: []string{"message.status", "modem.down"}, CreatedAt: now},
		{ID: 2, URL: "https://old.example/h", Secret: "whsec_abc", Kinds: []string{"message.inbound"}, Paused: true, PausedReason: "paused by the box: every attempt failed since yesterday", CreatedAt: now},
		{ID: 3, URL: "https://flaky.example/h", Kinds: []string{"message.inbound"}, FailingSince: now, CreatedAt: now},
	}
	return map[string]view{
		"webhooks": {Title: "Webhooks", Error: "kinds: must name at least one kind", Data: webhooksData{Endpoints: eps, Kinds: webhooks.Kinds(),
			URL: "https://new.example/h", Desc: "<b>x</b>", Chosen: map[string]bool{"consent.opt_out": true}, AllowPrivate: true}},
		"webhook": {Title: "Webhook", Notice: "queued", Data: webhookData{Endpoint: eps[1], Deliveries: []webhooks.EndpointDelivery{
			{ID: 7, Type: "message.status", ChangeAt: now, State: "pending", Next: now.Add(time.Minute), ReplayOf: 3,
				Attempts: []webhooks.Attempt{{At: now, Status: 503, Response: "<h1>down</h1>", DurationMS: 12}, {At: now, Error: "dial tcp: refused"}}},
			{ID: 6, Type: "webhook.test", ChangeAt: now, State: "delivered", Attempts: []webhooks.Attempt{{At: now, Status: 200}}},
			{ID: 5, Type: "modem.down", ChangeAt: now, State: "failed"},
		}}},
	}
}

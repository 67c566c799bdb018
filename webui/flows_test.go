package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/flows"
)

func TestFlowAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	w := r.do("POST", "/api/v1/flows", `{"preset":"abandoned_cart","options":{"second_text":true,"discount_code":"SAVE5"}}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("enable preset: %d %s", w.Code, w.Body)
	}
	var f flows.Flow
	decodeBody(t, w, &f)
	if f.Preset != "abandoned_cart" || f.Status != "active" || len(f.Definition.Steps) != 6 || !strings.Contains(f.Definition.Steps[5].Send.Template, "SAVE5") {
		t.Fatalf("flow %+v", f)
	}
	if loc := w.Header().Get("Location"); loc != "/api/v1/flows/1" {
		t.Errorf("Location %q", loc)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"name":"x","definition":{"trigger":{"kind":"event","event":"checkout_started"},"steps":[{"wait":{"until":"25:00"}},{"send":{"kind":"marketing","template":"hi"}}]}}`, "steps[0].wait.until"},
		{`{"name":"x","definition":{"trigger":{"kind":"event","event":"checkout_started"},"steps":[{"wiat":{}}]}}`, "definition"},
		{`{"name":"","definition":{"trigger":{"kind":"opted_in"},"steps":[{"send":{"kind":"marketing","template":"hi"}}]}}`, "name"},
		{`{"preset":"nope"}`, "preset"},
	} {
		w := r.do("POST", "/api/v1/flows", tc.body)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%.80s: %d, want 400", tc.body, w.Code)
			continue
		}
		if e := apiErr(t, w); e.Field != tc.field {
			t.Errorf("%.80s: error %+v, want field %s", tc.body, e, tc.field)
		}
	}
	w = r.do("PUT", "/api/v1/flows/1", `{"name":"Cart","definition":{"trigger":{"kind":"event","event":"checkout_started"},"steps":[{"wait":{"for":"30m"}},{"send":{"kind":"marketing","template":"Your cart: {{ link .cart.url }}"}}],"exit":{"on_order":"checkout"}}}`)
	if w.Code != http.StatusOK {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	decodeBody(t, w, &f)
	if f.Version != 2 || f.Name != "Cart" || f.Definition.Steps[0].Wait.For.String() != "30m0s" {
		t.Errorf("after update %+v", f)
	}
	w = r.do("POST", "/api/v1/flows/1/pause", "")
	decodeBody(t, w, &f)
	if w.Code != http.StatusOK || f.Status != "paused" {
		t.Errorf("pause: %d %s", w.Code, f.Status)
	}
	w = r.do("POST", "/api/v1/flows/1/resume", "")
	decodeBody(t, w, &f)
	if f.Status != "active" {
		t.Errorf("resume: %s", f.Status)
	}
	w = r.do("GET", "/api/v1/flows", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"entered":0`) {
		t.Errorf("list: %d %s", w.Code, w.Body)
	}
	w = r.do("GET", "/api/v1/flows/1/entries", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"entries":[]`) {
		t.Errorf("entries: %d %s", w.Code, w.Body)
	}
	w = r.do("POST", "/api/v1/flows/1/test", `{"number":"+12015550123"}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"steps"`) {
		t.Errorf("test: %d %s", w.Code, w.Body)
	}
	if n := r.count(); n != 0 {
		t.Errorf("the test queued %d texts", n)
	}
	if w := r.do("GET", "/api/v1/flows/99", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown flow: %d", w.Code)
	}
	if w := r.do("GET", "/api/v1/flows", "", "Authorization", "-"); w.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", w.Code)
	}
}

func TestFlowConsole(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	wantBody(t, c.get("/flows"), http.StatusOK, "Ready-made flows", "Abandoned cart", "Birthday")
	loc := wantRedirect(t, c.post("/flows/presets", url.Values{"preset": {"abandoned_cart"}}), "/flows/1")
	wantBody(t, c.get(loc), http.StatusOK, "The flow is on", "Step 0: wait", "Test with a contact")
	wantBody(t, c.get("/flows"), http.StatusOK, `data-flow-id="1"`)

	// The editor's fields, with a bad time of day: the field is named.
	form := url.Values{"name": {"Cart"}, "trigger_kind": {"event"}, "trigger_event": {"checkout_started"}, "exit_on_order": {"checkout"},
		"steps": {"2"}, "s0_kind": {"wait"}, "s0_wait_for": {"2h"}, "s0_wait_until": {"7pm"},
		"s1_kind": {"send"}, "s1_send_kind": {"marketing"}, "s1_send_template": {"Your cart: {{ link .cart.url }}"}, "action": {"save"}}
	wantBody(t, c.post("/flows/1", form), http.StatusBadRequest, "steps[0].wait.until")
	form.Set("s0_wait_until", "19:00")
	wantRedirect(t, c.post("/flows/1", form), "/flows/1?done=saved")
	f, err := c.gw.Flows().Flow(1)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || len(f.Definition.Steps) != 2 || f.Definition.Steps[0].Wait.Until != "19:00" {
		t.Errorf("after save %+v", f.Definition)
	}
	form.Set("action", "add_condition")
	wantRedirect(t, c.post("/flows/1", form), "/flows/1?done=saved")
	if f, _ = c.gw.Flows().Flow(1); len(f.Definition.Steps) != 3 {
		t.Errorf("add a step: %d steps", len(f.Definition.Steps))
	}
	wantRedirect(t, c.post("/flows/1/pause", url.Values{"paused": {"1"}}), "/flows/1?done=paused")
	if f, _ = c.gw.Flows().Flow(1); f.Status != "paused" {
		t.Errorf("status %s", f.Status)
	}
	wantBody(t, c.post("/flows/1/test", url.Values{"number": {"+12015550123"}}), http.StatusOK, "Nothing was sent")
	wantBody(t, c.post("/flows/1/test", url.Values{"number": {"nope"}}), http.StatusBadRequest)

	c.cookie = nil
	for _, p := range []string{"/flows", "/flows/1"} {
		wantRedirect(t, c.get(p), "/login")
	}
	for _, p := range []string{"/flows/presets", "/flows/1", "/flows/1/pause", "/flows/1/test"} {
		wantRedirect(t, c.post(p, url.Values{}), "/login")
	}
}

// flowFixtures fill every branch of the flow pages for TestRenderEveryTemplate.
func flowFixtures(now time.Time) map[string]view {
	_, cart, _ := flows.PresetDefinition("abandoned_cart", flows.PresetOptions{SecondText: true})
	cart.Trigger.Filter = []flows.Match{{Field: "total", Op: "gte", Value: "5000"}}
	f := flows.Flow{ID: 1, Name: "<script>alert(1)</script>", Status: "active", Version: 2, Preset: "abandoned_cart", Definition: cart,
		Counters: flows.Counters{Entered: 10, Waiting: 3, Sent: 5, Clicked: 2, Orders: 1, Revenue: map[string]int64{"USD": 4999}}}
	due := now.Add(time.Hour)
	d := flowPageFor(f)
	d.Entries = []flows.Entry{
		{ID: 2, Number: "+12015550123", Version: 2, State: "waiting", DueAt: &due, EnteredAt: now},
		{ID: 1, Number: "+12015550124", Version: 1, State: "exited", Reason: "order 1001 placed", EnteredAt: now,
			Steps: []flows.StepRecord{{Step: 2, Kind: "send", MessageID: 7, Status: "queued", Hold: "quiet hours", Clicked: true}}},
	}
	d.Next, d.TestTo = "/flows/1?before=1", "+12015550123"
	d.Test = &flows.TestResult{Number: "+12015550123", Note: "shown with the contact's latest checkout_started",
		Steps: []flows.TestStep{{Step: 0, Kind: "wait", At: now, Outcome: "wait"}, {Step: 2, Kind: "send", At: now, Outcome: "would be held", Text: "Hi", Why: "quiet hours"}}}
	return map[string]view{
		"flows": {Title: "Flows", Data: flowsData{Flows: []flows.Flow{f}, Presets: flows.Presets()}},
		"flow":  {Title: "Flow", Notice: "saved", Data: d},
	}
}

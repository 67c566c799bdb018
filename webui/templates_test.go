package webui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/templates"
)

func saveBrand(t *testing.T, r *rig) {
	t.Helper()
	s := compliance.Defaults()
	s.Brand, s.Frequency, s.SupportContact = "Rosa's", "up to 4 msgs/month", "help@rosas.example"
	if err := r.gw.SaveComplianceSettings(s, "test"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"+12125550100", "+12125550101"} {
		if _, err := r.gw.Contacts().Create(context.Background(), contacts.Contact{Number: n, Name: map[string]string{"+12125550100": "Anne"}[n]}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTemplatesAPI(t *testing.T) {
	r := newRig(t)
	saveBrand(t, r)
	// Refused with every problem.
	w := r.do("POST", "/api/v1/templates", `{"name":"cart","kind":"marketing","body":"Hi {{ .first_name }} {{ .nope }} bit.ly/x"}`)
	var refused struct {
		Error    errorDetail         `json:"error"`
		Problems []templates.Problem `json:"problems"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &refused); err != nil || w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if len(refused.Problems) != 5 || refused.Error.Code != codeUnprocessable || refused.Error.Field != "body" {
		t.Errorf("refusal %+v", refused)
	}
	var vars []string
	for _, p := range refused.Problems {
		if p.Variable != "" {
			vars = append(vars, p.Variable)
		}
	}
	if strings.Join(vars, ",") != ".nope,.first_name" {
		t.Errorf("problems name %v, want .first_name and .nope", vars)
	}
	// Saved; the notice comes back.
	w = r.do("POST", "/api/v1/templates", `{"name":"cart","kind":"marketing","body":"Rosa's: hi {{ default \"there\" .first_name }}"}`)
	var saved struct {
		templates.Template
		Problems []templates.Problem `json:"problems"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &saved); err != nil || w.Code != http.StatusCreated || saved.ID == 0 || len(saved.Problems) != 1 || !saved.Problems[0].Notice {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	w = r.do("PUT", "/api/v1/templates/"+itoa(saved.ID), `{"name":"cart 2","kind":"transactional","body":"Your order is on its way"}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"cart 2"`) {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	if w := r.do("GET", "/api/v1/templates", ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "on its way") {
		t.Errorf("list: %d %s", w.Code, w.Body)
	}
	w = r.do("POST", "/api/v1/templates/preview", `{"body":"Hi {{ .first_name }}, é","number":"+12125550100"}`)
	var prev templates.Preview
	if err := json.Unmarshal(w.Body.Bytes(), &prev); err != nil || w.Code != http.StatusOK {
		t.Fatalf("preview: %d %s", w.Code, w.Body)
	}
	if prev.Sample.Text != "Hi Anne, é" || prev.Rendered != 1 || prev.Failed != 1 {
		t.Errorf("preview %+v", prev)
	}
	if w := r.do("POST", "/api/v1/templates/lint", `{"body":"{{ .first_name }}","kind":"transactional"}`); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "1 of 2 contacts") {
		t.Errorf("lint: %d %s", w.Code, w.Body)
	}
	if w := r.do("POST", "/api/v1/templates/lint", `{"body":"x","kind":"compliance"}`); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"field":"kind"`) {
		t.Errorf("lint with a bad kind: %d %s", w.Code, w.Body)
	}
	if w := r.do("DELETE", "/api/v1/templates/"+itoa(saved.ID), ""); w.Code != http.StatusNoContent {
		t.Errorf("delete: %d %s", w.Code, w.Body)
	}
	if w := r.do("GET", "/api/v1/templates/"+itoa(saved.ID), ""); w.Code != http.StatusNotFound {
		t.Errorf("get deleted: %d", w.Code)
	}
	if w := r.anonymous("GET", "/api/v1/templates", iPhone); w.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", w.Code)
	}
}

func TestTemplatesConsole(t *testing.T) {
	c := newConsoleRig(t)
	saveBrand(t, c.rig)
	wantBody(t, c.get("/templates"), http.StatusOK, "No templates yet", `href="/templates/new"`)
	// Problems are listed, nothing saved.
	w := c.post("/templates/new", url.Values{"name": {"cart"}, "kind": {"marketing"}, "body": {"Hi {{ .first_name }}"}, "action": {"save"}})
	wantBody(t, w, http.StatusUnprocessableEntity, "Not saved", "1 of 2 contacts have no .first_name", "must start with the brand name")
	// Preview with a real contact shows parts and the UCS-2 characters.
	w = c.post("/templates/new", url.Values{"name": {"cart"}, "kind": {"transactional"}, "body": {`Hi {{ default "there" .first_name }} ✓`},
		"number": {"+1 212 555 0100"}, "action": {"preview"}})
	wantBody(t, w, http.StatusOK, `id="preview-sample">Hi Anne ✓`, "UCS-2", "<mark>✓</mark>", "Longest across 2 contacts")
	w = c.post("/templates/new", url.Values{"name": {"cart"}, "kind": {"marketing"}, "body": {`Rosa's: hi {{ default "there" .first_name }}`}, "action": {"save"}})
	loc := wantRedirect(t, w, "/templates/")
	wantBody(t, c.get(loc), http.StatusOK, "The template is saved", "Reply STOP to opt out", `value="cart"`)
	wantBody(t, c.get("/templates"), http.StatusOK, `Rosa&#39;s: hi`)
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/templates/")
	w = c.post("/templates/"+id, url.Values{"action": {"delete"}})
	wantRedirect(t, w, "/templates?done=template-deleted")
	wantBody(t, c.get("/templates"), http.StatusOK, "No templates yet")
	// Login and same-origin posts are required, as for every console page.
	anon := &consoleRig{rig: c.rig}
	if w := anon.get("/templates"); w.Code != http.StatusSeeOther {
		t.Errorf("/templates without a session: %d", w.Code)
	}
	if w := c.page(http.MethodPost, "/templates/new", url.Values{"name": {"x"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); w.Code != http.StatusForbidden {
		t.Errorf("cross-site post: %d", w.Code)
	}
}

// templateFixtures fill every branch of the Templates pages for
// TestRenderEveryTemplate.
func templateFixtures(now time.Time) map[string]view {
	ucs := templates.Rendering{Number: "+12125550101", Text: "Hi Zoë <b>", Plan: templates.Plan(gateway.PlanText("Hi Zoë <b>"))}
	return map[string]view{
		"templates": {Title: "Templates", Notice: "The template is saved.", Data: templatesData{Templates: []templates.Template{
			{ID: 1, Name: "<cart>", Kind: "marketing", Body: "Rosa's: {{ .first_name }}", UpdatedAt: now}}}},
		"template": {Title: "Template: cart", Error: "Not saved", Data: templateEditData{ID: 1, Name: "cart", Kind: "marketing",
			Body: "Hi {{ .first_name }}", Number: "+12125550100", EventSeq: "3",
			Problems: []templates.Problem{{Field: "body", Variable: ".first_name", Contacts: 2, Message: "2 of 4 contacts have no .first_name"},
				{Field: "body", Notice: true, Message: "has no opt-out line"}},
			Preview: &templates.Preview{Sample: ucs, Longest: &ucs, Rendered: 3, Failed: 1, FirstFailure: "+12125550102: no value"}}},
	}
}

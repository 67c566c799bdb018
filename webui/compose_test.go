package webui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/templates"
)

// Send (issue 13 point 12): a number the gateway cannot read is refused at
// its field with how to fix it; the owner picks marketing or transactional;
// contacts are offered by name.
func TestComposeFieldErrorsAndKind(t *testing.T) {
	c := newConsoleRig(t)
	if _, err := c.gw.Contacts().Create(context.Background(), contacts.Contact{Number: "+12015550123", Name: "Ana Lima"}); err != nil {
		t.Fatal(err)
	}
	wantBody(t, c.get("/compose"), http.StatusOK, `<option value="+12015550123">Ana Lima</option>`, `list="contact-list"`, `value="marketing"`)

	w := c.post("/compose", url.Values{"to": {"55"}, "text": {"hi"}})
	wantBody(t, w, http.StatusBadRequest, `id="to-error"`, `aria-describedby="to-error"`, "Add the country code, e.g. +1 201 555 0123", "read as US numbers")
	if c.count() != 0 {
		t.Fatal("a text with a bad number was stored")
	}

	// Marketing needs a brand first: said at the kind, and the choice kept.
	w = c.post("/compose", url.Values{"to": {"+12015550123"}, "text": {"20% off"}, "kind": {"marketing"}})
	wantBody(t, w, http.StatusBadRequest, `id="kind-error"`, "brand name")
	if !strings.Contains(w.Body.String(), `value="marketing" checked`) {
		t.Error("the marketing choice was not kept in the refused form")
	}

	w = c.post("/compose", url.Values{"to": {"+12015550123"}, "text": {"Your order is ready"}, "kind": {"transactional"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("send: %d %s", w.Code, w.Body)
	}
	msgs, _, err := c.gw.Messages(gateway.ListFilter{Limit: 5})
	if err != nil || len(msgs) != 1 || msgs[0].Kind != gateway.KindTransactional {
		t.Fatalf("stored %+v, %v", msgs, err)
	}
	cs := c.gw.ComplianceSettings()
	cs.Brand, cs.SupportContact, cs.Frequency = "Rosa's", "help@rosas.example", "up to 4 msgs/month"
	cs.Disclosure = gateway.Disclosure{Version: "v1", Text: "Get offers from Rosa's by text. Msg & data rates may apply. Reply STOP to opt out, HELP for help."}
	if err := c.gw.SaveComplianceSettings(cs, "test"); err != nil {
		t.Fatal(err)
	}
	w = c.post("/compose", url.Values{"to": {"+12015550123"}, "text": {"Rosa's: 20% off. Reply STOP to opt out"}, "kind": {"marketing"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("send marketing: %d %s", w.Code, w.Body)
	}
	msgs, _, _ = c.gw.Messages(gateway.ListFilter{Limit: 5})
	if len(msgs) != 2 || msgs[0].Kind != gateway.KindMarketing {
		t.Fatalf("the marketing choice was not kept: %+v", msgs)
	}
}

// Send with a saved template (issue 13 point 12): the owner picks a
// template and a customer, sees what that customer gets, and sends it; a
// number that is not a contact gets the template's fallbacks; a template
// variable the customer lacks is refused at the template field.
func TestComposeWithTemplate(t *testing.T) {
	c := newConsoleRig(t)
	ctx := context.Background()
	if _, err := c.gw.Contacts().Create(ctx, contacts.Contact{Number: "+12015550123", Name: "Ana Lima", Attributes: map[string]string{"points": "120"}}); err != nil {
		t.Fatal(err)
	}
	ready, _, err := c.gw.Templates().Save(templates.Input{Name: "ready", Kind: "transactional",
		Body: `Hi {{ default "there" .first_name }}, your order is ready for pick-up.`})
	if err != nil {
		t.Fatal(err)
	}
	strict, _, err := c.gw.Templates().Save(templates.Input{Name: "loyalty", Kind: "transactional",
		Body: `Hi {{ default "there" .first_name }}, you have {{ .attributes.points }} points.`})
	if err != nil { // every contact has points when it is saved
		t.Fatal(err)
	}
	wantBody(t, c.get("/compose"), http.StatusOK, `id="compose-template"`, `>ready (about an order or a service)</option>`)

	id := func(tp templates.Template) string { return strconv.FormatUint(tp.ID, 10) }
	w := c.post("/compose/template", url.Values{"to": {"+12015550123"}, "template": {id(ready)}, "action": {"preview"}})
	wantBody(t, w, http.StatusOK, "Hi Ana, your order is ready for pick-up.", "1 text(s)")
	if c.count() != 0 {
		t.Fatal("a preview stored a text")
	}

	w = c.post("/compose/template", url.Values{"to": {"55"}, "template": {id(ready)}, "action": {"send"}})
	wantBody(t, w, http.StatusBadRequest, `id="tpl-to-error"`, "Add the country code")
	w = c.post("/compose/template", url.Values{"to": {"+12015550123"}, "action": {"send"}})
	wantBody(t, w, http.StatusBadRequest, `id="tpl-error"`, "Choose a template.")
	if c.count() != 0 {
		t.Fatal("a refused template send stored a text")
	}

	w = c.post("/compose/template", url.Values{"to": {"+12015550123"}, "template": {id(ready)}, "action": {"send"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("send: %d %.400s", w.Code, w.Body)
	}
	w = c.post("/compose/template", url.Values{"to": {"+12015550999"}, "template": {id(ready)}, "action": {"send"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("send to a number that is not a contact: %d %.400s", w.Code, w.Body)
	}
	msgs, _, err := c.gw.Messages(gateway.ListFilter{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range msgs {
		got[m.To] = m.Text
		if m.Origin != "template:"+id(ready) {
			t.Errorf("text to %s has origin %q", m.To, m.Origin)
		}
	}
	if got["+12015550123"] != "Hi Ana, your order is ready for pick-up." || got["+12015550999"] != "Hi there, your order is ready for pick-up." {
		t.Errorf("sent %v", got)
	}

	// A number that is not a contact has no points, and the template no
	// fallback for them: refused, naming the variable.
	w = c.post("/compose/template", url.Values{"to": {"+12015550999"}, "template": {id(strict)}, "action": {"send"}})
	wantBody(t, w, http.StatusBadRequest, `id="tpl-error"`, "points")
	if n := c.count(); n != 2 {
		t.Errorf("%d texts stored, want the 2 sent before", n)
	}
}

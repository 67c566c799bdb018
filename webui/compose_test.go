package webui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
)

// Send (issue 13 point 12): a number the gateway cannot read is refused at
// its field with how to fix it; the owner picks marketing or transactional;
// contacts are offered by name.
func TestComposeFieldErrorsAndKind(t *testing.T) {
	c := newConsoleRig(t)
	if _, err := c.gw.CreateContact(context.Background(), gateway.Contact{Number: "+12015550123", Name: "Ana Lima"}); err != nil {
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

package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
)

func openForMarketing(t *testing.T, gw *gateway.Gateway) {
	t.Helper()
	cs := gw.ComplianceSettings()
	cs.Brand, cs.SupportContact, cs.Frequency = "Rosa's", "help@rosas.example", "up to 4 msgs/month"
	cs.Disclosure = gateway.Disclosure{Version: "v1", Text: "Get offers from Rosa's by text. Msg & data rates may apply. Reply STOP to opt out, HELP for help."}
	if err := gw.SaveComplianceSettings(cs, "test"); err != nil {
		t.Fatal(err)
	}
}

// The contact page records a customer's opt-in (issue 13 point 13): how,
// where and the consent text's version, into the consent ledger.
func TestContactRecordOptIn(t *testing.T) {
	c := newConsoleRig(t)
	ct, err := c.gw.Contacts().Create(context.Background(), contacts.Contact{Number: "+12015550123", Name: "Ana Lima"})
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/contacts/%d", ct.ID)
	wantBody(t, c.get(page), http.StatusOK, "First write the consent text")
	openForMarketing(t, c.gw)
	wantBody(t, c.get(page), http.StatusOK, `action="`+page+`/opt-in"`, "version v1")

	// In the shop without naming the till: refused at that field, kept typed.
	w := c.post(page+"/opt-in", url.Values{"method": {"pos"}, "source": {"sign-up sheet"}})
	wantBody(t, w, http.StatusBadRequest, `id="opt-in-error"`, "The till or staff member is required", `value="sign-up sheet"`)
	if cons, _ := c.gw.Consent(ct.Number); cons.Marketing != gateway.MarketingNone {
		t.Fatalf("a refused form changed consent: %+v", cons)
	}

	w = c.post(page+"/opt-in", url.Values{"method": {"pos"}, "source": {"sign-up sheet"}, "terminal": {"till 1"}})
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "done=opted_in") {
		t.Fatalf("record: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	evs, err := c.gw.ConsentEvents(ct.Number)
	if err != nil || len(evs) != 1 {
		t.Fatalf("ledger %+v, %v", evs, err)
	}
	ev := evs[0]
	if ev.Type != gateway.EventOptIn || ev.Method != gateway.MethodPOS || ev.Source != "sign-up sheet" || ev.Terminal != "till 1" ||
		ev.DisclosureVersion != "v1" || ev.Actor != testUser {
		t.Errorf("ledger entry %+v", ev)
	}
	body := c.get(page).Body.String()
	if !strings.Contains(body, "Agreed to marketing texts in the shop (till 1), consent text v1, recorded by "+testUser) {
		t.Errorf("the consent history does not tell the opt-in in words:\n%s", body)
	}
	if strings.Contains(body, `id="opt-in"`) {
		t.Error("the form is still offered for a confirmed customer")
	}
}

func TestConsentLine(t *testing.T) {
	for _, c := range []struct {
		ev   gateway.ConsentEvent
		want string
	}{
		{gateway.ConsentEvent{Type: gateway.EventOptIn, Purpose: gateway.PurposeMarketing, Method: gateway.MethodAPI, Source: "https://rosas.example/checkout", DisclosureVersion: "v2", Actor: "api:demo-website"},
			"Agreed to marketing texts through your website or shop system (https://rosas.example/checkout), consent text v2, recorded by the token “demo-website”."},
		{gateway.ConsentEvent{Type: gateway.EventOptOut, Purpose: gateway.PurposeAll, Method: gateway.MethodKeyword, Source: "STOP", Keyword: "STOP"},
			"Opted out of all texts by text message, texting “STOP”."},
		{gateway.ConsentEvent{Type: gateway.EventDOIConfirm, Purpose: gateway.PurposeMarketing, Method: gateway.MethodKeyword, Keyword: "YES"},
			"Replied YES: marketing texts confirmed by text message, texting “YES”."},
	} {
		if got := consentLine(c.ev); got != c.want {
			t.Errorf("consentLine(%+v)\n got %q\nwant %q", c.ev, got, c.want)
		}
	}
}

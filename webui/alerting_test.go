package webui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/alerting"
)

// The owner's alert settings and a SIM's balance check through the API,
// against simulated modems (whose network answers *100# with "Your
// balance is $12.34. Valid until 2026-12-31.").
func TestAlertingAPI(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)

	if w := l.do("PUT", "/api/v1/settings/alerts", `{"owner_number":"12","text_alerts":true}`); w.Code != http.StatusBadRequest || apiErr(t, w).Field != "owner_number" {
		t.Fatalf("bad number: %d %s", w.Code, w.Body)
	}
	var set alerting.Settings
	w := l.do("GET", "/api/v1/settings/alerts", "")
	decodeBody(t, w, &set)
	if set != (alerting.Settings{}) {
		t.Fatalf("a refused save changed the settings: %+v", set)
	}
	w = l.do("PUT", "/api/v1/settings/alerts", `{"owner_number":"(201) 555-0150","text_alerts":true}`)
	decodeBody(t, w, &set)
	if w.Code != http.StatusOK || set.OwnerNumber != "+12015550150" || !set.TextAlerts {
		t.Fatalf("save: %d %+v", w.Code, set)
	}

	if w := l.do("GET", "/api/v1/modems/nope/balance", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown modem: %d", w.Code)
	}
	if w := l.do("PUT", "/api/v1/modems/sim1/balance", `{"code":"**21*2015550199#"}`); w.Code != http.StatusBadRequest || apiErr(t, w).Field != "code" {
		t.Errorf("call forwarding as a balance code: %d %s", w.Code, w.Body)
	}
	if w := l.do("POST", "/api/v1/modems/sim1/balance/check", ""); w.Code != http.StatusBadRequest || apiErr(t, w).Field != "code" {
		t.Errorf("check without a code set: %d %s", w.Code, w.Body)
	}
	var b alerting.Balance
	w = l.do("PUT", "/api/v1/modems/sim1/balance", `{"code":"*100#","threshold":20,"interval":"12h"}`)
	decodeBody(t, w, &b)
	if w.Code != http.StatusOK || !b.On || b.Interval != "12h" || b.Threshold != 20 {
		t.Fatalf("set: %d %+v", w.Code, b)
	}
	w = l.do("POST", "/api/v1/modems/sim1/balance/check", "")
	decodeBody(t, w, &b)
	if w.Code != http.StatusOK || b.Amount == nil || *b.Amount != 12.34 || !b.Low || b.CheckedAt == nil {
		t.Fatalf("check: %d %s", w.Code, w.Body)
	}
	l.waitFor("the low-balance alert", func() bool {
		for _, a := range l.gw.Alerts() {
			if a.Kind == alerting.CauseLowBalance && a.Modem == "sim1" {
				return true
			}
		}
		return false
	})
	w = l.do("GET", "/api/v1/modems/sim1/balance", "")
	var again alerting.Balance
	decodeBody(t, w, &again)
	if again.AmountText != "12.34" || again.NextCheck == nil || again.NextCheck.Sub(*again.CheckedAt) != 12*time.Hour {
		t.Errorf("read back: %s", w.Body)
	}
}

// The console: the settings page saves the owner's number (a bad one is
// refused in words, keeping what was typed), and the modems page sets a
// balance check, reads it now, and shows "Balance 12.34, checked just now".
func TestAlertingConsole(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)

	w := l.post("/settings/alerts", url.Values{"owner_number": {"555"}, "text_alerts": {"on"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Your phone number") || !strings.Contains(w.Body.String(), `value="555"`) {
		t.Fatalf("bad number: %d %s", w.Code, w.Body)
	}
	if w := l.post("/settings/alerts", url.Values{"owner_number": {"+1 201 555 0150"}, "text_alerts": {"on"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	if body := l.get("/settings").Body.String(); !strings.Contains(body, `value="&#43;12015550150"`) || !strings.Contains(body, `name="text_alerts" checked`) {
		t.Errorf("the settings page does not show the saved number and toggle")
	}

	w = l.post("/modems/sim2/balance", url.Values{"code": {"*100#"}, "interval": {"0.1"}, "threshold": {"5"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "How often") {
		t.Fatalf("6 minutes: %d %s", w.Code, w.Body)
	}
	if w := l.post("/modems/sim2/balance", url.Values{"code": {"*100#"}, "interval": {"24"}, "threshold": {"5,50"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("set: %d %s", w.Code, w.Body)
	}
	if w := l.post("/modems/sim2/balance/check", nil); w.Code != http.StatusSeeOther {
		t.Fatalf("check now: %d %s", w.Code, w.Body)
	}
	body := l.get("/modems").Body.String()
	if !strings.Contains(body, "12.34</span>, checked just now") || !strings.Contains(body, "*100# every 24h") {
		t.Errorf("the modems page does not show the balance:\n%s", body)
	}
	if strings.Contains(body, "top it up") {
		t.Error("12.34 above the threshold of 5.50 is shown as low")
	}
}

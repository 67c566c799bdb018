package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
)

func TestUSSDErrors(t *testing.T) {
	r := newRig(t)
	// A modem that is configured but has never come up.
	if err := r.gw.AddModem(gateway.ModemConfig{Name: "shop1", Path: "/dev/null", Open: func(context.Context) (*modem.Modem, error) {
		return nil, errors.New("unplugged")
	}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, target, body string
		status             int
		code, field        string
	}{
		{"unknown modem", "/api/v1/modems/nope/ussd", `{"code":"*100#"}`, http.StatusNotFound, codeNotFound, ""},
		{"bad code", "/api/v1/modems/shop1/ussd", `{"code":"100"}`, http.StatusBadRequest, codeInvalidRequest, "code"},
		{"letters", "/api/v1/modems/shop1/ussd", `{"code":"*abc#"}`, http.StatusBadRequest, codeInvalidRequest, "code"},
		{"unknown field", "/api/v1/modems/shop1/ussd", `{"code":"*100#","x":1}`, http.StatusBadRequest, codeInvalidRequest, "x"},
		{"modem not up", "/api/v1/modems/shop1/ussd", `{"code":"*100#"}`, http.StatusServiceUnavailable, codeUnavailable, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := r.do("POST", c.target, c.body)
			if w.Code != c.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, c.status)
			}
			e := apiErr(t, w)
			if e.Code != c.code || e.Field != c.field {
				t.Errorf("got code %q field %q, want %q %q", e.Code, e.Field, c.code, c.field)
			}
		})
	}
	w := r.do("POST", "/api/v1/modems/shop1/ussd", `{"code":"*100#"}`, "Authorization", "-")
	if w.Code != http.StatusUnauthorized {
		t.Errorf("without a token: got %d, want 401", w.Code)
	}
}

// Issue 15, point 14: supplementary-service codes (GSM 02.30 / 3GPP TS
// 22.030), which could divert or bar the shop's calls, are refused by the
// API and the console with a 400 naming code; a balance code goes through.
func TestUSSDRefusesServiceCodes(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)
	refused := []string{
		"**21*12015550199#", "*21*12015550199#", "*21#", "#21#", "##21#", "*#21#", // forwarding, unconditional
		"**61*12015550199*11*30#", "**62*12015550199#", "**67*12015550199#", // no reply, not reachable, busy
		"**002*12015550199#", "**004*12015550199#", "##002#", // all, all conditional
		"*33*0000#", "*330*0000#", "#330*0000#", "*351*0000#", // barring
		"*31#", "*43#", "*#43#", // caller ID, waiting
		"**04*1234*5678*5678#", "**03*330*0000*1111*1111#", "*#06#", // PIN, barring password, IMEI
		"#100#", "*100*1*2#", // not balance or information forms
	}
	for _, code := range refused {
		w := l.do("POST", "/api/v1/modems/sim1/ussd", `{"code":"`+code+`"}`)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", code, w.Code, w.Body)
			continue
		}
		if e := apiErr(t, w); e.Field != "code" || e.Code != codeInvalidRequest {
			t.Errorf("%s: error %+v, want invalid_request on code", code, e)
		}
	}
	w := l.do("POST", "/api/v1/modems/sim1/ussd", `{"code":"**21*12015550199#"}`)
	if e := apiErr(t, w); !strings.Contains(e.Message, "call forwarding") {
		t.Errorf("the refusal does not say why: %q", e.Message)
	}
	wantBody(t, l.post("/modems/sim1/ussd", url.Values{"code": {"**21*12015550199#"}}),
		http.StatusBadRequest, "call forwarding")

	// Balance and information codes reach the network.
	for _, code := range []string{"*100#", "*100*1#"} {
		w := l.do("POST", "/api/v1/modems/sim1/ussd", `{"code":"`+code+`"}`)
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d %s, want 200", code, w.Code, w.Body)
		}
	}
	wantBody(t, l.post("/modems/sim1/ussd", url.Values{"code": {"*100#"}}), http.StatusOK, "*100#")
	// The page says which codes are allowed.
	wantBody(t, l.get("/modems"), http.StatusOK, "Allowed codes: *N#, *N*N#")
}

package webui

import (
	"context"
	"errors"
	"net/http"
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

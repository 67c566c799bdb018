package webui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestStrictJSON: a body that two JSON parsers could read differently, or
// whose strings would be silently altered or carry a NUL to a modem, a CSV
// export or a log, is refused with 400 naming the field, on every JSON
// endpoint of the API; nothing is stored.
func TestStrictJSON(t *testing.T) {
	r := newRig(t)
	openForConsent(t, r)
	contact := r.do("POST", "/api/v1/contacts", `{"number":"+12015550177","name":"Ana"}`)
	if contact.Code != http.StatusCreated {
		t.Fatalf("seed contact: %d %s", contact.Code, contact.Body)
	}
	var c struct{ ID uint64 }
	decodeBody(t, contact, &c)
	contactPath := "/api/v1/contacts/" + itoa(c.ID)

	cases := []struct {
		name         string
		method, path string
		body         string
		field        string
	}{
		// Invalid UTF-8 would become U+FFFD, and a lone surrogate escape
		// too: refused rather than changed.
		{"invalid UTF-8 in text", "POST", "/api/v1/messages", "{\"to\":\"" + to + "\",\"text\":\"caf\xe9\"}", "text"},
		{"truncated UTF-8 in text", "POST", "/api/v1/messages", "{\"to\":\"" + to + "\",\"text\":\"order \xf0\x9f\x93\"}", "text"},
		{"lone surrogate escape", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi \ud800"}`, "text"},
		{"invalid UTF-8 in contact name", "POST", "/api/v1/contacts", "{\"number\":\"+12015550183\",\"name\":\"Jos\xe9\"}", "name"},
		{"invalid UTF-8 in an attribute", "POST", "/api/v1/contacts", "{\"number\":\"+12015550184\",\"attributes\":{\"city\":\"M\xfcnchen\"}}", "attributes.city"},
		{"invalid UTF-8 in a tag", "POST", "/api/v1/contacts", "{\"number\":\"+12015550185\",\"tags\":[\"vip\",\"\xff\"]}", "tags"},
		{"invalid UTF-8 in a patch", "PATCH", contactPath, "{\"name\":\"\xc3\"}", "name"},
		{"invalid UTF-8 in settings", "PUT", "/api/v1/settings/compliance", "{\"brand\":\"Ros\xe1s\"}", "brand"},
		{"invalid UTF-8 in a field name", "POST", "/api/v1/messages", "{\"to\":\"" + to + "\",\"text\":\"hi\",\"\xff\":1}", ""},

		// NUL: valid JSON, but no text, name or source should carry one.
		{"NUL in text", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi\u0000there"}`, "text"},
		{"NUL in number", "POST", "/api/v1/messages", `{"to":"` + to + `\u0000","text":"hi"}`, "to"},
		{"NUL in idempotency key", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","idempotency_key":"k\u0000"}`, "idempotency_key"},
		{"NUL in consent source", "POST", "/api/v1/consent", `{"number":"+12125550101","method":"api","source":"crm\u0000x","disclosure_version":"v1"}`, "source"},
		{"NUL in opt-out note", "POST", "/api/v1/consent/opt-out", `{"number":"+12125550101","note":"\u0000"}`, "note"},
		{"NUL in review decision", "POST", "/api/v1/consent/review/+12125550101", `{"decision":"keep\u0000"}`, "decision"},
		{"NUL in an attribute name", "POST", "/api/v1/contacts", `{"number":"+12015550181","attributes":{"a\u0000b":"x"}}`, "attributes"},
		{"NUL in USSD code", "POST", "/api/v1/modems/shop1/ussd", `{"code":"*100#\u0000"}`, "code"},
		{"NUL in a quiet-hours country", "PUT", "/api/v1/settings/compliance", `{"quiet_countries":{"FR":"08:00-20:00\u0000"}}`, "quiet_countries.FR"},

		// Duplicate names: which one wins depends on the parser.
		{"duplicate text", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hello","text":"other"}`, "text"},
		{"duplicate to", "POST", "/api/v1/messages", `{"to":"+12015550199","text":"hi","to":"` + to + `"}`, "to"},
		{"duplicate attribute", "POST", "/api/v1/contacts", `{"number":"+12015550182","attributes":{"city":"a","city":"b"}}`, "attributes.city"},
		{"duplicate in settings", "PUT", "/api/v1/settings/compliance", `{"brand":"A","brand":"B"}`, "brand"},
		{"duplicate nested", "PUT", "/api/v1/settings/compliance", `{"replies":{"help":"a","help":"b"}}`, "replies.help"},

		// Names match case-sensitively: "TEXT" is not "text".
		{"TEXT overrides text", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hello","TEXT":"other"}`, "TEXT"},
		{"To alone", "POST", "/api/v1/messages", `{"To":"` + to + `","text":"hi"}`, "To"},
		{"case-folded consent field", "POST", "/api/v1/consent", `{"number":"+12125550101","method":"api","source":"crm","Disclosure_Version":"v1"}`, "Disclosure_Version"},
		{"case-folded nested field", "PUT", "/api/v1/settings/compliance", `{"replies":{"HELP":"x"}}`, "replies.HELP"},
		{"case-folded patch field", "PATCH", contactPath, `{"NAME":"x"}`, "NAME"},
		// encoding/json folds the Kelvin sign (U+212A) to k.
		{"Kelvin sign for k", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"Rosa's Bakery: hi","\u212aind":"marketing"}`, "\u212aind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := r.count()
			w := r.do(tc.method, tc.path, tc.body)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status: got %d, want 400; body %s", w.Code, w.Body)
			}
			e := apiErr(t, w)
			if e.Code != codeInvalidRequest || e.Field != tc.field {
				t.Errorf("got code %q field %q (%q), want invalid_request on %q", e.Code, e.Field, e.Message, tc.field)
			}
			if tc.field != "" && !strings.HasPrefix(e.Message, tc.field+": ") {
				t.Errorf("message %q does not start with the field %q", e.Message, tc.field)
			}
			if after := r.count(); after != before {
				t.Errorf("messages stored: got %d, want %d", after, before)
			}
		})
	}

	// Nothing above reached the store.
	if w := r.do("GET", contactPath, ""); !strings.Contains(w.Body.String(), `"name":"Ana"`) {
		t.Errorf("contact changed by a refused patch: %s", w.Body)
	}
	if got := r.gw.ComplianceSettings().Brand; got != "Rosa's Bakery" {
		t.Errorf("settings changed by a refused put: brand %q", got)
	}

	// What stays accepted: escapes that decode to valid text, and the same
	// name in different objects.
	for _, ok := range []struct{ method, path, body string }{
		{"POST", "/api/v1/messages", `{"to":"` + to + `","text":"caf\u00e9 \ud83d\udce6 \t tab"}`},
		{"POST", "/api/v1/contacts", `{"number":"+12015550179","name":"x","attributes":{"name":"y"}}`},
	} {
		if w := r.do(ok.method, ok.path, ok.body); w.Code != http.StatusAccepted && w.Code != http.StatusCreated {
			t.Errorf("%s %s: got %d, want it accepted; %s", ok.method, ok.path, w.Code, w.Body)
		}
	}
}

// TestStrictJSONTypes: the names strictJSON expects follow encoding/json's
// rules for the shapes the API's bodies do not use yet: promoted fields of
// embedded structs, pointers, slices of structs, "-" and types that decode
// themselves.
func TestStrictJSONTypes(t *testing.T) {
	type Inner struct {
		Deep string `json:"deep"`
	}
	type item struct {
		Label string `json:"label"`
	}
	type body struct {
		Inner
		Item   *item           `json:"item"`
		Items  []item          `json:"items"`
		When   *time.Time      `json:"when"`
		Raw    json.RawMessage `json:"raw"`
		Hidden string          `json:"-"`
		Plain  string
	}
	typ := reflect.TypeFor[body]()
	for _, tc := range []struct {
		body, field string // field "-": accepted
	}{
		{`{"deep":"x","item":{"label":"y"},"items":[{"label":"z"}],"when":"2030-01-01T00:00:00Z","raw":{"ANY":1,"any":2},"Plain":"p"}`, "-"},
		{`{"DEEP":"x"}`, "DEEP"},
		{`{"items":[{"label":"a"},{"Label":"b"}]}`, "items.Label"},
		{`{"item":{"LABEL":"y"}}`, "item.LABEL"},
		{`{"plain":"p"}`, "plain"},
		{`{"raw":{"a":1,"a":2}}`, "raw.a"},
		{`{"raw":["\u0000"]}`, "raw"},
		{`{"Hidden":"h"}`, "-"}, // unknown: encoding/json refuses it with its own message
		{`{"deep":"x","deep":"x"}`, "deep"},
		{`{"deep":"\u0000"} trailing`, "-"}, // malformed: the decoder explains
	} {
		err := strictJSON([]byte(tc.body), typ)
		var e *apiError
		switch {
		case tc.field == "-" && err != nil:
			t.Errorf("%s: refused: %v", tc.body, err)
		case tc.field != "-" && (!errors.As(err, &e) || e.Field != tc.field || e.Status != http.StatusBadRequest):
			t.Errorf("%s: got %v, want a 400 on %q", tc.body, err, tc.field)
		}
	}
}

// TestComposeRefusesNUL: the console's send form is not JSON, but a NUL in
// its text (%00) must not reach a modem either; the gateway refuses it for
// every way in, the API included.
func TestComposeRefusesNUL(t *testing.T) {
	c := newConsoleRig(t)
	w := c.post("/compose", url.Values{"to": {to}, "text": {"Hello\x00there"}})
	wantBody(t, w, http.StatusBadRequest, "The text must not contain NUL characters")
	if n := countMessages(t, c.rig); n != 0 {
		t.Fatalf("%d messages stored from a text with a NUL", n)
	}
}

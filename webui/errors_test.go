package webui

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const to = "+12015550123" // a valid US number (NANP 201 is New Jersey)

// TestErrors checks every refusal: status, code, named field, JSON and the
// security headers, and that nothing was stored.
func TestErrors(t *testing.T) {
	r := newRig(t, withMaxBody(1024))
	existing := r.submit(`{"to":"`+to+`","text":"seed"}`, http.StatusAccepted)
	id := itoa(existing.ID)

	revokedTok, revoked, err := r.gw.Access().CreateToken("revoked")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.gw.Access().RevokeToken(revoked.ID); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	cases := []struct {
		name         string
		method, path string
		body         string
		hdr          []string
		status       int
		code, field  string
	}{
		// Input the gateway refuses.
		{"invalid number", "POST", "/api/v1/messages", `{"to":"12","text":"hi"}`, nil, 400, "invalid_request", "to"},
		{"letters as number", "POST", "/api/v1/messages", `{"to":"call me","text":"hi"}`, nil, 400, "invalid_request", "to"},
		{"missing to", "POST", "/api/v1/messages", `{"text":"hi"}`, nil, 400, "invalid_request", "to"},
		{"empty text", "POST", "/api/v1/messages", `{"to":"` + to + `","text":""}`, nil, 400, "invalid_request", "text"},
		{"blank text", "POST", "/api/v1/messages", `{"to":"` + to + `","text":" \n\t"}`, nil, 400, "invalid_request", "text"},
		{"missing text", "POST", "/api/v1/messages", `{"to":"` + to + `"}`, nil, 400, "invalid_request", "text"},
		{"expires_at in the past", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","expires_at":"` + past + `"}`, nil, 400, "invalid_request", "expires_at"},
		{"expires_at not RFC 3339", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","expires_at":"tomorrow"}`, nil, 400, "invalid_request", "expires_at"},
		{"idempotency key too long", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","idempotency_key":"` + strings.Repeat("k", 256) + `"}`, nil, 400, "invalid_request", "idempotency_key"},
		{"unknown kind", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","kind":"promo"}`, nil, 400, "invalid_request", "kind"},
		{"kind compliance is the box's own", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","kind":"compliance"}`, nil, 400, "invalid_request", "kind"},
		{"marketing before a brand is set", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","kind":"marketing"}`, nil, 400, "invalid_request", "kind"},
		{"idempotency key header and field differ", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","idempotency_key":"a"}`, []string{"Idempotency-Key", "b"}, 400, "invalid_request", "idempotency_key"},

		// JSON the decoder refuses.
		{"unknown field", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","sender":"x"}`, nil, 400, "invalid_request", "sender"},
		{"malformed JSON", "POST", "/api/v1/messages", `{"to" "x"}`, nil, 400, "invalid_request", ""},
		{"truncated JSON", "POST", "/api/v1/messages", `{"to":"` + to + `",`, nil, 400, "invalid_request", ""},
		{"empty body", "POST", "/api/v1/messages", ``, nil, 400, "invalid_request", ""},
		{"array body", "POST", "/api/v1/messages", `[{"to":"` + to + `","text":"hi"}]`, nil, 400, "invalid_request", ""},
		{"string body", "POST", "/api/v1/messages", `"hi"`, nil, 400, "invalid_request", ""},
		{"number as to", "POST", "/api/v1/messages", `{"to":12015550123,"text":"hi"}`, nil, 400, "invalid_request", "to"},
		{"bool as text", "POST", "/api/v1/messages", `{"to":"` + to + `","text":true}`, nil, 400, "invalid_request", "text"},
		{"object as expires_at", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","expires_at":{}}`, nil, 400, "invalid_request", "expires_at"},
		{"number as idempotency_key", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi","idempotency_key":1}`, nil, 400, "invalid_request", "idempotency_key"},
		{"trailing object", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}{"to":"` + to + `","text":"hi"}`, nil, 400, "invalid_request", ""},
		{"trailing garbage", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"} x`, nil, 400, "invalid_request", ""},

		// Transport.
		{"body too large", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"` + strings.Repeat("a", 1100) + `"}`, nil, 413, "too_large", ""},
		{"too large after the object", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}` + strings.Repeat(" ", 1100), nil, 413, "too_large", ""},
		{"text/plain", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"form", "POST", "/api/v1/messages", `to=1&text=hi`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"bad content type", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}`, []string{"Content-Type", ";;"}, 415, "unsupported_media_type", ""},

		// Auth.
		{"no token", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}`, []string{"Authorization", "-"}, 401, "unauthorized", ""},
		{"invalid token", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}`, []string{"Authorization", "Bearer sg_nope"}, 401, "unauthorized", ""},
		{"revoked token", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}`, []string{"Authorization", "Bearer " + revokedTok}, 401, "unauthorized", ""},
		{"basic auth", "POST", "/api/v1/messages", `{"to":"` + to + `","text":"hi"}`, []string{"Authorization", "Basic dGVzdDp0ZXN0"}, 401, "unauthorized", ""},
		{"empty bearer", "GET", "/api/v1/messages", ``, []string{"Authorization", "Bearer "}, 401, "unauthorized", ""},
		{"no token on get", "GET", "/api/v1/messages/" + id, ``, []string{"Authorization", "-"}, 401, "unauthorized", ""},
		{"no token on drop", "POST", "/api/v1/messages/" + id + "/drop", ``, []string{"Authorization", "-"}, 401, "unauthorized", ""},
		{"no token on inbox", "GET", "/api/v1/inbox", ``, []string{"Authorization", "-"}, 401, "unauthorized", ""},
		{"no token on modems", "GET", "/api/v1/modems", ``, []string{"Authorization", "-"}, 401, "unauthorized", ""},

		// Routing.
		{"unknown route", "GET", "/api/v1/nope", ``, nil, 404, "not_found", ""},
		{"unknown api version", "GET", "/api/v9/messages", ``, nil, 404, "not_found", ""},
		{"unknown message", "GET", "/api/v1/messages/999999", ``, nil, 404, "not_found", ""},
		{"non-numeric id", "GET", "/api/v1/messages/abc", ``, nil, 404, "not_found", ""},
		{"zero id", "GET", "/api/v1/messages/0", ``, nil, 404, "not_found", ""},
		{"resend unknown message", "POST", "/api/v1/messages/999999/resend", ``, nil, 404, "not_found", ""},
		{"drop unknown message", "POST", "/api/v1/messages/999999/drop", ``, nil, 404, "not_found", ""},
		{"wrong method on collection", "DELETE", "/api/v1/messages", ``, nil, 405, "method_not_allowed", ""},
		{"wrong method on action", "GET", "/api/v1/messages/" + id + "/drop", ``, nil, 405, "method_not_allowed", ""},
		{"wrong method on modems", "POST", "/api/v1/modems", `{}`, nil, 405, "method_not_allowed", ""},

		// State.
		{"resend a queued message", "POST", "/api/v1/messages/" + id + "/resend", ``, nil, 409, "conflict", ""},

		// Query parameters.
		{"bad status", "GET", "/api/v1/messages?status=lost", ``, nil, 400, "invalid_request", "status"},
		{"limit zero", "GET", "/api/v1/messages?limit=0", ``, nil, 400, "invalid_request", "limit"},
		{"limit too big", "GET", "/api/v1/messages?limit=501", ``, nil, 400, "invalid_request", "limit"},
		{"limit not a number", "GET", "/api/v1/messages?limit=ten", ``, nil, 400, "invalid_request", "limit"},
		{"negative limit", "GET", "/api/v1/messages?limit=-1", ``, nil, 400, "invalid_request", "limit"},
		{"bad cursor", "GET", "/api/v1/messages?cursor=abc", ``, nil, 400, "invalid_request", "cursor"},
		{"zero cursor", "GET", "/api/v1/messages?cursor=0", ``, nil, 400, "invalid_request", "cursor"},
		{"inbox bad limit", "GET", "/api/v1/inbox?limit=1000", ``, nil, 400, "invalid_request", "limit"},
		{"inbox bad cursor", "GET", "/api/v1/inbox?cursor=-5", ``, nil, 400, "invalid_request", "cursor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := r.count()
			w := r.do(tc.method, tc.path, tc.body, tc.hdr...)
			if w.Code != tc.status {
				t.Fatalf("status: got %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			e := apiErr(t, w)
			if e.Code != tc.code {
				t.Errorf("code: got %q, want %q", e.Code, tc.code)
			}
			if e.Field != tc.field {
				t.Errorf("field: got %q, want %q (message %q)", e.Field, tc.field, e.Message)
			}
			if tc.field != "" && !strings.Contains(e.Message, tc.field) {
				t.Errorf("message %q does not name %q", e.Message, tc.field)
			}
			checkSecurityHeaders(t, w)
			if tc.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate: got %q, want Bearer ...", w.Header().Get("WWW-Authenticate"))
			}
			if tc.status == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
			if after := r.count(); after != before {
				t.Errorf("messages stored: got %d, want %d", after, before)
			}
		})
	}
}

// TestTooManyParts is apart from TestErrors because an 11-part text is
// above that rig's small body limit.
func TestTooManyParts(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct{ name, text string }{
		{"GSM-7 11 parts", strings.Repeat("a", 10*153+1)},
		{"UCS-2 11 parts", strings.Repeat("é€ü✓", 10*67/4+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.count()
			w := r.do("POST", "/api/v1/messages", `{"to":"`+to+`","text":"`+tc.text+`"}`)
			if w.Code != 400 {
				t.Fatalf("status: got %d, want 400; body %s", w.Code, w.Body)
			}
			if e := apiErr(t, w); e.Field != "text" || e.Code != "invalid_request" {
				t.Errorf("got %+v, want invalid_request on text", e)
			}
			if after := r.count(); after != before {
				t.Errorf("messages stored: got %d, want %d", after, before)
			}
		})
	}
	// Ten parts is the limit, not beyond it.
	if got := r.submit(`{"to":"`+to+`","text":"`+strings.Repeat("a", 10*153)+`"}`, 202); got.Parts != 10 {
		t.Errorf("parts: got %d, want 10", got.Parts)
	}
}

func checkSecurityHeaders(t *testing.T, w interface{ Header() http.Header }) {
	t.Helper()
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", got)
	}
}

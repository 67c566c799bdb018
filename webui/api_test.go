package webui

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
)

func itoa(id uint64) string { return strconv.FormatUint(id, 10) }

func TestSubmit(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name      string
		body      string
		wantTo    string
		encoding  string
		parts     int
		ucs2Chars []string
	}{
		{"GSM-7", `{"to":"` + to + `","text":"Your order is ready"}`, to, "GSM-7", 1, nil},
		{"national number", `{"to":"(201) 555-0123","text":"hi"}`, to, "GSM-7", 1, nil},
		{"GSM-7 160 chars", `{"to":"` + to + `","text":"` + strings.Repeat("a", 160) + `"}`, to, "GSM-7", 1, nil},
		{"GSM-7 161 chars", `{"to":"` + to + `","text":"` + strings.Repeat("a", 161) + `"}`, to, "GSM-7", 2, nil},
		{"GSM-7 307 chars", `{"to":"` + to + `","text":"` + strings.Repeat("a", 307) + `"}`, to, "GSM-7", 3, nil},
		{"extension table", `{"to":"` + to + `","text":"Only 5€ {today}"}`, to, "GSM-7", 1, nil},
		{"UCS-2 emoji", `{"to":"` + to + `","text":"Sale today 🎉 and ✓"}`, to, "UCS-2", 1, []string{"🎉", "✓"}},
		{"UCS-2 multipart", `{"to":"` + to + `","text":"` + strings.Repeat("✓", 71) + `"}`, to, "UCS-2", 2, []string{"✓"}},
		{"escaped JSON", `{"to":"` + to + `","text":"\u041f\u0440\u0438\u0432\u0435\u0442"}`, to, "UCS-2", 1, []string{"П", "р", "и", "в", "е", "т"}},
		{"charset parameter", `{"to":"` + to + `","text":"hi"}`, to, "GSM-7", 1, nil},
		{"no content type", `{"to":"` + to + `","text":"hi"}`, to, "GSM-7", 1, nil},
		{"future expires_at", `{"to":"` + to + `","text":"hi","expires_at":"2999-01-01T00:00:00Z"}`, to, "GSM-7", 1, nil},
		{"null members", `{"to":"` + to + `","text":"hi","expires_at":null,"idempotency_key":null}`, to, "GSM-7", 1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := r.count()
			var hdr []string
			switch tc.name {
			case "charset parameter":
				hdr = []string{"Content-Type", "application/json; charset=utf-8"}
			case "no content type":
				hdr = []string{"Content-Type", "-"}
			}
			w := r.do("POST", "/api/v1/messages", tc.body, hdr...)
			if w.Code != http.StatusAccepted {
				t.Fatalf("status: got %d, want 202; body %s", w.Code, w.Body)
			}
			checkSecurityHeaders(t, w)
			var got submitResponse
			decodeBody(t, w, &got)
			if got.ID == 0 || got.Status != "queued" || got.To != tc.wantTo || got.Encoding != tc.encoding || got.Parts != tc.parts {
				t.Errorf("got %+v, want queued to %s, %s, %d parts", got, tc.wantTo, tc.encoding, tc.parts)
			}
			if !slices.Equal(got.UCS2Chars, tc.ucs2Chars) {
				t.Errorf("ucs2_chars: got %q, want %q", got.UCS2Chars, tc.ucs2Chars)
			}
			if tc.ucs2Chars == nil && strings.Contains(w.Body.String(), "ucs2_chars") {
				t.Errorf("ucs2_chars present for GSM-7: %s", w.Body)
			}
			if loc := w.Header().Get("Location"); loc != "/api/v1/messages/"+itoa(got.ID) {
				t.Errorf("Location: got %q", loc)
			}
			if w.Header().Get("Idempotent-Replayed") != "" {
				t.Error("Idempotent-Replayed on a new message")
			}
			if after := r.count(); after != before+1 {
				t.Errorf("messages stored: got %d, want %d", after, before+1)
			}
			// What was answered is what was stored.
			m, err := r.gw.Message(got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.To != got.To || len(m.Parts) != got.Parts || m.Encoding != got.Encoding {
				t.Errorf("stored %+v, answered %+v", m, got)
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	r := newRig(t)
	body := `{"to":"` + to + `","text":"order 1 ready"}`

	for _, tc := range []struct {
		name         string
		first, again func() *http.Request
	}{
		{"header",
			func() *http.Request { return r.req("POST", "/api/v1/messages", body, "Idempotency-Key", "h-1") },
			func() *http.Request { return r.req("POST", "/api/v1/messages", body, "Idempotency-Key", "h-1") }},
		{"field",
			func() *http.Request {
				return r.req("POST", "/api/v1/messages", `{"to":"`+to+`","text":"order 1 ready","idempotency_key":"f-1"}`)
			},
			func() *http.Request {
				return r.req("POST", "/api/v1/messages", `{"to":"`+to+`","text":"order 1 ready","idempotency_key":"f-1"}`)
			}},
		{"field then header",
			func() *http.Request {
				return r.req("POST", "/api/v1/messages", `{"to":"`+to+`","text":"order 1 ready","idempotency_key":"m-1"}`)
			},
			func() *http.Request { return r.req("POST", "/api/v1/messages", body, "Idempotency-Key", "m-1") }},
		{"both equal",
			func() *http.Request {
				return r.req("POST", "/api/v1/messages", `{"to":"`+to+`","text":"order 1 ready","idempotency_key":"b-1"}`, "Idempotency-Key", "b-1")
			},
			func() *http.Request { return r.req("POST", "/api/v1/messages", body, "Idempotency-Key", "b-1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.count()
			w1 := r.serve(tc.first())
			if w1.Code != http.StatusAccepted {
				t.Fatalf("first: got %d, want 202; %s", w1.Code, w1.Body)
			}
			var first submitResponse
			decodeBody(t, w1, &first)
			w2 := r.serve(tc.again())
			if w2.Code != http.StatusOK {
				t.Fatalf("replay: got %d, want 200; %s", w2.Code, w2.Body)
			}
			if got := w2.Header().Get("Idempotent-Replayed"); got != "true" {
				t.Errorf("Idempotent-Replayed: got %q, want true", got)
			}
			var again submitResponse
			decodeBody(t, w2, &again)
			if again.ID != first.ID {
				t.Errorf("replay id: got %d, want %d", again.ID, first.ID)
			}
			if after := r.count(); after != before+1 {
				t.Errorf("messages stored: got %d, want %d", after, before+1)
			}
		})
	}

	t.Run("replay shows current status", func(t *testing.T) {
		first := r.submit(body, 202, "Idempotency-Key", "s-1")
		if w := r.do("POST", "/api/v1/messages/"+itoa(first.ID)+"/drop", ""); w.Code != 200 {
			t.Fatalf("drop: got %d; %s", w.Code, w.Body)
		}
		again := r.submit(body, 200, "Idempotency-Key", "s-1")
		if again.ID != first.ID || again.Status != "failed" {
			t.Errorf("got id %d status %q, want id %d status failed", again.ID, again.Status, first.ID)
		}
	})
	t.Run("different keys", func(t *testing.T) {
		a := r.submit(body, 202, "Idempotency-Key", "d-1")
		b := r.submit(body, 202, "Idempotency-Key", "d-2")
		if a.ID == b.ID {
			t.Errorf("two keys gave one message %d", a.ID)
		}
	})
}

func TestGetMessage(t *testing.T) {
	r := newRig(t)
	sub := r.submit(`{"to":"`+to+`","text":"Fête 🎉 `+strings.Repeat("x", 70)+`","expires_at":"2999-01-01T00:00:00Z"}`, 202)

	w := r.do("GET", "/api/v1/messages/"+itoa(sub.ID), "")
	if w.Code != 200 {
		t.Fatalf("got %d; %s", w.Code, w.Body)
	}
	checkSecurityHeaders(t, w)
	var raw map[string]json.RawMessage
	decodeBody(t, w, &raw)
	for _, k := range []string{"id", "status", "to", "text", "encoding", "parts", "created_at", "updated_at", "expires_at", "error", "history", "ucs2_chars"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("member %q missing in %s", k, w.Body)
		}
	}
	var m gateway.Message
	decodeBody(t, w, &m)
	if m.ID != sub.ID || m.Status != "queued" || m.To != to || m.Encoding != "UCS-2" || !strings.HasPrefix(m.Text, "Fête 🎉") {
		t.Errorf("got %+v", m)
	}
	if m.ExpiresAt == nil || m.ExpiresAt.Year() != 2999 {
		t.Errorf("expires_at: got %v, want 2999", m.ExpiresAt)
	}
	if m.Error != nil {
		t.Errorf("error: got %q, want null", *m.Error)
	}
	if len(m.Parts) != 2 {
		t.Fatalf("parts: got %d, want 2", len(m.Parts))
	}
	for i, p := range m.Parts {
		if p.Seq != i+1 || p.MR != nil || p.Status != "queued" || p.SentAt != nil {
			t.Errorf("part %d: got %+v, want seq %d, mr null, queued", i, p, i+1)
		}
	}
	if !strings.Contains(w.Body.String(), `"mr":null`) {
		t.Errorf("mr not null in %s", w.Body)
	}
	if len(m.History) == 0 || m.History[0].Status != "queued" || m.History[0].At.IsZero() {
		t.Errorf("history: got %+v", m.History)
	}
	if !slices.Equal(m.UCS2Chars, []string{"ê", "🎉"}) {
		t.Errorf("ucs2_chars: got %q", m.UCS2Chars)
	}
}

func TestListMessages(t *testing.T) {
	r := newRig(t)
	var ids []uint64
	for i := range 5 {
		ids = append(ids, r.submit(`{"to":"`+to+`","text":"n`+strconv.Itoa(i)+`"}`, 202).ID)
	}
	if w := r.do("POST", "/api/v1/messages/"+itoa(ids[1])+"/drop", ""); w.Code != 200 {
		t.Fatalf("drop: %d %s", w.Code, w.Body)
	}

	list := func(query string) messageList {
		t.Helper()
		w := r.do("GET", "/api/v1/messages"+query, "")
		if w.Code != 200 {
			t.Fatalf("GET %s: got %d; %s", query, w.Code, w.Body)
		}
		var l messageList
		decodeBody(t, w, &l)
		if l.Messages == nil {
			t.Fatalf("messages is null in %s", w.Body)
		}
		return l
	}
	idsOf := func(l messageList) []uint64 {
		var out []uint64
		for _, m := range l.Messages {
			out = append(out, m.ID)
		}
		return out
	}

	// Paging, newest first, until next_cursor is null.
	var got []uint64
	cursor, pages := "", 0
	for {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		l := list(q)
		pages++
		if len(l.Messages) > 2 {
			t.Fatalf("page of %d, limit 2", len(l.Messages))
		}
		got = append(got, idsOf(l)...)
		if l.NextCursor == nil {
			break
		}
		cursor = *l.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged ids: got %v in %d pages, want %v in 3", got, pages, want)
	}

	if l := list(""); len(l.Messages) != 5 || l.NextCursor != nil {
		t.Errorf("default page: got %d messages, next %v", len(l.Messages), l.NextCursor)
	}
	if l := list("?status=failed"); !slices.Equal(idsOf(l), []uint64{ids[1]}) || l.Messages[0].Error == nil {
		t.Errorf("status=failed: got %v, want [%d] with an error", idsOf(l), ids[1])
	}
	if l := list("?status=queued&limit=500"); len(l.Messages) != 4 {
		t.Errorf("status=queued: got %d, want 4", len(l.Messages))
	}
	if l := list("?status=delivered"); len(l.Messages) != 0 || l.NextCursor != nil {
		t.Errorf("status=delivered: got %v", idsOf(l))
	}
}

func TestResendDrop(t *testing.T) {
	r := newRig(t)
	id := itoa(r.submit(`{"to":"`+to+`","text":"hi"}`, 202).ID)
	step := func(action string, status int, wantStatus string) {
		t.Helper()
		before := r.count()
		w := r.do("POST", "/api/v1/messages/"+id+"/"+action, "")
		if w.Code != status {
			t.Fatalf("%s: got %d, want %d; %s", action, w.Code, status, w.Body)
		}
		if status == 200 {
			var m gateway.Message
			decodeBody(t, w, &m)
			if string(m.Status) != wantStatus {
				t.Errorf("%s: status %q, want %q", action, m.Status, wantStatus)
			}
		} else if e := apiErr(t, w); e.Code != "conflict" {
			t.Errorf("%s: code %q, want conflict", action, e.Code)
		}
		if r.count() != before {
			t.Errorf("%s changed the number of messages", action)
		}
	}
	step("resend", 409, "") // queued cannot be resent
	step("drop", 200, "failed")
	step("drop", 409, "") // failed cannot be dropped
	step("resend", 200, "queued")
	step("drop", 200, "failed")

	m, err := r.gw.Message(mustID(t, id))
	if err != nil {
		t.Fatal(err)
	}
	if m.Error == nil || *m.Error != "dropped by operator" {
		t.Errorf("error: got %v", m.Error)
	}
}

func mustID(t *testing.T, s string) uint64 {
	t.Helper()
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestEmptyLists(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct{ path, want string }{
		{"/api/v1/inbox", `{"messages":[],"next_cursor":null}`},
		{"/api/v1/inbox?limit=10", `{"messages":[],"next_cursor":null}`},
		{"/api/v1/messages", `{"messages":[],"next_cursor":null}`},
		{"/api/v1/modems", `{"modems":[]}`},
	} {
		w := r.do("GET", tc.path, "")
		if w.Code != 200 || strings.TrimSpace(w.Body.String()) != tc.want {
			t.Errorf("GET %s: got %d %s, want 200 %s", tc.path, w.Code, w.Body, tc.want)
		}
		checkSecurityHeaders(t, w)
	}
}

func TestHealthz(t *testing.T) {
	r := newRig(t)
	w := r.do("GET", "/healthz", "", "Authorization", "-")
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"status":"ok"}` {
		t.Errorf("got %d %s", w.Code, w.Body)
	}
	checkSecurityHeaders(t, w)
}

// TestLogging checks the Debug request log: method, path, status, and never
// the token, the text or the query string.
func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	r := newRig(t, withLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	r.submit(`{"to":"`+to+`","text":"SECRET-BODY-TEXT"}`, 202)
	r.do("GET", "/api/v1/messages?limit=7&secret=QUERY-SECRET", "")
	r.do("POST", "/api/v1/messages", `{"to":"`+to+`","text":"SECRET-BODY-TEXT","x":1}`)
	r.do("GET", "/api/v1/modems", "", "Authorization", "Bearer sg_WRONGTOKEN")

	log := buf.String()
	for _, want := range []string{"method=POST", "path=/api/v1/messages", "status=202", "status=400", "status=401", "duration="} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{r.token, "sg_WRONGTOKEN", "SECRET-BODY-TEXT", "QUERY-SECRET", "limit=7"} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains %q:\n%s", secret, log)
		}
	}

	// At Info, a normal request logs nothing at all.
	buf.Reset()
	r = newRig(t, withLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	r.submit(`{"to":"`+to+`","text":"SECRET-BODY-TEXT"}`, 202)
	r.do("POST", "/api/v1/messages", `{"to":"bad","text":"SECRET-BODY-TEXT"}`)
	if buf.Len() != 0 {
		t.Errorf("Info log not empty:\n%s", buf.String())
	}
}

// TestNonAPIHeaders checks that pages outside /api still get nosniff.
func TestNonAPIHeaders(t *testing.T) {
	r := newRig(t)
	w := r.do("GET", "/no-such-page", "")
	if w.Code != 404 {
		t.Errorf("got %d, want 404", w.Code)
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("nosniff missing")
	}
}

// TestTextRoundTrip checks that a text comes back byte for byte, without
// HTML escaping.
func TestTextRoundTrip(t *testing.T) {
	r := newRig(t)
	text := `<b>50% off</b> & "quotes" \ tab\t`
	body, _ := json.Marshal(map[string]string{"to": to, "text": text})
	sub := r.submit(string(body), 202)
	w := r.do("GET", "/api/v1/messages/"+itoa(sub.ID), "")
	if !strings.Contains(w.Body.String(), `"<b>50% off</b> & \"quotes\"`) {
		t.Errorf("text escaped for HTML: %s", w.Body)
	}
	var m gateway.Message
	decodeBody(t, w, &m)
	if m.Text != text {
		t.Errorf("text: got %q, want %q", m.Text, text)
	}
}

// TestBearerSchemeCase: RFC 6750 schemes are case-insensitive.
func TestBearerSchemeCase(t *testing.T) {
	r := newRig(t)
	for _, h := range []string{"bearer " + r.token, "BEARER " + r.token, "Bearer  " + r.token + " "} {
		if w := r.do("GET", "/api/v1/modems", "", "Authorization", h); w.Code != 200 {
			t.Errorf("Authorization %q: got %d, want 200", h, w.Code)
		}
	}
}

// TestStoreFailure: a broken store is a 500 whose answer says nothing about
// internals and whose log line says what failed.
func TestStoreFailure(t *testing.T) {
	var buf bytes.Buffer
	r := newRig(t, withLog(slog.New(slog.NewTextHandler(&buf, nil))))
	if err := r.db.Close(); err != nil {
		t.Fatal(err)
	}
	w := r.do("GET", "/api/v1/messages", "")
	if w.Code != 500 {
		t.Fatalf("got %d, want 500; %s", w.Code, w.Body)
	}
	e := apiErr(t, w)
	if e.Code != "internal" || e.Message != "internal error" {
		t.Errorf("got %+v, want a bare internal error", e)
	}
	if !strings.Contains(buf.String(), "level=ERROR") || strings.Contains(buf.String(), r.token) {
		t.Errorf("log: %s", buf.String())
	}
}

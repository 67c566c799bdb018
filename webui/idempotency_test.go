package webui

import (
	"net/http"
	"strings"
	"testing"
)

// TestIdempotencyKeyReuse (issue 15, point 7): a key sent again with a
// different text or number is refused with 422 naming idempotency_key, not
// answered with the first message while the new text is dropped; the same
// request replays; and each token has keys of its own, so one client can
// neither replay nor block another's.
func TestIdempotencyKeyReuse(t *testing.T) {
	r := newRig(t)
	openForConsent(t, r) // a brand, so that a marketing text is possible
	otherTok, _, err := r.gw.Access().CreateToken("website")
	if err != nil {
		t.Fatal(err)
	}
	const key = "order-7"
	first := r.submit(`{"to":"`+to+`","text":"Rosa's Bakery: order 7 is ready"}`, http.StatusAccepted, "Idempotency-Key", key)

	for _, tc := range []struct{ name, body string }{
		{"other text", `{"to":"` + to + `","text":"Rosa's Bakery: order 8 is ready"}`},
		{"other number", `{"to":"+12015550124","text":"Rosa's Bakery: order 7 is ready"}`},
		{"other kind", `{"to":"` + to + `","text":"Rosa's Bakery: order 7 is ready","kind":"marketing"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.count()
			w := r.do("POST", "/api/v1/messages", tc.body, "Idempotency-Key", key)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status: got %d, want 422; body %s", w.Code, w.Body)
			}
			e := apiErr(t, w)
			if e.Code != "unprocessable" || e.Field != "idempotency_key" || !strings.HasPrefix(e.Message, "idempotency_key: ") {
				t.Errorf("got %+v, want unprocessable on idempotency_key", e)
			}
			if w.Header().Get("Idempotent-Replayed") != "" {
				t.Error("a refused reuse says Idempotent-Replayed")
			}
			if after := r.count(); after != before {
				t.Errorf("messages stored: got %d, want %d", after, before)
			}
		})
	}

	// The same request, however it is spelt, replays the original: the
	// number is compared as E.164, the kind with its default, and
	// expires_at is not part of what makes the text.
	for _, body := range []string{
		`{"to":"` + to + `","text":"Rosa's Bakery: order 7 is ready"}`,
		`{"to":"(201) 555-0123","text":"Rosa's Bakery: order 7 is ready","kind":"transactional"}`,
		`{"to":"` + to + `","text":"Rosa's Bakery: order 7 is ready","expires_at":"2999-01-01T00:00:00Z","idempotency_key":"` + key + `"}`,
	} {
		again := r.submit(body, http.StatusOK, "Idempotency-Key", key)
		if again.ID != first.ID {
			t.Errorf("%s: replayed id %d, want %d", body, again.ID, first.ID)
		}
	}

	// Another token's "order-7" is its own.
	before := r.count()
	w := r.do("POST", "/api/v1/messages", `{"to":"`+to+`","text":"Rosa's Bakery: order 8 is ready"}`,
		"Idempotency-Key", key, "Authorization", "Bearer "+otherTok)
	if w.Code != http.StatusAccepted {
		t.Fatalf("other token, same key: got %d, want 202; %s", w.Code, w.Body)
	}
	var other submitResponse
	decodeBody(t, w, &other)
	if other.ID == first.ID || r.count() != before+1 {
		t.Errorf("other token got message %d (first was %d), %d stored", other.ID, first.ID, r.count()-before)
	}
	w = r.do("POST", "/api/v1/messages", `{"to":"`+to+`","text":"Rosa's Bakery: order 8 is ready"}`,
		"Idempotency-Key", key, "Authorization", "Bearer "+otherTok)
	var replay submitResponse
	decodeBody(t, w, &replay)
	if w.Code != http.StatusOK || replay.ID != other.ID {
		t.Errorf("other token's replay: got %d id %d, want 200 id %d", w.Code, replay.ID, other.ID)
	}
	// And the first token still has its own.
	if again := r.submit(`{"to":"`+to+`","text":"Rosa's Bakery: order 7 is ready"}`, http.StatusOK, "Idempotency-Key", key); again.ID != first.ID {
		t.Errorf("first token's replay after the other's: id %d, want %d", again.ID, first.ID)
	}
}

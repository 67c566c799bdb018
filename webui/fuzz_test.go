package webui

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/simgate/simgate/store"
)

// FuzzSubmitBody feeds arbitrary bytes to POST /api/v1/messages. Whatever
// arrives, the answer is never a 5xx, always JSON, and a refused request
// stores nothing.
func FuzzSubmitBody(f *testing.F) {
	for _, seed := range []string{
		`{"to":"+12015550123","text":"hi"}`,
		`{"to":"(201) 555-0123","text":"Sale 🎉","idempotency_key":"k","expires_at":"2999-01-01T00:00:00Z"}`,
		`{"to":"+12015550123","text":"hi"} {}`,
		`{"to":12,"text":null}`,
		`{"to":"+12015550123","text":"\ud800"}`,
		`{"to":"+12015550123","text":"hi","expires_at":"2000-01-01T00:00:00Z"}`,
		`{"to":"+12015550123","text":"hi","x":[1,{"y":2}]}`,
		`[]`, `null`, `""`, `{`, `}`, "\xff\xfe", "",
	} {
		f.Add([]byte(seed))
	}
	// One rig per fuzzing process: opening bbolt per input would dominate.
	// fsync adds nothing to what is being fuzzed.
	r := newRigStore(f, []store.Option{store.WithNoSync()}, withMaxBody(4096))
	f.Fuzz(func(t *testing.T, body []byte) {
		before := r.countT(t)
		w := r.do("POST", "/api/v1/messages", string(body), "Content-Type", "application/json")
		if w.Code >= 500 {
			t.Fatalf("body %q: got %d %s", body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("body %q: answer is not JSON: %q", body, w.Body)
		}
		stored := r.countT(t) - before
		switch w.Code {
		case http.StatusAccepted:
			if stored != 1 {
				t.Fatalf("body %q: 202 but %d stored", body, stored)
			}
		default:
			if stored != 0 {
				t.Fatalf("body %q: %d but %d stored", body, w.Code, stored)
			}
		}
	})
}

package webui

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// rig is a Handler over a real gateway and a real bbolt file.
type rig struct {
	t     testing.TB
	db    *store.DB
	gw    *gateway.Gateway
	h     http.Handler
	token string
}

type rigOption func(*Config)

func withMaxBody(n int64) rigOption    { return func(c *Config) { c.MaxBodyBytes = n } }
func withLog(l *slog.Logger) rigOption { return func(c *Config) { c.Log = l } }

func newRig(t testing.TB, opts ...rigOption) *rig {
	return newRigStore(t, nil, opts...)
}

// newRigStore opens the store with storeOpts (e.g. store.WithNoSync for the
// fuzzer, which needs speed, not durability).
func newRigStore(t testing.TB, storeOpts []store.Option, opts ...rigOption) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), storeOpts...)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	gw, err := gateway.New(db, gateway.Config{Region: "US"})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	tok, _, err := gw.Access().CreateToken("test")
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	cfg := Config{Gateway: gw}
	for _, o := range opts {
		o(&cfg)
	}
	return &rig{t: t, db: db, gw: gw, h: Handler(cfg), token: tok}
}

// req builds a request carrying the rig's token and a JSON content type
// when there is a body. hdr is name, value pairs; a value of "-" removes
// the header.
func (r *rig) req(method, target, body string, hdr ...string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	q := httptest.NewRequest(method, target, rd)
	q.Header.Set("Authorization", "Bearer "+r.token)
	if body != "" {
		q.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "-" {
			q.Header.Del(hdr[i])
		} else {
			q.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return q
}

func (r *rig) serve(q *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, q)
	return w
}

func (r *rig) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	return r.serve(r.req(method, target, body, hdr...))
}

// count is the number of outbound messages in the store.
func (r *rig) count() int {
	r.t.Helper()
	return r.countT(r.t)
}

// countT is count reporting to t, for fuzz targets (which must not use the
// *testing.F the rig was made with).
func (r *rig) countT(t testing.TB) int {
	t.Helper()
	by, err := r.db.CountByStatus()
	if err != nil {
		t.Fatalf("CountByStatus: %v", err)
	}
	n := 0
	for _, c := range by {
		n += c
	}
	return n
}

// submit posts a message and decodes the answer, failing unless it is want.
func (r *rig) submit(body string, want int, hdr ...string) submitResponse {
	r.t.Helper()
	w := r.do("POST", "/api/v1/messages", body, hdr...)
	if w.Code != want {
		r.t.Fatalf("POST %s: got %d, want %d; body %s", body, w.Code, want, w.Body)
	}
	var out submitResponse
	decodeBody(r.t, w, &out)
	return out
}

func decodeBody(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type: got %q, want application/json", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
}

// apiErr decodes an error answer.
func apiErr(t testing.TB, w *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	var b struct {
		Error *errorDetail `json:"error"`
	}
	decodeBody(t, w, &b)
	if b.Error == nil {
		t.Fatalf("no error member in %s", w.Body)
	}
	if b.Error.Message == "" {
		t.Fatalf("empty error message in %s", w.Body)
	}
	return *b.Error
}

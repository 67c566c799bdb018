package webui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// newRigAt is newRig over the database file at path, opened with opts.
func newRigAt(t testing.TB, path string, opts ...store.Option) *rig {
	t.Helper()
	db, err := store.Open(path, opts...)
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
	return &rig{t: t, db: db, gw: gw, h: Handler(Config{Gateway: gw}), token: tok}
}

// seedContacts writes a database of n contacts named "contact-marker-NNNN"
// and compacts it, so that every page is live and holds one copy of each.
func seedContacts(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := store.Open(path, store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]store.ContactUpsert, n)
	for i := range rows {
		rows[i] = store.ContactUpsert{Contact: store.Contact{Number: fmt.Sprintf("+1201555%04d", i), Name: fmt.Sprintf("contact-marker-%04d", i)}}
	}
	if _, err := db.UpsertContacts(rows); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Compact(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// damagePageHolding fills every 4 KiB page of the file that holds marker
// with bytes that are no page, as a bad sector would.
func damagePageHolding(t *testing.T, path, marker string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 5))
	hit := false
	for off := 0; off+4096 <= len(raw); off += 4096 {
		if bytes.Contains(raw[off:off+4096], []byte(marker)) {
			for i := off; i < off+4096; i++ {
				raw[i] = byte(rng.Uint32())
			}
			hit = true
		}
	}
	if !hit {
		t.Fatalf("no page holds %q", marker)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// call makes a request to the real handler over loopback HTTP.
func call(t *testing.T, srv *httptest.Server, token, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func errorCode(t *testing.T, body []byte) errorDetail {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return b.Error
}

// A damaged page the start-up check did not read (contacts, in a file over
// its bound) used to make the contact listing panic in its handler: the
// client saw the connection drop, and the daemon went on writing into the
// damaged file. Now that request fails with 500 and says why, an alert is
// raised, writes are refused with 503 naming the cause, and /healthz says
// so; reads that miss the damage still work.
func TestDamagedPageInRequest(t *testing.T) {
	path := seedContacts(t, 2000)
	damagePageHolding(t, path, "contact-marker-0003")
	r := newRigAt(t, path, store.WithStartCheck(64<<10))
	srv := httptest.NewServer(r.h)
	defer srv.Close()

	code, _, body := call(t, srv, r.token, "GET", "/api/v1/contacts", "")
	if code != http.StatusInternalServerError {
		t.Fatalf("listing over a damaged page: %d %s, want 500", code, body)
	}
	if e := errorCode(t, body); e.Code != codeStoreDamaged || !strings.Contains(e.Message, "damaged") {
		t.Errorf("error %+v, want code %s and a message saying the file is damaged", e, codeStoreDamaged)
	}
	if !hasAlert(r.gw, gateway.AlertStoreDamaged) {
		t.Errorf("alerts %+v, want %s", r.gw.Alerts(), gateway.AlertStoreDamaged)
	}

	code, _, body = call(t, srv, r.token, "POST", "/api/v1/messages", `{"to":"`+to+`","text":"after the damage"}`)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("a write after the damage: %d %s, want 503", code, body)
	}
	if e := errorCode(t, body); e.Code != codeStoreDamaged || !strings.Contains(e.Message, "writes are stopped") {
		t.Errorf("error %+v, want code %s saying writes are stopped", e, codeStoreDamaged)
	}
	if n := r.count(); n != 0 {
		t.Errorf("%d messages stored after the damage", n)
	}

	code, _, body = call(t, srv, "", "GET", "/healthz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"status":"unhealthy"`) || !strings.Contains(string(body), "store_damaged") {
		t.Errorf("/healthz: %d %s, want 503 unhealthy naming store_damaged", code, body)
	}
	if code, _, body := call(t, srv, r.token, "GET", "/api/v1/contacts/2000", ""); code != http.StatusOK {
		t.Errorf("reading a contact on a sound page: %d %s", code, body)
	}
}

func hasAlert(gw *gateway.Gateway, kind string) bool {
	for _, a := range gw.Alerts() {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var rePublic = regexp.MustCompile(`public listener on (http://127\.0\.0\.1:\d+)`)

// TestEndToEndPublicListener: with public_listen the real binary serves
// short links, /join and /hooks/ there, and nothing of the console or the
// API, which stay on the console's listener.
func TestEndToEndPublicListener(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	data := t.TempDir()
	p := startProc(t, "serve", "--data", data, "--listen", "127.0.0.1:0", "--public-listen", "127.0.0.1:0",
		"--public-url", "https://go.shop.example")
	console := p.expect(t, reListening)[1]
	public := p.expect(t, rePublic)[1]
	if console == public {
		t.Fatalf("one address for both listeners: %s", public)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, path := range []string{"/", "/console/counts", "/compose", "/login", "/settings", "/templates", "/api/v1/messages",
		"/api/v1/templates", "/healthz", "/l/../api/v1/messages", "/static/../login"} {
		if code, body := get(public + path); code != http.StatusNotFound || strings.Contains(body, "simgate") {
			t.Errorf("public %s: %d %.200q, want a bare 404", path, code, body)
		}
	}
	if code, body := get(public + "/l/Abc1234"); code != http.StatusNotFound || !strings.Contains(body, "This link does not exist") {
		t.Errorf("public unknown short link: %d %.200q", code, body)
	}
	if code, _ := get(public + "/join"); code != http.StatusOK {
		t.Errorf("public /join: %d", code)
	}
	// The console listener still serves everything, short links included.
	if code, _ := get(console + "/login"); code != http.StatusOK {
		t.Errorf("console /login: %d", code)
	}
	if code, _ := get(console + "/l/Abc1234"); code != http.StatusNotFound {
		t.Errorf("console unknown short link: %d", code)
	}
}

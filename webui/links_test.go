package webui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// withLink stores a short link to target under code, as a text for
// +12125550100 of origin "flow:1:entry:1:step:1" would have it.
func withLink(t *testing.T, r *rig, code, target string) {
	t.Helper()
	_, err := r.db.EnsureLinks([]store.Link{{URL: target, Number: "+12125550100", Origin: "flow:1:entry:1:step:1", MessageKey: "m-" + code}},
		func() (string, error) { return code, nil })
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) anonymous(method, target, ua string) *httptest.ResponseRecorder {
	q := httptest.NewRequest(method, target, nil)
	q.Header.Set("User-Agent", ua)
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, q)
	return w
}

func (r *rig) linkStats(t *testing.T) gateway.LinkStats {
	t.Helper()
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, r.req("GET", "/api/v1/links/stats?origin=flow:1:", ""))
	if w.Code != http.StatusOK {
		t.Fatalf("stats: %d %s", w.Code, w.Body)
	}
	var st gateway.LinkStats
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"

func TestShortLinkRedirects(t *testing.T) {
	r := newRig(t)
	target := "https://shop.example/checkouts/981/recover?key=abc&x=1"
	withLink(t, r, "Abc1234", target)
	w := r.anonymous("GET", "/l/Abc1234", iPhone)
	if w.Code != http.StatusFound || w.Header().Get("Location") != target {
		t.Fatalf("GET /l/Abc1234: %d, Location %q; want 302 to %s", w.Code, w.Header().Get("Location"), target)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q: a cached redirect is a click not counted", w.Header().Get("Cache-Control"))
	}
	// Preview robots and HEAD requests get the same answer but are not
	// clicks.
	for _, ua := range []string{"facebookexternalhit/1.1 Facebot Twitterbot/1.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"WhatsApp/2.23.20.0 A", "TelegramBot (like TwitterBot)", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"} {
		if w := r.anonymous("GET", "/l/Abc1234", ua); w.Code != http.StatusFound || w.Header().Get("Location") != target {
			t.Errorf("%s: %d %q", ua, w.Code, w.Header().Get("Location"))
		}
	}
	if w := r.anonymous("HEAD", "/l/Abc1234", iPhone); w.Code != http.StatusFound || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d, body %q", w.Code, w.Body)
	}
	if st := r.linkStats(t); st.Clicks != 1 || st.Previews != 6 || st.UniqueClicks != 1 || st.Numbers != 1 {
		t.Errorf("stats %+v, want 1 click and 6 previews", st)
	}
}

func TestShortLinkUnknownAndNoOpenRedirect(t *testing.T) {
	r := newRig(t)
	withLink(t, r, "Abc1234", "https://shop.example/cart")
	for _, target := range []string{
		"/l/Zzz9999",
		"/l/abc1234", // codes are case-sensitive
		"/l/Abc1234?url=https://evil.example/",
		"/l/Abc1234/https://evil.example/",
		"/l/%2F%2Fevil.example",
		"/l/https:%2F%2Fevil.example",
		"/l//evil.example",
		"/l/Abc1234%0d%0aLocation:%20https://evil.example/",
		"/l/" + strings.Repeat("A", 5000),
	} {
		w := r.anonymous("GET", target, iPhone)
		loc := w.Header().Get("Location")
		switch {
		case w.Code == http.StatusFound && loc == "https://shop.example/cart":
			// The stored target, whatever the rest of the request says.
		case w.Code == http.StatusTemporaryRedirect || w.Code == http.StatusMovedPermanently:
			// The mux cleaning the path: a redirect on this host only.
			if u, err := url.Parse(loc); err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(loc, "//") {
				t.Errorf("%s: %d to %q, off this host", target, w.Code, loc)
			}
		case w.Code != http.StatusNotFound:
			t.Errorf("%s: %d %q, want 404 or the stored target", target, w.Code, loc)
		}
	}
	w := r.anonymous("GET", "/l/Zzz9999", iPhone)
	wantBody(t, w, http.StatusNotFound, "This link does not exist")
	if strings.Contains(w.Body.String(), "/settings") || strings.Contains(w.Body.String(), "Log out") {
		t.Errorf("the 404 page shows the console: %s", w.Body)
	}
	// Only "?url=..." reached the code, and went to the stored target.
	if st := r.linkStats(t); st.Clicks != 1 {
		t.Errorf("stats %+v, want the one click with a query string", st)
	}
}

func TestPublicHandlerServesOnlyPublicPaths(t *testing.T) {
	c := newConsoleRig(t)
	withLink(t, c.rig, "Abc1234", "https://shop.example/cart")
	pub := Public(c.h)
	do := func(method, target string) *httptest.ResponseRecorder {
		q := httptest.NewRequest(method, target, nil)
		q.AddCookie(c.cookie) // even a logged-in browser gets nothing else
		q.Header.Set("Authorization", "Bearer "+c.token)
		w := httptest.NewRecorder()
		pub.ServeHTTP(w, q)
		return w
	}
	for _, target := range []string{"/", "/console/counts", "/compose", "/settings", "/api/v1/messages", "/api/v1/templates",
		"/healthz", "/login", "/templates", "/l/../api/v1/messages", "/l/%2e%2e/api/v1/messages", "/static/../api/v1/inbox",
		"/join/../settings", "/l/", "/joinx", "/hooks"} {
		w := do("GET", target)
		if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "<nav") {
			t.Errorf("public %s: %d %.200s; want a bare 404", target, w.Code, w.Body)
		}
	}
	if w := do("GET", "/l/Abc1234"); w.Code != http.StatusFound || w.Header().Get("Location") != "https://shop.example/cart" {
		t.Errorf("public /l/: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := do("GET", "/join"); w.Code != http.StatusOK {
		t.Errorf("public /join: %d", w.Code)
	}
	// The console listener keeps serving /l/ too.
	if w := c.rig.anonymous("GET", "/l/Abc1234", iPhone); w.Code != http.StatusFound {
		t.Errorf("console /l/: %d", w.Code)
	}
}

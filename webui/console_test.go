package webui

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

const (
	testUser     = "ana"
	testPassword = "correct horse battery"
)

// consoleRig is a rig with a console user and a logged-in session cookie.
type consoleRig struct {
	*rig
	cookie *http.Cookie
}

func newConsoleRig(t *testing.T, opts ...rigOption) *consoleRig {
	t.Helper()
	r := newRig(t, opts...)
	if err := r.gw.Access().AddUser(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	c := &consoleRig{rig: r}
	w := c.post("/login", url.Values{"name": {testUser}, "password": {testPassword}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	c.cookie = sessionCookie(t, w)
	return c
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, ck := range w.Result().Cookies() {
		if ck.Name == cookieName && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("no session cookie in %v", w.Header()["Set-Cookie"])
	return nil
}

// page requests target with the session cookie (if any); hdr as rig.req.
func (c *consoleRig) page(method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	var body string
	if form != nil {
		body = form.Encode()
	}
	q := httptest.NewRequest(method, target, strings.NewReader(body))
	if form != nil {
		q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.cookie != nil {
		q.AddCookie(c.cookie)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		q.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, q)
	return w
}

func (c *consoleRig) get(target string) *httptest.ResponseRecorder {
	return c.page(http.MethodGet, target, nil)
}

// post sends a form as a same-origin browser would.
func (c *consoleRig) post(target string, form url.Values) *httptest.ResponseRecorder {
	return c.page(http.MethodPost, target, form, "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com")
}

func wantBody(t *testing.T, w *httptest.ResponseRecorder, status int, substr ...string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body: %.600s", w.Code, status, w.Body)
	}
	// html/template writes "+" as "&#43;" in attributes: accept either.
	plain := html.UnescapeString(w.Body.String())
	for _, s := range substr {
		if !strings.Contains(w.Body.String(), s) && !strings.Contains(plain, s) {
			t.Errorf("body lacks %q: %.2000s", s, w.Body)
		}
	}
}

func wantRedirect(t *testing.T, w *httptest.ResponseRecorder, prefix string) string {
	t.Helper()
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body %.400s", w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("Location %q, want prefix %q", loc, prefix)
	}
	return loc
}

// consoleGets and consolePosts are the pages and forms consoleRoutes
// declares (with a valid example path), for the auth and CSRF tests;
// /console/counts is checked on its own. The contact and consent pages have
// their own lists (contactGets and contactPosts,
// TestConsentConsolePagesNeedLoginAndCSRF). A new console route belongs in
// the list of its concern.
var (
	consoleGets  = []string{"/", "/compose", "/messages", "/messages/1", "/inbox", "/inbox/+12015550123", "/modems", "/settings"}
	consolePosts = []string{"/logout", "/compose", "/console/plan", "/messages/1/resend", "/messages/1/drop",
		"/inbox/+12015550123/reply", "/modems/sim1/ussd", "/modems/sim1/pause", "/modems/sim1/resume", "/settings/tokens", "/settings/tokens/1/revoke", "/settings/users"}
)

func TestConsoleNeedsLogin(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	c.cookie = nil
	for _, p := range consoleGets {
		w := c.get(p)
		loc := wantRedirect(t, w, "/login")
		if p != "/" && loc != "/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s → %s, want to come back after login", p, loc)
		}
	}
	for _, p := range consolePosts {
		wantRedirect(t, c.post(p, url.Values{"text": {"x"}, "to": {"+12015550123"}}), "/login")
	}
	// A forged or ended session is no session.
	c.cookie = &http.Cookie{Name: cookieName, Value: "forged"}
	wantRedirect(t, c.get("/settings"), "/login")
	if n := countMessages(t, c.rig); n != 0 {
		t.Errorf("%d messages stored by unauthenticated posts", n)
	}
}

func countMessages(t *testing.T, r *rig) int {
	t.Helper()
	msgs, _, err := r.gw.Messages(gateway.ListFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	ck := c.cookie
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", ck)
	}
	wantBody(t, c.get("/"), http.StatusOK, "Overview", testUser)

	anon := &consoleRig{rig: c.rig}
	wantBody(t, anon.get("/login"), http.StatusOK, `<label for="name">User name</label>`)
	wantBody(t, anon.post("/login", url.Values{"name": {testUser}, "password": {"wrong password"}}),
		http.StatusUnauthorized, "Wrong user name or password.", `value="ana"`)
	wantBody(t, anon.post("/login", url.Values{"name": {testUser}}), http.StatusBadRequest, "Enter your user name and password.")

	// Over TLS the cookie is Secure.
	q := httptest.NewRequest(http.MethodPost, "https://example.com/login",
		strings.NewReader(url.Values{"name": {testUser}, "password": {testPassword}, "next": {"/inbox?x=1"}}.Encode()))
	q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	q.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, q)
	if loc := wantRedirect(t, w, "/"); loc != "/inbox?x=1" {
		t.Errorf("next: redirected to %q", loc)
	}
	if !sessionCookie(t, w).Secure {
		t.Error("cookie not Secure over TLS")
	}
	// Already logged in: the login page goes on to next.
	if loc := wantRedirect(t, c.get("/login?next=/modems"), "/"); loc != "/modems" {
		t.Errorf("logged-in /login → %q", loc)
	}
}

func TestLoginOpenRedirect(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"//evil.example", "/\\evil.example", "https://evil.example/", "http:/evil", "evil",
		"/\r\nSet-Cookie:x", "/\tevil", "javascript:alert(1)", "/ok\\..\\x", "///evil.example", ""} {
		if got := localPath(next); got != "/" {
			t.Errorf("localPath(%q) = %q, want /", next, got)
		}
	}
	for _, next := range []string{"/messages?state=unknown", "/", "/inbox/+12015550123", "/a//b"} {
		if got := localPath(next); got != next {
			t.Errorf("localPath(%q) = %q", next, got)
		}
	}
	// End to end: the login form does not follow a foreign next.
	c := newConsoleRig(t)
	anon := &consoleRig{rig: c.rig}
	w := anon.post("/login", url.Values{"name": {testUser}, "password": {testPassword}, "next": {"//evil.example/x"}})
	if loc := wantRedirect(t, w, "/"); loc != "/" {
		t.Errorf("next //evil.example/x → %q", loc)
	}
	if body := anon.get("/login?next=%2F%2Fevil.example").Body.String(); !strings.Contains(body, `name="next" value="/"`) {
		t.Error("the login page carries a foreign next")
	}
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	recordDelays(c.h)
	anon := &consoleRig{rig: c.rig}
	bad := url.Values{"name": {testUser}, "password": {"not the password"}}
	for i := 0; i < loginMaxFailures; i++ {
		wantBody(t, anon.post("/login", bad), http.StatusUnauthorized)
	}
	// Now even the right password is refused from this address, with a
	// clear message.
	w := anon.post("/login", url.Values{"name": {testUser}, "password": {testPassword}})
	wantBody(t, w, http.StatusTooManyRequests, "Too many wrong passwords", "try again in 15 minutes")
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Per address: after loginMaxAddressFailures wrong passwords, whatever
	// the names, every name is refused from it.
	for i := loginMaxFailures; i < loginMaxAddressFailures; i++ {
		wantBody(t, anon.post("/login", url.Values{"name": {fmt.Sprintf("guess%d", i)}, "password": {"x"}}), http.StatusUnauthorized)
	}
	if err := c.gw.Access().AddUser("bo", testPassword); err != nil {
		t.Fatal(err)
	}
	wantBody(t, anon.post("/login", url.Values{"name": {"bo"}, "password": {testPassword}}),
		http.StatusTooManyRequests, "from this connection")
	// The window passes.
	c.rig.h.(*server).logins.now = func() time.Time { return time.Now().Add(loginWindow + time.Second) }
	wantRedirect(t, anon.post("/login", url.Values{"name": {testUser}, "password": {testPassword}}), "/")
}

func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	l := newLimiterMax(time.Now, loginMaxFailures)
	for i := 0; i < limiterMaxKeys+50; i++ {
		l.failed(fmt.Sprintf("ip:%d", i))
	}
	if n := len(l.fail); n > limiterMaxKeys {
		t.Errorf("limiter holds %d keys, bound %d", n, limiterMaxKeys)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	other := newSession(t, c)
	wantRedirect(t, c.post("/logout", url.Values{}), "/login?bye=1")
	wantRedirect(t, c.get("/"), "/login")
	c.cookie = other
	wantBody(t, c.get("/"), http.StatusOK) // the other device is still in
	third := newSession(t, c)
	wantRedirect(t, c.post("/logout", url.Values{"everywhere": {"1"}}), "/login")
	for _, ck := range []*http.Cookie{other, third} {
		c.cookie = ck
		wantRedirect(t, c.get("/"), "/login")
	}
}

func newSession(t *testing.T, c *consoleRig) *http.Cookie {
	t.Helper()
	anon := &consoleRig{rig: c.rig}
	return sessionCookie(t, anon.post("/login", url.Values{"name": {testUser}, "password": {testPassword}}))
}

func TestCrossOriginPostsRefused(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	form := url.Values{"to": {"+12015550123"}, "text": {"hi"}, "name": {"x"}, "password": {testPassword}}
	for _, p := range append([]string{"/login"}, consolePosts...) {
		for _, hdr := range [][]string{
			{"Sec-Fetch-Site", "cross-site"},
			{"Origin", "http://evil.example"},
		} {
			w := c.page(http.MethodPost, p, form, hdr...)
			if w.Code != http.StatusForbidden {
				t.Errorf("POST %s with %v: %d, want 403", p, hdr, w.Code)
				continue
			}
			if !strings.Contains(w.Body.String(), "sent from another website") {
				t.Errorf("POST %s: 403 without an explanation", p)
			}
		}
	}
	if n := countMessages(t, c.rig); n != 0 {
		t.Errorf("%d messages stored by cross-origin posts", n)
	}
	wantBody(t, c.get("/"), http.StatusOK) // the session survived (logout was refused)
}

// inlineCode finds inline scripts, inline styles and event handler
// attributes, all of which the CSP would block.
var inlineCode = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`)

func TestSecurityHeadersAndNoInlineCode(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	seed(t, c)
	anon := &consoleRig{rig: c.rig}
	pages := map[string]*httptest.ResponseRecorder{"/login": anon.get("/login"), "/nope": c.get("/nope")}
	for _, p := range consoleGets {
		pages[p] = c.get(p)
	}
	for p, w := range pages {
		h := w.Header()
		if h.Get("Content-Security-Policy") != contentSecurityPolicy || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Referrer-Policy") != "same-origin" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, h)
		}
		if m := inlineCode.FindString(w.Body.String()); m != "" {
			t.Errorf("%s: inline code %q", p, m)
		}
		if !strings.Contains(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type %q", p, h.Get("Content-Type"))
		}
	}
	if pages["/nope"].Code != http.StatusNotFound {
		t.Errorf("/nope: %d", pages["/nope"].Code)
	}
	// The API keeps JSON errors.
	w := c.get("/api/v1/nope")
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"code":"not_found"`) {
		t.Errorf("API 404: %d %s", w.Code, w.Body)
	}
}

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	body := c.get("/").Body.String()
	for _, name := range []string{"app.js", "app.css"} {
		u := c.h.(*server).assets.urls[name]
		if !regexp.MustCompile(`^/static/app\.[0-9a-f]{12}\.(js|css)$`).MatchString(u) || !strings.Contains(body, u) {
			t.Errorf("%s: url %q not hashed or not linked", name, u)
		}
		w := c.get(u)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") || w.Body.Len() < 100 {
			t.Errorf("%s: %d %v", u, w.Code, w.Header())
		}
	}
	if w := c.get("/static/app.000000000000.js"); w.Code != http.StatusNotFound {
		t.Errorf("unknown static file: %d", w.Code)
	}
}

func TestCompose(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	wantBody(t, c.get("/compose?to=%2B12015550123"), http.StatusOK, `value="+12015550123"`, `<label for="text">`)

	// Bad input: the form comes back with a clear message and the input,
	// and nothing is stored.
	w := c.post("/compose", url.Values{"to": {"12"}, "text": {"Hello"}})
	wantBody(t, w, http.StatusBadRequest, "The phone number is not a valid phone number", `value="12"`, ">Hello</textarea>")
	wantBody(t, c.post("/compose", url.Values{"to": {"+12015550123"}, "text": {"  "}}), http.StatusBadRequest, "The text must not be empty")
	if n := countMessages(t, c.rig); n != 0 {
		t.Fatalf("%d messages stored from bad forms", n)
	}

	// UCS-2 characters are named, and the plain-equivalents button fixes them.
	text := "We\u2019re open \u2014 see you\u2026"
	wantBody(t, c.get("/compose?text="+url.QueryEscape(text)), http.StatusOK, "UCS-2", "<mark>\u2019</mark>", `id="use-gsm"`)
	w = c.post("/compose", url.Values{"to": {"+12015550123"}, "text": {text}, "action": {"gsm"}})
	wantBody(t, w, http.StatusOK, "We&#39;re open - see you...</textarea>", "GSM-7")
	if n := countMessages(t, c.rig); n != 0 {
		t.Fatalf("the gsm action sent the text")
	}

	loc := wantRedirect(t, c.post("/compose", url.Values{"to": {"(201) 555-0123"}, "text": {"Your order is ready"}}), "/messages/")
	if loc != "/messages/1?done=sent" {
		t.Errorf("Location %q", loc)
	}
	wantBody(t, c.get(loc), http.StatusOK, "+12015550123", "Your order is ready", "Waiting to send", "in the queue", `id="timeline"`)
}

func TestPlanEndpoint(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	q := httptest.NewRequest(http.MethodPost, "/console/plan", strings.NewReader(`{"text":"caf\u00e9 \u201cok\u201d"}`))
	q.Header.Set("Content-Type", "application/json")
	q.AddCookie(c.cookie)
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, q)
	wantBody(t, w, http.StatusOK, `"encoding":"UCS-2"`, `"ucs2_chars":["“","”"]`, `"fixable":true`)
	q = httptest.NewRequest(http.MethodPost, "/console/plan", strings.NewReader(`{"txt":1}`))
	q.AddCookie(c.cookie)
	w = httptest.NewRecorder()
	c.h.ServeHTTP(w, q)
	wantBody(t, w, http.StatusBadRequest, "unknown field")
}

// seed stores messages in several states and inbound texts, straight
// through the store (no modem needed).
func seed(t *testing.T, c *consoleRig) (unknown, delivered uint64) {
	t.Helper()
	now := time.Now()
	mk := func(to, text string, st store.Status, modem string) uint64 {
		m, _, err := c.db.Enqueue(store.Message{To: to, Text: text, Status: st, Modem: modem, Encoding: "GSM-7",
			Parts: []store.Part{{Seq: 1, MR: 7, Status: st, Modem: modem}}, ExpiresAt: now.Add(time.Hour),
			History: []store.Transition{{At: now, Status: st, Note: "seeded"}}})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	delivered = mk("+12015550123", "Your order is ready", store.StatusDelivered, "sim1")
	mk("+12015550124", "Sale today", store.StatusFailed, "sim2")
	unknown = mk("+12015550125", "Pick-up at 5", store.StatusUnknown, "sim1")
	for i, from := range []string{"+12015550123", "+12015550199", "+12015550123"} {
		_, _, err := c.db.AddInboundPart(store.InboundPart{Modem: "sim1", From: from, Seq: 1, Total: 1, TPDU: []byte{byte(i)}},
			func(p []store.InboundPart) (store.Inbound, error) {
				return store.Inbound{Modem: "sim1", From: from, Text: fmt.Sprintf("inbound %d <b>", i), ReceivedAt: now, Parts: 1}, nil
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	return unknown, delivered
}

func TestMessagesPages(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	unknown, delivered := seed(t, c)
	wantBody(t, c.get("/messages"), http.StatusOK, "Your order is ready", "Sale today", "Needs your decision", "Delivered", "Failed")
	w := c.get("/messages?state=delivered")
	wantBody(t, w, http.StatusOK, "Your order is ready")
	if strings.Contains(w.Body.String(), "Sale today") {
		t.Error("state filter let a failed message through")
	}
	for q, want := range map[string]string{"number=550124": "Sale today", "modem=sim2": "Sale today", "q=PICK-UP": "Pick-up at 5"} {
		w := c.get("/messages?" + q)
		wantBody(t, w, http.StatusOK, want)
		if n := strings.Count(w.Body.String(), "<tr data-msg-id="); n != 1 {
			t.Errorf("%s: %d rows, want 1", q, n)
		}
	}
	wantBody(t, c.get("/messages?state=bogus"), http.StatusBadRequest, "Pick a state from the list.")
	wantBody(t, c.get("/messages?from=14/03/2025"), http.StatusBadRequest, "Dates look like")
	tomorrow := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
	if w := c.get("/messages?from=" + tomorrow); strings.Contains(w.Body.String(), "<tr data-msg-id=") {
		t.Error("date filter let today's messages through")
	}

	// The review queue: one unknown message with both decisions.
	w = c.get("/messages?state=unknown")
	wantBody(t, w, http.StatusOK, "Needs your decision", "Pick-up at 5", "Send again", "Drop",
		fmt.Sprintf(`action="/messages/%d/resend"`, unknown))
	wantBody(t, c.get(fmt.Sprintf("/messages/%d", delivered)), http.StatusOK, "Delivered", "seeded", "sim1")
	wantRedirect(t, c.post(fmt.Sprintf("/messages/%d/resend", unknown), url.Values{"back": {"review"}}), "/messages?state=unknown&done=resent")
	if m, _ := c.gw.Message(unknown); m.Status != gateway.StatusQueued {
		t.Errorf("after resend: %s", m.Status)
	}
	// A second decision conflicts, and the page says so.
	wantBody(t, c.post(fmt.Sprintf("/messages/%d/resend", delivered), url.Values{}), http.StatusConflict, "cannot be resent")
	wantRedirect(t, c.post(fmt.Sprintf("/messages/%d/drop", unknown), url.Values{}), fmt.Sprintf("/messages/%d?done=dropped", unknown))
	if m, _ := c.gw.Message(unknown); m.Status != gateway.StatusFailed {
		t.Errorf("after drop: %s", m.Status)
	}
	wantBody(t, c.get("/messages/999"), http.StatusNotFound, "could not find")
	wantBody(t, c.get("/messages/x"), http.StatusNotFound)
}

func TestInboxPages(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	seed(t, c)
	w := c.get("/inbox")
	wantBody(t, w, http.StatusOK, `data-number="+12015550123"`, "2 new", "1 new", "inbound 2 &lt;b&gt;")
	// Opening the conversation marks it read and shows both directions.
	wantBody(t, c.get("/inbox/+12015550123"), http.StatusOK, "inbound 0", "inbound 2", "Your order is ready", `class="out"`)
	w = c.get("/inbox")
	if strings.Contains(w.Body.String(), "2 new") || !strings.Contains(w.Body.String(), "1 new") {
		t.Errorf("unread counts after reading: %s", w.Body)
	}
	before := countMessages(t, c.rig)
	wantBody(t, c.post("/inbox/+12015550199/reply", url.Values{"text": {""}}), http.StatusBadRequest, "The text must not be empty")
	if countMessages(t, c.rig) != before {
		t.Fatal("empty reply stored")
	}
	wantRedirect(t, c.post("/inbox/+12015550199/reply", url.Values{"text": {"Yes, it is ready"}}), "/inbox/+12015550199?done=replied")
	wantBody(t, c.get("/inbox/+12015550199?done=replied"), http.StatusOK, "Yes, it is ready", "Your reply is in the queue")
}

func TestModemsPageWithoutModems(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	wantBody(t, c.get("/modems"), http.StatusOK, "No modems are configured.")
	wantBody(t, c.post("/modems/nope/ussd", url.Values{"code": {"*100#"}}), http.StatusNotFound)
}

func TestSettings(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	wantBody(t, c.get("/settings"), http.StatusOK, "API tokens", "test", testUser, "<strong>US</strong>", `id="data-file"`, "free for reuse")
	// The first load starts measuring the file's pages in the background;
	// a later one shows the result.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if d, err := c.gw.DataFile().Usage(); err != nil {
			t.Fatal(err)
		} else if !d.At.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the data file was never measured")
		}
	}
	wantBody(t, c.get("/settings"), http.StatusOK, "of its pages filled")
	w := c.post("/settings/tokens", url.Values{"name": {"Website"}})
	wantBody(t, w, http.StatusOK, "shown only this once", `id="new-token">sg_`)
	tok := regexp.MustCompile(`sg_[a-z2-7]+`).FindString(w.Body.String())
	if _, err := c.gw.Access().CheckToken(tok); err != nil {
		t.Fatalf("shown token does not work: %v", err)
	}
	if strings.Contains(c.get("/settings").Body.String(), tok) {
		t.Error("token shown a second time")
	}
	wantBody(t, c.post("/settings/tokens", url.Values{"name": {"Website"}}), http.StatusBadRequest, "already exists", `value="Website"`)
	wantBody(t, c.post("/settings/tokens", url.Values{"name": {""}}), http.StatusBadRequest, "The name must not be empty")
	toks, _ := c.gw.Access().Tokens()
	var id uint64
	for _, tk := range toks {
		if tk.Name == "Website" {
			id = tk.ID
		}
	}
	wantRedirect(t, c.post(fmt.Sprintf("/settings/tokens/%d/revoke", id), url.Values{}), "/settings?done=revoked")
	if _, err := c.gw.Access().CheckToken(tok); err == nil {
		t.Error("revoked token still works")
	}
	wantBody(t, c.post("/settings/tokens/9999/revoke", url.Values{}), http.StatusNotFound)

	wantBody(t, c.post("/settings/users", url.Values{"name": {"bo"}, "password": {"short"}}), http.StatusBadRequest,
		"The password must be at least 10 characters", `value="bo"`)
	if us, _ := c.gw.Access().Users(); len(us) != 1 {
		t.Fatalf("users after a bad form: %d", len(us))
	}
	wantRedirect(t, c.post("/settings/users", url.Values{"name": {"bo"}, "password": {"long enough pw"}}), "/settings?done=user")
	if _, _, err := c.gw.Access().Login(context.Background(), "bo", "long enough pw"); err != nil {
		t.Errorf("new user cannot log in: %v", err)
	}
}

func TestCountsJSON(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	seed(t, c)
	w := c.get("/console/counts")
	wantBody(t, w, http.StatusOK, `"delivered":1`, `"failed":1`, `"inbound":3`, `"unknown":1`)
	c.cookie = nil
	wantRedirect(t, c.get("/console/counts"), "/login")
}

// TestCountsBeyondTheOldScan: the overview counts every queued text, also
// past the 5,000 it used to read (it said 5000 when 200,900 waited), and
// the texts queued on earlier days: today's tile counts today's and says
// how many wait in all.
func TestCountsBeyondTheOldScan(t *testing.T) {
	t.Parallel()
	r := newRigStore(t, []store.Option{store.WithNoSync()})
	if err := r.gw.Access().AddUser(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	c := &consoleRig{rig: r}
	c.cookie = sessionCookie(t, c.post("/login", url.Values{"name": {testUser}, "password": {testPassword}}))
	const queued = 5200
	yesterday := time.Now().AddDate(0, 0, -1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < queued; i += 8 {
				m := store.Message{To: "+12015550123", Text: "x", Encoding: "GSM-7", Parts: []store.Part{{Seq: 1, MR: -1, Status: store.StatusQueued}}}
				if i%2 == 0 {
					m.CreatedAt = yesterday
				}
				if _, _, err := c.db.Enqueue(m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Today's tile counts today's half and says how many wait in all.
	wantBody(t, c.get("/console/counts"), http.StatusOK, fmt.Sprintf(`"waiting":%d`, queued), fmt.Sprintf(`"queued":%d`, queued/2))
	wantBody(t, c.get("/"), http.StatusOK, fmt.Sprintf(`data-count="queued">%d<`, queued/2), fmt.Sprintf("and %d from earlier days (%d in all)", queued/2, queued))
}

// Assets go gzipped to browsers that accept it (issue 13 point 18), the
// same bytes once unpacked; others get them as they are.
func TestStaticFilesGzip(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	for _, name := range []string{"app.js", "app.css", "join.js"} {
		u := c.h.(*server).assets.urls[name]
		plain := c.get(u)
		if plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s without Accept-Encoding: %v", name, plain.Header())
		}
		z := c.page(http.MethodGet, u, nil, "Accept-Encoding", "br, gzip;q=0.8")
		if z.Header().Get("Content-Encoding") != "gzip" || z.Body.Len() >= plain.Body.Len() {
			t.Fatalf("%s: %v, %d bytes gzipped of %d", name, z.Header(), z.Body.Len(), plain.Body.Len())
		}
		zr, err := gzip.NewReader(z.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain.Body.Bytes()) {
			t.Errorf("%s: gzipped body differs once unpacked (%v)", name, err)
		}
		if w := c.page(http.MethodGet, u, nil, "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: gzip sent to a client that refused it", name)
		}
	}
}

package webui

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/shopevents"
)

// The console: server-rendered pages behind a session cookie. Every page
// works without JavaScript (forms POST and redirect); static/app.js only
// adds the live updates and the text counter.

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// cookieName holds the session id. The id is random; the store keeps only
// its SHA-256.
const cookieName = "simgate_session"

// contentSecurityPolicy allows nothing inline and nothing from elsewhere:
// an injected <script> cannot run and the console cannot be framed.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// setConsoleHeaders adds the browser-facing security headers.
func setConsoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// assets are the embedded static files under content-hashed URLs, so a
// browser may cache them forever and still gets a new file after an upgrade.
type assets struct {
	byURL map[string]asset  // "/static/app.3f2a1b9c.js" → file
	urls  map[string]string // "app.js" → its URL
}

type asset struct {
	body  []byte
	gzip  []byte // body gzipped at start (text files only), nil when not worth it
	ctype string
}

// gzipped compresses a text asset once, at start: the console's script and
// stylesheet shrink to about a quarter, which matters on a phone.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil
	}
	if _, err := zw.Write(body); err != nil || zw.Close() != nil || buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

func loadAssets() (*assets, error) {
	a := &assets{byURL: map[string]asset{}, urls: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "static/")
		ext := path.Ext(name)
		u := "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ctype := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
			".svg": "image/svg+xml"}[ext]
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.byURL[u] = asset{body: body, ctype: ctype}
		if strings.HasPrefix(ctype, "text/") || ctype == "image/svg+xml" {
			a.byURL[u] = asset{body: body, gzip: gzipped(body), ctype: ctype}
		}
		a.urls[name] = u
		return nil
	})
	return a, err
}

// url is the template function "asset".
func (a *assets) url(name string) (string, error) {
	u, ok := a.urls[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return u, nil
}

// serveStatic answers GET /static/{file}.
func (s *server) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets.byURL[r.URL.Path]
	if !ok {
		s.consoleError(w, r, http.StatusNotFound, "There is no such file.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if a.gzip != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			_, _ = w.Write(a.gzip)
			return
		}
	}
	_, _ = w.Write(a.body)
}

// pages are the parsed templates, one set per page (each page defines
// "title" and "content" for the shared layout).
type pages map[string]*template.Template

func loadPages(funcs template.FuncMap) (pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	// Partials are regions several pages show (a results region on the
	// flows and campaign pages): every page gets them.
	if base, err = base.ParseFS(templateFS, "templates/partials/*.html"); err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := pages{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// user is the logged-in console user of a request.
type user struct {
	Name      string
	sessionID string
}

type userKey struct{}

func currentUser(r *http.Request) user {
	u, _ := r.Context().Value(userKey{}).(user)
	return u
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string // which menu entry is current
	User   string
	Notice string // a success message ("Sent", "Token revoked")
	Error  string // what went wrong with the form, in plain words
	Data   any
	// People names customers (set by render for logged-in pages).
	People *people
	// Badges are the menu's counts (set by render for logged-in pages).
	Badges navBadges
}

// pageFunc is a console handler: it renders a page or redirects, and
// returns an error only for failures it could not explain on the page.
type pageFunc func(w http.ResponseWriter, r *http.Request, u user) error

// console adapts a page that needs a logged-in user. Without a valid
// session a GET goes to the login page (coming back afterwards) and
// anything else gets 303 to the login page.
func (s *server) console(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.sessionUser(r)
		if !ok {
			target := "/login"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		if err := h(w, r, u); err != nil {
			s.consoleFail(w, r, err)
		}
	})
}

// form adapts a state-changing console handler: cross-origin requests are
// refused (CSRF) before the session is even looked at.
func (s *server) form(h pageFunc) http.Handler {
	return s.csrf.Handler(s.console(h))
}

// sessionUser reads the session cookie.
func (s *server) sessionUser(r *http.Request) (user, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return user{}, false
	}
	sess, err := s.gw.Access().CheckSession(c.Value)
	if err != nil {
		if !errors.Is(err, gateway.ErrNotFound) {
			s.log.Error("session check failed", "err", err)
		}
		return user{}, false
	}
	return user{Name: sess.User, sessionID: c.Value}, true
}

// render executes a page into a buffer first, so a template error is a
// clean 500 instead of half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("webui: no template %q", name)
	}
	if v.User == "" {
		v.User = currentUser(r).Name
	}
	if v.People == nil {
		v.People = newPeople(s.gw)
	}
	if v.User != "" {
		v.Badges = s.navBadges()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("webui: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// consoleFail shows an error page for err, mapped as the API maps it.
func (s *server) consoleFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		s.consoleError(w, r, http.StatusNotFound, "We could not find that. It may have been removed.")
	case errors.Is(err, gateway.ErrConflict):
		s.consoleError(w, r, http.StatusConflict, "That cannot be done any more: "+err.Error())
	case errors.Is(err, gateway.ErrWritesStopped):
		s.consoleError(w, r, http.StatusServiceUnavailable, "Nothing can be saved: the gateway's database file was found damaged, so it has stopped writing to it. See the alert on the overview page.")
	case errors.Is(err, gateway.ErrDamaged):
		s.log.LogAttrs(r.Context(), slog.LevelError, "console request met a damaged database file",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		s.consoleError(w, r, http.StatusInternalServerError, "This page met a damaged part of the gateway's database file. It has stopped writing to it; see the alert on the overview page.")
	case errors.Is(err, gateway.ErrDiskFull):
		w.Header().Set("Retry-After", strconv.Itoa(diskFullRetryAfter))
		s.consoleError(w, r, http.StatusServiceUnavailable, "Nothing was saved: the gateway's disk is full. Free some space on it, then try again.")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "console request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		s.consoleError(w, r, http.StatusInternalServerError, "Something went wrong on the gateway. The details are in its log.")
	}
}

// consoleError renders the error page; if even that fails, plain text.
func (s *server) consoleError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if err := s.render(w, r, status, "error", view{Title: http.StatusText(status), Error: msg}); err != nil {
		s.log.Error("render error page", "err", err)
		http.Error(w, msg, status)
	}
}

// seeOther redirects after a successful form post (POST/redirect/GET).
func seeOther(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath returns next if it is a path on this site, else "/". It refuses
// "//host", "/\host" (browsers read both as another host), absolute URLs
// and anything with control characters.
func localPath(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// timeFormat is how the console shows a time.
const timeFormat = "2 Jan 15:04:05"

func templateFuncs(a *assets) template.FuncMap {
	return template.FuncMap{
		"asset":       a.url,
		"statusLabel": statusLabel,
		"statusClass": func(s gateway.Status) string { return string(s) },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.Local().Format(timeFormat)
		},
		"iso":           func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"holdShort":     holdShort,
		"keywordLabel":  keywordLabel,
		"explain":       explain,
		"encodingWords": encodingWords,
		"consentLine":   consentLine,
		"fieldWords":    fieldWords,
		"deref": func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		},
		"money":   shopevents.FormatMoney,
		"mib":     func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) },
		"percent": func(f float64) string { return fmt.Sprintf("%.0f %%", 100*f) },
		"list":    func(items ...string) []string { return items },
		// Results: names, links and sums of the attribution room's keys.
		"resultName": resultName,
		"resultLink": resultLink,
		"perText": func(total, texts int64) int64 {
			if texts == 0 {
				return 0
			}
			return total / texts
		},
		"divHours": func(hours, per int) string {
			return strconv.FormatFloat(float64(hours)/float64(per), 'f', -1, 64)
		},
		"ago": func(t *time.Time) string { return agoWords(t, time.Now()) },
	}
}

// holdShort names the first reason of a held text's hold in a few words,
// for the messages list; the message page shows it whole.
func holdShort(hold string) string {
	for _, r := range []struct{ key, short string }{
		{"confirmation must reach", "opt-in confirmation first"},
		{"opt-out review", "opt-out review"},
		{"frequency cap", "frequency cap"},
		{"quiet hours", "quiet hours"},
		{"all SIMs reached today's limit", "SIM budgets used up"},
	} {
		if strings.Contains(hold, r.key) {
			return r.short
		}
	}
	return hold
}

// keywordLabel says what the gateway did with a keyword text, so nobody
// thinks it waits for an answer.
func keywordLabel(kw string) string {
	switch kw {
	case "stop":
		return "STOP: opted out, answered automatically"
	case "start":
		return "START: texts resumed, answered automatically"
	case "help":
		return "HELP: answered automatically"
	case "yes":
		return "YES: sign-up confirmed"
	case "join":
		return "JOIN: sign-up handled automatically"
	}
	return kw
}

// consoleStatuses lists every status the console shows, for the live script.
func consoleStatuses() []string {
	return []string{"queued", "sending", "sent", "delivered", "failed", "unknown", "suppressed", "expired"}
}

// labelFor gives the plain words a shop owner reads for a status name.
func labelFor(name string) string {
	switch name {
	case "queued":
		return "Waiting to send"
	case "sending":
		return "Sending"
	case "sent":
		return "Sent, waiting for confirmation"
	case "delivered":
		return "Delivered"
	case "failed":
		return "Failed"
	case "unknown":
		return "Needs your decision"
	case "suppressed":
		return "Not sent (no consent or opted out)"
	case "expired":
		return "Expired before it could be sent"
	}
	return name
}

func statusLabel(s gateway.Status) string { return labelFor(string(s)) }

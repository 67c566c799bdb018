package webui

import (
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/simgate/simgate/gateway"
)

// linkRoutes declares the short links: the public redirect and the API's
// click counts.
func (s *server) linkRoutes() {
	m := s.mux
	// GET also matches HEAD; a HEAD is answered alike and logged as a
	// preview (gateway.FollowLink).
	m.Handle("GET /l/{code}", s.public(s.followLink))
	m.Handle("GET /api/v1/links/stats", s.api(s.linkStats))
}

// notFoundLink is the whole answer for an unknown code: a plain page that
// names nothing of the console, since the public listener serves it too.
const notFoundLink = `<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Link not found</title>
<p>This link does not exist. Please check the text you received.</p>
</html>
`

// followLink answers GET /l/{code} with a 302 to the URL stored for the
// code when the text was made. Nothing of the request but the code is
// used to build the answer, so the redirect cannot be aimed elsewhere.
func (s *server) followLink(w http.ResponseWriter, r *http.Request) error {
	target, err := s.gw.FollowLink(r.PathValue("code"), r.UserAgent(), r.Method == http.MethodHead)
	h := w.Header()
	// Every click must reach the box to be counted, and the page is
	// nobody's to index.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex")
	if errors.Is(err, gateway.ErrNotFound) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(notFoundLink))
		}
		return nil
	}
	if err != nil {
		return err
	}
	// The stored URL was checked when the link was made (an absolute
	// http(s) URL without control characters), so it goes out as is.
	h.Set("Location", target)
	w.WriteHeader(http.StatusFound)
	return nil
}

// linkStats answers GET /api/v1/links/stats?origin=PREFIX.
func (s *server) linkStats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.gw.LinkStats(r.URL.Query().Get("origin"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// publicPrefixes are what the public listener serves: short links, the
// sign-up page and the shops' webhooks, and the static files the sign-up
// page loads (its stylesheet and proof-of-work script; they hold no data).
var publicPrefixes = []string{"/l/", "/hooks/", "/static/"}

// isPublicPath reports whether the public listener serves p, after
// cleaning it the way the mux does, so "/l/../api/v1/messages" is not.
func isPublicPath(p string) bool {
	clean := path.Clean("/" + p)
	if clean != p && clean+"/" != p {
		return false // the mux would only redirect it to clean
	}
	if p == "/join" {
		return true
	}
	for _, prefix := range publicPrefixes {
		if strings.HasPrefix(clean+"/", prefix) && clean+"/" != prefix {
			return true
		}
	}
	return false
}

// Public returns the handler of the public listener: console (made by
// Handler) for /l/, /join, /hooks/ and /static/, and a bare 404 for every
// other path, so the console and the API never face the internet. It
// shares console's state (the sign-up page's limits, its challenges).
func Public(console http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPublicPath(r.URL.Path) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("404 page not found\n"))
			return
		}
		console.ServeHTTP(w, r)
	})
}

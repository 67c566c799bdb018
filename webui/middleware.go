package webui

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
)

// handlerFunc is an endpoint. It writes its own success response and returns
// an error for anything else; fail turns that error into the JSON answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP sets the headers every response carries, logs the request at
// Debug and dispatches it.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if isAPIPath(r.URL.Path) {
		// Answers hold message texts and live state: never cache them.
		h.Set("Cache-Control", "no-store")
	} else {
		setConsoleHeaders(h)
	}
	start := time.Now()
	// The wrapper costs an allocation per request; skip it when nobody
	// would read the log line.
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.metrics.observeRequest(s.dispatch(w, r), time.Since(start))
		return
	}
	rec := &statusWriter{ResponseWriter: w}
	s.metrics.observeRequest(s.dispatch(rec, r), time.Since(start))
	// The path only: query strings may carry secrets a client put there.
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "http request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.code()),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", time.Since(start)))
}

// isAPIPath reports whether p belongs to the machine-facing surface, whose
// errors are JSON and whose answers must not be cached.
func isAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/metrics" || isCompatPath(p)
}

// isCompatPath reports whether p belongs to the compatible APIs (Twilio,
// Kannel, SMSEagle): machine-facing too.
func isCompatPath(p string) bool {
	for _, prefix := range []string{"/2010-04-01/", "/cgi-bin/", "/http_api/", "/index.php/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// dispatch serves a request through the mux, except that the mux's own
// plain-text 404 and 405 answers are replaced by JSON ones. It returns the
// pattern that matched, "" for none.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) string {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // sets r.PathValue
		return pattern
	}
	// No route: the mux's handler is a 404, a 405 (with Allow) or a
	// redirect to a cleaned path. Ask it which, without answering yet.
	probe := probeWriter{header: http.Header{}}
	h.ServeHTTP(&probe, r)
	if !isAPIPath(r.URL.Path) && (probe.status == http.StatusNotFound || probe.status == http.StatusMethodNotAllowed) {
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
		}
		s.consoleError(w, r, probe.status, "There is no such page.")
		return ""
	}
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.fail(w, r, errMethodNotAllowed)
	case http.StatusNotFound:
		s.fail(w, r, errNoRoute)
	default:
		h.ServeHTTP(w, r)
	}
	return ""
}

// public adapts a handler that needs no authentication.
func (s *server) public(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// api adapts a handler that needs a valid bearer token.
func (s *server) api(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// tokenKey is the context key under which api stores the caller's token.
type tokenKey struct{}

// callerToken returns the token that authenticated r (zero for public routes).
func callerToken(r *http.Request) access.Token {
	t, _ := r.Context().Value(tokenKey{}).(access.Token)
	return t
}

// authenticate checks "Authorization: Bearer <token>" (RFC 6750 §2.1).
func (s *server) authenticate(r *http.Request) (access.Token, error) {
	plaintext, err := bearerToken(r)
	if err != nil {
		return access.Token{}, err
	}
	tok, err := s.gw.Access().CheckToken(plaintext)
	if errors.Is(err, gateway.ErrNotFound) {
		return access.Token{}, errBadToken
	}
	if err != nil {
		return access.Token{}, err
	}
	return tok, nil
}

// bearerToken is the token of "Authorization: Bearer <token>", or errNoToken.
func bearerToken(r *http.Request) (string, error) {
	scheme, plaintext, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	plaintext = strings.TrimSpace(plaintext)
	if !ok || !strings.EqualFold(scheme, "Bearer") || plaintext == "" {
		return "", errNoToken
	}
	return plaintext, nil
}

// statusWriter records the status and size of a response for the request
// log. Unwrap and Hijack keep http.ResponseController and websocket upgrades
// working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack is what gorilla/websocket asserts for (it does not use
// http.ResponseController).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status = http.StatusSwitchingProtocols
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// probeWriter captures what the mux's fallback handler would answer.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

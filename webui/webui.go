// Package webui is simgate's HTTP surface: the JSON API under /api/v1 with
// bearer-token auth, /healthz, and (later) the console pages, websocket and
// compatibility endpoints.
//
// It holds no state of its own and never touches the database or a modem:
// every read and every change of state goes through gateway, so the rules
// about what may be sent cannot be bypassed by a handler.
//
// Layout, so that pages can be added without reshaping anything: every
// route is declared in routes.go, each handler file holds one concern
// (submit.go, messages.go, actions.go, inbox.go, modems.go, health.go), and
// errors.go is the one place where errors become HTTP status codes.
package webui

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/simgate/simgate/gateway"
)

// DefaultMaxBodyBytes bounds a request body. A 10-part UCS-2 text is at most
// ~670 characters, ~2.7 KB as JSON with \u escapes doubled for surrogates;
// 64 KiB leaves room for later endpoints (events with properties) while
// keeping a hostile client from making the server buffer megabytes.
const DefaultMaxBodyBytes = 64 << 10

// Config is what Handler needs. Gateway is required.
type Config struct {
	Gateway *gateway.Gateway
	// Log receives request logs at Debug and server errors at Error; nil
	// discards them. Tokens and message bodies are never logged at Info.
	Log *slog.Logger
	// MaxBodyBytes bounds request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// server carries the dependencies every handler shares.
type server struct {
	gw      *gateway.Gateway
	log     *slog.Logger
	maxBody int64
	mux     *http.ServeMux
}

// Handler returns simgate's whole HTTP surface. It panics when cfg.Gateway
// is nil, a wiring mistake that must not reach a running server.
func Handler(cfg Config) http.Handler {
	if cfg.Gateway == nil {
		panic("webui: Config.Gateway is nil")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	maxBody := cfg.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	s := &server{gw: cfg.Gateway, log: log, maxBody: maxBody, mux: http.NewServeMux()}
	s.routes()
	return s
}

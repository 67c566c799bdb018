// Package webui is simgate's HTTP surface: the JSON API under /api/v1 with
// bearer-token auth, /healthz, the console pages (session login, see
// console.go) and the live websocket /api/v1/stream (stream.go).
//
// It holds no state of its own and never touches the database or a modem:
// every read and every change of state goes through gateway, so the rules
// about what may be sent cannot be bypassed by a handler.
//
// Layout, so that pages can be added without reshaping anything: routes
// are declared by concern in four functions (routes.go, console_routes.go,
// contacts.go, consent.go; see routes), each handler file holds one concern
// (submit.go, messages.go, actions.go, inbox.go, modems.go, health.go, ...),
// and errors.go is the one place where errors become HTTP status codes.
package webui

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

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
	// Done, when closed, ends every live websocket: http.Server.Shutdown
	// does not close hijacked connections. Pass the daemon's ctx.Done().
	Done <-chan struct{}
	// PingInterval is how often an idle websocket is pinged; a client that
	// does not answer within twice this is dropped. Zero: 25 s, under the
	// 30-60 s idle timeouts of common proxies and NATs.
	PingInterval time.Duration
	// UploadIdleTimeout is how long a CSV upload may send nothing before it
	// is refused with 408; it replaces the server's whole-request read
	// timeout for uploads. Zero: DefaultUploadIdleTimeout.
	UploadIdleTimeout time.Duration
	// PublicURL is the console's address as customers reach it
	// ("https://texts.example.com"): the consent ledger records sign-ups
	// on /join as made on PublicURL + "/join". Empty: a fixed name of the
	// page. It is configuration, because a request's Host header is
	// whatever the sender wrote.
	PublicURL string
	// EventMaxBodyBytes bounds the body of an event batch and of a shop's
	// webhook; zero means DefaultEventMaxBodyBytes.
	EventMaxBodyBytes int64
	// JoinPerAddressPerDay bounds the sign-ups one address may post on
	// /join in 24 h; zero means DefaultJoinPerAddressPerDay.
	JoinPerAddressPerDay int
}

// server carries the dependencies every handler shares.
type server struct {
	gw      *gateway.Gateway
	log     *slog.Logger
	maxBody int64
	mux     *http.ServeMux

	pages        pages
	assets       *assets
	csrf         *http.CrossOriginProtection
	logins       *loginGuard
	upgrader     websocket.Upgrader
	pingInterval time.Duration
	uploadIdle   time.Duration
	join         *joinGuard  // per-address limits of /join
	challenges   *challenges // the proof of work /join asks for when busy
	joinSource   string      // the ledger's source for /join sign-ups
	publicURL    string      // the box as the internet reaches it (the webhook URLs shown)
	eventMaxBody int64
	pending      pendingImports // console uploads waiting for their import to be confirmed
	done         <-chan struct{}
	now          func() time.Time
	metrics      *serverMetrics // what GET /metrics counts as it happens (metrics.go)
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
	a, err := loadAssets()
	if err != nil {
		panic("webui: static files: " + err.Error()) // embedded: a build mistake
	}
	p, err := loadPages(templateFuncs(a))
	if err != nil {
		panic("webui: templates: " + err.Error())
	}
	ping := cfg.PingInterval
	if ping <= 0 {
		ping = 25 * time.Second
	}
	uploadIdle := cfg.UploadIdleTimeout
	if uploadIdle <= 0 {
		uploadIdle = DefaultUploadIdleTimeout
	}
	perAddress := cfg.JoinPerAddressPerDay
	if perAddress <= 0 {
		perAddress = DefaultJoinPerAddressPerDay
	}
	eventMax := cfg.EventMaxBodyBytes
	if eventMax <= 0 {
		eventMax = DefaultEventMaxBodyBytes
	}
	s := &server{gw: cfg.Gateway, publicURL: cfg.PublicURL, eventMaxBody: eventMax, log: log, maxBody: maxBody, mux: http.NewServeMux(),
		pages: p, assets: a, csrf: http.NewCrossOriginProtection(), logins: newLoginGuard(time.Now),
		pingInterval: ping, uploadIdle: uploadIdle, done: cfg.Done, now: time.Now,
		join: newJoinGuard(perAddress), challenges: newChallenges(), joinSource: joinSourceFor(cfg.PublicURL),
		metrics: newServerMetrics()}
	cfg.Gateway.SetMeter(s.metrics)
	s.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.consoleError(w, r, http.StatusForbidden,
			"This form was sent from another website, so it was refused. Open the console directly and try again.")
	}))
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Small buffers and a shared write pool: an idle client then holds
		// no write buffer at all (see BenchmarkIdleStreamClients).
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		// stream checks the Origin itself before authenticating.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.routes()
	s.consoleRoutes()
	s.contactRoutes()
	s.consentRoutes()
	s.eventRoutes()
	s.linkRoutes()
	s.templateRoutes()
	s.flowRoutes()
	s.segmentRoutes()
	s.campaignRoutes()
	s.analyticsRoutes()
	s.webhookRoutes()
	s.alertingRoutes()
	return s
}

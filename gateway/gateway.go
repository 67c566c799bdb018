// Package gateway is simgate's core: it accepts texts into the durable
// outbox, dispatches them to modems (one worker per modem, one submit in
// flight each), retries by error class, matches status reports to parts,
// persists inbound texts and publishes live events.
//
// Every change of state goes through this package, so the rules about what
// may be sent and when cannot be bypassed by an HTTP handler. It knows
// nothing about HTTP; it talks to bbolt only through store and to modems only
// through modem.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/live"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Defaults, each with where the number comes from.
const (
	// DefaultRegion is used to read numbers written without a country code.
	DefaultRegion = "US"
	// DefaultMaxParts caps one message: 10 parts is ~1,530 GSM-7 characters,
	// far beyond any sensible shop text and a guard against runaway bills.
	DefaultMaxParts = 10
	// DefaultTransactionalValidity: DESIGN.md, "72 h otherwise".
	DefaultTransactionalValidity = 72 * time.Hour
	// DefaultMarketingValidity: DESIGN.md, "24 h for marketing".
	DefaultMarketingValidity = 24 * time.Hour
	// DefaultReportWindow bounds how far apart a submit and its status report
	// may be for them to match (gammu's DeliveryReportDelay idea). SMSCs retry
	// for up to the validity period, so use the longest validity.
	DefaultReportWindow = 72 * time.Hour
	// DefaultMaxAttempts bounds transient retries of one message; with the
	// backoff below that spans about an hour before giving up.
	DefaultMaxAttempts = 8
	// DefaultRetryBase is the first backoff after a transient error: CMS 41/42
	// and 512 are "retry in seconds" (MODEMS.md §2.3).
	DefaultRetryBase = 5 * time.Second
	// DefaultRetryMax caps the backoff so a long outage still retries often.
	DefaultRetryMax = 10 * time.Minute
	// ambiguousRetries: CMS 500 may mean the text went out; retry at most
	// twice, never forever (MODEMS.md §2.3).
	ambiguousRetries = 2
)

// Config tunes a Gateway. Zero values take the defaults above.
type Config struct {
	Region       string
	MaxParts     int
	ReportWindow time.Duration
	MaxAttempts  int
	RetryBase    time.Duration
	RetryMax     time.Duration
	// HealthInterval is how often each modem's radio, SIM and storage are
	// read; DESIGN.md says every 30 s.
	HealthInterval time.Duration
	// ReconnectMin and ReconnectMax bound the jittered backoff between
	// attempts to reconnect a modem: a second is enough for a USB port to
	// settle after a glitch; a minute keeps a missing modem from flooding
	// the log.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	Log          *slog.Logger
	// Clock returns the current time; tests substitute it.
	Clock func() time.Time
}

// Gateway ties the store and the modems together. Create it with New,
// register modems with AddModem, then call Run.
type Gateway struct {
	db  *store.DB
	cfg Config
	log *slog.Logger
	hub *Hub

	access *access.Accounts

	alerts live.Alerts

	contacts *contacts.Book

	reportMu  sync.Mutex
	unmatched map[string]time.Time // status reports waiting for their part's MR (reports.go)

	wake     chan struct{}  // one slot: "the due index changed"
	lastLoop atomic.Int64   // unix nanos of the dispatcher's last turn, for Healthy
	done     chan jobResult // runners report finished jobs

	settingsMu sync.RWMutex
	settings   ComplianceSettings // read in New; replaced whole by SaveComplianceSettings
	consentMu  sync.Mutex         // serialises consent decisions and their replies (consent.go)

	mu      sync.Mutex
	runners []*runner
	running bool
}

// New creates a Gateway over an open store.
func New(db *store.DB, cfg Config) (*Gateway, error) {
	if db == nil {
		return nil, errors.New("gateway: nil store")
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if _, err := contacts.Normalize("+12015550123", cfg.Region); err != nil {
		return nil, fmt.Errorf("gateway: region %q: %w", cfg.Region, err)
	}
	if cfg.MaxParts <= 0 {
		cfg.MaxParts = DefaultMaxParts
	}
	if cfg.ReportWindow <= 0 {
		cfg.ReportWindow = DefaultReportWindow
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 30 * time.Second
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = time.Second
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = max(time.Minute, cfg.ReconnectMin)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Gateway{
		db:  db,
		cfg: cfg,
		log: log,
		hub: NewHub(),

		access: access.New(db),
		wake:   make(chan struct{}, 1),
	}
	var err error
	if g.settings, err = g.loadComplianceSettings(); err != nil {
		return nil, fmt.Errorf("gateway: read compliance settings: %w", err)
	}
	// Before any HTTP handler can start an import: a spool found now was
	// left by a crash, never one being written.
	g.contacts = contacts.New(contacts.Config{DB: db, Region: cfg.Region, Log: log, Clock: cfg.Clock,
		Notify: &events{hub: g.hub, now: cfg.Clock}, Disclosures: g})
	return g, nil
}

// Hub returns the live event hub (the console's websocket subscribes to it).
func (g *Gateway) Hub() *Hub { return g.hub }

func (g *Gateway) now() time.Time { return g.cfg.Clock() }

// kick tells the dispatcher that something became due. It never blocks.
func (g *Gateway) kick() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// OpenFunc opens a modem's port and returns a driver ready for Init. The
// supervisor calls it on every (re)connect.
type OpenFunc func(ctx context.Context) (*modem.Modem, error)

// ModemConfig registers one modem with the gateway.
type ModemConfig struct {
	Name   string   // the SIM's name in the API, logs and usage counters
	Path   string   // shown in the console; Open decides what it means
	IMEI   string   // optional: refuse a different modem found on Path
	Limits Limits   // zero fields: no limit (use DefaultLimits for the safe ones)
	Open   OpenFunc // called on every (re)connect
}

// AddModem registers a modem to be supervised and used for sending. It must
// be called before Run.
func (g *Gateway) AddModem(mc ModemConfig) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running {
		return errors.New("gateway: AddModem after Run")
	}
	if mc.Name == "" || mc.Open == nil {
		return errors.New("gateway: a modem needs a name and an open function")
	}
	if err := mc.Limits.Validate(); err != nil {
		return fmt.Errorf("gateway: modem %s limits: %w", mc.Name, err)
	}
	for _, r := range g.runners {
		if r.name == mc.Name {
			return fmt.Errorf("gateway: duplicate modem name %q", mc.Name)
		}
	}
	g.runners = append(g.runners, newRunner(g, mc))
	return nil
}

// Run recovers from any crash, then dispatches until ctx is done. On return
// every modem is closed and the submit that was in flight has finished.
func (g *Gateway) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.running {
		g.mu.Unlock()
		return errors.New("gateway: Run called twice")
	}
	g.running = true
	runners := append([]*runner(nil), g.runners...)
	// Each runner holds at most one job, so this never blocks a runner.
	g.done = make(chan jobResult, len(runners))
	g.mu.Unlock()

	if err := g.recover(); err != nil {
		return err
	}
	g.handlePendingInbound() // a STOP stored before a crash is applied before anything is sent
	now := g.now()
	for _, r := range runners {
		u, err := g.db.LoadUsage(r.name, now)
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		r.mu.Lock()
		r.budget = newBudget(r.limits, u)
		r.mu.Unlock()
	}
	g.loadModemRecords(runners)
	if err := g.loadPaused(runners); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}

	// Modem supervisors get their own context: on shutdown the dispatcher
	// stops handing out work first, then each worker finishes its submit.
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run(ctx)
		}()
	}
	defer g.startPurge(ctx)() // retention purge of old message bodies (purge.go)
	err := g.dispatch(ctx, runners)
	wg.Wait()
	return err
}

// recover applies DESIGN.md's crash rule: a part found in `sending` may have
// left the modem, so it becomes `unknown` (a person decides to resend or
// drop); a message whose parts were merely not all started goes back to the
// queue. Only the status index is read: start-up never scans history.
func (g *Gateway) recover() error {
	ids, err := g.db.IDsByStatus(store.StatusSending)
	if err != nil {
		return fmt.Errorf("gateway: recover: %w", err)
	}
	now := g.now()
	for _, id := range ids {
		m, err := g.db.Update(id, func(m *store.Message) error {
			if m.Status != store.StatusSending {
				return errSkip
			}
			unknown := false
			for i := range m.Parts {
				if m.Parts[i].Status == store.StatusSending {
					m.Parts[i].Status = store.StatusUnknown
					m.Parts[i].Error = "simgate stopped while this part was being sent"
					unknown = true
				}
			}
			if unknown {
				setStatus(m, now, store.StatusUnknown, "simgate stopped during AT+CMGS: the text may have been sent; resend or drop")
			} else {
				m.NextAttemptAt = now
				setStatus(m, now, store.StatusQueued, "simgate restarted between parts: continuing")
			}
			return nil
		})
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return fmt.Errorf("gateway: recover message %d: %w", id, err)
		}
		g.log.Warn("recovered message after restart", "id", id, "status", m.Status.String())
	}
	return nil
}

// errSkip aborts a store.Update without writing.
var errSkip = errors.New("skip")

// setStatus moves a message to s and records why.
func setStatus(m *store.Message, at time.Time, s store.Status, note string) {
	m.Status = s
	m.History = append(m.History, store.Transition{At: at, Status: s, Note: note})
}

// Healthy reports whether the gateway itself works: the store answers and
// the dispatcher loop is turning. Modem trouble does not count: restarting
// the service cannot fix an unplugged modem and would cut off the others.
func (g *Gateway) Healthy(ctx context.Context) error {
	if err := g.db.Check(); err != nil {
		return err
	}
	last := g.lastLoop.Load()
	if last != 0 && time.Since(time.Unix(0, last)) > 2*maxIdleWait+10*time.Second {
		return fmt.Errorf("dispatcher stuck since %s", time.Unix(0, last).Format(time.RFC3339))
	}
	return nil
}

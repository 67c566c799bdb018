// Package outbox is the durable queue and everything that moves a text: it
// validates and enqueues texts, recovers after a crash, dispatches due
// texts to modems (one supervised runner per modem, one submit in flight
// each), routes them within each SIM's limits, retries by error class,
// matches status reports to parts, stores received texts and hands each
// complete one on, and is the compliance guard's commit point.
//
// It must not decide what may be sent (package compliance judges) nor act
// on what an inbound text says (the inbound handler does). Every text it
// sends passes Admit inside the transaction that marks its first part
// `sending`, so nothing added later can skip consent, quiet hours or the
// frequency cap.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Defaults, each with where the number comes from.
const (
	// DefaultMaxParts caps one message: 10 parts is ~1,530 GSM-7 characters,
	// far beyond any sensible shop text and a guard against runaway bills.
	DefaultMaxParts = 10
	// DefaultTransactionalValidity: docs/architecture.md, "72 h otherwise".
	DefaultTransactionalValidity = 72 * time.Hour
	// DefaultMarketingValidity: docs/architecture.md, "24 h for marketing".
	DefaultMarketingValidity = 24 * time.Hour
	// DefaultReportWindow bounds how far apart a submit and its status report
	// may be for them to match (gammu's DeliveryReportDelay idea). SMSCs retry
	// for up to the validity period, so use the longest validity.
	DefaultReportWindow = 72 * time.Hour
	// DefaultMaxAttempts bounds transient retries of one message; with the
	// backoff below that spans about an hour before giving up.
	DefaultMaxAttempts = 8
	// DefaultRetryBase is the first backoff after a transient error: CMS 41/42
	// and 512 are "retry in seconds" (docs/modems.md §2.3).
	DefaultRetryBase = 5 * time.Second
	// DefaultRetryMax caps the backoff so a long outage still retries often.
	DefaultRetryMax = 10 * time.Minute
	// ambiguousRetries: CMS 500 may mean the text went out; retry at most
	// twice, never forever (docs/modems.md §2.3).
	ambiguousRetries = 2
	// DefaultSignupShare is the percent of the fleet's daily parts that
	// requests caused by the public sign-up page may use. A request is two
	// parts, so 10 % of a two-SIM fleet's 1,000 parts is 50 sign-ups a
	// day: more than a shop's poster or QR code brings (issue 15 saw an
	// attack post 420), while 90 % of every SIM's day stays the shop's.
	DefaultSignupShare = 10
)

// Config tunes a Queue. Zero durations and counts take the defaults above;
// DB, Region, Log, Clock, Policy, Inbound and Notify are required.
type Config struct {
	DB           *store.DB
	Region       string // national numbers are read in this region
	MaxParts     int
	ReportWindow time.Duration
	MaxAttempts  int
	RetryBase    time.Duration
	RetryMax     time.Duration
	// HealthInterval is how often each modem's radio, SIM and storage are
	// read; docs/architecture.md (Health) says every 30 s.
	HealthInterval time.Duration
	// ReconnectMin and ReconnectMax bound the jittered backoff between
	// attempts to reconnect a modem: a second is enough for a USB port to
	// settle after a glitch; a minute keeps a missing modem from flooding
	// the log.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// SignupShare is the percent of the fleet's daily parts (the sum of
	// each SIM's per_day limit) that requests from the public sign-up page
	// may use a day, 1 to 100; zero takes DefaultSignupShare.
	SignupShare int
	Log         *slog.Logger
	Clock       func() time.Time
	// USSDAllow is the codes USSD may send (modem/ussdallow.go); the zero
	// value is modem.DefaultUSSDAllow.
	USSDAllow modem.USSDAllowList

	// Policy gives the compliance settings the guard and Submit apply.
	Policy Policy
	// Inbound acts on each complete inbound text once it is stored.
	Inbound InboundHandler
	// Notify hears about every change the console shows live.
	Notify Notifier
	// Meter, when set, counts parts and times deliveries for GET /metrics.
	Meter Meter
}

// Meter is told what the monitoring figures count, as it happens: each
// part the SMSC accepted or that failed (refused, given up, or reported
// undelivered), and each message whose last report said delivered, with
// the time from its submit. Its methods run on the send and report paths
// and must not block.
type Meter interface {
	PartSent(modemName string, kind store.Kind)
	PartFailed(modemName string, kind store.Kind)
	Delivered(modemName string, kind store.Kind, latency time.Duration)
}

// Policy gives the shop's current compliance settings.
type Policy interface {
	Settings() compliance.Settings
}

// InboundHandler acts on a complete inbound text after it is stored. The
// text is durable and marked pending by the store, so an error leaves it
// pending for the next start rather than losing it.
type InboundHandler interface {
	HandleInbound(store.Inbound) error
}

// Notifier is told about the changes the console shows live. Its methods
// are called from the dispatcher and the modems' runners and must not
// block.
type Notifier interface {
	MessageChanged(store.Message)
	InboundReceived(store.Inbound)
	ModemChanged(ModemStatus)
	// RaiseAlert records a condition a person should look at (the same
	// kind and modem once); ClearAlert ends it.
	RaiseAlert(kind, modemName, message string)
	ClearAlert(kind, modemName string)
}

// Alert kinds.
const (
	AlertModemDown    = "modem_down"          // the supervisor climbed the whole escalation ladder
	AlertSIMOutOfRota = "sim_out_of_rotation" // barred, no credit, SIM gone
	AlertWrongModem   = "wrong_modem"         // the configured IMEI is not the modem on that path
	AlertLowBalance   = "low_balance"
)

// Queue is the outbox and its modems. Create it with New, register modems
// with AddModem, then call Prepare and Run.
type Queue struct {
	db      *store.DB
	cfg     Config
	log     *slog.Logger
	policy  Policy
	inbound InboundHandler
	notify  Notifier

	reportMu  sync.Mutex
	unmatched map[string]time.Time // status reports waiting for their part's MR (reports.go)

	keptMu sync.Mutex
	kept   []keptMR // MRs the disk could not take yet, oldest first (keptmr.go)

	wake     chan struct{}  // one slot: "the due index changed"
	lastLoop atomic.Int64   // unix nanos of the dispatcher's last turn, for Healthy
	done     chan jobResult // runners report finished jobs

	mu      sync.Mutex
	runners []*runner
	running bool
}

// New creates a Queue over cfg.DB.
func New(cfg Config) *Queue {
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
	if cfg.SignupShare <= 0 {
		cfg.SignupShare = DefaultSignupShare
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = max(time.Minute, cfg.ReconnectMin)
	}
	return &Queue{
		db:      cfg.DB,
		cfg:     cfg,
		log:     cfg.Log,
		policy:  cfg.Policy,
		inbound: cfg.Inbound,
		notify:  cfg.Notify,
		wake:    make(chan struct{}, 1),
	}
}

func (q *Queue) now() time.Time { return q.cfg.Clock() }

// Wake tells the dispatcher that something became due. It never blocks.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// OpenFunc opens a modem's port and returns a driver ready for Init. The
// supervisor calls it on every (re)connect.
type OpenFunc func(ctx context.Context) (*modem.Modem, error)

// ModemConfig registers one modem with the outbox.
type ModemConfig struct {
	Name   string           // the SIM's name in the API, logs and usage counters
	Path   string           // shown in the console; Open decides what it means
	IMEI   string           // optional: refuse a different modem found on Path
	Limits simlimits.Limits // zero fields: no limit (use simlimits.DefaultLimits for the safe ones)
	Open   OpenFunc         // called on every (re)connect
}

// ModemStatus is what the API and console show about one configured modem.
type ModemStatus struct {
	Name      string            `json:"name"`
	Path      string            `json:"path"`
	State     string            `json:"state"` // "starting", "up", "degraded", "down"
	Identity  modem.Identity    `json:"identity"`
	Health    modem.Health      `json:"health"`
	LastError string            `json:"last_error,omitempty"`
	Since     time.Time         `json:"since"` // when State last changed
	Sent      int               `json:"sent"`  // parts accepted by the SMSC since start
	Budget    *simlimits.Budget `json:"budget,omitempty"`
	// Paused is a person's decision to take this SIM out of sending; it
	// still receives texts and reports.
	Paused bool `json:"paused"`
}

// AddModem registers a modem to be supervised and used for sending. It must
// be called before Prepare.
func (q *Queue) AddModem(mc ModemConfig) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running {
		return errors.New("gateway: AddModem after Run")
	}
	if mc.Name == "" || mc.Open == nil {
		return errors.New("gateway: a modem needs a name and an open function")
	}
	if err := mc.Limits.Validate(); err != nil {
		return fmt.Errorf("gateway: modem %s limits: %w", mc.Name, err)
	}
	for _, r := range q.runners {
		if r.name == mc.Name {
			return fmt.Errorf("gateway: duplicate modem name %q", mc.Name)
		}
	}
	q.runners = append(q.runners, newRunner(q, mc))
	return nil
}

// Prepare readies the queue to run, once: it closes registration, applies
// the crash rule (recover) and loads what each SIM used and what a person
// decided about it (usage, last identity, pause). Nothing is sent yet.
func (q *Queue) Prepare() error {
	q.mu.Lock()
	if q.running {
		q.mu.Unlock()
		return errors.New("gateway: Run called twice")
	}
	q.running = true
	runners := append([]*runner(nil), q.runners...)
	// Each runner holds at most one job, so this never blocks a runner.
	q.done = make(chan jobResult, len(runners))
	q.mu.Unlock()

	if err := q.recover(); err != nil {
		return err
	}
	now := q.now()
	for _, r := range runners {
		u, err := q.db.LoadUsage(r.name, now)
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		r.mu.Lock()
		r.budget = simlimits.New(r.limits, u)
		r.mu.Unlock()
	}
	q.loadModemRecords(runners)
	if err := q.loadPaused(runners); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return nil
}

// Run dispatches until ctx is done; Prepare must have succeeded. On return
// every modem is closed and the submit that was in flight has finished.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	runners := append([]*runner(nil), q.runners...)
	prepared := q.done != nil
	q.mu.Unlock()
	if !prepared {
		// Without Prepare no crash rule ran and no budget is loaded.
		return errors.New("gateway: outbox Run before Prepare")
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.sweepReports(ctx)
	}()
	err := q.dispatch(ctx, runners)
	wg.Wait()
	return err
}

// recover applies the crash rule of docs/architecture.md (Durability): a part found in `sending` may have
// left the modem, so it becomes `unknown` (a person decides to resend or
// drop); a message whose parts were merely not all started goes back to the
// queue. Only the status index is read: start-up never scans history.
func (q *Queue) recover() error {
	ids, err := q.db.IDsByStatus(store.StatusSending)
	if err != nil {
		return fmt.Errorf("gateway: recover: %w", err)
	}
	now := q.now()
	for _, id := range ids {
		m, err := q.db.Update(id, func(m *store.Message) error {
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
				SetStatus(m, now, store.StatusUnknown, "simgate stopped during AT+CMGS: the text may have been sent; resend or drop")
			} else {
				m.NextAttemptAt = now
				SetStatus(m, now, store.StatusQueued, "simgate restarted between parts: continuing")
			}
			return nil
		})
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return fmt.Errorf("gateway: recover message %d: %w", id, err)
		}
		q.log.Warn("recovered message after restart", "id", id, "status", m.Status.String())
	}
	return nil
}

// errSkip aborts a store.Update without writing.
var errSkip = errors.New("skip")

// SetStatus moves a message to s and records why.
func SetStatus(m *store.Message, at time.Time, s store.Status, note string) {
	m.Status = s
	m.History = append(m.History, store.Transition{At: at, Status: s, Note: note})
}

// Healthy reports whether the dispatcher loop is turning. Modem trouble
// does not count: restarting the service cannot fix an unplugged modem and
// would cut off the others.
func (q *Queue) Healthy() error {
	last := q.lastLoop.Load()
	if last != 0 && time.Since(time.Unix(0, last)) > 2*maxIdleWait+10*time.Second {
		return fmt.Errorf("dispatcher stuck since %s", time.Unix(0, last).Format(time.RFC3339))
	}
	return nil
}

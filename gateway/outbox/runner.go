package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Modem states shown in the API and console.
const (
	StateStarting = "starting" // opening the port or running init
	StateUp       = "up"       // registered and taking work
	StateDegraded = "degraded" // answering, but not registered on a network or out of rotation
	StateDown     = "down"     // port closed or not answering; the supervisor is reconnecting
)

const (
	// simRestTime keeps a SIM out of rotation after a SIM-level error
	// (barred, no credit, SIM gone) before trying it again.
	simRestTime = 10 * time.Minute
)

// runner supervises one modem and is its only sender: one AT+CMGS in
// flight per modem, as the hardware requires.
type runner struct {
	q      *Queue
	name   string
	path   string
	open   OpenFunc
	log    *slog.Logger
	jobs   chan uint64 // at most one job: the dispatcher hands work only to idle runners
	ussd   chan ussdRequest
	limits simlimits.Limits
	imei   string // if set, the modem on path must have this IMEI

	mu      sync.Mutex
	status  ModemStatus
	budget  *simlimits.Tracker // set by Prepare from the stored usage
	history []modem.Health     // recent health readings, oldest first, at most healthHistory
}

// healthHistory keeps an hour of readings at the default 30 s interval.
const healthHistory = 120

func newRunner(q *Queue, mc ModemConfig) *runner {
	return &runner{
		q:      q,
		name:   mc.Name,
		path:   mc.Path,
		open:   mc.Open,
		limits: mc.Limits,
		imei:   mc.IMEI,
		ussd:   make(chan ussdRequest),
		log:    q.log.With("modem", mc.Name),
		jobs:   make(chan uint64, 1),
		status: ModemStatus{Name: mc.Name, Path: mc.Path, State: StateStarting, Since: q.now()},
	}
}

// snapshot returns a copy of the modem's status.
func (r *runner) snapshot() ModemStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status
	if r.budget != nil {
		b := r.budget.Snapshot(r.q.now())
		st.Budget = &b
	}
	return st
}

// blocked says which limit keeps this SIM from texting recipient now.
func (r *runner) blocked(now time.Time, recipient string, parts int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.budget == nil {
		return ""
	}
	return r.budget.Blocked(now, recipient, parts)
}

// nextSend is when the SIM's per-minute spacing next lets it send (zero
// without a budget).
func (r *runner) nextSend() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.budget == nil {
		return time.Time{}
	}
	return r.budget.Next()
}

// knows reports whether this SIM texted recipient this month.
func (r *runner) knows(recipient string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.budget != nil && r.budget.Knows(recipient)
}

// recordSend counts a message's parts against the SIM's budget in memory;
// the durable count is written with the part's MR.
func (r *runner) recordSend(now time.Time, recipient string, parts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.budget != nil {
		r.budget.Record(now, recipient, parts)
	}
}

// available reports whether the dispatcher may hand this modem work: it is
// up and a person has not paused it.
func (r *runner) available() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status.State == StateUp && !r.status.Paused
}

func (r *runner) update(fn func(s *ModemStatus)) {
	r.mu.Lock()
	before := r.status.State
	fn(&r.status)
	if r.status.State != before {
		r.status.Since = r.q.now()
	}
	st := r.status
	// With its budget, as snapshot gives it: the notifier records
	// sim.budget_exhausted from it, and the console shows it live.
	if r.budget != nil {
		b := r.budget.Snapshot(r.q.now())
		st.Budget = &b
	}
	r.mu.Unlock()
	r.q.notify.ModemChanged(st)
	if st.State != before {
		r.log.Info("modem state", "state", st.State, "error", st.LastError)
		r.q.Wake() // availability changed: the dispatcher re-plans
	}
}

func (r *runner) setState(state string, err error) {
	r.update(func(s *ModemStatus) {
		s.State = state
		if err != nil {
			s.LastError = err.Error()
		}
	})
}

// The escalation ladder (docs/modems.md §2.4), counted in failed sessions in a
// row: reopen the port (rungs below ladderReset), reboot the module with
// AT+CFUN=1,1, then declare the modem down and alert, while still trying.
const (
	ladderReset = 3
	ladderDown  = 4
)

// run keeps the modem connected until ctx is done: open → init → serve, and
// on any failure close, wait a jittered backoff and start again, climbing
// the escalation ladder while the failures continue.
func (r *runner) run(ctx context.Context) {
	backoff := r.q.cfg.ReconnectMin
	failures := 0
	for ctx.Err() == nil {
		started := time.Now()
		wasUp, rest, err := r.session(ctx)
		if ctx.Err() != nil {
			r.setState(StateDown, nil)
			r.bounceJobs(ctx, 0)
			return
		}
		if err != nil {
			r.log.Warn("modem session ended", "error", err)
		}
		if wasUp {
			failures = 0
		} else {
			failures++
		}
		if time.Since(started) > 2*r.q.cfg.ReconnectMax {
			backoff = r.q.cfg.ReconnectMin // it had been healthy for a while
		}
		switch {
		case failures == ladderReset:
			r.rebootModem(ctx)
		case failures >= ladderDown:
			r.q.notify.RaiseAlert(AlertModemDown, r.name, fmt.Sprintf("modem %s is not answering (%d attempts, including a reboot): %v", r.name, failures, err))
		}
		wait := backoff/2 + rand.N(backoff/2+1) // jitter: modems on one hub don't retry in lockstep
		if rest > wait {
			wait = rest
		}
		r.setState(StateDown, err)
		r.bounceJobs(ctx, wait)
		backoff = min(backoff*2, r.q.cfg.ReconnectMax)
	}
}

// rebootModem is the ladder's third rung: a fresh open and AT+CFUN=1,1.
// Many USB modems re-enumerate on it, so the port vanishing is expected.
func (r *runner) rebootModem(ctx context.Context) {
	r.log.Warn("rebooting modem (AT+CFUN=1,1)")
	m, err := r.open(ctx)
	if err != nil {
		r.log.Warn("reboot: open failed", "error", err)
		return
	}
	defer m.Close()
	if err := m.Reset(ctx); err != nil {
		r.log.Warn("reboot failed", "error", err)
	}
}

// bounceJobs waits d (or until ctx is done) while handing back, unsent, any
// job the dispatcher gave this modem before noticing it went down.
func (r *runner) bounceJobs(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case id := <-r.jobs:
			r.q.jobDone(r, id)
		case <-t.C:
			return
		case <-ctx.Done():
			for {
				select {
				case id := <-r.jobs:
					r.q.jobDone(r, id)
				default:
					return
				}
			}
		}
	}
}

// errOutOfRotation ends a session after a SIM-level error.
var errOutOfRotation = errors.New("SIM taken out of rotation")

// session runs one connection to the modem. It reports whether the modem
// got through init, how long to rest before reconnecting (beyond the normal
// backoff) and why it ended.
func (r *runner) session(ctx context.Context) (wasUp bool, rest time.Duration, err error) {
	r.setState(StateStarting, nil)
	m, err := r.open(ctx)
	if err != nil {
		return false, 0, fmt.Errorf("open %s: %w", r.path, err)
	}
	defer m.Close()
	id, err := m.Init(ctx)
	if err != nil {
		return false, 0, fmt.Errorf("init: %w", err)
	}
	if r.imei != "" && id.IMEI != r.imei {
		err := fmt.Errorf("the modem on %s has IMEI %s, configured is %s", r.path, id.IMEI, r.imei)
		r.q.notify.RaiseAlert(AlertWrongModem, r.name, err.Error())
		return false, simRestTime, err
	}
	r.q.notify.ClearAlert(AlertWrongModem, r.name)
	r.q.notify.ClearAlert(AlertModemDown, r.name)
	r.update(func(s *ModemStatus) { s.Identity = id })
	r.q.rememberModem(r.name, r.path, id)
	r.log.Info("modem ready", "manufacturer", id.Manufacturer, "model", id.Model, "imei", id.IMEI)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- m.Serve(sctx, handler{r}) }()
	defer func() {
		cancel()
		<-serveErr
	}()

	r.checkHealth(ctx, m)
	ticker := time.NewTicker(r.q.cfg.HealthInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, 0, nil
		case err := <-serveErr:
			serveErr <- err // for the deferred wait
			if err == nil {
				err = errors.New("reader stopped")
			}
			return true, 0, err
		case <-m.Closed():
			return true, 0, modem.ErrClosed
		case <-ticker.C:
			if err := r.checkAlive(ctx, m); err != nil {
				return true, 0, err
			}
			r.checkHealth(ctx, m)
		case req := <-r.ussd:
			reply, err := m.USSD(ctx, req.code)
			req.reply <- ussdResult{reply, err}
		case id := <-r.jobs:
			err := r.process(ctx, m, id)
			r.q.jobDone(r, id)
			if errors.Is(err, errOutOfRotation) {
				r.q.notify.RaiseAlert(AlertSIMOutOfRota, r.name, fmt.Sprintf("SIM %s taken out of rotation for %v: %s", r.name, simRestTime, r.snapshot().LastError))
				return true, simRestTime, err
			}
			if err != nil {
				return true, 0, err
			}
			r.q.notify.ClearAlert(AlertSIMOutOfRota, r.name)
		}
	}
}

// checkAlive is the hang detector and the ladder's first rung: a modem that
// does not answer AT gets an escape and a second chance before the session
// ends (which reopens the port).
func (r *runner) checkAlive(ctx context.Context, m *modem.Modem) error {
	if err := m.Probe(ctx); err == nil {
		return nil
	}
	r.log.Warn("modem not answering AT: sending escape")
	if err := m.Escape(ctx); err != nil {
		return fmt.Errorf("modem hung: no answer to AT after an escape: %w", err)
	}
	return nil
}

// checkHealth reads the modem's radio state; a modem that is not
// registered stays connected but takes no work.
func (r *runner) checkHealth(ctx context.Context, m *modem.Modem) {
	h, err := m.Health(ctx)
	if err != nil {
		r.log.Warn("health check failed", "error", err)
		r.update(func(s *ModemStatus) {
			s.LastError = "health: " + err.Error()
			if s.State == StateStarting {
				s.State = StateDegraded
			}
		})
		return
	}
	r.mu.Lock()
	r.history = append(r.history, h)
	if len(r.history) > healthHistory {
		r.history = r.history[len(r.history)-healthHistory:]
	}
	r.mu.Unlock()
	r.update(func(s *ModemStatus) {
		s.Health = h
		if h.Registered() {
			s.State = StateUp
		} else {
			s.State = StateDegraded
			s.LastError = "not registered: " + h.Registration
		}
	})
}

// handler receives what the modem reads and persists it before the modem
// deletes it from its storage.
type handler struct{ r *runner }

func (h handler) Inbound(ctx context.Context, p modem.InboundPart) error {
	return h.r.q.Receive(h.r.name, p)
}

func (h handler) StatusReport(ctx context.Context, rep modem.StatusReport) error {
	return h.r.q.handleReport(h.r.name, rep)
}

// Undecodable keeps a stored PDU the driver could not read as a text (or a
// stored SMS-SUBMIT) as raw evidence, so the SIM can be purged: left there,
// it would fill the storage and stop reception.
func (h handler) Undecodable(ctx context.Context, index int, pdu string) error {
	r := h.r
	id, err := r.q.db.KeepUndecodable(store.UndecodablePDU{Modem: r.name, Index: index, PDU: pdu, At: r.q.now()})
	if err != nil {
		return err
	}
	r.log.Warn("kept an undecodable stored message as raw PDU", "index", index, "id", id)
	return nil
}

var _ modem.RawHandler = handler{}

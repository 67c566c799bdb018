package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// rig is a gateway over a real bbolt file and simulated modems. A test
// that runs it (start) builds it inside a synctest bubble: the simulator is
// wired over io.Pipe, so time, timeouts and backoff are the bubble's fake
// clock, and waitFor checks the state whenever the bubble is idle.
type rig struct {
	t   testing.TB
	db  *store.DB
	g   *Gateway
	net *sim.Network
	sms []*sim.Modem
	dir string

	cancel context.CancelFunc
	done   chan error
}

// testLog returns a logger that is quiet unless SIMGATE_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("SIMGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type rigOptions struct {
	modems    []sim.Config
	netCfg    sim.NetworkConfig
	gwCfg     Config
	modemCfg  modem.Config
	dir       string         // reuse a data dir (restart tests)
	limits    Limits         // per SIM; zero: unlimited
	limitsFor map[int]Limits // per modem index, overriding limits
}

// newRig builds a rig for a test, with one transaction per write
// (store.WithoutGroupCommit) as these tests were written; benchmarks call
// newRigTB without it, to measure the store as shipped.
func newRig(t *testing.T, o rigOptions) *rig { return newRigTB(t, o, store.WithoutGroupCommit()) }

// newRigTB builds a rig over a store opened with storeOpts; benchmarks
// call it with none, to measure the store as shipped.
func newRigTB(t testing.TB, o rigOptions, storeOpts ...store.Option) *rig {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	if o.netCfg.ReportDelay == 0 {
		o.netCfg.ReportDelay = 20 * time.Millisecond
	}
	if o.modemCfg.SubmitTimeout == 0 {
		o.modemCfg.SubmitTimeout = 5 * time.Second
	}
	if o.modemCfg.CommandTimeout == 0 {
		o.modemCfg.CommandTimeout = 2 * time.Second
	}
	if o.modemCfg.SweepInterval == 0 {
		o.modemCfg.SweepInterval = 500 * time.Millisecond
	}
	db, err := store.Open(filepath.Join(o.dir, "simgate.db"), storeOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o.gwCfg.Log = testLog()
	if o.gwCfg.RetryBase == 0 {
		o.gwCfg.RetryBase = 10 * time.Millisecond
	}
	if o.gwCfg.HealthInterval == 0 {
		o.gwCfg.HealthInterval = time.Second
	}
	g, err := New(db, o.gwCfg)
	if err != nil {
		t.Fatal(err)
	}
	o.netCfg.Log = testLog()
	r := &rig{t: t, db: db, g: g, net: sim.NewNetwork(o.netCfg), dir: o.dir}
	for i, mc := range o.modems {
		sm, err := r.net.AddModem(mc)
		if err != nil {
			t.Fatal(err)
		}
		r.sms = append(r.sms, sm)
		cfg := o.modemCfg
		cfg.Name = "sim" + string(rune('1'+i))
		cfg.Path = "pipe:" + mc.Number
		limits := o.limits
		if l, ok := o.limitsFor[i]; ok {
			limits = l
		}
		if err := g.AddModem(ModemConfig{Name: cfg.Name, Path: cfg.Path, Limits: limits, Open: r.opener(sm, cfg)}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// opener connects a fresh in-memory line to the simulated modem on every
// call, as reopening a serial port would.
func (r *rig) opener(sm *sim.Modem, cfg modem.Config) OpenFunc {
	return func(ctx context.Context) (*modem.Modem, error) {
		return modem.New(sm.Connect(context.WithoutCancel(ctx)), cfg, testLog().With("modem", cfg.Name)), nil
	}
}

// start runs the gateway until the test ends (or stop is called).
func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.g.Run(ctx) }()
	r.t.Cleanup(r.stop)
}

func (r *rig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("gateway Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		r.t.Error("gateway did not stop within 20s")
	}
	r.cancel = nil
}

// waitStep is how far the bubble's clock moves between two checks of a
// waited-for condition: fine enough that no state the tests wait for
// (a send in flight lasts hundreds of milliseconds) passes unseen.
const waitStep = 10 * time.Millisecond

// waitFor waits, inside the test's synctest bubble, until cond holds.
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	r.waitForLong(what, 30*time.Second, cond)
}

// waitForLong is waitFor with its own limit. cond is checked only when
// every other goroutine in the bubble is blocked, so it never sees a step
// half done; while it does not hold, the bubble's clock moves on by
// waitStep, which fires the timers due in it (health checks, retries,
// report delays) at no wall-time cost. The limit is bubble time: it turns
// a hang into a failure and bounds the speed of nothing.
func (r *rig) waitForLong(what string, limit time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		synctest.Wait()
		if cond() {
			return
		}
		if !time.Now().Before(deadline) {
			r.t.Fatalf("timed out waiting for %s (%v of bubble time)", what, limit)
		}
		// Only advances the fake clock; synctest.Wait above is what
		// synchronises.
		time.Sleep(waitStep)
	}
}

// elapse lets d of bubble time pass and returns once the bubble is idle
// again, so everything due within d has happened. It is for tests where
// time passing is the point (a validity running out, a text that must
// keep waiting), never to wait for something to happen: that is waitFor.
func elapse(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// pollUntil checks cond every interval of real time until it holds. It is
// for code outside a bubble (the benchmarks, which measure real time);
// limit is a hang guard, not a speed assertion.
func pollUntil(tb testing.TB, what string, every, limit time.Duration, cond func() bool) {
	tb.Helper()
	tick := time.NewTicker(every)
	defer tick.Stop()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *rig) waitStatus(id uint64, want store.Status) store.Message {
	r.t.Helper()
	var m store.Message
	r.waitFor("message to be "+want.String(), func() bool {
		var err error
		m, err = r.db.Get(id)
		if err != nil {
			r.t.Fatal(err)
		}
		return m.Status == want
	})
	return m
}

func (r *rig) submit(to, text string) store.Message {
	r.t.Helper()
	m, _, err := r.g.Submit(context.Background(), SubmitRequest{To: to, Text: text})
	if err != nil {
		r.t.Fatalf("submit %q: %v", text, err)
	}
	rec, err := r.db.Get(m.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return rec
}

func testModemConfig() modem.Config {
	return modem.Config{SubmitTimeout: 5 * time.Second, CommandTimeout: 2 * time.Second, SweepInterval: 500 * time.Millisecond}
}

// testClock is a settable clock for the 24 h reply limits.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// contactsGateway is a gateway over a real bbolt file, without modems, and
// a clock the test moves.
type contactsGateway struct {
	*Gateway
	db    *store.DB
	clock *testClock
}

func newContactsGateway(t testing.TB, opts ...store.Option) *contactsGateway {
	t.Helper()
	cg := &contactsGateway{clock: &testClock{t: time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)}}
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), append(opts, store.WithClock(cg.clock.now))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cg.db = db
	g, err := New(db, Config{Region: "US", Log: testLog(), Clock: cg.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	cg.Gateway = g
	return cg
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a FieldError naming %q", err, field)
	}
	if fe.Field != field {
		t.Fatalf("FieldError names %q (%v), want %q", fe.Field, err, field)
	}
}

// consentOf reads a number's consent record and ledger.
func consentOf(t testing.TB, g *Gateway, number string) (Consent, []ConsentEvent) {
	t.Helper()
	c, err := g.Consent(number)
	if err != nil {
		t.Fatal(err)
	}
	events, err := g.ConsentEvents(number)
	if err != nil {
		t.Fatal(err)
	}
	return c, events
}

// Package webhooks tells other systems what happened on the box. A
// dispatcher reads the store's change feed with a persisted cursor and, in
// the transaction that advances it, writes one delivery per receiver:
// every endpoint subscribed to the change's kind (set in the console or the
// API, signed per the Standard Webhooks specification) and the per-message
// callback of a text (Twilio's StatusCallback, Kannel's dlr-url, in their
// own formats through a registered Formatter).
//
// Each receiver has its own sender goroutine, so deliveries to it go in
// order and a slow or hanging receiver delays only itself; nothing on the
// path that sends texts waits for any of this. A failed attempt is retried
// with exponential backoff and full jitter for up to three days, then the
// delivery is marked failed and an alert raised; an endpoint that has
// failed for a day is paused and its owner told.
package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/simgate/simgate/store"
)

// Defaults, each with its reason.
const (
	// DefaultTimeout bounds one attempt: a receiver should answer at once
	// and do its work later; 10 s is what most senders allow.
	DefaultTimeout = 10 * time.Second
	// DefaultRetryBase and DefaultRetryMax bound the backoff: the first
	// retry within seconds (a receiver restarting), later ones at most
	// hourly, so a receiver back after a night gets its backlog within
	// the hour.
	DefaultRetryBase = 5 * time.Second
	DefaultRetryMax  = time.Hour
	// DefaultGiveUpAfter: a delivery still failing three days after its
	// first attempt is marked failed (a long weekend's outage survives).
	DefaultGiveUpAfter = 72 * time.Hour
	// DefaultPauseAfter: an endpoint failing for a day is paused, so a
	// receiver gone for good stops costing attempts and its owner hears.
	DefaultPauseAfter = 24 * time.Hour
	// dispatchDelay: how long the dispatcher gathers changes before it
	// turns them into deliveries; at most ten cursor commits a second
	// however busy the box, for a tenth of a second of latency.
	dispatchDelay = 100 * time.Millisecond
	// dispatchBatch: changes turned into deliveries per transaction.
	dispatchBatch = 500
	// pruneInterval: how often the change feed is pruned.
	pruneInterval = time.Hour
)

// Alert kinds raised by this part.
const (
	AlertDeliveryFailed = "webhook_failed"
	AlertEndpointPaused = "webhook_paused"
)

// FormatStandard is the built-in format: Standard Webhooks JSON, signed.
const FormatStandard = "standard"

// KindTest is the type of the event "send test event" delivers.
const KindTest = "webhook.test"

// ErrSkip, returned by a Formatter, drops the delivery without sending (a
// Kannel dlr-mask that does not ask for this status).
var ErrSkip = errors.New("webhooks: the receiver does not want this change")

// Request is what one attempt sends. The sender adds only User-Agent.
type Request struct {
	Method string // "" means POST
	URL    string
	Header map[string][]string
	Body   []byte
}

// Delivery is what a Formatter is given to build one attempt.
type Delivery struct {
	ID      string       // stable across the attempts of one delivery
	Change  store.Change // what happened
	URL     string       // the endpoint's or the callback's URL
	Params  json.RawMessage
	Secret  string         // the endpoint's signing secret ("" for callbacks)
	Message *store.Message // the text a message.status change is about, as it is now; else nil
	Attempt int            // 1 for the first
	Now     time.Time
}

// Formatter builds the request of one attempt. It is called at every
// attempt, so signatures may include the time.
type Formatter interface {
	Format(d Delivery) (Request, error)
}

// FormatterFunc adapts a function to Formatter.
type FormatterFunc func(d Delivery) (Request, error)

// Format calls f.
func (f FormatterFunc) Format(d Delivery) (Request, error) { return f(d) }

// Notifier hears of conditions a person should look at. It must not block.
type Notifier interface {
	RaiseAlert(kind, subject, message string)
	ClearAlert(kind, subject string)
}

// Config wires a Service. DB is required; zero durations take the defaults.
type Config struct {
	DB          *store.DB
	Log         *slog.Logger
	Clock       func() time.Time
	Notify      Notifier
	Timeout     time.Duration
	RetryBase   time.Duration
	RetryMax    time.Duration
	GiveUpAfter time.Duration
	PauseAfter  time.Duration
	// Sender makes the HTTP requests (package httpout); required.
	Sender Sender
}

// Sender makes one HTTP attempt and applies the rule about private
// addresses; package httpout is the real one. The gateway speaks no HTTP
// itself, so it gets this from cmd.
type Sender interface {
	// Check refuses a URL that is not http(s), or that resolves to a
	// private, loopback or link-local address or the box's own, unless
	// allowPrivate.
	Check(ctx context.Context, rawURL string, allowPrivate bool) error
	// Send returns the response status and the start of its body.
	Send(ctx context.Context, method, rawURL string, header map[string][]string, body []byte, allowPrivate bool) (status int, snippet string, err error)
}

// Service is the webhooks part: endpoints, the dispatcher and the senders.
type Service struct {
	cfg Config
	db  *store.DB
	log *slog.Logger
	now func() time.Time

	formatsMu sync.RWMutex
	formats   map[string]Formatter

	dispatchWake chan struct{}
	// read is how far the dispatcher has read changes that made no
	// delivery and whose cursor the store did not write; only Run's
	// goroutine uses it.
	read uint64

	mu      sync.Mutex
	ctx     context.Context // set by Run; nil before
	senders map[string]chan struct{}
	wg      sync.WaitGroup
}

// New returns a Service; Run starts its work.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Notify == nil {
		cfg.Notify = noNotify{}
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.Timeout, DefaultTimeout}, {&cfg.RetryBase, DefaultRetryBase}, {&cfg.RetryMax, DefaultRetryMax},
		{&cfg.GiveUpAfter, DefaultGiveUpAfter}, {&cfg.PauseAfter, DefaultPauseAfter}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	s := &Service{cfg: cfg, db: cfg.DB, log: cfg.Log, now: cfg.Clock,
		formats: map[string]Formatter{}, dispatchWake: make(chan struct{}, 1), senders: map[string]chan struct{}{}}
	s.formats[FormatStandard] = FormatterFunc(standardFormat)
	return s
}

type noNotify struct{}

func (noNotify) RaiseAlert(string, string, string) {}
func (noNotify) ClearAlert(string, string)         {}

// RegisterFormat adds a formatter under name, for endpoints and callbacks
// whose Format names it. Call before Run.
func (s *Service) RegisterFormat(name string, f Formatter) {
	s.formatsMu.Lock()
	defer s.formatsMu.Unlock()
	s.formats[name] = f
}

func (s *Service) format(name string) (Formatter, bool) {
	if name == "" {
		name = FormatStandard
	}
	s.formatsMu.RLock()
	defer s.formatsMu.RUnlock()
	f, ok := s.formats[name]
	return f, ok
}

// Changed is told after a commit that appended changes (store.OnChange):
// the dispatcher wakes. It never blocks.
func (s *Service) Changed() {
	select {
	case s.dispatchWake <- struct{}{}:
	default:
	}
}

// Run dispatches changes and sends deliveries until ctx is done, then
// waits for the senders to stop (an attempt in flight is cut off by ctx;
// its delivery stays pending and goes again after the restart).
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	defer s.wg.Wait()
	targets, err := s.db.PendingTargets()
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	for _, t := range targets {
		s.kick(t)
	}
	prune := time.NewTicker(pruneInterval)
	defer prune.Stop()
	for {
		more := s.dispatch()
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.dispatchWake:
			// Gather what else comes in the next moment: while texts
			// are sent, changes arrive with every commit, and moving the
			// cursor for each would add a commit per change to the disk's
			// work.
			t := time.NewTimer(dispatchDelay)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		case <-prune.C:
			if _, err := s.db.PruneChanges(10000); err != nil {
				s.log.Error("webhooks: prune the change feed", "err", err)
			}
		}
	}
}

// dispatch turns one batch of changes into deliveries and wakes their
// senders; it reports whether more changes wait.
func (s *Service) dispatch() bool {
	targets, next, more, err := s.db.DispatchChangesFrom(s.read, dispatchBatch)
	s.read = next
	if err != nil {
		s.log.Error("webhooks: dispatch", "err", err)
		return false // the next change or restart tries again
	}
	for _, t := range targets {
		s.kick(t)
	}
	return more
}

// kick wakes target's sender, starting one if none runs.
func (s *Service) kick(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil {
		return // Run starts every pending target
	}
	if wake, ok := s.senders[target]; ok {
		select {
		case wake <- struct{}{}:
		default:
		}
		return
	}
	wake := make(chan struct{}, 1)
	s.senders[target] = wake
	s.wg.Add(1)
	go s.send(s.ctx, target, wake)
}

// idle ends target's sender unless it was woken meanwhile, under the lock
// that kick takes, so no wake-up is lost between the check and the exit.
func (s *Service) idle(target string, wake chan struct{}) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-wake:
		return false
	default:
	}
	delete(s.senders, target)
	return true
}

// sendBatch: deliveries a sender reads at once, and the most successes
// it records with one commit. A crash before that commit sends them again
// (delivery is at least once), so it also bounds the repeats.
const sendBatch = 64

// send delivers target's pending deliveries in order. Successes are
// recorded together, one commit per batch, so a fast receiver is not held
// to the disk's fsync rate; a failure is recorded at once and ends the
// batch, since the next delivery must wait for it.
func (s *Service) send(ctx context.Context, target string, wake chan struct{}) {
	defer s.wg.Done()
	for ctx.Err() == nil {
		ds, err := s.db.PendingDeliveries(target, sendBatch)
		if err != nil {
			s.log.Error("webhooks: read pending deliveries", "target", target, "err", err)
			ds = nil
		}
		var ep store.WebhookEndpoint
		if len(ds) > 0 && ds[0].Endpoint != 0 {
			if ep, err = s.db.WebhookEndpoint(ds[0].Endpoint); err != nil || ep.Paused {
				ds = nil // deleted or paused: Resume kicks it again
			}
		}
		if len(ds) == 0 {
			if s.idle(target, wake) {
				return
			}
			continue
		}
		var done []store.WebhookResult
		var after func()
		for _, d := range ds {
			if wait := d.NextAt.Sub(s.now()); wait > 0 {
				s.flush(target, done)
				done = nil
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
				case <-wake:
				case <-t.C:
				}
				t.Stop()
				break // read again: it may have been replayed, paused, deleted
			}
			r, ok, then := s.attempt(ctx, d, ep)
			if !ok {
				break // shutting down: the attempt does not count
			}
			done = append(done, r)
			if then != nil || r.State == store.DeliveryPending {
				after = then
				break
			}
		}
		s.flush(target, done)
		if after != nil {
			after()
		}
	}
	s.mu.Lock()
	delete(s.senders, target)
	s.mu.Unlock()
}

func (s *Service) flush(target string, rs []store.WebhookResult) {
	if err := s.db.RecordWebhookResults(target, rs); err != nil {
		s.log.Error("webhooks: record attempts", "target", target, "err", err)
	}
}

// attempt makes one try of d and returns its result, false when ctx ended
// the try, and what to do once the result is recorded (a failure's
// alerts and the endpoint's run of failures; a success clearing that run).
func (s *Service) attempt(ctx context.Context, d store.WebhookDelivery, ep store.WebhookEndpoint) (store.WebhookResult, bool, func()) {
	start := s.now()
	req, err := s.build(d, ep, start)
	if errors.Is(err, ErrSkip) {
		return store.WebhookResult{Seq: d.Seq, State: store.DeliverySkipped}, true, nil
	}
	a := store.WebhookAttempt{At: start.UTC()}
	if err == nil {
		a.Status, a.Response, err = s.cfg.Sender.Send(ctx, req.Method, req.URL, req.Header, req.Body, d.AllowPrivate || ep.AllowPrivate)
	}
	if ctx.Err() != nil {
		return store.WebhookResult{}, false, nil
	}
	a.Duration = s.now().Sub(start)
	if err != nil {
		a.Error = err.Error()
	}
	if err == nil && a.Status >= 200 && a.Status < 300 {
		var then func()
		if !ep.FailingSince.IsZero() {
			then = func() { s.clearFailing(ep) }
			ep.FailingSince = time.Time{}
		}
		return store.WebhookResult{Seq: d.Seq, Attempt: &a, State: store.DeliveryDelivered}, true, then
	}
	first := start
	if len(d.Attempts) > 0 {
		first = d.Attempts[0].At
	}
	r := store.WebhookResult{Seq: d.Seq, Attempt: &a, State: store.DeliveryPending, Next: start.Add(s.backoff(len(d.Attempts) + 1))}
	gaveUp := start.Sub(first) >= s.cfg.GiveUpAfter
	if gaveUp {
		r.State, r.Next = store.DeliveryFailed, time.Time{}
	}
	return r, true, func() {
		if gaveUp {
			s.cfg.Notify.RaiseAlert(AlertDeliveryFailed, d.Target,
				fmt.Sprintf("a %s delivery to %s failed for %s and was given up: %s", d.Change.Kind, deliveryURL(d, ep),
					s.cfg.GiveUpAfter, outcome(a)))
		}
		if ep.ID != 0 {
			s.noteFailing(ep, start, a)
		}
	}
}

// backoff is the wait after the n-th failed attempt: full jitter over an
// exponential bound, so receivers coming back are not hit by every box at
// the same instant.
func (s *Service) backoff(n int) time.Duration {
	bound := s.cfg.RetryBase
	for i := 1; i < n && bound < s.cfg.RetryMax; i++ {
		bound *= 2
	}
	bound = min(bound, s.cfg.RetryMax)
	return time.Duration(rand.Int64N(int64(bound) + 1))
}

// noteFailing starts the endpoint's run of failures, or pauses it once the
// run is PauseAfter long.
func (s *Service) noteFailing(ep store.WebhookEndpoint, at time.Time, a store.WebhookAttempt) {
	var paused bool
	_, err := s.db.UpdateWebhookEndpoint(ep.ID, func(e *store.WebhookEndpoint) error {
		if e.FailingSince.IsZero() {
			e.FailingSince = at.UTC()
		}
		if !e.Paused && at.Sub(e.FailingSince) >= s.cfg.PauseAfter {
			e.Paused = true
			e.PausedReason = fmt.Sprintf("paused by the box: every attempt failed since %s (last: %s)",
				e.FailingSince.Format(time.RFC3339), outcome(a))
			paused = true
		}
		return nil
	})
	if err != nil {
		s.log.Error("webhooks: note failure", "endpoint", ep.ID, "err", err)
		return
	}
	if paused {
		s.cfg.Notify.RaiseAlert(AlertEndpointPaused, ep.Target(),
			fmt.Sprintf("webhook endpoint %s was paused: it has failed for %s (%s); resume it in Settings → Webhooks",
				ep.URL, s.cfg.PauseAfter, outcome(a)))
	}
}

func (s *Service) clearFailing(ep store.WebhookEndpoint) {
	if _, err := s.db.UpdateWebhookEndpoint(ep.ID, func(e *store.WebhookEndpoint) error {
		e.FailingSince = time.Time{}
		return nil
	}); err != nil {
		s.log.Error("webhooks: clear failure", "endpoint", ep.ID, "err", err)
	}
}

func outcome(a store.WebhookAttempt) string {
	if a.Error != "" {
		return a.Error
	}
	return "HTTP " + strconv.Itoa(a.Status)
}

func deliveryURL(d store.WebhookDelivery, ep store.WebhookEndpoint) string {
	if d.URL != "" {
		return d.URL
	}
	return ep.URL
}

// build asks the delivery's formatter for the request.
func (s *Service) build(d store.WebhookDelivery, ep store.WebhookEndpoint, now time.Time) (Request, error) {
	format := d.Format
	if d.Endpoint != 0 {
		format = ep.Format
	}
	f, ok := s.format(format)
	if !ok {
		return Request{}, fmt.Errorf("no formatter %q is registered", format)
	}
	fd := Delivery{ID: DeliveryID(d), Change: d.Change, URL: deliveryURL(d, ep), Params: d.Params,
		Secret: ep.Secret, Attempt: len(d.Attempts) + 1, Now: now}
	if d.Change.Kind == store.ChangeMessageStatus {
		if id, err := strconv.ParseUint(d.Change.Subject, 10, 64); err == nil {
			if m, err := s.db.Get(id); err == nil {
				fd.Message = &m
			}
		}
	}
	return f.Format(fd)
}

// DeliveryID is the webhook-id of a delivery: the same at every attempt,
// so a receiver can drop a repeat (delivery is at least once).
func DeliveryID(d store.WebhookDelivery) string { return "msg_" + strconv.FormatUint(d.Seq, 10) }

// standardFormat is the Standard Webhooks request: JSON {type, timestamp,
// data}, signed with the endpoint's secret.
func standardFormat(d Delivery) (Request, error) {
	body, err := json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{d.Change.Kind, d.Change.At.UTC().Format(time.RFC3339Nano), dataOrEmpty(d.Change.Data)})
	if err != nil {
		return Request{}, err
	}
	ts := d.Now.Unix()
	sig, err := Sign(d.Secret, d.ID, ts, body)
	if err != nil {
		return Request{}, err
	}
	h := map[string][]string{
		"Content-Type":      {"application/json"},
		"Webhook-Id":        {d.ID},
		"Webhook-Timestamp": {strconv.FormatInt(ts, 10)},
		"Webhook-Signature": {sig},
	}
	return Request{Method: "POST", URL: d.URL, Header: h, Body: body}, nil
}

func dataOrEmpty(d json.RawMessage) json.RawMessage {
	if len(d) == 0 {
		return json.RawMessage("{}")
	}
	return d
}

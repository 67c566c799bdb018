package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

// IdempotencyScope is the outbox scope of every flow text's key: no API
// client can take or find one.
const IdempotencyScope = "flows"

// Defaults.
const (
	// pageSize bounds what one transaction of the engine reads or writes:
	// a tick with thousands due commits in steps and keeps the console
	// responsive.
	pageSize = 200
	// retryAfter is when an entry whose step failed for a passing reason
	// (the disk, a template service) is tried again.
	retryAfter = time.Minute
	// workers is how many due entries run at once.
	workers = 8
	// EntryRetention is how long an entry that ended is kept (for the
	// console and the GDPR export) before the daily pass deletes it; the
	// counters keep what it did. Half a year covers any attribution window.
	EntryRetention = 180 * 24 * time.Hour
	// maxSleep bounds the scheduler's sleep: new events wake it at once,
	// and this is the net under a wake-up that never came.
	maxSleep = time.Minute
)

// Sender queues a text; *outbox.Queue is one.
type Sender interface {
	Submit(ctx context.Context, r outbox.SubmitRequest) (store.Message, bool, error)
}

// Renderer renders a send step's template for a contact and the event
// that started the entry (nil for other triggers). A rendered text may
// carry marks around its links that Shortener (or Plain) turns into the
// text a phone gets; a marketing render ends with the opt-out line.
type Renderer interface {
	Check(src string, kind store.Kind) error
	Render(src string, kind store.Kind, c store.Contact, trigger *store.ShopEvent) (string, error)
	// Plain is a rendered text with its links as written, for a preview
	// that must store nothing.
	Plain(rendered string) string
}

// Shortener replaces the links of a rendered text by short links that
// record clicks under origin; key is the idempotency key of the text. An
// error wrapping ErrCannotShorten (no public address for the links) or a
// *store.FieldError (a URL it will not shorten) ends the entry with it as
// the reason; any other is retried.

type Shortener interface {
	Shorten(rendered string, kind store.Kind, number, origin, key string) (string, error)
}

// Clicks answers whether the text of origin sent to number was clicked.
type Clicks interface {
	Clicked(number, origin string) (bool, error)
}

// ErrCannotShorten is how a Shortener says no retry will help.
var ErrCannotShorten = errors.New("the text's links cannot be shortened")

// Policy gives the compliance settings (the brand of marketing texts).
type Policy interface {
	Settings() compliance.Settings
}

// Config wires an Engine. DB, Sender, Renderer and Policy are required.
type Config struct {
	DB        *store.DB
	Sender    Sender
	Renderer  Renderer
	Shortener Shortener // nil: links stay as rendered
	Clicks    Clicks    // nil: clicked conditions never hold
	Policy    Policy
	Log       *slog.Logger
	Clock     func() time.Time
	// Zone is the box's zone, for contacts without one and date triggers.
	Zone *time.Location
}

// Engine runs flows: one goroutine (Run) consumes the event log and the
// consent ledger, and runs due entries.
type Engine struct {
	cfg  Config
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}

	mu       sync.Mutex
	defs     map[[2]uint64]*Definition // (flow, version) → definition; versions never change
	outcomes []store.Message           // news from the outbox, applied by Run
	clicks   []string                  // origins clicked, applied by Run
}

// New makes an Engine; Run starts it.
func New(cfg Config) *Engine {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Zone == nil {
		cfg.Zone = time.Local
	}
	return &Engine{cfg: cfg, db: cfg.DB, log: cfg.Log, now: cfg.Clock, wake: make(chan struct{}, 1),
		defs: map[[2]uint64]*Definition{}}
}

// Wake makes Run look at the logs and the due index now.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// EventsAppended is told when the shop's event log grew.
func (e *Engine) EventsAppended(lastSeq uint64) { e.Wake() }

// MessageChanged hears the outbox's news about a text; those of flows are
// recorded in their entries by Run. It never blocks.
func (e *Engine) MessageChanged(m store.Message) {
	if !strings.HasPrefix(m.Origin, "flow:") {
		return
	}
	e.mu.Lock()
	e.outcomes = append(e.outcomes, m)
	e.mu.Unlock()
	e.Wake()
}

// LinkClicked hears that the short link of origin was followed.
func (e *Engine) LinkClicked(origin string) {
	if !strings.HasPrefix(origin, "flow:") {
		return
	}
	e.mu.Lock()
	e.clicks = append(e.clicks, origin)
	e.mu.Unlock()
	e.Wake()
}

// Origin names what a flow's text came from, on the message and its links.
func Origin(flow, entry uint64, step int) string {
	return fmt.Sprintf("flow:%d:entry:%d:step:%d", flow, entry, step)
}

// Key is the idempotency key of a flow's text.
func Key(flow, entry uint64, step int) string {
	return fmt.Sprintf("flow:%d:%d:%d", flow, entry, step)
}

// parseOrigin reads Origin back.
func parseOrigin(o string) (flow, entry uint64, step int, ok bool) {
	p := strings.Split(o, ":")
	if len(p) != 6 || p[0] != "flow" || p[2] != "entry" || p[4] != "step" {
		return 0, 0, 0, false
	}
	f, err1 := strconv.ParseUint(p[1], 10, 64)
	en, err2 := strconv.ParseUint(p[3], 10, 64)
	s, err3 := strconv.Atoi(p[5])
	return f, en, s, err1 == nil && err2 == nil && err3 == nil
}

// definition returns a flow version's definition, cached.
func (e *Engine) definition(flow uint64, version int) (*Definition, error) {
	k := [2]uint64{flow, uint64(version)}
	e.mu.Lock()
	d := e.defs[k]
	e.mu.Unlock()
	if d != nil {
		return d, nil
	}
	v, err := e.db.GetFlowVersion(flow, version)
	if err != nil {
		return nil, err
	}
	def, err := Decode(v.Definition)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.defs[k] = &def
	e.mu.Unlock()
	return &def, nil
}

// Run consumes the logs and runs due entries until ctx is done. Before
// anything else it catches up with the outcomes of texts it handed to the
// outbox before a stop.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.catchUpOutcomes(); err != nil {
		e.log.Error("flows: read the outcome of earlier texts", "err", err)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		busy, err := e.Tick(ctx)
		if err != nil {
			e.log.Error("flows: tick", "err", err)
		}
		if busy && err == nil {
			continue
		}
		wait := maxSleep
		if err != nil {
			wait = retryAfter
		} else if next, ok := e.nextWake(); ok {
			wait = min(max(next.Sub(e.now()), 0), maxSleep)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// nextWake is when the earliest waiting entry is due, or the next day's
// date triggers.
func (e *Engine) nextWake() (time.Time, bool) {
	next, ok, err := e.db.NextFlowDue()
	if err != nil {
		return e.now().Add(retryAfter), true
	}
	if day := e.nextDateRun(); !ok || day.Before(next) {
		return day, true
	}
	return next, ok
}

// Tick does one round of work: the logs, the outbox's news, the due
// entries (a page of each). busy reports that more is waiting.
func (e *Engine) Tick(ctx context.Context) (busy bool, err error) {
	more, err := e.consume()
	if err != nil {
		return false, fmt.Errorf("consume logs: %w", err)
	}
	busy = busy || more
	if err := e.runDates(); err != nil {
		return false, fmt.Errorf("date triggers: %w", err)
	}
	e.applyNews()
	due, err := e.db.DueFlowEntries(e.now(), pageSize)
	if err != nil {
		return false, err
	}
	// Entries are independent, so a few run side by side and share the
	// store's commits: with one at a time every step would wait for its own
	// fsync.
	work := make(chan store.FlowEntry)
	var wg sync.WaitGroup
	for range min(workers, len(due)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for en := range work {
				e.runEntry(ctx, en)
			}
		}()
	}
	for _, en := range due {
		if ctx.Err() != nil {
			break
		}
		work <- en
	}
	close(work)
	wg.Wait()
	return busy || len(due) == pageSize, nil
}

// consume reads a page of the event log and of the consent ledger and
// commits what they start and end with the cursors.
func (e *Engine) consume() (more bool, err error) {
	evCursor, conCursor, _, err := e.db.FlowCursors()
	if err != nil {
		return false, err
	}
	events, err := e.db.EventsAfter(evCursor, pageSize)
	if err != nil {
		return false, err
	}
	consents, err := e.db.ConsentEventsAfter(conCursor, pageSize)
	if err != nil {
		return false, err
	}
	if len(events) == 0 && len(consents) == 0 {
		return false, nil
	}
	flows, err := e.activeFlows()
	if err != nil {
		return false, err
	}
	var b store.FlowBatch
	for i := range events {
		ev := &events[i]
		b.EventCursor = ev.Seq
		for _, f := range flows {
			if en, ok := e.enterOnEvent(f, ev); ok {
				b.Enter = append(b.Enter, en)
			}
		}
		if ev.Type == "order_placed" {
			b.Orders = append(b.Orders, store.FlowOrder{Number: ev.Number, ExitKeys: ev.Ends, Seq: ev.Seq, OrderID: ev.OrderID})
		}
	}
	for _, c := range consents {
		b.ConsentCursor = c.ID
		switch {
		case c.Type == store.EventOptOut || c.Type == store.EventErasure:
			b.Exits = append(b.Exits, store.FlowNumberExit{Number: c.Number, Reason: "the contact opted out"})
		case c.Type == store.EventOptIn || c.Type == store.EventDOIConfirm:
			if c.Type == store.EventOptIn {
				// A single opt-in confirms at once; a double opt-in's
				// request waits for the YES, which comes as doi_confirm.
				cs, err := e.db.Consent(c.Number)
				if err != nil {
					return false, err
				}
				if cs.Marketing != store.MarketingConfirmed {
					continue
				}
			}
			for _, f := range flows {
				if f.def.Trigger.Kind == TriggerOptedIn && !c.At.Before(f.flow.CreatedAt) {
					b.Enter = append(b.Enter, e.newEntry(f, c.Number, "number:"+c.Number, nil))
				}
			}
		}
	}
	if _, err := e.db.CommitFlowBatch(b); err != nil {
		return false, err
	}
	return len(events) == pageSize || len(consents) == pageSize, nil
}

type activeFlow struct {
	flow store.Flow
	def  *Definition
}

// activeFlows lists the flows that take new entries, with the definition
// new entries get.
func (e *Engine) activeFlows() ([]activeFlow, error) {
	all, err := e.db.Flows()
	if err != nil {
		return nil, err
	}
	var out []activeFlow
	for _, f := range all {
		if f.Status != store.FlowActive {
			continue
		}
		def, err := e.definition(f.ID, f.Version)
		if err != nil {
			return nil, err
		}
		out = append(out, activeFlow{f, def})
	}
	return out, nil
}

// enterOnEvent makes the entry ev starts in f, if it starts one.
func (e *Engine) enterOnEvent(f activeFlow, ev *store.ShopEvent) (store.FlowEntry, bool) {
	t := &f.def.Trigger
	if t.Kind != TriggerEvent || t.Event != ev.Type || !matches(ev, t.Filter) {
		return store.FlowEntry{}, false
	}
	if ev.ReceivedAt.Before(f.flow.CreatedAt) {
		// The log holds the shop's past: a flow made today does not text
		// last month's carts.
		return store.FlowEntry{}, false
	}
	if t.MinCount > 1 {
		n, err := e.db.CountEventsOf(ev.Number, ev.Type, ev.OccurredAt.Add(-time.Duration(t.Within)), ev.OccurredAt.Add(time.Nanosecond))
		if err != nil || n < t.MinCount {
			return store.FlowEntry{}, false
		}
	}
	var key string
	switch {
	case t.PerContact:
		key = "number:" + ev.Number
	case ev.CheckoutID != "" && f.def.hasCheckout():
		key = checkoutKey(ev)
	case ev.OrderID != "":
		key = "order:" + ev.Source + ":" + ev.OrderID
	default:
		key = "event:" + strconv.FormatUint(ev.Seq, 10)
	}
	en := e.newEntry(f, ev.Number, key, ev)
	en.EventSeq = ev.Seq
	// Waits count from when the box heard of the event, not from the
	// shop's clock, and not from when this engine got round to it.
	en.EnteredAt, en.DueAt = ev.ReceivedAt, ev.ReceivedAt
	if ev.CheckoutID != "" && f.def.hasCheckout() {
		en.ExitKey = checkoutKey(ev)
	}
	return en, true
}

// checkoutKey is the exit key of a checkout event, as the part that
// accepts orders writes it into ShopEvent.Ends.
func checkoutKey(ev *store.ShopEvent) string {
	return "checkout:" + ev.Source + ":" + ev.CheckoutID
}

func (e *Engine) newEntry(f activeFlow, number, key string, ev *store.ShopEvent) store.FlowEntry {
	now := e.now()
	en := store.FlowEntry{Flow: f.flow.ID, Version: f.flow.Version, Number: number, Key: key,
		ReenterAfter: time.Duration(f.def.Trigger.ReenterAfter), ExitOnOrder: f.def.Exit.OnOrder == "contact",
		EnteredAt: now, DueAt: now}
	if ev != nil {
		en.Trigger, _ = json.Marshal(ev)
	}
	return en
}

// triggerEvent decodes the event an entry started with, nil for none.
func triggerEvent(en *store.FlowEntry) *store.ShopEvent {
	if len(en.Trigger) == 0 {
		return nil
	}
	var ev store.ShopEvent
	if json.Unmarshal(en.Trigger, &ev) != nil {
		return nil
	}
	return &ev
}

// errEnd ends an entry with a reason: a condition that failed, a rule that
// forbids the text.
type errEnd struct{ reason string }

func (e errEnd) Error() string { return e.reason }

func endWith(format string, args ...any) error { return errEnd{fmt.Sprintf(format, args...)} }

// runEntry advances one due entry as far as it goes now: through
// conditions and sends, to the next wait or its end. It works on a copy
// and writes when it must: before a text is handed to the outbox (the
// submitting mark), and where it stops. A sent text therefore costs three
// commits (the mark, the outbox's, the entry's next state).
func (e *Engine) runEntry(ctx context.Context, en store.FlowEntry) {
	f, err := e.db.GetFlow(en.Flow)
	if err != nil {
		e.log.Error("flows: read flow", "flow", en.Flow, "err", err)
		e.retryLater(en.ID)
		return
	}
	if f.Status == store.FlowPaused {
		_, err := e.db.UpdateFlowEntry(en.ID, func(x *store.FlowEntry) error {
			if x.State == store.EntryWaiting {
				x.State = store.EntryPaused
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.log.Error("flows: park entry", "entry", en.ID, "err", err)
		}
		return
	}
	def, err := e.definition(en.Flow, en.Version)
	if err != nil {
		e.finish(en.ID, store.EntryExited, "its flow version can no longer be read: "+err.Error())
		return
	}
	// A send found marked submitting was interrupted (a crash, a stop):
	// only then can its text already be in the outbox.
	var interrupted *store.FlowStepRecord
	if r := en.Record(en.Step); r != nil && r.State == store.StepSubmitting {
		interrupted = r
	}
	saved := en
	err = e.walk(ctx, def, &en, &saved, interrupted != nil)
	var end errEnd
	switch {
	case errors.As(err, &end):
		en.State, en.Reason = store.EntryExited, end.reason
		if _, err := e.save(saved, en); err != nil && !errors.Is(err, store.ErrNotFound) {
			e.log.Error("flows: end entry", "entry", en.ID, "err", err)
		}
	case errors.Is(err, store.ErrNotFound):
		// Erased meanwhile.
	case err != nil:
		e.log.Error("flows: run step", "entry", en.ID, "step", en.Step, "err", err)
		e.retryLater(en.ID)
	}
}

// walk runs en's steps in memory from its current one until it waits or
// ends, writing through save where it must; saved is the entry as last
// written. recover says the current step is a send interrupted after its
// submitting mark.
func (e *Engine) walk(ctx context.Context, def *Definition, en, saved *store.FlowEntry, recover bool) error {
	for {
		if ctx.Err() != nil {
			return e.commit(saved, en)
		}
		i := en.Step
		if i >= len(def.Steps) {
			en.State, en.Reason = store.EntryDone, "all steps done"
			return e.commit(saved, en)
		}
		s := def.Steps[i]
		now := e.now()
		switch {
		case s.Wait != nil:
			if en.StepDue.IsZero() {
				en.StepDue = e.waitEnd(s.Wait, *en, now)
			}
			if en.StepDue.After(now) {
				en.DueAt = en.StepDue
				return e.commit(saved, en)
			}
			en.Steps = append(en.Steps, store.FlowStepRecord{Step: i, Kind: "wait", At: now, State: store.StepWaited})
			en.Step, en.StepDue = i+1, time.Time{}
		case s.Condition != nil:
			ok, why, err := e.holds(def, s.Condition, en)
			if err != nil {
				return err
			}
			if !ok {
				return endWith("steps[%d] condition %s did not hold: %s", i, s.Condition.Kind, why)
			}
			en.Steps = append(en.Steps, store.FlowStepRecord{Step: i, Kind: "condition", At: now, State: store.StepPassed, Note: why})
			en.Step++
		case s.Send != nil:
			if err := e.send(ctx, def, en, saved, i, s.Send, recover); err != nil {
				return err
			}
			recover = false
		default:
			return endWith("steps[%d] is empty", i)
		}
	}
}

// errMoved: the stored entry is not where this run found it.
var errMoved = errors.New("flows: the entry changed meanwhile")

// save writes en over the stored entry, which must still be as saved
// left it (same step and state); it returns the entry as stored.
func (e *Engine) save(saved, en store.FlowEntry) (store.FlowEntry, error) {
	return e.db.UpdateFlowEntry(en.ID, func(x *store.FlowEntry) error {
		if x.Step != saved.Step || x.State != saved.State || len(x.Steps) != len(saved.Steps) {
			return errMoved
		}
		x.Step, x.StepDue, x.DueAt, x.State, x.Reason = en.Step, en.StepDue, en.DueAt, en.State, en.Reason
		x.Steps, x.LastSentAt = en.Steps, en.LastSentAt
		return nil
	})
}

// commit saves en and makes it the saved state.
func (e *Engine) commit(saved, en *store.FlowEntry) error {
	out, err := e.save(*saved, *en)
	if err != nil {
		return err
	}
	*saved, *en = out, out
	return nil
}

// eventsSince counts the contact's events of typ that came after the
// entry's trigger: later in the log than the trigger event, or, for an
// entry not started by an event, that occurred after it entered.
func (e *Engine) eventsSince(en *store.FlowEntry, typ string) (int, error) {
	since := en.EnteredAt
	if ev := triggerEvent(en); ev != nil && ev.OccurredAt.Before(since) {
		since = ev.OccurredAt
	}
	evs, err := e.db.EventsOf(en.Number, typ, since)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range evs {
		if en.EventSeq != 0 && ev.Seq <= en.EventSeq {
			continue
		}
		if en.EventSeq == 0 && ev.ReceivedAt.Before(en.EnteredAt) {
			continue
		}
		n++
	}
	return n, nil
}

// send runs a send step on en. It writes the step as submitting (with
// the text) before handing it to the outbox; after, the record says
// submitted and the entry moves on in memory. Found submitting at the
// next run (recover: a crash in between), it looks the text up by its key
// and submits only if the outbox never stored it.
func (e *Engine) send(ctx context.Context, def *Definition, en, saved *store.FlowEntry, i int, s *Send, recover bool) error {
	key := Key(en.Flow, en.ID, i)
	origin := Origin(en.Flow, en.ID, i)
	var m store.Message
	found := false
	if recover {
		var err error
		if m, found, err = e.db.MessageByKey(IdempotencyScope, key, en.Number); err != nil {
			return err
		}
	} else {
		text, err := e.compose(def, *en, s, key, origin)
		if err != nil {
			return err
		}
		en.Steps = append(en.Steps, store.FlowStepRecord{Step: i, Kind: "send", At: e.now(), State: store.StepSubmitting, Key: key, Note: text})
		if err := e.commit(saved, en); err != nil {
			return err
		}
	}
	rec := en.Record(i)
	if !found {
		var err error
		m, _, err = e.cfg.Sender.Submit(ctx, outbox.SubmitRequest{To: en.Number, Text: rec.Note, Kind: s.kind(),
			IdempotencyKey: key, IdempotencyScope: IdempotencyScope, ExitKey: en.ExitKey, Origin: origin})
		var fe *store.FieldError
		if errors.As(err, &fe) {
			return endWith("steps[%d] send: the outbox refused the text: %v", i, err)
		}
		if err != nil {
			return err
		}
	}
	rec.State, rec.MessageID = store.StepSubmitted, m.ID
	applyOutcome(rec, m)
	en.LastSentAt = m.CreatedAt
	en.Step++
	return nil
}

// waitEnd is when a wait step that starts now ends. The first step's wait
// counts from the entry's start.
func (e *Engine) waitEnd(w *Wait, en store.FlowEntry, now time.Time) time.Time {
	base := now
	if en.Step == 0 {
		base = en.EnteredAt
	}
	t := base.Add(time.Duration(w.For))
	if w.Until != "" {
		t = nextTimeOfDay(t, w.Until, e.zoneOf(en.Number))
	}
	return t
}

// zoneOf is the contact's zone, or the box's.
func (e *Engine) zoneOf(number string) *time.Location {
	if c, err := e.db.ContactByNumber(number); err == nil && c.TimeZone != "" {
		if loc := compliance.LoadZone(c.TimeZone); loc != nil {
			return loc
		}
	}
	return e.cfg.Zone
}

// holds evaluates a condition for the entry; why says what was found.
func (e *Engine) holds(def *Definition, c *Condition, en *store.FlowEntry) (bool, string, error) {
	ev := triggerEvent(en)
	switch c.Kind {
	case CondNoOrder:
		if (c.Scope == "checkout" || c.Scope == "") && en.ExitKey != "" {
			if mark, ok, err := e.db.ExitMarked(en.ExitKey); err != nil {
				return false, "", err
			} else if ok {
				return false, mark.Reason, nil
			}
			if c.Scope == "checkout" {
				return true, "no order for the checkout", nil
			}
		}
		n, err := e.eventsSince(en, "order_placed")
		if err != nil {
			return false, "", err
		}
		if n > 0 {
			return false, fmt.Sprintf("the contact placed %d order(s) since", n), nil
		}
		return true, "no order since the trigger", nil
	case CondNoEvent:
		n, err := e.eventsSince(en, c.Event)
		if err != nil {
			return false, "", err
		}
		if n > 0 {
			return false, fmt.Sprintf("%d %s since the trigger", n, c.Event), nil
		}
		return true, "no " + c.Event + " since the trigger", nil
	case CondCartTotal:
		if ev == nil {
			return false, "the entry has no cart", nil
		}
		return ev.Total >= c.Amount, fmt.Sprintf("total %d, needs %d", ev.Total, c.Amount), nil
	case CondHasTag, CondNotTag:
		has := false
		if ct, err := e.db.ContactByNumber(en.Number); err == nil {
			for _, t := range ct.Tags {
				if strings.EqualFold(t, c.Tag) {
					has = true
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return false, "", err
		}
		if c.Kind == CondHasTag {
			return has, fmt.Sprintf("tag %s: %v", c.Tag, has), nil
		}
		return !has, fmt.Sprintf("tag %s: %v", c.Tag, has), nil
	case CondClicked, CondNotClicked:
		prev := -1
		for j := en.Step - 1; j >= 0; j-- {
			if def.Steps[j].Send != nil {
				prev = j
				break
			}
		}
		clicked := false
		if r := en.Record(prev); r != nil && r.Clicked {
			clicked = true
		} else if e.cfg.Clicks != nil && prev >= 0 {
			var err error
			if clicked, err = e.cfg.Clicks.Clicked(en.Number, Origin(en.Flow, en.ID, prev)); err != nil {
				return false, "", err
			}
		}
		if c.Kind == CondClicked {
			return clicked, fmt.Sprintf("clicked: %v", clicked), nil
		}
		return !clicked, fmt.Sprintf("clicked: %v", clicked), nil
	}
	return false, "unknown condition", nil
}

// compose checks what forbids the text and renders it. An errEnd ends the
// entry with the reason.
func (e *Engine) compose(def *Definition, en store.FlowEntry, s *Send, key, origin string) (string, error) {
	if en.ExitKey != "" {
		if mark, ok, err := e.db.ExitMarked(en.ExitKey); err != nil {
			return "", err
		} else if ok {
			return "", endWith("%s", mark.Reason)
		}
	}
	cs, err := e.db.Consent(en.Number)
	if err != nil {
		return "", err
	}
	if cs.OptedOutAll || (s.Kind == "marketing" && cs.Marketing == store.MarketingOptedOut) {
		return "", endWith("the contact opted out")
	}
	if def.IsCartReminder() && (cs.Marketing != store.MarketingConfirmed || !cs.CartReminders) {
		// R-DOI: abandonment reminders need confirmed consent to them;
		// the guard does not know a text is one, so the flow checks.
		return "", endWith("no confirmed consent to cart reminders (R-DOI)")
	}
	contact, err := e.db.ContactByNumber(en.Number)
	if errors.Is(err, store.ErrNotFound) {
		contact = store.Contact{Number: en.Number}
	} else if err != nil {
		return "", err
	}
	text, err := e.cfg.Renderer.Render(s.Template, s.kind(), contact, triggerEvent(&en))
	if err != nil {
		return "", endWith("steps[%d] send: the template did not render: %v", en.Step, err)
	}
	if e.cfg.Shortener != nil && origin != "" {
		if text, err = e.cfg.Shortener.Shorten(text, s.kind(), en.Number, origin, key); err != nil {
			var fe *store.FieldError
			if errors.Is(err, ErrCannotShorten) || errors.As(err, &fe) {
				return "", endWith("steps[%d] send: %v", en.Step, err)
			}
			return "", err
		}
	} else {
		text = e.cfg.Renderer.Plain(text)
	}
	if s.Kind == "marketing" {
		text = e.withBrand(text)
	}
	if strings.TrimSpace(text) == "" {
		return "", endWith("steps[%d] send: the template rendered an empty text", en.Step)
	}
	return text, nil
}

// withBrand starts a marketing text with the brand (R-ID), as the outbox
// requires, when the template did not.
func (e *Engine) withBrand(text string) string {
	brand := e.cfg.Policy.Settings().Brand
	if brand == "" || strings.HasPrefix(strings.ToLower(text), strings.ToLower(brand)) {
		return text
	}
	return brand + ": " + text
}

// applyOutcome copies a text's state into its step record.
func applyOutcome(r *store.FlowStepRecord, m store.Message) {
	r.Status, r.Hold = m.Status.String(), m.Hold
	if m.Status == store.StatusSuppressed || m.Status == store.StatusExpired || m.Status == store.StatusFailed {
		r.Note = m.Error
		if r.Note == "" && len(m.History) > 0 {
			r.Note = m.History[len(m.History)-1].Note
		}
	}
	if m.Status == store.StatusSent || m.Status == store.StatusDelivered {
		r.Sent = true
	}
	r.Final = m.Status.Final()
}

// finish ends an entry.
func (e *Engine) finish(id uint64, state store.EntryState, reason string) {
	_, err := e.db.UpdateFlowEntry(id, func(x *store.FlowEntry) error {
		if !x.State.Active() {
			return nil
		}
		x.State, x.Reason = state, reason
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("flows: end entry", "entry", id, "err", err)
	}
}

// retryLater moves an entry whose step failed for a passing reason a
// minute back, so one broken entry cannot spin the scheduler.
func (e *Engine) retryLater(id uint64) {
	_, err := e.db.UpdateFlowEntry(id, func(x *store.FlowEntry) error {
		x.DueAt = e.now().Add(retryAfter)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("flows: reschedule entry", "entry", id, "err", err)
	}
}

// applyNews records the outbox's news and the clicks heard since the last
// round in the entries.
func (e *Engine) applyNews() {
	e.mu.Lock()
	outcomes, clicks := e.outcomes, e.clicks
	e.outcomes, e.clicks = nil, nil
	e.mu.Unlock()
	for _, m := range outcomes {
		e.recordOutcome(m)
	}
	for _, o := range clicks {
		_, entry, step, ok := parseOrigin(o)
		if !ok {
			continue
		}
		_, err := e.db.UpdateFlowEntry(entry, func(x *store.FlowEntry) error {
			if r := x.Record(step); r != nil {
				r.Clicked = true
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.log.Error("flows: record click", "origin", o, "err", err)
		}
	}
}

// recordOutcome copies a text's state into its entry.
func (e *Engine) recordOutcome(m store.Message) {
	_, entry, step, ok := parseOrigin(m.Origin)
	if !ok {
		return
	}
	_, err := e.db.UpdateFlowEntry(entry, func(x *store.FlowEntry) error {
		r := x.Record(step)
		if r == nil || r.MessageID != m.ID || r.Final {
			return nil
		}
		applyOutcome(r, m)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("flows: record outcome", "message", m.ID, "err", err)
	}
}

// catchUpOutcomes reads the texts whose outcome the entries have not
// recorded as final: news the outbox gave while the box was going down.
func (e *Engine) catchUpOutcomes() error {
	pending, err := e.db.PendingFlowSends()
	if err != nil {
		return err
	}
	for id := range pending {
		m, err := e.db.Get(id)
		if err != nil {
			continue
		}
		e.recordOutcome(m)
	}
	return nil
}

// nextDateRun is when the date triggers run next: the next midnight in
// the box's zone.
func (e *Engine) nextDateRun() time.Time {
	n := e.now().In(e.cfg.Zone)
	return time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, e.cfg.Zone)
}

// runDates starts the entries of date triggers once a day: every contact
// whose date attribute falls on today (the box's day) enters.
func (e *Engine) runDates() error {
	today := e.now().In(e.cfg.Zone).Format("2006-01-02")
	_, _, last, err := e.db.FlowCursors()
	if err != nil || last == today {
		return err
	}
	flows, err := e.activeFlows()
	if err != nil {
		return err
	}
	var dated []activeFlow
	for _, f := range flows {
		if f.def.Trigger.Kind == TriggerDate {
			dated = append(dated, f)
		}
	}
	b := store.FlowBatch{DateRun: today}
	n := e.now().In(e.cfg.Zone)
	midnight := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, e.cfg.Zone)
	if len(dated) > 0 {
		mmdd := today[5:]
		err := e.db.EachContact(func(c store.Contact) error {
			for _, f := range dated {
				v := strings.TrimSpace(c.Attributes[f.def.Trigger.Attribute])
				if len(v) >= 5 && v[len(v)-5:] == mmdd {
					en := e.newEntry(f, c.Number, "number:"+c.Number+":"+today[:4], nil)
					// The day's waits ("until 10:00") count from its start,
					// however late the box got round to it.
					en.EnteredAt = midnight
					b.Enter = append(b.Enter, en)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if _, err = e.db.CommitFlowBatch(b); err != nil {
		return err
	}
	// Once a day, too, the entries that ended long ago go, a page per
	// transaction.
	for {
		n, err := e.db.PruneFlowEntries(e.now().Add(-EntryRetention), pageSize)
		if err != nil || n < pageSize {
			return err
		}
	}
}

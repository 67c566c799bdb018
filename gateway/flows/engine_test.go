package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

const anne = "+12015550123"

// clock is a settable time source shared by the store, the outbox and the
// engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// quiet is the outbox's live side, which these tests do not watch.
type quiet struct{}

func (quiet) MessageChanged(store.Message)    {}
func (quiet) InboundReceived(store.Inbound)   {}
func (quiet) ModemChanged(outbox.ModemStatus) {}
func (quiet) RaiseAlert(_, _, _ string)       {}
func (quiet) ClearAlert(_, _ string)          {}

// templates renders with the box's template language, as the facade
// wires it.
type templates struct{}

func (templates) Check(src string, kind store.Kind) error {
	_, err := msgtemplate.ParseKind(src, kind)
	return err
}

func (templates) Render(src string, kind store.Kind, c store.Contact, ev *store.ShopEvent) (string, error) {
	t, err := msgtemplate.ParseKind(src, kind)
	if err != nil {
		return "", err
	}
	vars := msgtemplate.ContactVars(c)
	if ev != nil {
		maps.Copy(vars, msgtemplate.EventVars(*ev))
	}
	return t.Render(vars)
}

func (templates) Plain(s string) string { return msgtemplate.Plain(s) }

// shortener is the links service, recording the origins it made links
// for.
type shortener struct {
	links   *links.Service
	mu      sync.Mutex
	origins []string
}

func (s *shortener) Shorten(text string, kind store.Kind, number, origin, key string) (string, error) {
	s.mu.Lock()
	s.origins = append(s.origins, origin)
	s.mu.Unlock()
	out, err := s.links.Shorten(text, links.Owner{Number: number, Origin: origin, MessageKey: key, Kind: kind})
	if errors.Is(err, links.ErrNoBaseURL) {
		return "", fmt.Errorf("%w: %v", ErrCannotShorten, err)
	}
	return out, err
}

type rig struct {
	t      testing.TB
	clk    *clock
	db     *store.DB
	queue  *outbox.Queue
	policy *consent.Policy
	short  *shortener
	eng    *Engine
	seq    int
}

func newRig(t testing.TB) *rig {
	t.Helper()
	// 14:00 in New York: inside the quiet-hours window.
	clk := &clock{t: time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := store.Open(path, store.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &rig{t: t, clk: clk, db: db, short: &shortener{links: links.New(links.Config{DB: db, BaseURL: "https://s.example", Clock: clk.now})}}
	r.policy, err = consent.LoadPolicy(db, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	s := r.policy.Settings()
	s.Brand, s.SupportContact, s.Frequency = "Acme", "help@acme.example", "up to 4 msgs/month"
	if err := r.policy.Save(s, "test"); err != nil {
		t.Fatal(err)
	}
	r.queue = outbox.New(outbox.Config{DB: db, Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: clk.now, Policy: r.policy, Notify: quiet{}})
	r.start()
	return r
}

// start makes a new engine over the same file, as a restart does.
func (r *rig) start() {
	r.eng = New(Config{DB: r.db, Sender: r.queue, Renderer: templates{}, Shortener: r.short, Clicks: r.short.links, Policy: r.policy,
		Clock: r.clk.now, Zone: time.UTC})
}

func (r *rig) tick() {
	r.t.Helper()
	for {
		busy, err := r.eng.Tick(context.Background())
		if err != nil {
			r.t.Fatal(err)
		}
		if !busy {
			return
		}
	}
}

// optIn records confirmed marketing consent, with cart reminders when cart.
func (r *rig) optIn(number string, cart bool) {
	r.t.Helper()
	if _, err := r.db.CreateContact(store.Contact{Number: number, Name: "Anne Smith", TimeZone: "America/New_York"}); err != nil && !errors.Is(err, store.ErrExists) {
		r.t.Fatal(err)
	}
	_, _, _, err := r.db.AppendConsent(store.ConsentEvent{Number: number, Type: store.EventOptIn, Purpose: store.PurposeMarketing, Method: store.MethodAPI, Source: "test"},
		func(c *store.Consent) error {
			c.Marketing, c.CartReminders, c.ConfirmedAt = store.MarketingConfirmed, cart, r.clk.now()
			return nil
		})
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) event(typ, number, checkout string, ends ...string) store.ShopEvent {
	r.t.Helper()
	r.seq++
	ev := store.ShopEvent{ID: fmt.Sprint("ev", r.seq), Source: "shopify", Type: typ, Number: number, OccurredAt: r.clk.now(),
		CheckoutID: checkout, Total: 4200, Currency: "USD", Ends: ends,
		Properties: json.RawMessage(`{"items":[{"name":"Blue mug","price":4200,"quantity":1}],"resume_url":"https://shop.example/r/` + checkout + `"}`)}
	if typ == "order_placed" {
		ev.OrderID = "o" + checkout
	}
	out, err := r.db.AppendEvents([]store.ShopEvent{ev})
	if err != nil {
		r.t.Fatal(err)
	}
	return out[0]
}

func (r *rig) preset(name string, o PresetOptions) Info {
	r.t.Helper()
	in, err := r.eng.EnablePreset(name, o)
	if err != nil {
		r.t.Fatal(err)
	}
	return in
}

func (r *rig) messages() []store.Message {
	r.t.Helper()
	ms, _, err := r.db.List(store.ListFilter{Limit: 500})
	if err != nil {
		r.t.Fatal(err)
	}
	return ms
}

func (r *rig) entries(flow uint64) []store.FlowEntry {
	r.t.Helper()
	es, _, err := r.eng.Entries(flow, 0, 500)
	if err != nil {
		r.t.Fatal(err)
	}
	return es
}

func TestAbandonedCartSendsOnceAfterTheDelay(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c1")
	r.tick()
	if n := len(r.messages()); n != 0 {
		t.Fatalf("%d texts before the delay", n)
	}
	es := r.entries(f.Flow.ID)
	if len(es) != 1 || es[0].State != store.EntryWaiting || !es[0].DueAt.Equal(es[0].EnteredAt.Add(time.Hour)) {
		t.Fatalf("entries %+v, want one waiting an hour", es)
	}
	// A checkout_updated of the same checkout does not enter again.
	r.event("checkout_started", anne, "c1")
	r.clk.add(time.Hour)
	r.tick()
	r.tick()
	ms := r.messages()
	if len(ms) != 1 {
		t.Fatalf("%d texts after the delay, want 1", len(ms))
	}
	m := ms[0]
	if !strings.HasPrefix(m.Text, "Acme: Hi Anne, you left Blue mug in your cart") || !strings.Contains(m.Text, "https://s.example/l/") {
		t.Errorf("text %q", m.Text)
	}
	if m.ExitKey != "checkout:shopify:c1" || m.Kind != store.KindMarketing || m.IdempotencyScope != IdempotencyScope {
		t.Errorf("message exit key %q kind %s scope %q", m.ExitKey, m.Kind, m.IdempotencyScope)
	}
	want := Origin(f.Flow.ID, es[0].ID, 2)
	if m.Origin != want || len(r.short.origins) != 1 || r.short.origins[0] != want {
		t.Errorf("origin %q, links %v; want %q", m.Origin, r.short.origins, want)
	}
	es = r.entries(f.Flow.ID)
	if es[0].State != store.EntryDone || es[0].Steps[2].MessageID != m.ID || es[0].Steps[2].State != store.StepSubmitted {
		t.Errorf("entry after the send %+v", es[0])
	}
	c := r.counters(f.Flow.ID)
	if c.Entered != 1 || c.Waiting != 0 {
		t.Errorf("counters %+v", c)
	}
	// The outbox's news reaches the entry and the counters.
	sent, err := r.db.Update(m.ID, func(m *store.Message) error { m.Status = store.StatusSent; return nil })
	if err != nil {
		t.Fatal(err)
	}
	r.eng.MessageChanged(sent)
	r.eng.LinkClicked(want)
	r.tick()
	if c := r.counters(f.Flow.ID); c.Sent != 1 || c.Clicked != 1 {
		t.Errorf("counters after sent and clicked %+v", c)
	}
	// Which text earned an order is attribution's (gateway/attribution),
	// as for every text: the flow's own counters leave it alone.
	r.event("order_placed", anne, "c1", "checkout:shopify:c1")
	r.tick()
	if c := r.counters(f.Flow.ID); c.Orders != 0 || c.Sent != 1 {
		t.Errorf("counters after the order %+v", c)
	}
}

func (r *rig) counters(flow uint64) store.FlowCounters {
	r.t.Helper()
	c, err := r.db.GetFlowCounters(flow)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func TestAbandonedCartOrderBeforeTheDelay(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{SecondText: true})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c2")
	r.tick()
	r.clk.add(10 * time.Minute)
	r.event("order_placed", anne, "c2", "checkout:shopify:c2")
	r.tick()
	r.clk.add(48 * time.Hour)
	r.tick()
	if n := len(r.messages()); n != 0 {
		t.Fatalf("%d texts for a checkout that became an order", n)
	}
	es := r.entries(f.Flow.ID)
	if es[0].State != store.EntryExited || es[0].Reason != "order oc2 placed" {
		t.Errorf("entry %s: %q", es[0].State, es[0].Reason)
	}
}

func TestSecondTextStopsOnPurchase(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{SecondText: true, DiscountCode: "SAVE5"})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c3")
	r.tick()
	r.clk.add(time.Hour)
	r.tick()
	if n := len(r.messages()); n != 1 {
		t.Fatalf("%d texts after an hour, want 1", n)
	}
	r.clk.add(2 * time.Hour)
	r.event("order_placed", anne, "c3", "checkout:shopify:c3")
	r.clk.add(24 * time.Hour)
	r.tick()
	if n := len(r.messages()); n != 1 {
		t.Fatalf("%d texts: the second went after the order", n)
	}
	if es := r.entries(f.Flow.ID); es[0].State != store.EntryExited {
		t.Errorf("entry %s, want exited", es[0].State)
	}
}

func TestCartReminderNeedsCartConsent(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, false)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c4")
	r.clk.add(time.Hour)
	r.tick()
	r.tick()
	if n := len(r.messages()); n != 0 {
		t.Fatalf("%d texts without consent to cart reminders", n)
	}
	if es := r.entries(f.Flow.ID); !strings.Contains(es[0].Reason, "R-DOI") {
		t.Errorf("reason %q", es[0].Reason)
	}
}

// A crash between marking a send submitting and recording it submitted:
// whether or not the outbox stored the text, the next run sends it once.
func TestCrashMidSendSendsOnce(t *testing.T) {
	for _, stored := range []bool{true, false} {
		t.Run(fmt.Sprint("stored=", stored), func(t *testing.T) {
			r := newRig(t)
			r.optIn(anne, true)
			f := r.preset("abandoned_cart", PresetOptions{})
			r.clk.add(time.Second)
			r.event("checkout_started", anne, "c5")
			r.tick()
			r.clk.add(time.Hour)
			// Run up to the send by hand: wait and condition, then the
			// submitting mark, as send does before it calls the outbox.
			en := r.entries(f.Flow.ID)[0]
			key := Key(f.Flow.ID, en.ID, 2)
			text := "Acme: your cart. Reply STOP to opt out."
			_, err := r.db.UpdateFlowEntry(en.ID, func(x *store.FlowEntry) error {
				x.Step, x.StepDue = 2, time.Time{}
				x.Steps = append(x.Steps, store.FlowStepRecord{Step: 2, Kind: "send", State: store.StepSubmitting, Key: key, Note: text})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if stored {
				if _, _, err := r.queue.Submit(t.Context(), outbox.SubmitRequest{To: anne, Text: text, Kind: store.KindMarketing,
					IdempotencyKey: key, IdempotencyScope: IdempotencyScope, Origin: Origin(f.Flow.ID, en.ID, 2)}); err != nil {
					t.Fatal(err)
				}
			}
			// Two days later: the outbox's key window has passed.
			r.clk.add(48 * time.Hour)
			r.start()
			r.tick()
			ms := r.messages()
			if len(ms) != 1 {
				t.Fatalf("%d texts, want exactly 1", len(ms))
			}
			got := r.entries(f.Flow.ID)[0]
			if got.State != store.EntryDone || got.Steps[0].MessageID != ms[0].ID {
				t.Errorf("entry %+v", got)
			}
		})
	}
}

func TestEditKeepsEntriesOnTheirVersion(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c6")
	r.tick()
	def := f.Definition
	def.Steps[2].Send = &Send{Kind: "marketing", Template: "Version two {{ link .cart.url }}"}
	if _, err := r.eng.Update(f.Flow.ID, "", def); err != nil {
		t.Fatal(err)
	}
	r.event("checkout_started", anne, "c7")
	r.clk.add(time.Hour)
	r.tick()
	r.tick()
	ms := r.messages()
	if len(ms) != 2 {
		t.Fatalf("%d texts, want 2", len(ms))
	}
	var texts []string
	for _, m := range ms {
		texts = append(texts, m.Text)
	}
	joined := strings.Join(texts, "|")
	if !strings.Contains(joined, "you left Blue mug") || !strings.Contains(joined, "Version two") {
		t.Errorf("texts %q: want one of each version", texts)
	}
}

func TestPauseAndResume(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c8")
	r.tick()
	if _, err := r.eng.SetPaused(f.Flow.ID, true); err != nil {
		t.Fatal(err)
	}
	r.event("checkout_started", anne, "c9") // no entry while paused
	r.clk.add(2 * time.Hour)
	r.tick()
	if n := len(r.messages()); n != 0 {
		t.Fatalf("%d texts from a paused flow", n)
	}
	es := r.entries(f.Flow.ID)
	if len(es) != 1 || es[0].State != store.EntryPaused {
		t.Fatalf("entries %+v, want the one entry paused", es)
	}
	if _, err := r.eng.SetPaused(f.Flow.ID, false); err != nil {
		t.Fatal(err)
	}
	r.tick()
	if n := len(r.messages()); n != 1 {
		t.Fatalf("%d texts after resume, want 1", n)
	}
}

func TestOptOutEndsEntries(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c10")
	r.tick()
	if _, _, _, err := r.db.AppendConsent(store.ConsentEvent{Number: anne, Type: store.EventOptOut, Purpose: store.PurposeAll, Method: store.MethodKeyword, Keyword: "STOP"},
		func(c *store.Consent) error { c.Marketing, c.OptedOutAll = store.MarketingOptedOut, true; return nil }); err != nil {
		t.Fatal(err)
	}
	r.tick()
	es := r.entries(f.Flow.ID)
	if es[0].State != store.EntryExited || es[0].Reason != "the contact opted out" {
		t.Errorf("entry %s %q", es[0].State, es[0].Reason)
	}
	if c := r.counters(f.Flow.ID); c.Waiting != 0 {
		t.Errorf("waiting %d", c.Waiting)
	}
}

func TestWelcomeOnOptIn(t *testing.T) {
	r := newRig(t)
	f := r.preset("welcome", PresetOptions{})
	r.clk.add(time.Second)
	r.optIn(anne, false)
	r.optIn(anne, false) // a repeated opt-in welcomes once
	r.tick()
	ms := r.messages()
	if len(ms) != 1 || !strings.HasPrefix(ms[0].Text, "Acme: Welcome Anne!") {
		t.Fatalf("texts %+v", ms)
	}
	if c := r.counters(f.Flow.ID); c.Entered != 1 {
		t.Errorf("entered %d", c.Entered)
	}
}

func TestBrowseAbandonmentNeedsTwoViews(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("browse_abandonment", PresetOptions{})
	r.clk.add(time.Second)
	view := func() {
		r.seq++
		if _, err := r.db.AppendEvents([]store.ShopEvent{{ID: fmt.Sprint("v", r.seq), Source: "api", Type: "product_viewed", Number: anne,
			OccurredAt: r.clk.now(), Properties: json.RawMessage(`{"name":"Blue mug","url":"https://shop.example/p/mug"}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	view()
	r.tick()
	if c := r.counters(f.Flow.ID); c.Entered != 0 {
		t.Fatalf("entered after one view")
	}
	r.clk.add(time.Minute)
	view()
	view()
	r.tick()
	if c := r.counters(f.Flow.ID); c.Entered != 1 {
		t.Fatalf("entered %d after three views, want 1", c.Entered)
	}
	r.clk.add(2 * time.Hour)
	r.tick()
	ms := r.messages()
	if len(ms) != 1 || !strings.Contains(ms[0].Text, "Still thinking about Blue mug?") {
		t.Fatalf("texts %+v", ms)
	}
}

func TestWinBackWaitsForNoOrder(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, false)
	f := r.preset("win_back", PresetOptions{Days: 30})
	r.clk.add(time.Second)
	r.event("order_placed", anne, "w1")
	r.tick()
	r.clk.add(20 * 24 * time.Hour)
	r.event("order_placed", anne, "w2") // starts the count again
	r.tick()
	es := r.entries(f.Flow.ID)
	if len(es) != 2 || es[1].State != store.EntryExited || es[0].State != store.EntryWaiting {
		t.Fatalf("entries %+v, want the first exited and the second waiting", es)
	}
	// 30 days on, at 11:00 in the contact's zone.
	ny, _ := time.LoadLocation("America/New_York")
	if got := es[0].DueAt.In(ny); got.Hour() != 11 || got.Minute() != 0 || got.Sub(es[0].EnteredAt) < 30*24*time.Hour {
		t.Errorf("due %v local, want 11:00 30 days after %v", got, es[0].EnteredAt)
	}
	r.clk.add(31 * 24 * time.Hour)
	r.tick()
	ms := r.messages()
	if len(ms) != 1 || !strings.Contains(ms[0].Text, "We miss you") {
		t.Fatalf("texts %+v", ms)
	}
}

func TestBirthday(t *testing.T) {
	r := newRig(t)
	f := r.preset("birthday", PresetOptions{})
	r.optIn(anne, false)
	if _, err := r.db.UpdateContact(mustContact(t, r.db, anne).ID, func(c *store.Contact) error {
		c.Attributes = map[string]string{"birthday": "1990-03-11"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.tick() // 10 March: not yet
	if c := r.counters(f.Flow.ID); c.Entered != 0 {
		t.Fatal("entered the day before")
	}
	r.clk.add(24 * time.Hour)
	r.tick()
	r.clk.add(12 * time.Hour)
	r.tick()
	ms := r.messages()
	if len(ms) != 1 || !strings.Contains(ms[0].Text, "Happy birthday Anne") {
		t.Fatalf("texts %+v", ms)
	}
}

func mustContact(t *testing.T, db *store.DB, number string) store.Contact {
	t.Helper()
	c, err := db.ContactByNumber(number)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRestartKeepsTheCursor(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c11")
	r.tick()
	r.start()
	r.tick()
	if c := r.counters(f.Flow.ID); c.Entered != 1 {
		t.Errorf("entered %d after a restart, want 1", c.Entered)
	}
}

func TestOldEventsDoNotEnterANewFlow(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	r.event("checkout_started", anne, "old")
	r.clk.add(time.Second)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.tick()
	if c := r.counters(f.Flow.ID); c.Entered != 0 {
		t.Errorf("a checkout from before the flow entered it")
	}
}

func TestTestWithAContactSendsNothing(t *testing.T) {
	r := newRig(t)
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.event("checkout_started", anne, "c12")
	// 02:00 in New York in an hour: the text would wait for 08:00.
	r.clk.add(8 * time.Hour)
	res, err := r.eng.Test(f.Flow.ID, anne)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 3 || res.Trigger == nil || res.Trigger.CheckoutID != "c12" {
		t.Fatalf("result %+v", res)
	}
	send := res.Steps[2]
	if send.Outcome != "would be held" || !strings.Contains(send.Text, "https://shop.example/r/c12") || !strings.Contains(send.Why, "quiet") {
		t.Errorf("send step %+v", send)
	}
	if len(r.messages()) != 0 || len(r.short.origins) != 0 {
		t.Error("the test sent or shortened something")
	}
	if c := r.counters(f.Flow.ID); c.Entered != 0 {
		t.Error("the test made an entry")
	}
}

func TestValidationNamesTheField(t *testing.T) {
	_, good, _ := PresetDefinition("abandoned_cart", PresetOptions{SecondText: true})
	for name, tc := range map[string]struct {
		change func(d *Definition)
		field  string
	}{
		"bad time of day":             {func(d *Definition) { d.Steps[0].Wait.Until = "25:00" }, "steps[0].wait.until"},
		"empty wait":                  {func(d *Definition) { d.Steps[3].Wait = &Wait{} }, "steps[3].wait"},
		"two kinds":                   {func(d *Definition) { d.Steps[1].Send = &Send{Kind: "marketing", Template: "x"} }, "steps[1]"},
		"bad template":                {func(d *Definition) { d.Steps[2].Send.Template = "{{ .x " }, "steps[2].send.template"},
		"transactional cart reminder": {func(d *Definition) { d.Steps[2].Send.Kind = "transactional" }, "steps[2].send.kind"},
		"unknown trigger":             {func(d *Definition) { d.Trigger.Kind = "sometimes" }, "trigger.kind"},
		"bad filter op":               {func(d *Definition) { d.Trigger.Filter = []Match{{Field: "total", Op: "about"}} }, "trigger.filter[0].op"},
		"clicked first":               {func(d *Definition) { d.Steps[1].Condition = &Condition{Kind: CondClicked} }, "steps[1].condition.kind"},
		"no send":                     {func(d *Definition) { d.Steps = d.Steps[:2] }, "steps"},
	} {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(good)
			d, _ := Decode(raw)
			tc.change(&d)
			err := d.Validate(templates{}.Check)
			var fe *store.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
	for _, p := range Presets() {
		_, d, err := PresetDefinition(p.Name, PresetOptions{SecondText: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(templates{}.Check); err != nil {
			t.Errorf("preset %s: %v", p.Name, err)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]time.Duration{`"7d"`: 7 * 24 * time.Hour, `"90m"`: 90 * time.Minute, `"1h30m"`: 90 * time.Minute} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("%s → %v %v, want %v", in, time.Duration(d), err, want)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"soon"`), &d); err == nil {
		t.Error("\"soon\" parsed")
	}
	_ = compliance.Defaults
}

// Without a public address for short links, a text with a link cannot go:
// the entry ends saying so, rather than retrying for ever.
func TestNoPublicURLEndsTheEntry(t *testing.T) {
	r := newRig(t)
	r.short.links = links.New(links.Config{DB: r.db, Clock: r.clk.now})
	r.optIn(anne, true)
	f := r.preset("abandoned_cart", PresetOptions{})
	r.clk.add(time.Second)
	r.event("checkout_started", anne, "c13")
	r.clk.add(time.Hour)
	r.tick()
	r.tick()
	es := r.entries(f.Flow.ID)
	if len(r.messages()) != 0 || es[0].State != store.EntryExited || !strings.Contains(es[0].Reason, "public_url") {
		t.Errorf("entry %s %q, %d texts; want it exited naming public_url and nothing sent", es[0].State, es[0].Reason, len(r.messages()))
	}
}

// Package gateway is simgate's core, seen from the HTTP layer and main: one
// Gateway that accepts texts, sends them through the modems, keeps the
// consent record and the contacts, and publishes live events.
//
// Every change of state goes through this package, so the rules about what
// may be sent and when cannot be bypassed by an HTTP handler. It knows
// nothing about HTTP; it talks to bbolt only through store and to modems only
// through modem.
//
// The work is done by its parts, each a package with one job. The
// original rooms are reached through this package's methods, which return
// views (package view, under this package's names in views.go):
//
//   - outbox: the durable queue, the dispatcher and the modems, and the
//     compliance guard's commit point inside the send;
//   - consent: the consent ledger, inbound keywords and their replies, the
//     compliance settings, GDPR requests and the retention purge;
//   - compliance: pure policy (settings validation, the judge, time zones,
//     reply wording).
//
// The other rooms are reached through an accessor that returns the room's
// face, whose methods take and return the room's own types:
//
//   - Contacts: the contacts and their CSV import and export;
//   - Access: console users, sessions and API tokens;
//   - Shop: the shop's events (API batches, Shopify and WooCommerce
//     webhooks), the integration settings;
//   - Flows: automated flows;
//   - Templates: saved message templates, their preview and sending;
//   - Webhooks: the endpoints the change feed is told to;
//   - DataFile: how the database file's space is used;
//   - Segments: saved segments of contacts and the audiences they make;
//   - Campaigns: one-off sends to an audience, A/B tested against a holdout;
//   - Attribution: orders credited to texts, results, prices per part;
//   - Alerting: the owner's alerts and the SIMs' balance checks.
//
// Behind them work parts no caller sees: live (the event hub and the
// alerts), notifier (what the parts report, as live events), intake,
// simlimits and msgstate (the outbox's checks of a request, each SIM's
// limits and a message's states), msgtemplate and links (the template
// language and short links), callbacks (the compatible APIs' callbacks),
// backups.
//
// This package wires them all (New) and starts and stops them in order
// (Run); docs/architecture.md has the table.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/gateway/alerting"
	"github.com/simgate/simgate/gateway/attribution"
	"github.com/simgate/simgate/gateway/backups"
	"github.com/simgate/simgate/gateway/callbacks"
	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/datafile"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/gateway/notifier"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/gateway/shopevents"
	"github.com/simgate/simgate/gateway/templates"
	"github.com/simgate/simgate/gateway/webhooks"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Defaults, each with where the number comes from (package outbox gives
// the reasons of its own).
const (
	// DefaultRegion is used to read numbers written without a country code.
	DefaultRegion                = "US"
	DefaultMaxParts              = outbox.DefaultMaxParts
	DefaultTransactionalValidity = outbox.DefaultTransactionalValidity
	DefaultMarketingValidity     = outbox.DefaultMarketingValidity
	DefaultReportWindow          = outbox.DefaultReportWindow
	DefaultMaxAttempts           = outbox.DefaultMaxAttempts
	DefaultRetryBase             = outbox.DefaultRetryBase
	DefaultRetryMax              = outbox.DefaultRetryMax
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
	// read; docs/architecture.md (Health) says every 30 s.
	HealthInterval time.Duration
	// ReconnectMin and ReconnectMax bound the jittered backoff between
	// attempts to reconnect a modem: a second is enough for a USB port to
	// settle after a glitch; a minute keeps a missing modem from flooding
	// the log.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// USSDAllow lists the USSD codes the API and console may send, as
	// patterns (N: a group of digits, never a supplementary-service code);
	// nil means DefaultUSSDAllow and an empty list turns USSD off.
	USSDAllow []string
	// Signup bounds what the public sign-up page (/join) may cost.
	Signup SignupLimits
	// Backups says where and when the nightly backups go; an empty Dir
	// turns them off.
	Backups backups.Config
	// PublicURL is the box's address as customers reach it
	// ("https://texts.shop.example"): short links are PublicURL/l/<code>.
	// Empty: texts with links to shorten are refused.
	PublicURL string
	// WebhookSender makes the webhooks' HTTP requests (package httpout);
	// nil: every attempt fails, saying so.
	WebhookSender webhooks.Sender
	Log           *slog.Logger
	// Clock returns the current time; tests substitute it.
	Clock func() time.Time
}

// Gateway ties the store and the modems together. Create it with New,
// register modems with AddModem, then call Run.
type Gateway struct {
	db     *store.DB
	cfg    Config
	events *notifier.Notifier

	access    *access.Accounts
	contacts  *contacts.Book
	policy    *consent.Policy
	consent   *consent.Ledger
	outbox    *outbox.Queue
	shop      *shopevents.Service
	backups   *backups.Nightly // nil: nightly backups off
	flows     *flows.Engine
	links     *links.Service
	webhooks  *webhooks.Service
	segments  *segments.Service  // a room whose Service is its face
	campaigns *campaigns.Service // a room whose Service is its face
	// attribution credits orders to texts and keeps the results; a room
	// whose Service is its face.
	attribution *attribution.Service

	// The rooms' faces to the web layer, returned by their accessors.
	accessAPI   *access.API
	contactsAPI *contacts.API
	shopAPI     *shopevents.API
	flowService *flows.Service
	templates   *templates.Service
	webhooksAPI *webhooks.API
	dataFile    *datafile.Meter
	alerting    *alerting.Service
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
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if s := cfg.Signup.Share; s < 0 || s > 100 {
		return nil, fmt.Errorf("gateway: the sign-up page's share of the SIMs' day must be 1 to 100 percent, got %d", s)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var ussdAllow modem.USSDAllowList
	if cfg.USSDAllow != nil {
		var err error
		if ussdAllow, err = outbox.ParseUSSDAllowList(cfg.USSDAllow); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	policy, err := consent.LoadPolicy(db, cfg.Clock)
	if err != nil {
		return nil, fmt.Errorf("gateway: read compliance settings: %w", err)
	}
	ev := notifier.New(db, log, cfg.Clock)
	g := &Gateway{db: db, cfg: cfg, events: ev, access: access.New(db), policy: policy,
		dataFile: datafile.New(db, cfg.Log, cfg.Clock)}
	g.accessAPI = access.NewAPI(g.access)
	// Before any HTTP handler can start an import: a spool found now was
	// left by a crash, never one being written.
	if g.contacts, err = contacts.New(contacts.Config{DB: db, Region: cfg.Region, Log: log, Clock: cfg.Clock,
		Notify: ev, Disclosures: policy}); err != nil {
		return nil, err
	}
	g.contactsAPI = contacts.NewAPI(g.contacts)
	g.outbox = outbox.New(outbox.Config{DB: db, Region: cfg.Region, MaxParts: cfg.MaxParts,
		ReportWindow: cfg.ReportWindow, MaxAttempts: cfg.MaxAttempts, RetryBase: cfg.RetryBase, RetryMax: cfg.RetryMax,
		HealthInterval: cfg.HealthInterval, ReconnectMin: cfg.ReconnectMin, ReconnectMax: cfg.ReconnectMax,
		USSDAllow: ussdAllow, SignupShare: cfg.Signup.Share, Log: log, Clock: cfg.Clock, Policy: policy, Inbound: keywordRelay{g}, Notify: ev})
	g.consent = consent.New(consent.Config{DB: db, Region: cfg.Region, Log: log, Clock: cfg.Clock,
		Policy: policy, Outbox: g.outbox, Notify: ev,
		Signup: consent.SignupLimits{PerNumber: cfg.Signup.PerNumber, BusyPerHour: cfg.Signup.BusyPerHour}})
	if g.shop, err = shopevents.New(shopevents.Config{DB: db, Region: cfg.Region, Log: log, Clock: cfg.Clock,
		Notify: ev, Consent: checkoutConsent{g}}); err != nil {
		return nil, err
	}
	g.shopAPI = shopevents.NewAPI(g.shop)
	if cfg.Backups.Dir != "" {
		g.backups = backups.New(cfg.Backups, db, ev, log, cfg.Clock)
	}
	// A person's click on a flow's link counts for the flow that sent it.
	g.links = links.New(links.Config{DB: db, BaseURL: cfg.PublicURL, Clock: cfg.Clock, Log: log,
		Followed: func(origin string) { g.flows.LinkClicked(origin) }})
	// Segment dates are days of the box's local time, like its SIM limits.
	g.segments = segments.New(segments.Config{DB: db, Region: cfg.Region, Clock: cfg.Clock, Location: time.Local})
	g.flows = flows.New(flows.Config{DB: db, Sender: g.outbox, Renderer: &msgtemplate.Cache{}, Shortener: flowLinks{g.links}, Clicks: g.links,
		Policy: policy, Log: log, Clock: cfg.Clock})
	ev.Flows = g.flows
	g.attribution = attribution.New(attribution.Config{DB: db, Log: log, Clock: cfg.Clock})
	ev.Attribution = g.attribution
	g.templates = templates.New(templates.Config{DB: db, Region: cfg.Region, Contacts: g.contacts, Links: g.links,
		Outbox: g.outbox, Policy: policy, Clock: cfg.Clock})
	g.flowService = flows.NewService(g.flows, func(field, raw string) (string, error) {
		return contacts.NumberField(field, raw, cfg.Region)
	}, g.attribution.FlowOrders)
	g.campaigns = g.newCampaigns()
	// A text withdrawn because its checkout's order landed changes on the
	// console and in its flow entry like any other.
	db.OnWithdrawn(func(ms []store.Message) {
		for _, m := range ms {
			ev.MessageChanged(m)
		}
	})
	sender := cfg.WebhookSender
	if sender == nil {
		sender = noWebhookSender{}
	}
	g.webhooks = webhooks.New(webhooks.Config{DB: db, Log: log, Clock: cfg.Clock, Notify: ev, Sender: sender})
	g.webhooksAPI = webhooks.NewAPI(g.webhooks)
	callbacks.Register(g.webhooks, g.access)
	g.alerting = g.newAlerting()
	ev.Owner = g.alerting
	db.OnChange(g.webhooks.Changed)
	datafile.WatchHealth(db, ev)
	return g, nil
}

// beside runs run in its own goroutine until ctx is done or the returned
// stop is called, which waits for run to return.
func beside(ctx context.Context, run func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	return func() { cancel(); <-done }
}

// keywordRelay hands each complete inbound text from the outbox to the
// consent ledger. The outbox is built first (the ledger queues its replies
// there), so it gets this relay rather than the ledger itself.
type keywordRelay struct{ g *Gateway }

func (k keywordRelay) HandleInbound(in store.Inbound) error { return k.g.consent.HandleInbound(in) }

// AddModem registers a modem to be supervised and used for sending. It must
// be called before Run.
func (g *Gateway) AddModem(mc ModemConfig) error { return g.outbox.AddModem(mc) }

// Run recovers from any crash, then dispatches until ctx is done. On return
// every modem is closed, the submit that was in flight has finished and
// every contact import has stopped: imports run beside Run (the console may
// start one before Run does), and Run's end interrupts them and waits
// until each has recorded how far it got, so the store is never closed
// under one. Imports asked for after Run returned are refused.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.contacts.StopImports()
	if err := g.outbox.Prepare(); err != nil { // the crash rule; each SIM's usage and pause
		return err
	}
	g.consent.HandlePending() // a STOP stored before a crash is applied before anything is sent
	// The retention purge of old message bodies runs beside the dispatcher
	// and stops after it, once the last submit has finished.
	defer g.consent.StartPurge(ctx)()
	// Shop events older than their retention go the same way.
	defer g.shop.StartPurge(ctx)()
	// Sign-ups answered before a stop are acted on now; new ones as they
	// come.
	defer g.consent.StartSignups(ctx)()
	// Webhooks run beside the dispatcher and stop after it: nothing on
	// the send path waits for them.
	defer beside(ctx, func(ctx context.Context) {
		if err := g.webhooks.Run(ctx); err != nil {
			g.events.Log.Error("webhooks stopped", "err", err)
		}
	})()
	if g.backups != nil {
		defer beside(ctx, g.backups.Run)()
	}
	// Clicks on short links are flushed in batches beside the dispatcher;
	// the last batch is written when Run ends.
	defer beside(ctx, g.links.Run)()
	// Flows run beside the dispatcher and stop before it returns, so no
	// flow hands the outbox a text after Run.
	defer beside(ctx, func(ctx context.Context) { _ = g.flows.Run(ctx) })()
	// The owner's alerts and the balance checks, beside the dispatcher.
	defer beside(ctx, g.alerting.Run)()
	// Attribution reads the logs beside everything; it sends nothing.
	defer beside(ctx, g.attribution.Run)()
	// Campaigns plan beside the dispatcher and stop before it, as flows.
	defer beside(ctx, func(ctx context.Context) { _ = g.campaigns.Run(ctx) })()
	return g.outbox.Run(ctx)
}

// Healthy reports whether the gateway itself works: the store answers and
// the dispatcher loop is turning. Modem trouble does not count: restarting
// the service cannot fix an unplugged modem and would cut off the others.
func (g *Gateway) Healthy(ctx context.Context) error {
	if err := g.db.Check(); err != nil {
		return err
	}
	return g.outbox.Healthy()
}

// Region is the region national numbers are read in ("US", "DE", ...).
func (g *Gateway) Region() string { return g.cfg.Region }

// Package alerting tells the shop owner what stops the box sending: a
// modem down, a SIM's budget used up, a SIM's credit running low. Each
// such alert becomes a webhook event (the change feed) and, when the owner
// asked for it, a text to the owner's number, sent through the outbox from
// another SIM than the one the alert is about, at most once an hour per
// cause. It also runs each SIM's periodic USSD balance check (balance.go),
// whose low readings are one of those alerts.
//
// Texts go through the outbox like every other (the guard judges them):
// transactional, with the idempotency scope "alerts" and a key of the
// cause and the hour, so a restart or a flapping modem within the hour
// finds the text already queued and sends nothing new.
package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

// IdempotencyScope is the scope of the owner alerts' idempotency keys.
const IdempotencyScope = "alerts"

// Causes: what an alert is about. The live alert kinds of the same name
// show them on the console.
const (
	CauseModemDown  = "modem_down"
	CauseBudget     = "sim_budget_exhausted"
	CauseLowBalance = "low_balance"
)

// AlertNoOtherSIM is the live alert raised when an alert could not be
// texted to the owner because no other SIM works.
const AlertNoOtherSIM = "owner_alert_not_sent"

// Settings are the owner's: where alerts are texted, and whether they are.
type Settings struct {
	OwnerNumber string `json:"owner_number"` // E.164; empty: none
	TextAlerts  bool   `json:"text_alerts"`  // send alerts by text
}

// Cause is one alert: its kind, the SIM it is about and what to say.
type Cause struct {
	Kind   string `json:"kind"`
	Modem  string `json:"modem"`
	Detail string `json:"detail"`
}

// Sender queues a text in the outbox (outbox.Queue).
type Sender interface {
	Submit(ctx context.Context, r outbox.SubmitRequest) (store.Message, bool, error)
}

// Fleet says which SIMs could send a text now, by name.
type Fleet interface {
	Working() []string
}

// Notifier shows and clears the console's live alerts.
type Notifier interface {
	RaiseAlert(kind, modemName, message string)
	ClearAlert(kind, modemName string)
}

// USSD sends a USSD code through a modem and returns the network's text
// (the facade adapts outbox.Queue.USSD).
type USSD interface {
	USSD(ctx context.Context, modem, code string) (string, error)
	CheckUSSDCode(code string) error
}

// Config wires a Service. DB, Sender, Fleet, Notify and Normalize are
// required; USSD only for balance checks.
type Config struct {
	DB     *store.DB
	Sender Sender
	Fleet  Fleet
	Notify Notifier
	USSD   USSD
	// Normalize reads a phone number as E.164, or fails with why.
	Normalize func(number string) (string, error)
	Log       *slog.Logger
	Clock     func() time.Time
}

// Service is the owner's alerts and the balance checks.
type Service struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	alerts chan Cause
	checks chan struct{}
}

// alertQueue bounds the alerts waiting to be handled; a burst beyond it
// (every modem going down at once, many times) is logged and dropped: each
// cause is texted once an hour anyway.
const alertQueue = 64

// New makes a Service; Run starts its work.
func New(cfg Config) *Service {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	return &Service{cfg: cfg, log: log, now: now, alerts: make(chan Cause, alertQueue), checks: make(chan struct{}, 1)}
}

// Settings returns the owner's settings (zero until saved).
func (s *Service) Settings() (Settings, error) {
	raw, err := s.cfg.DB.OwnerAlertSettings()
	if err != nil || raw == nil {
		return Settings{}, err
	}
	var out Settings
	if err := json.Unmarshal(raw, &out); err != nil {
		return Settings{}, fmt.Errorf("alerting: decode settings: %w", err)
	}
	return out, nil
}

// SaveSettings checks and stores the owner's settings. The number is
// stored as E.164; texting alerts needs one. Errors are *store.FieldError
// naming the field; nothing is stored then.
func (s *Service) SaveSettings(in Settings) (Settings, error) {
	in.OwnerNumber = strings.TrimSpace(in.OwnerNumber)
	if in.OwnerNumber != "" {
		n, err := s.cfg.Normalize(in.OwnerNumber)
		if err != nil {
			return Settings{}, &store.FieldError{Field: "owner_number", Message: err.Error()}
		}
		in.OwnerNumber = n
	}
	if in.TextAlerts && in.OwnerNumber == "" {
		return Settings{}, &store.FieldError{Field: "owner_number", Message: "is needed to send alerts by text"}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return Settings{}, err
	}
	if err := s.cfg.DB.SaveOwnerAlertSettings(raw); err != nil {
		return Settings{}, err
	}
	s.log.Info("owner alert settings saved", "text_alerts", in.TextAlerts)
	return in, nil
}

// Alert hands a cause to Run. It never blocks: it is called from the
// modems' supervisors and the dispatcher.
func (s *Service) Alert(c Cause) {
	select {
	case s.alerts <- c:
	default:
		s.log.Warn("owner alert dropped: too many at once", "kind", c.Kind, "modem", c.Modem)
	}
}

// Run handles alerts and runs the balance checks until ctx is done.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(balanceTick)
	defer tick.Stop()
	s.checkDue(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-s.alerts:
			if err := s.handle(ctx, c); err != nil && ctx.Err() == nil {
				s.log.Error("owner alert", "kind", c.Kind, "modem", c.Modem, "error", err)
			}
		case <-tick.C:
			s.checkDue(ctx)
		case <-s.checks:
			s.checkDue(ctx)
		}
	}
}

// handle records the webhook event a cause needs (the facade records
// modem.down and sim.budget_exhausted itself) and texts the owner.
func (s *Service) handle(ctx context.Context, c Cause) error {
	if c.Kind == CauseLowBalance {
		if _, err := s.cfg.DB.AppendChange(store.ChangeSIMBalanceLow, c.Modem, map[string]string{"modem": c.Modem, "detail": c.Detail}); err != nil {
			return err
		}
	}
	_, err := s.TextOwner(ctx, c)
	return err
}

// TextOwner queues the text telling the owner about c, unless alerts by
// text are off. It returns the message ID (0 when nothing was queued).
// Within one hour of the box's clock a cause is texted once: the same key
// in the "alerts" scope finds the text already queued. When no SIM but
// the one the alert is about works, nothing is queued and the console
// says so (AlertNoOtherSIM), until a later alert gets through.
func (s *Service) TextOwner(ctx context.Context, c Cause) (uint64, error) {
	set, err := s.Settings()
	if err != nil {
		return 0, err
	}
	if !set.TextAlerts || set.OwnerNumber == "" {
		return 0, nil
	}
	if !s.otherSIMWorks(c.Modem) {
		s.cfg.Notify.RaiseAlert(AlertNoOtherSIM, c.Modem, fmt.Sprintf(
			"simgate could not text you about %s: no other SIM works to send it from. %s", c.Modem, c.Detail))
		return 0, nil
	}
	now := s.now()
	key := fmt.Sprintf("%s:%s:%s", c.Kind, c.Modem, now.UTC().Format("2006-01-02T15"))
	m, existing, err := s.cfg.Sender.Submit(ctx, outbox.SubmitRequest{To: set.OwnerNumber, Text: ownerText(c),
		Kind: store.KindTransactional, IdempotencyScope: IdempotencyScope, IdempotencyKey: key,
		Origin: "alert:" + c.Kind, AvoidModem: c.Modem, ExpiresAt: now.Add(alertValidity)})
	if errors.Is(err, store.ErrIdempotencyKeyReused) {
		return 0, nil // texted this hour already, in other words
	}
	if err != nil {
		return 0, err
	}
	s.cfg.Notify.ClearAlert(AlertNoOtherSIM, c.Modem)
	if !existing {
		s.log.Info("owner alerted by text", "kind", c.Kind, "modem", c.Modem, "message", m.ID)
	}
	return m.ID, nil
}

// alertValidity is how long an alert text may wait for a SIM: after a day
// the news is stale, and a newer alert says what holds then.
const alertValidity = 24 * time.Hour

// otherSIMWorks reports whether a SIM other than modem could send now.
func (s *Service) otherSIMWorks(modem string) bool {
	for _, name := range s.cfg.Fleet.Working() {
		if name != modem {
			return true
		}
	}
	return false
}

// ownerText is the text the owner gets: short (one part when it can be),
// plain words, and what to do.
func ownerText(c Cause) string {
	var what string
	switch c.Kind {
	case CauseModemDown:
		what = fmt.Sprintf("SIM %s is down and sends nothing.", c.Modem)
	case CauseBudget:
		what = fmt.Sprintf("SIM %s has used its sending budget; it waits until the limit allows again.", c.Modem)
	case CauseLowBalance:
		what = fmt.Sprintf("SIM %s is low on credit: %s", c.Modem, c.Detail)
	default:
		what = fmt.Sprintf("%s on SIM %s.", c.Kind, c.Modem)
	}
	return "simgate: " + what + " See the console's Modems page."
}

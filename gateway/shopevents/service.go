// Package shopevents hears what happens in the shop: events posted to the
// API (POST /api/v1/events), and the webhooks of Shopify and WooCommerce,
// verified by their signatures. It checks and normalises each event
// (numbers in E.164, money in minor units, the standard properties typed),
// creates the contact of a number it does not know (with no consent),
// stores the events in the store's append-only log, marks the exit of a
// checkout when its order arrives, and tells the gateway (Notifier) after
// each durable append. It keeps the integration settings (webhook secrets,
// event retention) and the log of the last deliveries, and purges events
// older than the retention.
//
// It speaks no HTTP: the web layer reads the request, hands the raw body
// and the headers over, and maps the errors declared here to statuses.
package shopevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/store"
)

// Sources of events, stored in ShopEvent.Source and in exit keys.
const (
	SourceAPI         = "api"
	SourceShopify     = "shopify"
	SourceWooCommerce = "woocommerce"
	SourceConsole     = "console"
)

// Notifier is told after every append that stored at least one event,
// with the Seq of the newest: consumers read the log with their own
// cursor, so a missed call loses nothing. It must not block.
type Notifier interface {
	EventsAppended(lastSeq uint64)
}

// ConsentRecorder enters a customer's consent given at the shop's checkout
// in the consent ledger (method checkout). The gateway wires the consent
// part's opt-in in, so the ledger's rules apply: a number that opted out
// stays out, the confirmation text goes first.
type ConsentRecorder interface {
	CheckoutOptIn(ctx context.Context, number string, c ShopConsent) error
}

// Config wires a Service. Every field is required except Consent (without
// it, the shop's consent flags stay properties of their events).
type Config struct {
	DB      *store.DB
	Region  string // national numbers are read in this region
	Log     *slog.Logger
	Clock   func() time.Time
	Notify  Notifier
	Consent ConsentRecorder
}

// Service is the shop's events: ingest, webhooks, settings, retention.
type Service struct {
	db      *store.DB
	region  string
	log     *slog.Logger
	now     func() time.Time
	notify  Notifier
	consent ConsentRecorder

	mu       sync.Mutex
	settings Settings

	numbersMu sync.Mutex
	numbers   map[string]string // raw number as sent → E.164 (see number)
}

// maxNumberCache bounds the cache of normalised numbers: a shop's
// returning customers are sent again and again, and reading a number
// (libphonenumber's parse and validation) is a quarter of an event's cost.
const maxNumberCache = 20000

// number reads raw as an E.164 number in the box's region, from the cache
// when the same text was read before; errors name field.
func (s *Service) number(field, raw string) (string, error) {
	s.numbersMu.Lock()
	n, ok := s.numbers[raw]
	s.numbersMu.Unlock()
	if ok {
		return n, nil
	}
	n, err := contacts.NumberField(field, raw, s.region)
	if err != nil {
		return "", err
	}
	s.numbersMu.Lock()
	if s.numbers == nil || len(s.numbers) >= maxNumberCache {
		s.numbers = make(map[string]string, 1024) // start again rather than track ages
	}
	s.numbers[raw] = n
	s.numbersMu.Unlock()
	return n, nil
}

// New returns the service over cfg.DB, with the settings saved there.
func New(cfg Config) (*Service, error) {
	s := &Service{db: cfg.DB, region: cfg.Region, log: cfg.Log, now: cfg.Clock, notify: cfg.Notify, consent: cfg.Consent}
	raw, err := cfg.DB.IntegrationSettings()
	if err != nil {
		return nil, fmt.Errorf("shopevents: read settings: %w", err)
	}
	s.settings = DefaultSettings()
	if raw != nil {
		if err := json.Unmarshal(raw, &s.settings); err != nil {
			return nil, fmt.Errorf("shopevents: decode settings: %w", err)
		}
	}
	return s, nil
}

// EventResult is what happened to one event of a batch.
type EventResult struct {
	ID     string `json:"id"`
	Seq    uint64 `json:"seq,omitempty"`
	Status string `json:"status"` // "stored", "duplicate" (stored before under its id), "suppressed" (the number was erased on request)
}

// Result is what a batch did, per event in the order sent.
type Result struct {
	Events     []EventResult `json:"events"`
	Stored     int           `json:"stored"`
	Duplicates int           `json:"duplicates"`
	Suppressed int           `json:"suppressed"`
	// Stored events, for the caller that shows them (the test event).
	stored []store.ShopEvent
}

// Ingest stores the events of a POST /api/v1/events body: one event
// object or an array of up to MaxBatch. A batch with any invalid event
// stores nothing and returns a *BatchError naming each by index and
// field. Events already stored under their id are reported "duplicate"
// and not stored again, so a retried request is harmless.
func (s *Service) Ingest(ctx context.Context, body []byte) (Result, error) {
	drafts, err := parseBatch(body)
	if err != nil {
		return Result{}, err
	}
	res, err := s.store(ctx, SourceAPI, drafts, true)
	topic := fmt.Sprintf("batch of %d", len(drafts))
	if len(drafts) == 1 {
		topic = drafts[0].Type
	}
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) {
			s.logDelivery(SourceAPI, topic, 400, "refused: "+err.Error(), nil)
		}
		return Result{}, err
	}
	s.logDelivery(SourceAPI, topic, 200, res.summary(), res.stored)
	return res, nil
}

func (r Result) summary() string {
	parts := []string{fmt.Sprintf("stored %d", r.Stored)}
	if r.Duplicates > 0 {
		parts = append(parts, fmt.Sprintf("%d already stored", r.Duplicates))
	}
	if r.Suppressed > 0 {
		parts = append(parts, fmt.Sprintf("%d for erased numbers, not kept", r.Suppressed))
	}
	return strings.Join(parts, ", ")
}

// store resolves each draft's contact, creates the contacts it does not
// know, and appends the events in one transaction. With strict (the API),
// an event whose contact cannot be found fails the batch; otherwise (a
// webhook) it is left out and counted in the result as "no_number".
func (s *Service) store(ctx context.Context, source string, drafts []draft, strict bool) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	var p problems
	numbers := make([]string, len(drafts))
	var byEmail map[string]string
	for i := range drafts {
		d := &drafts[i]
		switch {
		case d.Phone != "":
			n, err := s.number(join(d.field, "phone"), d.Phone)
			if err != nil {
				var fe *store.FieldError
				if errors.As(err, &fe) {
					p.list = append(p.list, fe)
					continue
				}
				return Result{}, err
			}
			numbers[i] = n
		case d.ContactID != 0:
			c, err := s.db.GetContact(d.ContactID)
			if errors.Is(err, store.ErrNotFound) {
				p.add(join(d.field, "contact_id"), "no contact has id %d", d.ContactID)
				continue
			}
			if err != nil {
				return Result{}, fmt.Errorf("shopevents: %w", err)
			}
			numbers[i] = c.Number
		case d.Email != "":
			if byEmail == nil {
				var err error
				if byEmail, err = s.emailIndex(); err != nil {
					return Result{}, err
				}
			}
			n, ok := byEmail[d.Email]
			if !ok && strict {
				p.add(join(d.field, "email"), "no contact has the email %q; send the phone number to create one", d.Email)
				continue
			}
			numbers[i] = n
		}
	}
	if len(p.list) > 0 {
		return Result{}, &BatchError{Problems: p.list}
	}
	suppressed, err := s.ensureContacts(source, drafts, numbers)
	if err != nil {
		return Result{}, err
	}
	now := s.now().UTC()
	res := Result{Events: make([]EventResult, len(drafts))}
	var evs []store.ShopEvent
	var index []int // evs[j] is drafts[index[j]]
	for i, d := range drafts {
		res.Events[i] = EventResult{ID: d.ID}
		switch {
		case numbers[i] == "":
			res.Events[i].Status = "no_number"
			continue
		case suppressed[numbers[i]]:
			res.Events[i].Status = "suppressed"
			res.Suppressed++
			continue
		}
		at := d.OccurredAt
		if at.IsZero() {
			at = now
		}
		ev := store.ShopEvent{ID: d.ID, Source: source, Type: d.Type, Number: numbers[i], OccurredAt: at,
			CheckoutID: d.CheckoutID, OrderID: d.OrderID, Total: d.Total, Currency: d.Currency, Properties: d.Properties}
		if d.Type == TypeOrderPlaced && d.CheckoutID != "" {
			ev.Ends = []string{ExitKey(source, d.CheckoutID)}
		}
		evs = append(evs, ev)
		index = append(index, i)
	}
	if len(evs) == 0 {
		return res, nil
	}
	stored, err := s.db.AppendEvents(evs)
	if err != nil {
		return Result{}, fmt.Errorf("shopevents: %w", err)
	}
	var last uint64
	for j, ev := range stored {
		r := &res.Events[index[j]]
		if ev.Seq == 0 {
			r.Status = "duplicate"
			res.Duplicates++
			continue
		}
		r.Status, r.Seq = "stored", ev.Seq
		res.Stored++
		res.stored = append(res.stored, ev)
		last = max(last, ev.Seq)
	}
	if last > 0 && s.notify != nil {
		s.notify.EventsAppended(last)
	}
	return res, nil
}

// ExitKey is the exit key an order ends and a checkout's texts carry
// (store.Message.ExitKey): "checkout:<source>:<checkout id>".
func ExitKey(source, checkoutID string) string {
	return "checkout:" + source + ":" + checkoutID
}

// emailIndex maps every contact's email attribute (lower case) to its
// number. Contacts have no email index, so a batch that names people by
// email reads the contacts once, in pages, rather than once per event.
func (s *Service) emailIndex() (map[string]string, error) {
	idx := map[string]string{}
	err := s.db.EachContact(func(c store.Contact) error {
		if e := strings.ToLower(strings.TrimSpace(c.Attributes["email"])); e != "" {
			if _, taken := idx[e]; !taken {
				idx[e] = c.Number
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("shopevents: read contacts' emails: %w", err)
	}
	return idx, nil
}

// ensureContacts creates, in one transaction, a contact for every number
// of the batch that has none: an event about a stranger makes them a
// contact, with no consent of any kind. It returns the numbers that were
// erased on request, whose events are not kept.
func (s *Service) ensureContacts(source string, drafts []draft, numbers []string) (map[string]bool, error) {
	var rows []store.ContactUpsert
	seen := map[string]bool{}
	for i, n := range numbers {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		_, err := s.db.ContactByNumber(n)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("shopevents: %w", err)
		}
		c := store.Contact{Number: n, Source: source, TimeZone: "UTC", TimeZoneDerived: true}
		if zones := compliance.NumberZones(n); len(zones) > 0 {
			c.TimeZone = zones[0].String()
		}
		c.Name, c.Attributes = drafts[i].contactDetails()
		rows = append(rows, store.ContactUpsert{Contact: c})
	}
	suppressed := map[string]bool{}
	if len(rows) == 0 {
		return suppressed, nil
	}
	results, err := s.db.UpsertContacts(rows)
	if err != nil {
		return nil, fmt.Errorf("shopevents: create contacts: %w", err)
	}
	for _, r := range results {
		if r.Outcome == store.UpsertSuppressed {
			suppressed[r.Contact.Number] = true
		}
	}
	return suppressed, nil
}

// contactDetails are the name and email a new contact gets from the event
// that introduced it (first_name, last_name and email properties, or the
// email the event named), when they are clean enough to keep.
func (d *draft) contactDetails() (string, map[string]string) {
	var props struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Name      string `json:"name"`
		Email     string `json:"email"`
	}
	_ = json.Unmarshal(d.Properties, &props) // a custom type's odd shapes just give no name
	name := strings.TrimSpace(props.FirstName + " " + props.LastName)
	if name == "" && d.Type == TypeCustomerCreated {
		name = strings.TrimSpace(props.Name)
	}
	if !cleanText(name, contacts.MaxContactName) {
		name = ""
	}
	email := d.Email
	if email == "" {
		email = strings.ToLower(strings.TrimSpace(props.Email))
	}
	if email == "" || !strings.Contains(email, "@") || !cleanText(email, contacts.MaxAttributeValue) {
		return name, nil
	}
	return name, map[string]string{"email": email}
}

// cleanText reports whether s is valid text without control characters,
// of at most limit characters: what contacts accept.
func cleanText(s string, limit int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= limit && !strings.ContainsFunc(s, unicode.IsControl)
}

// logDelivery adds an entry to the hook log; a failure to write it is
// logged, never the caller's error (the events are stored already).
func (s *Service) logDelivery(source, topic string, status int, outcome string, stored []store.ShopEvent) {
	d := store.HookDelivery{Source: source, Topic: topic, Status: status, Outcome: outcome}
	for _, ev := range stored {
		if len(d.Events) == 20 {
			break // a batch's first twenty link to the timeline; the count says the rest
		}
		d.Events = append(d.Events, ev.Seq)
	}
	if len(d.Topic) > 100 {
		d.Topic = d.Topic[:100]
	}
	if len(d.Outcome) > 500 {
		d.Outcome = d.Outcome[:500] + "…"
	}
	if _, err := s.db.AppendHookDelivery(d); err != nil {
		s.log.Error("hook log", "source", source, "error", err)
	}
}

// Deliveries returns the hook log, newest first.
func (s *Service) Deliveries() ([]store.HookDelivery, error) { return s.db.HookDeliveries() }

// Events returns number's events, oldest first (the contact's timeline).
func (s *Service) Events(number string) ([]store.ShopEvent, error) {
	return s.db.EventsOf(number, "", time.Time{})
}

// ---- webhooks ----

// HookResult is what a verified delivery did.
type HookResult struct {
	Result
	// Ignored says why a verified delivery stored nothing (an unknown
	// topic, an order status that is no event, no phone number): it is
	// answered 200 so the platform does not retry it forever.
	Ignored string
}

// Shopify handles a Shopify webhook delivery.
func (s *Service) Shopify(ctx context.Context, d Delivery) (HookResult, error) {
	return s.hook(ctx, SourceShopify, d, s.Settings().ShopifySecret, mapShopify)
}

// WooCommerce handles a WooCommerce webhook delivery.
func (s *Service) WooCommerce(ctx context.Context, d Delivery) (HookResult, error) {
	return s.hook(ctx, SourceWooCommerce, d, s.Settings().WooCommerceSecret, mapWooCommerce)
}

// WooCommercePing answers the ping WooCommerce sends when a webhook is
// created (body "webhook_id=N"): it reports whether body is one, and logs
// it. A ping is unsigned and stores nothing.
func (s *Service) WooCommercePing(body []byte) bool {
	id, ok := wooPingID(body)
	if ok {
		s.logDelivery(SourceWooCommerce, "ping", 200, fmt.Sprintf("ping from webhook %d: the URL works", id), nil)
	}
	return ok
}

// LogRefusal records a delivery the HTTP layer refused before reading it
// (too large, wrong content type), so the hook log shows every attempt.
func (s *Service) LogRefusal(source, topic string, status int, reason string) {
	s.logDelivery(source, topic, status, "refused: "+reason, nil)
}

func (s *Service) hook(ctx context.Context, source string, d Delivery, secret string, mapFn func(Delivery, string) (mapped, error)) (HookResult, error) {
	topic := d.Topic
	if secret == "" {
		s.logDelivery(source, topic, 503, "refused: "+ErrNoSecret.Error(), nil)
		return HookResult{}, ErrNoSecret
	}
	if !verifySignature(secret, d.Body, d.Signature) {
		s.logDelivery(source, topic, 401, "refused: bad signature", nil)
		return HookResult{}, ErrBadSignature
	}
	m, err := mapFn(d, s.region)
	var malformed *MalformedError
	var be *BatchError
	switch {
	case errors.As(err, &malformed):
		s.logDelivery(source, topic, 400, "refused: "+err.Error(), nil)
		return HookResult{}, err
	case errors.As(err, &be):
		// Signed by the shop, so not an attack; a value simgate cannot
		// keep exactly. Retrying would not change it: 200, and the log
		// says why.
		s.logDelivery(source, topic, 200, "not stored: "+err.Error(), nil)
		return HookResult{Ignored: err.Error()}, nil
	case err != nil:
		return HookResult{}, err
	case m.ignored != "":
		s.logDelivery(source, topic, 200, "ignored: "+m.ignored, nil)
		return HookResult{Ignored: m.ignored}, nil
	}
	res, err := s.store(ctx, source, m.drafts, false)
	if err != nil {
		if errors.As(err, &be) {
			s.logDelivery(source, topic, 200, "not stored: "+err.Error(), nil)
			return HookResult{Ignored: err.Error()}, nil
		}
		return HookResult{}, err // the platform retries; nothing to log that the error log lacks
	}
	out := HookResult{Result: res}
	outcome := res.summary()
	if res.Stored+res.Duplicates+res.Suppressed == 0 {
		out.Ignored = "no phone number: neither the payload nor a contact with its email gives one"
		outcome = "ignored: " + out.Ignored
	}
	if res.Duplicates > 0 && res.Stored == 0 {
		outcome = "already stored (a repeated delivery)"
	}
	for i, dr := range m.drafts {
		if dr.consent == nil || res.Events[i].Status != "stored" || s.consent == nil {
			continue
		}
		number := ""
		for _, ev := range res.stored {
			if ev.ID == dr.ID {
				number = ev.Number
			}
		}
		if err := s.consent.CheckoutOptIn(ctx, number, *dr.consent); err != nil {
			outcome += "; consent not recorded: " + err.Error()
			s.log.Warn("checkout consent not recorded", "source", source, "error", err)
		} else {
			outcome += "; consent given at checkout recorded"
		}
	}
	s.logDelivery(source, topic, 200, outcome, res.stored)
	return out, nil
}

// ---- the console's test event ----

// TestEvent stores a custom "test" event for number through the same path
// as the API's events, so a shop owner sees the log, the contact and the
// timeline work before the shop is connected.
func (s *Service) TestEvent(ctx context.Context, number, actor string) (store.ShopEvent, error) {
	props, err := json.Marshal(map[string]any{"sent_by": actor, "note": "sent from Settings → Integrations"})
	if err != nil {
		return store.ShopEvent{}, err
	}
	if strings.TrimSpace(number) == "" {
		return store.ShopEvent{}, &store.FieldError{Field: "phone", Message: "is required: the number the test event is about"}
	}
	now := s.now().UTC()
	d := draft{ID: fmt.Sprintf("test-%d", now.UnixNano()), Type: TypeTest, Phone: number, OccurredAt: now, Properties: props}
	res, err := s.store(ctx, SourceConsole, []draft{d}, true)
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) && len(be.Problems) == 1 {
			return store.ShopEvent{}, be.Problems[0]
		}
		return store.ShopEvent{}, err
	}
	s.logDelivery(SourceConsole, TypeTest, 200, "test event: "+res.summary(), res.stored)
	if len(res.stored) == 0 {
		return store.ShopEvent{}, fmt.Errorf("%w: the number was erased on request; no event is kept for it", store.ErrSuppressed)
	}
	return res.stored[0], nil
}

// ---- retention ----

const (
	purgeInterval = time.Hour // retention is in days
	purgeBatch    = 500       // one short write transaction at a time
)

// StartPurge deletes events older than the retention every hour until ctx
// is done; the returned function stops it and waits.
func (s *Service) StartPurge(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(purgeInterval)
		defer t.Stop()
		for {
			if _, err := s.PurgeEvents(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("purge old shop events", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// PurgeEvents deletes the events received longer ago than the retention
// setting and returns how many; with retention 0 it keeps everything.
// Exit marks stay: they name checkouts, not people.
func (s *Service) PurgeEvents(ctx context.Context) (int, error) {
	days := s.Settings().RetentionDays
	if days <= 0 {
		return 0, nil
	}
	cutoff := s.now().Add(-time.Duration(days) * 24 * time.Hour)
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := s.db.PurgeEventsBefore(cutoff, purgeBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("shopevents: purge: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	if total > 0 {
		s.log.Info("purged old shop events", "count", total, "older_than", cutoff.UTC().Format(time.RFC3339))
	}
	return total, nil
}

// ---- settings ----

// Settings are the integrations' settings. The secrets are kept in plain
// text: verifying an HMAC needs the key itself (docs/operations.md says
// so); they are never logged and the console shows them masked.
type Settings struct {
	ShopifySecret     string `json:"shopify_secret,omitempty"`
	WooCommerceSecret string `json:"woocommerce_secret,omitempty"`
	// RetentionDays is how long events are kept; 0 keeps them forever.
	RetentionDays int `json:"event_retention_days"`
}

// Retention bounds, in days.
const (
	// DefaultRetentionDays: a year covers a shop's seasons (last
	// Christmas's buyers) without keeping browsing data indefinitely.
	DefaultRetentionDays = 365
	MaxRetentionDays     = 3650
	MinSecretLen         = 8
	MaxSecretLen         = 256
)

// DefaultSettings are a new box's settings: no secrets (webhooks are
// refused until one is set) and the default retention.
func DefaultSettings() Settings { return Settings{RetentionDays: DefaultRetentionDays} }

// Settings returns the current settings.
func (s *Service) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// SettingsPatch changes some settings: a nil field keeps its value, an
// empty secret removes it.
type SettingsPatch struct {
	ShopifySecret     *string
	WooCommerceSecret *string
	RetentionDays     *int
}

// SaveSettings applies p and stores the result; a bad field gives a
// *store.FieldError and changes nothing.
func (s *Service) SaveSettings(p SettingsPatch, actor string) (Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.settings
	for _, f := range []struct {
		field string
		in    *string
		out   *string
	}{{"shopify_secret", p.ShopifySecret, &next.ShopifySecret}, {"woocommerce_secret", p.WooCommerceSecret, &next.WooCommerceSecret}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		if v != "" && (len(v) < MinSecretLen || len(v) > MaxSecretLen || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })) {
			return Settings{}, &store.FieldError{Field: f.field, Message: fmt.Sprintf("must be %d to %d characters without spaces, exactly as the shop shows it", MinSecretLen, MaxSecretLen)}
		}
		*f.out = v
	}
	if p.RetentionDays != nil {
		if d := *p.RetentionDays; d < 0 || d > MaxRetentionDays {
			return Settings{}, &store.FieldError{Field: "event_retention_days", Message: fmt.Sprintf("must be 0 (keep forever) to %d days", MaxRetentionDays)}
		}
		next.RetentionDays = *p.RetentionDays
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return Settings{}, err
	}
	if err := s.db.SaveIntegrationSettings(raw); err != nil {
		return Settings{}, fmt.Errorf("shopevents: save settings: %w", err)
	}
	s.settings = next
	s.log.Info("integration settings saved", "actor", actor, "shopify_secret_set", next.ShopifySecret != "",
		"woocommerce_secret_set", next.WooCommerceSecret != "", "event_retention_days", next.RetentionDays)
	return next, nil
}

// Mask shows a secret as the console shows it: whether it is set and its
// last four characters, enough to tell two apart, never enough to use.
func Mask(secret string) string {
	if secret == "" {
		return ""
	}
	if len(secret) < 12 {
		return "••••••••"
	}
	return "••••••••" + secret[len(secret)-4:]
}

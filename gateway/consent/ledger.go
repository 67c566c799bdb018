package consent

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/store"
)

// Consent capture and the ledger operations (docs/compliance.md R-OPTIN-1,
// R-OPTIN-2, R-DOI, R-RECORD). Every change of a number's consent is one
// store.AppendConsent: the ledger entry and the per-number record commit
// together.
//
// Order of writes: a reply that belongs to a change (the opt-in
// confirmation, the double opt-in request, the opt-out confirmation) is
// queued first, then the ledger entry is appended naming the reply's
// message id. So the opt-in confirmation is in the outbox before the
// number's consent exists, and no marketing text can be admitted ahead of
// it (R-OPTIN-2), and a crash between the two writes leaves a reply whose
// idempotency key brings it back, unchanged, when the cause is handled
// again. Decisions are serialised by Ledger.mu, so two texts from one
// number on two SIMs cannot both claim "the one confirmation".

// Config wires a Ledger. Every field is required.
type Config struct {
	DB     *store.DB
	Region string // national numbers are read in this region
	Log    *slog.Logger
	Clock  func() time.Time
	// Policy holds the compliance settings the replies and keywords use.
	Policy *Policy
	// Outbox queues the automatic replies and re-judges queued texts after
	// an opt-out.
	Outbox Outbox
	// Notify hears about every change of a number's consent.
	Notify Notifier
	// Signup bounds the public sign-up page (zero fields: the defaults).
	Signup SignupLimits
}

// Outbox is what the ledger needs from the outbox.
type Outbox interface {
	// NewReply validates an automatic reply and returns it ready for
	// Enqueue, marked as a compliance text with note as its history.
	NewReply(to, text, key, note string) (store.Message, error)
	// Enqueue commits a message durably; existing reports that its
	// idempotency key was already used.
	Enqueue(m store.Message) (stored store.Message, existing bool, err error)
	// RecheckQueued judges every queued text to number again now.
	RecheckQueued(number string) error
	// Wake tells the dispatcher that something may have become due.
	Wake()
	// EnqueueSignup commits a request the sign-up page caused, at low
	// priority and within day's budget for them (store.ErrBudgetSpent when
	// it is used up). Days are "2006-01-02" in the box's local time.
	EnqueueSignup(m store.Message, day string) (stored store.Message, existing bool, err error)
	// SignupFits reports whether a request of text fits in day's budget.
	SignupFits(day, text string) (bool, error)
	// SignupBudget returns the parts the page's requests used on day and
	// the daily allowance.
	SignupBudget(day string) (used, limit int, err error)
}

// Notifier is told about consent changes and about conditions of the
// sign-up page a person should look at. It must not block.
type Notifier interface {
	ConsentChanged(store.Consent)
	// RaiseAlert records a condition (the same kind and modem once);
	// ClearAlert ends it.
	RaiseAlert(kind, modemName, message string)
	ClearAlert(kind, modemName string)
}

// Ledger is the consent record of every number and what changes it.
// Create it with New.
type Ledger struct {
	db     *store.DB
	region string
	log    *slog.Logger
	now    func() time.Time
	policy *Policy
	outbox Outbox
	notify Notifier

	mu sync.Mutex // serialises consent decisions and their replies

	signups signups // the public sign-up page (signup.go)
}

// New returns the ledger kept in cfg.DB.
func New(cfg Config) *Ledger {
	return &Ledger{db: cfg.DB, region: cfg.Region, log: cfg.Log, now: cfg.Clock, policy: cfg.Policy, outbox: cfg.Outbox, notify: cfg.Notify,
		signups: signups{limits: cfg.Signup.withDefaults(), wake: make(chan struct{}, 1)}}
}

// number reads raw as an E.164 number in the box's region, or returns a
// *store.FieldError naming field.
func (l *Ledger) number(field, raw string) (string, error) {
	return contacts.NumberField(field, raw, l.region)
}

// Consent methods (R-OPTIN-1, R-RECORD), stored in the ledger as package
// store declares them.
const (
	MethodWebForm = store.MethodWebForm
	MethodKeyword = store.MethodKeyword
	MethodPOS     = store.MethodPOS
	MethodImport  = store.MethodImport
	MethodAPI     = store.MethodAPI
	MethodConsole = store.MethodConsole
)

// Methods lists the accepted methods, for forms and errors.
func Methods() []string {
	var names []string
	for _, m := range store.ConsentMethods() {
		names = append(names, string(m))
	}
	return names
}

func validMethod(m store.ConsentMethod) bool { return slices.Contains(store.ConsentMethods(), m) }

// Field length limits, in bytes: evidence, not essays.
const (
	MaxSourceLen = 500  // where consent was given
	MaxUALen     = 500  // the browser's user agent
	MaxShortLen  = 100  // a POS terminal or staff ID
	MaxNoteLen   = 1000 // a free-text note
)

// OptInRequest is one affirmative act of consent to marketing texts.
type OptInRequest struct {
	Number string
	// Method is how consent was given: web_form, keyword, pos, import,
	// api or console.
	Method store.ConsentMethod
	// Source is where: the page URL, the POS terminal or staff ID, the
	// keyword, the import file.
	Source string
	// DisclosureVersion is the saved disclosure text shown to the person;
	// its exact text is copied into the ledger.
	DisclosureVersion string
	// DoubleOptIn: the number becomes pending and gets one request text;
	// its YES reply confirms (R-DOI). Otherwise it is confirmed at once and
	// the confirmation text is its first message (R-OPTIN-2).
	DoubleOptIn bool
	// CartReminders is explicit consent to abandoned-cart texts (R-DOI);
	// with DoubleOptIn it takes effect at the number's YES.
	CartReminders bool
	IP            string // web_form: the browser's address (required)
	UserAgent     string // web_form
	Terminal      string // pos: terminal or staff ID (required)
	Actor         string // console user or API token that recorded it
	Note          string
}

// ErrOptedOut is returned when a single opt-in would re-subscribe a
// number that opted out: only the person can undo that, by texting START
// or the join keyword, or by confirming a double opt-in.
var ErrOptedOut = fmt.Errorf("%w: the number opted out; it can come back by texting START or the join keyword, or by confirming a double opt-in (double_opt_in: true)", store.ErrConflict)

// errNotOpen is why opt-ins wait on a new box.
var errNotOpen = fmt.Errorf("%w: %s", store.ErrConflict, compliance.ErrNoBrand)

func (r *OptInRequest) validate(l *Ledger) (number string, d compliance.Disclosure, err error) {
	number, err = l.number("number", r.Number)
	if err != nil {
		return "", d, err
	}
	r.Method = store.ConsentMethod(strings.TrimSpace(string(r.Method)))
	if r.Method == "" {
		return "", d, &store.FieldError{Field: "method", Message: "is required: how consent was given (" + strings.Join(Methods(), ", ") + ")"}
	}
	if !validMethod(r.Method) {
		return "", d, &store.FieldError{Field: "method", Message: fmt.Sprintf("%q is not one of %s", r.Method, strings.Join(Methods(), ", "))}
	}
	r.Source = strings.TrimSpace(r.Source)
	if r.Source == "" {
		return "", d, &store.FieldError{Field: "source", Message: "is required: where consent was given (page URL, POS terminal, keyword, file)"}
	}
	if len(r.Source) > MaxSourceLen {
		return "", d, &store.FieldError{Field: "source", Message: fmt.Sprintf("is longer than %d bytes", MaxSourceLen)}
	}
	if strings.TrimSpace(r.DisclosureVersion) == "" {
		return "", d, &store.FieldError{Field: "disclosure_version", Message: "is required: the version of the consent text the person saw"}
	}
	d, found, err := l.policy.DisclosureVersion(strings.TrimSpace(r.DisclosureVersion))
	if err != nil {
		return "", d, fmt.Errorf("gateway: read disclosure: %w", err)
	}
	if !found {
		return "", d, &store.FieldError{Field: "disclosure_version", Message: fmt.Sprintf("%q is not a saved disclosure version (Settings → Compliance)", r.DisclosureVersion)}
	}
	r.IP, r.UserAgent, r.Terminal = strings.TrimSpace(r.IP), strings.TrimSpace(r.UserAgent), strings.TrimSpace(r.Terminal)
	if r.IP != "" {
		if _, perr := netip.ParseAddr(r.IP); perr != nil {
			return "", d, &store.FieldError{Field: "ip", Message: fmt.Sprintf("%q is not an IP address", r.IP)}
		}
	}
	switch {
	case r.Method == MethodWebForm && r.IP == "":
		return "", d, &store.FieldError{Field: "ip", Message: "is required for a web_form opt-in: it is part of the evidence"}
	case r.Method == MethodPOS && r.Terminal == "":
		return "", d, &store.FieldError{Field: "terminal", Message: "is required for a pos opt-in: the terminal or staff ID"}
	case len(r.UserAgent) > MaxUALen:
		return "", d, &store.FieldError{Field: "user_agent", Message: fmt.Sprintf("is longer than %d bytes", MaxUALen)}
	case len(r.Terminal) > MaxShortLen:
		return "", d, &store.FieldError{Field: "terminal", Message: fmt.Sprintf("is longer than %d bytes", MaxShortLen)}
	case len(r.Note) > MaxNoteLen:
		return "", d, &store.FieldError{Field: "note", Message: fmt.Sprintf("is longer than %d bytes", MaxNoteLen)}
	}
	return number, d, nil
}

// OptIn records consent to marketing texts. With DoubleOptIn the number
// becomes pending and one request text is queued, and nothing else
// changes until its YES; no request goes if one went in the last 24 h, or
// to a number already subscribed unless it is asked to confirm cart
// reminders it does not have (then the returned event has ID 0).
// Otherwise it is confirmed and the opt-in confirmation is queued as its
// first text; a number already subscribed gets an evidence entry and no
// text. A number that opted out is refused unless DoubleOptIn
// (ErrOptedOut); a number erased on request is refused for api, import,
// pos and console (store.ErrSuppressed).
func (l *Ledger) OptIn(ctx context.Context, r OptInRequest) (store.ConsentEvent, store.Consent, error) {
	if err := ctx.Err(); err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	s := l.policy.Settings()
	if s.Brand == "" {
		return store.ConsentEvent{}, store.Consent{}, errNotOpen
	}
	number, d, err := r.validate(l)
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	if r.Method != MethodKeyword && r.Method != MethodWebForm {
		// Checked before a reply is queued; the store checks again in the
		// append's transaction.
		sup, err := l.db.IsSuppressed(number)
		if err != nil {
			return store.ConsentEvent{}, store.Consent{}, fmt.Errorf("gateway: %w", err)
		}
		if sup {
			return store.ConsentEvent{}, store.Consent{}, store.ErrSuppressed
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := l.db.Consent(number)
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, fmt.Errorf("gateway: %w", err)
	}
	now := l.now().UTC()
	ev := store.ConsentEvent{Number: number, At: now, TimeZone: numberTimeZone(number), Purpose: store.PurposeMarketing, Method: r.Method, Source: r.Source,
		DisclosureVersion: d.Version, DisclosureText: d.Text, IP: r.IP, UserAgent: r.UserAgent,
		Terminal: r.Terminal, Actor: r.Actor, Note: r.Note}
	// The key changes with every change of the number's record, so a retry
	// after a crash finds its reply and a later opt-in gets a new one.
	key := fmt.Sprintf("reply:optin:%s:%d", number, c.UpdatedAt.UnixNano())
	optedOut := c.OptedOutAll || c.Marketing == store.MarketingOptedOut

	var apply func(c *store.Consent) error
	switch {
	case r.DoubleOptIn:
		// Nothing the request asks for counts before the number's YES: a
		// stranger who types a subscribed number in changes nothing.
		if !doiWanted(&c, r.CartReminders) || !compliance.ReplyDue(&c, compliance.ReplyDOI, now) {
			return store.ConsentEvent{}, c, nil // nothing new to confirm, or one request per 24 h (compliance.ReplyDue)
		}
		ev.Type = store.EventDOIRequest
		if c.Marketing == store.MarketingConfirmed && !optedOut {
			ev.Note = joinNote(ev.Note, "subscribed already: asks the number to confirm cart reminders")
		}
		m, err := l.queueReply(number, compliance.ReplyDOI, key, s)
		if err != nil {
			return store.ConsentEvent{}, store.Consent{}, err
		}
		ev.MessageID = m.ID
		apply = applyDOIRequest(r.CartReminders, now)
	case c.Marketing == store.MarketingConfirmed && !optedOut:
		ev.Type = store.EventOptIn
		ev.Note = joinNote(ev.Note, "already subscribed: no text sent")
		cart := r.CartReminders
		apply = func(c *store.Consent) error {
			c.CartReminders = c.CartReminders || cart
			return nil
		}
	case optedOut:
		return store.ConsentEvent{}, c, ErrOptedOut
	default:
		ev.Type = store.EventOptIn
		m, err := l.queueReply(number, compliance.ReplyOptIn, key, s)
		if err != nil {
			return store.ConsentEvent{}, store.Consent{}, err
		}
		ev.MessageID = m.ID
		cart := r.CartReminders
		apply = func(c *store.Consent) error {
			confirm(c, now)
			c.CartReminders = c.CartReminders || cart
			compliance.NoteReply(c, compliance.ReplyOptIn, now)
			return nil
		}
	}
	stored, cur, _, err := l.db.AppendConsent(ev, apply)
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	l.notify.ConsentChanged(cur)
	return stored, cur, nil
}

// numberTimeZone is the recipient's time zone for the ledger (R-RECORD:
// UTC timestamp plus the recipient's zone), from the number: "A or B"
// when its area code spans two, "" when none is known.
func numberTimeZone(number string) string {
	var names []string
	for _, z := range compliance.NumberZones(number) {
		names = append(names, z.String())
	}
	return strings.Join(names, " or ")
}

// confirm makes c a confirmed marketing subscriber.
func confirm(c *store.Consent, now time.Time) {
	c.Marketing = store.MarketingConfirmed
	c.OptedOutAll, c.OptOutByKeyword = false, false
	c.ConfirmedAt = now
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// OptOutRequest records an opt-out someone asked for outside a keyword: by
// phone, by email, at the till.
type OptOutRequest struct {
	Number string
	// Purpose: "marketing" stops marketing only; "all" stops every text
	// except the compliance replies.
	Purpose store.ConsentPurpose
	Method  store.ConsentMethod // console, api, pos, web_form, import
	Source  string
	Actor   string
	Note    string
}

// OptOut records an opt-out and holds back the number's queued texts at
// once (R-STOP-2). No text is sent: the person asked some other way.
func (l *Ledger) OptOut(ctx context.Context, r OptOutRequest) (store.ConsentEvent, store.Consent, error) {
	if err := ctx.Err(); err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	number, err := l.number("number", r.Number)
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	if r.Purpose == "" {
		r.Purpose = store.PurposeMarketing
	}
	if r.Purpose != store.PurposeMarketing && r.Purpose != store.PurposeAll {
		return store.ConsentEvent{}, store.Consent{}, &store.FieldError{Field: "purpose", Message: `must be "marketing" or "all"`}
	}
	if r.Method == "" {
		return store.ConsentEvent{}, store.Consent{}, &store.FieldError{Field: "method", Message: "is required: how the person asked (" + strings.Join(Methods(), ", ") + ")"}
	}
	if !validMethod(r.Method) || r.Method == MethodKeyword {
		return store.ConsentEvent{}, store.Consent{}, &store.FieldError{Field: "method", Message: fmt.Sprintf(
			"%q is not one of console, api, pos, web_form, import (keyword opt-outs come by text)", r.Method)}
	}
	if len(r.Source) > MaxSourceLen {
		return store.ConsentEvent{}, store.Consent{}, &store.FieldError{Field: "source", Message: fmt.Sprintf("is longer than %d bytes", MaxSourceLen)}
	}
	if len(r.Note) > MaxNoteLen {
		return store.ConsentEvent{}, store.Consent{}, &store.FieldError{Field: "note", Message: fmt.Sprintf("is longer than %d bytes", MaxNoteLen)}
	}
	l.mu.Lock()
	ev := store.ConsentEvent{Number: number, At: l.now().UTC(), TimeZone: numberTimeZone(number), Type: store.EventOptOut, Purpose: r.Purpose,
		Method: r.Method, Source: strings.TrimSpace(r.Source), Actor: r.Actor, Note: r.Note}
	all := r.Purpose == store.PurposeAll
	stored, cur, _, err := l.db.AppendConsent(ev, func(c *store.Consent) error {
		optOut(c, all, false)
		return nil
	})
	l.mu.Unlock()
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	l.afterOptOut(cur)
	return stored, cur, nil
}

// optOut withdraws c's marketing consent (and all texts when all); a
// person's decision also closes an open review.
func optOut(c *store.Consent, all, byKeyword bool) {
	c.Marketing = store.MarketingOptedOut
	if all {
		c.OptedOutAll = true
	}
	c.OptOutByKeyword = byKeyword
	c.Review, c.ReviewInboundID, c.ReviewText = false, 0, ""
	c.PendingCartReminders = false // a request before the opt-out no longer stands
}

// afterOptOut publishes the change and judges the number's queued texts
// again now, so none of them reaches a modem (R-STOP-2); the send path's
// own check inside its transaction remains the guarantee.
func (l *Ledger) afterOptOut(c store.Consent) {
	l.notify.ConsentChanged(c)
	if err := l.outbox.RecheckQueued(c.Number); err != nil {
		l.log.Error("recheck queued texts after an opt-out", "error", err)
	}
	l.outbox.Wake()
}

// Review decisions.
const (
	ReviewOptOut = "opt_out"
	ReviewKeep   = "keep"
)

// ResolveReview ends an opt-out review (R-STOP-4): "opt_out" withdraws all
// consent and sends the opt-out confirmation (unless one went in the last
// 24 h); "keep" resumes marketing. store.ErrConflict when no review is open.
func (l *Ledger) ResolveReview(ctx context.Context, number, decision, actor string) (store.ConsentEvent, store.Consent, error) {
	if err := ctx.Err(); err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	n, err := l.number("number", number)
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	if decision != ReviewOptOut && decision != ReviewKeep {
		return store.ConsentEvent{}, store.Consent{}, &store.FieldError{Field: "decision", Message: `must be "opt_out" or "keep"`}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := l.db.Consent(n)
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, fmt.Errorf("gateway: %w", err)
	}
	if !c.Review {
		return store.ConsentEvent{}, c, fmt.Errorf("%w: no opt-out review is open for %s", store.ErrConflict, n)
	}
	now := l.now().UTC()
	ev := store.ConsentEvent{Number: n, At: now, TimeZone: numberTimeZone(n), Method: MethodConsole, Source: "review queue", Actor: actor,
		InboundID: c.ReviewInboundID}
	var apply func(c *store.Consent) error
	if decision == ReviewKeep {
		ev.Type, ev.Purpose, ev.Note = store.EventReviewResolved, store.PurposeMarketing, "kept subscribed: the text was not an opt-out"
		apply = func(c *store.Consent) error {
			c.Review, c.ReviewInboundID, c.ReviewText = false, 0, ""
			return nil
		}
	} else {
		ev.Type, ev.Purpose, ev.Note = store.EventOptOut, store.PurposeAll, "opt-out confirmed from the review queue: "+c.ReviewText
		reply := compliance.ReplyDue(&c, compliance.ReplyStop, now)
		if reply {
			m, err := l.queueReply(n, compliance.ReplyStop, fmt.Sprintf("reply:review:%s:%d", n, c.UpdatedAt.UnixNano()), l.policy.Settings())
			if err != nil {
				return store.ConsentEvent{}, store.Consent{}, err
			}
			ev.MessageID = m.ID
		}
		apply = func(c *store.Consent) error {
			optOut(c, true, false)
			if reply {
				compliance.NoteReply(c, compliance.ReplyStop, now)
			}
			return nil
		}
	}
	stored, cur, _, err := l.db.AppendConsent(ev, apply)
	if err != nil {
		return store.ConsentEvent{}, store.Consent{}, err
	}
	l.afterOptOut(cur) // "keep" frees held texts at once the same way
	return stored, cur, nil
}

// Consent returns a number's compliance record (the zero record when the
// number is unknown).
func (l *Ledger) Consent(number string) (store.Consent, error) {
	n, err := l.number("number", number)
	if err != nil {
		return store.Consent{}, err
	}
	return l.db.Consent(n)
}

// Events returns a number's ledger, oldest first.
func (l *Ledger) Events(number string) ([]store.ConsentEvent, error) {
	n, err := l.number("number", number)
	if err != nil {
		return nil, err
	}
	return l.db.ConsentEvents(n)
}

// ReviewQueue lists the numbers whose texts read like an opt-out and wait
// for a person's decision.
func (l *Ledger) ReviewQueue() ([]store.Consent, error) { return l.db.ReviewQueue() }

// Evidence is what a business shows when its consent to text a number is
// challenged (R-RECORD): the current record, every ledger entry and the
// full text of every disclosure version they refer to.
type Evidence struct {
	Number      string                           `json:"number"`
	Consent     store.Consent                    `json:"consent"`
	Events      []store.ConsentEvent             `json:"events"`
	Disclosures map[string]compliance.Disclosure `json:"disclosures,omitempty"`
	ExportedAt  time.Time                        `json:"exported_at"`
}

// Evidence gathers a number's evidence.
func (l *Ledger) Evidence(number string) (Evidence, error) {
	n, err := l.number("number", number)
	if err != nil {
		return Evidence{}, err
	}
	c, err := l.db.Consent(n)
	if err != nil {
		return Evidence{}, err
	}
	evs, err := l.db.ConsentEvents(n)
	if err != nil {
		return Evidence{}, err
	}
	out := Evidence{Number: n, Consent: c, Events: evs, ExportedAt: l.now().UTC()}
	for _, ev := range evs {
		if ev.DisclosureVersion == "" {
			continue
		}
		if _, ok := out.Disclosures[ev.DisclosureVersion]; ok {
			continue
		}
		d, found, err := l.policy.DisclosureVersion(ev.DisclosureVersion)
		if err != nil {
			return Evidence{}, err
		}
		if found {
			if out.Disclosures == nil {
				out.Disclosures = map[string]compliance.Disclosure{}
			}
			out.Disclosures[d.Version] = d
		}
	}
	return out, nil
}

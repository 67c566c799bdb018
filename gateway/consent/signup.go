package consent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// The public sign-up page (/join) lets anyone type any number. What a
// stranger can make the box do with it is bounded here and in the outbox:
//
//   - the answer never depends on the number's state: Signup stores the
//     sign-up (durably) and returns; the worker started by StartSignups
//     decides afterwards whether a request is due;
//   - a number that opted out is never texted because of it: its own
//     texts (the join keyword, START) are the way back;
//   - a number gets one request a day and at most SignupsPerNumber in 30
//     days without an answer of its own;
//   - a number already subscribed changes nothing: a new preference (cart
//     reminders) waits for its YES;
//   - requests go at low priority and within a daily budget (the
//     outbox's share of the fleet's parts); past it the page says it is
//     paused, and past either the budget or BusyPerHour an alert tells
//     the shop.

// Defaults for the sign-up page's bounds, each with where it comes from.
const (
	// DefaultSignupsPerNumber: three requests without an answer give a
	// person who missed the first two more chances, and stop a stranger
	// from making a number's phone buzz every day.
	DefaultSignupsPerNumber = 3
	// DefaultSignupBusyPerHour: a shop's poster or QR code brings a few
	// sign-ups an hour; 20 is a campaign at its peak or a script, so from
	// there the page asks for a proof of work and the shop is alerted.
	DefaultSignupBusyPerHour = 20

	// signupWindow is how far back requests to a number are counted.
	signupWindow = 30 * 24 * time.Hour
	// signupRecheck is how often the worker looks for sign-ups it was not
	// woken for (one left by a failed write) and re-judges the alert.
	signupRecheck = time.Minute
	// signupBatch bounds the sign-ups read at once.
	signupBatch = 100
)

// AlertSignupAbuse is raised while the sign-up page is busier than
// BusyPerHour or its daily budget is spent.
const AlertSignupAbuse = "join_abuse"

// ErrSignupsPaused is returned by Signup when today's budget for the
// page's requests is spent.
var ErrSignupsPaused = errors.New("sign-ups on this page are paused until tomorrow: today's share of the shop's texts for them is used up")

// SignupLimits bound the sign-up page; zero fields take the defaults.
type SignupLimits struct {
	// PerNumber is how many requests a number gets in 30 days from the
	// page without an answer of its own.
	PerNumber int
	// BusyPerHour is how many sign-ups an hour make the page busy: the
	// page then asks for a proof of work and the shop gets an alert.
	BusyPerHour int
}

func (s SignupLimits) withDefaults() SignupLimits {
	if s.PerNumber <= 0 {
		s.PerNumber = DefaultSignupsPerNumber
	}
	if s.BusyPerHour <= 0 {
		s.BusyPerHour = DefaultSignupBusyPerHour
	}
	return s
}

// SignupRequest is one sign-up on the public page.
type SignupRequest struct {
	Number        string
	CartReminders bool
	// Source names the page in the ledger: the configured address of the
	// page, never something the request carried (a Host header is the
	// sender's to choose).
	Source    string
	IP        string // the browser's address (required)
	UserAgent string
}

// signups is the state of the sign-up page the ledger keeps in memory.
type signups struct {
	limits SignupLimits
	wake   chan struct{} // one slot: "a sign-up is waiting"

	mu       sync.Mutex
	recent   []time.Time // the latest accepted sign-ups, at most limits.BusyPerHour
	spentDay string      // the day today's budget refused a request, as the outbox names days
	alerted  string      // the alert's message while it is raised
}

// Signup records a sign-up from the public page and returns once it is
// on disk, before acting on it: what the number's state calls for (a
// request, nothing, a preference to confirm) is decided by the worker, so
// the answer is the same, and takes the same work, whatever the state.
// Errors depend only on the request and the box: a *store.FieldError for
// the number, address or browser, store.ErrConflict before the shop has
// set its brand and disclosure, ErrSignupsPaused when today's budget is
// spent.
func (l *Ledger) Signup(ctx context.Context, r SignupRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := l.policy.Settings()
	if s.Brand == "" || s.Disclosure.Version == "" {
		return errNotOpen
	}
	number, err := l.number("number", r.Number)
	if err != nil {
		return err
	}
	r.IP, r.UserAgent, r.Source = strings.TrimSpace(r.IP), strings.TrimSpace(r.UserAgent), strings.TrimSpace(r.Source)
	if _, err := netip.ParseAddr(r.IP); err != nil {
		return &store.FieldError{Field: "ip", Message: fmt.Sprintf("%q is not an IP address; it is part of the evidence", r.IP)}
	}
	switch {
	case r.Source == "":
		return &store.FieldError{Field: "source", Message: "is required: where the sign-up page is"}
	case len(r.Source) > MaxSourceLen:
		return &store.FieldError{Field: "source", Message: fmt.Sprintf("is longer than %d bytes", MaxSourceLen)}
	case len(r.UserAgent) > MaxUALen:
		return &store.FieldError{Field: "user_agent", Message: fmt.Sprintf("is longer than %d bytes", MaxUALen)}
	}
	day := l.signupDay()
	fits, err := l.outbox.SignupFits(day, compliance.ReplyText(s, compliance.ReplyDOI))
	if err != nil {
		return err
	}
	if !fits {
		l.signupBudgetSpent(day)
		return ErrSignupsPaused
	}
	now := l.now().UTC()
	if _, err := l.db.AddSignup(store.Signup{Number: number, At: now, CartReminders: r.CartReminders, Source: r.Source,
		DisclosureVersion: s.Disclosure.Version, IP: r.IP, UserAgent: r.UserAgent}); err != nil {
		return err
	}
	l.countSignup(now)
	select {
	case l.signups.wake <- struct{}{}:
	default:
	}
	return nil
}

// SignupsBusy reports whether sign-ups come faster than BusyPerHour.
func (l *Ledger) SignupsBusy() bool {
	l.signups.mu.Lock()
	defer l.signups.mu.Unlock()
	return l.busyLocked(l.now())
}

func (l *Ledger) busyLocked(now time.Time) bool {
	r := l.signups.recent
	return len(r) >= l.signups.limits.BusyPerHour && now.Sub(r[0]) < time.Hour
}

// countSignup notes an accepted sign-up for the busy rule.
func (l *Ledger) countSignup(now time.Time) {
	sg := &l.signups
	sg.mu.Lock()
	sg.recent = append(sg.recent, now)
	if n := len(sg.recent) - sg.limits.BusyPerHour; n > 0 {
		sg.recent = append(sg.recent[:0], sg.recent[n:]...)
	}
	judge := l.busyLocked(now) || sg.alerted != ""
	sg.mu.Unlock()
	if judge {
		l.judgeSignupAlert() // raise it, or clear it on a new day
	}
}

// signupDay names today as the outbox's daily budget does (the box's
// local day).
func (l *Ledger) signupDay() string { return l.now().Format("2006-01-02") }

// signupBudgetSpent notes that day's budget refused a request.
func (l *Ledger) signupBudgetSpent(day string) {
	l.signups.mu.Lock()
	l.signups.spentDay = day
	l.signups.mu.Unlock()
	l.judgeSignupAlert()
}

// judgeSignupAlert raises, updates or clears the abuse alert from the
// page's state now: busy, budget spent (until the day is over), both or
// neither.
func (l *Ledger) judgeSignupAlert() {
	sg := &l.signups
	today := l.signupDay()
	_, limit, err := l.outbox.SignupBudget(today)
	if err != nil {
		l.log.Error("read the sign-up budget", "error", err)
		return
	}
	sg.mu.Lock()
	defer sg.mu.Unlock()
	var why []string
	if l.busyLocked(l.now()) {
		why = append(why, fmt.Sprintf("%d or more sign-ups in the last hour: visitors must pass a browser check before a sign-up counts", sg.limits.BusyPerHour))
	}
	if sg.spentDay == today {
		why = append(why, fmt.Sprintf("today's budget for its texts (%d parts) is used up: sign-ups by web are paused until midnight; texting the join keyword still works", limit))
	}
	msg := ""
	if len(why) > 0 {
		msg = "The sign-up page /join is being used unusually: " + strings.Join(why, "; ") + "."
	}
	switch {
	case msg == sg.alerted:
	case msg == "":
		l.notify.ClearAlert(AlertSignupAbuse, "")
	default:
		l.notify.RaiseAlert(AlertSignupAbuse, "", msg)
	}
	sg.alerted = msg
}

// StartSignups handles the waiting sign-ups, at once and whenever one is
// recorded, until ctx is done; the returned function stops it and waits
// (the gateway's Run defers it).
func (l *Ledger) StartSignups(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(signupRecheck)
		defer t.Stop()
		for {
			l.HandleSignups()
			select {
			case <-ctx.Done():
				return
			case <-l.signups.wake:
			case <-t.C:
				l.judgeSignupAlert()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// HandleSignups acts on every waiting sign-up, oldest first. One that
// fails to be written stays for the next turn.
func (l *Ledger) HandleSignups() {
	for {
		batch, err := l.db.Signups(signupBatch)
		if err != nil {
			l.log.Error("read waiting sign-ups", "error", err)
			return
		}
		for _, su := range batch {
			if err := l.handleSignup(su); err != nil {
				l.log.Error("handle a sign-up; will retry", "signup", su.ID, "error", err)
				return
			}
		}
		if len(batch) < signupBatch {
			return
		}
	}
}

// handleSignup decides what one sign-up calls for, does it and forgets
// the sign-up. It is idempotent: the request's idempotency key comes from
// the sign-up, and a request whose ledger entry exists is not recorded
// twice, so a crash between the steps repeats none of them.
func (l *Ledger) handleSignup(su store.Signup) error {
	l.mu.Lock()
	err := l.actOnSignup(su)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return l.db.DeleteSignup(su.ID)
}

func (l *Ledger) actOnSignup(su store.Signup) error {
	c, err := l.db.Consent(su.Number)
	if err != nil {
		return err
	}
	now := l.now().UTC()
	events, err := l.db.ConsentEvents(su.Number)
	if err != nil {
		return err
	}
	switch {
	case c.OptedOutAll || c.Marketing == store.MarketingOptedOut:
		// The number said stop. A stranger typing it in does not undo
		// that; the number's own JOIN or START does.
		l.log.Debug("sign-up for a number that opted out: not texted", "signup", su.ID)
		return nil
	case !doiWanted(&c, su.CartReminders):
		return nil // subscribed, nothing new to confirm
	case !compliance.ReplyDue(&c, compliance.ReplyDOI, now):
		return nil // asked in the last 24 h
	case requestsSinceAnswer(events, now) >= l.signups.limits.PerNumber:
		l.log.Debug("sign-up for a number asked too often without an answer: not texted", "signup", su.ID)
		return nil
	}
	d, found, err := l.policy.DisclosureVersion(su.DisclosureVersion)
	if err != nil {
		return fmt.Errorf("gateway: read disclosure: %w", err)
	}
	if !found {
		l.log.Error("sign-up under a disclosure that is not saved; dropped", "signup", su.ID, "version", su.DisclosureVersion)
		return nil
	}
	s := l.policy.Settings()
	m, err := l.outbox.NewReply(su.Number, compliance.ReplyText(s, compliance.ReplyDOI), fmt.Sprintf("reply:signup:%d", su.ID),
		"automatic "+replyLabel(compliance.ReplyDOI)+" (sign-up page)")
	var fe *store.FieldError
	if errors.As(err, &fe) {
		// The saved template cannot be sent (too long): retrying will not
		// help, and the sign-up is no use without its request.
		l.log.Error("sign-up request cannot be sent; dropped", "signup", su.ID, "error", err)
		return nil
	}
	if err != nil {
		return err
	}
	day := l.signupDay()
	stored, existing, err := l.outbox.EnqueueSignup(m, day)
	if errors.Is(err, store.ErrBudgetSpent) {
		l.signupBudgetSpent(day)
		return nil
	}
	if err != nil {
		return fmt.Errorf("gateway: enqueue sign-up request: %w", err)
	}
	if existing {
		for _, ev := range events {
			if ev.MessageID == stored.ID {
				return nil // recorded before a crash; only the deletion was lost
			}
		}
	}
	ev := store.ConsentEvent{Number: su.Number, At: su.At, TimeZone: numberTimeZone(su.Number), Type: store.EventDOIRequest,
		Purpose: store.PurposeMarketing, Method: MethodWebForm, Source: su.Source, DisclosureVersion: d.Version,
		DisclosureText: d.Text, IP: su.IP, UserAgent: su.UserAgent, MessageID: stored.ID}
	if c.Marketing == store.MarketingConfirmed {
		ev.Note = "subscribed already: asks the number to confirm cart reminders"
	}
	_, cur, _, err := l.db.AppendConsent(ev, applyDOIRequest(su.CartReminders, now))
	if err != nil {
		return err
	}
	l.notify.ConsentChanged(cur)
	return nil
}

// requestsSinceAnswer counts the double opt-in requests sent to a number
// in the last signupWindow after the last text of its own (a keyword that
// changed its consent): those it has not answered.
func requestsSinceAnswer(events []store.ConsentEvent, now time.Time) int {
	n := 0
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		if ev.InboundID != 0 || now.Sub(ev.At) > signupWindow {
			break
		}
		if ev.Type == store.EventDOIRequest && ev.MessageID != 0 {
			n++
		}
	}
	return n
}

// doiWanted reports whether a double opt-in request would ask c's number
// for anything: a number already subscribed is asked only to confirm cart
// reminders it does not have yet.
func doiWanted(c *store.Consent, cart bool) bool {
	if c.Marketing == store.MarketingConfirmed && !c.OptedOutAll {
		return cart && !c.CartReminders
	}
	return true
}

// applyDOIRequest is the record's change for a double opt-in request: the
// number is pending unless it is subscribed already, and what it was asked
// to agree to waits for its YES.
func applyDOIRequest(cart bool, now time.Time) func(c *store.Consent) error {
	return func(c *store.Consent) error {
		if c.Marketing != store.MarketingConfirmed || c.OptedOutAll {
			c.Marketing = store.MarketingPending
		}
		c.PendingCartReminders = cart
		compliance.NoteReply(c, compliance.ReplyDOI, now)
		return nil
	}
}

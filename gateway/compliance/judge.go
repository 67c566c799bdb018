package compliance

import (
	"fmt"
	"slices"
	"time"

	"github.com/simgate/simgate/store"
)

// The compliance guard decides, right before a text goes to a modem,
// whether it may go now (docs/compliance.md R-STOP-2, R-DOI, R-QH,
// R-MINI-TCPA-FREQ). It runs inside the transaction that marks the first
// part `sending` (store.AdmitSend), so a STOP committed a millisecond
// earlier is seen, and two SIMs can never both take the last slot of a
// number's frequency cap.

// VerdictKind is what the guard decided.
type VerdictKind uint8

const (
	VerdictSend     VerdictKind = iota
	VerdictDefer                // wait until Verdict.Until
	VerdictSuppress             // never send: no consent or opted out
	VerdictExpire               // the wait would outlast the text's validity
)

// Verdict is the guard's decision about one text, with the reason in words
// a shop owner can read on the message page.
type Verdict struct {
	Kind   VerdictKind
	Until  time.Time
	Reason string
}

// reviewRecheck is how often a text held by an opt-out review looks again:
// a person usually decides within the hour.
const reviewRecheck = 10 * time.Minute

// Rules is what the guard needs to know about where a number is.
type Rules struct {
	Zones  []*time.Location // every zone the number may be in: the window must hold in all
	Window Window
	Why    string // "US federal", "strict state (FL)", "country FR", for the decision text
	// AwaitingConfirmation: the opt-in confirmation to this number is not
	// yet accepted by the network; marketing waits behind it (R-OPTIN-2).
	AwaitingConfirmation bool
}

// confirmationRecheck is how soon marketing held behind an opt-in
// confirmation looks again: the confirmation is normally out in seconds.
const confirmationRecheck = time.Minute

// Judge decides for message m to the number whose consent is c. It is a
// pure function of its inputs, so the dispatcher, the send path and the
// property test all get the same answer.
func Judge(m *store.Message, c *store.Consent, suppressed bool, rules Rules, s *Settings, now time.Time) Verdict {
	switch m.Kind {
	case store.KindCompliance:
		// Opt-out confirmations and HELP answers go even to opted-out numbers
		// (R-STOP-3, R-HELP); they carry no marketing.
		return Verdict{Kind: VerdictSend}
	case store.KindMarketing:
	default: // transactional
		if suppressed {
			return Verdict{Kind: VerdictSuppress, Reason: "the number was erased on request and is on the suppression list"}
		}
		if c.OptedOutAll {
			return Verdict{Kind: VerdictSuppress, Reason: "the number opted out of all texts (STOP)"}
		}
		return Verdict{Kind: VerdictSend}
	}

	switch {
	case suppressed:
		return Verdict{Kind: VerdictSuppress, Reason: "no marketing consent: the number was erased on request and is on the suppression list"}
	case c.OptedOutAll || c.Marketing == store.MarketingOptedOut:
		return Verdict{Kind: VerdictSuppress, Reason: "no marketing consent: the number opted out"}
	case c.Marketing == store.MarketingPending:
		return Verdict{Kind: VerdictSuppress, Reason: "no marketing consent: double opt-in not confirmed (no YES reply yet)"}
	case c.Marketing != store.MarketingConfirmed:
		return Verdict{Kind: VerdictSuppress, Reason: "no marketing consent on record for this number"}
	}

	if partlySent(m) {
		// The first parts left (a restart between parts): finish the text
		// rather than leave the phone with half of it until morning.
		return Verdict{Kind: VerdictSend}
	}
	var hold []string
	until := now
	if rules.AwaitingConfirmation {
		until = now.Add(confirmationRecheck)
		hold = append(hold, "the opt-in confirmation must reach the number first")
	}
	if c.Review {
		// R-STOP-4: paused until a person decides; not suppressed, since the
		// decision may be "keep subscribed".
		if r := now.Add(reviewRecheck); r.After(until) {
			until = r
		}
		hold = append(hold, "an opt-out review is open for this number (a reply read like STOP): paused until someone decides in the console")
	}
	// Frequency cap: once admitted, a text counts once, however many
	// attempts it takes.
	if m.AdmittedAt.IsZero() {
		if free := capFreeAt(c.RecentMarketing, s.MarketingPer24h, now); free.After(until) {
			until = free
			hold = append(hold, fmt.Sprintf("frequency cap: %d marketing text(s) per 24 h already sent to this number", s.MarketingPer24h))
		}
	}
	allowed := nextAllowed(until, rules.Zones, rules.Window)
	if allowed.IsZero() {
		return Verdict{Kind: VerdictSuppress, Reason: fmt.Sprintf(
			"the allowed window %s (%s) never opens in all of the number's time zones at once", rules.Window, rules.Why)}
	}
	if allowed.After(until) {
		lt := until.In(rules.Zones[0])
		hold = append(hold, fmt.Sprintf("quiet hours: %s in %s; marketing allowed %s local (%s)",
			lt.Format("15:04"), rules.Zones[0], rules.Window, rules.Why))
		until = allowed
	}
	if len(hold) == 0 {
		return Verdict{Kind: VerdictSend}
	}
	reason := hold[0]
	for _, h := range hold[1:] {
		reason += "; " + h
	}
	if !until.Before(m.ExpiresAt) {
		return Verdict{Kind: VerdictExpire, Reason: "expired while held: " + reason + fmt.Sprintf(
			"; the next allowed moment (%s) is after its validity ends (%s)",
			until.UTC().Format(time.RFC3339), m.ExpiresAt.UTC().Format(time.RFC3339))}
	}
	return Verdict{Kind: VerdictDefer, Until: until, Reason: reason}
}

// partlySent reports whether some part of m already reached the network.
func partlySent(m *store.Message) bool {
	for _, p := range m.Parts {
		if p.Status == store.StatusSent || p.Status == store.StatusDelivered {
			return true
		}
	}
	return false
}

// capFreeAt is the first moment from now on when fewer than limit of the
// sends in recent fall inside the rolling CapWindow.
func capFreeAt(recent []time.Time, limit int, now time.Time) time.Time {
	var inWindow []time.Time
	for _, t := range recent {
		if now.Sub(t) < CapWindow {
			inWindow = append(inWindow, t)
		}
	}
	if len(inWindow) < limit {
		return now
	}
	slices.SortFunc(inWindow, func(a, b time.Time) int { return a.Compare(b) })
	// Once the oldest len-limit+1 sends have left the window, one slot is free.
	return inWindow[len(inWindow)-limit].Add(CapWindow)
}

// RecordMarketing notes a marketing send for the cap, dropping what has
// left the window.
func RecordMarketing(c *store.Consent, at time.Time) {
	kept := c.RecentMarketing[:0]
	for _, t := range c.RecentMarketing {
		if at.Sub(t) < CapWindow {
			kept = append(kept, t)
		}
	}
	c.RecentMarketing = append(kept, at)
}

// inWindow reports whether t's local clock time in loc is inside w.
func inWindow(t time.Time, loc *time.Location, w Window) bool {
	lt := t.In(loc)
	minute := lt.Hour()*60 + lt.Minute()
	return minute >= w.Start && minute < w.End
}

// nextAllowed returns the first moment at or after t that is inside w in
// every zone, or zero if there is none within a week (a window narrower
// than the zones' spread).
func nextAllowed(t time.Time, zones []*time.Location, w Window) time.Time {
	for range 64 {
		moved := false
		for _, z := range zones {
			if inWindow(t, z, w) {
				continue
			}
			lt := t.In(z)
			start := time.Date(lt.Year(), lt.Month(), lt.Day(), w.Start/60, w.Start%60, 0, 0, z)
			if !lt.Before(start) {
				start = time.Date(lt.Year(), lt.Month(), lt.Day()+1, w.Start/60, w.Start%60, 0, 0, z)
			}
			if !start.After(t) { // a DST gap moved the start back: step a minute
				start = t.Add(time.Minute).Truncate(time.Minute)
			}
			t, moved = start, true
		}
		if !moved {
			return t
		}
	}
	return time.Time{}
}

// NextAllowed is the first moment at or after t when marketing may go to a
// number with rules r (inside its window in every zone), or zero if there
// is none within a week: what the guard will defer a text to, for planners
// that want to say so in advance (a campaign's dry run and send times).
func NextAllowed(t time.Time, r Rules) time.Time { return nextAllowed(t, r.Zones, r.Window) }

package gateway

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // quiet hours need every zone even on a box without the tz database

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/store"
)

// The compliance guard decides, right before a text goes to a modem,
// whether it may go now (COMPLIANCE.md R-STOP-2, R-DOI, R-QH,
// R-MINI-TCPA-FREQ). It runs inside the transaction that marks the first
// part `sending` (store.AdmitSend), so a STOP committed a millisecond
// earlier is seen, and two SIMs can never both take the last slot of a
// number's frequency cap.

// verdictKind is what the guard decided.
type verdictKind uint8

const (
	verdictSend     verdictKind = iota
	verdictDefer                // wait until verdict.until
	verdictSuppress             // never send: no consent or opted out
	verdictExpire               // the wait would outlast the text's validity
)

type verdict struct {
	kind   verdictKind
	until  time.Time
	reason string
}

// reviewRecheck is how often a text held by an opt-out review looks again:
// a person usually decides within the hour.
const reviewRecheck = 10 * time.Minute

// recipientRules is what the guard needs to know about where a number is.
type recipientRules struct {
	zones  []*time.Location // every zone the number may be in: the window must hold in all
	window Window
	why    string // "US federal", "strict state (FL)", "country FR", for the decision text
	// awaitingConfirmation: the opt-in confirmation to this number is not
	// yet accepted by the network; marketing waits behind it (R-OPTIN-2).
	awaitingConfirmation bool
}

// confirmationRecheck is how soon marketing held behind an opt-in
// confirmation looks again: the confirmation is normally out in seconds.
const confirmationRecheck = time.Minute

// judge decides for message m to the number whose consent is c. It is a
// pure function of its inputs, so the dispatcher, the send path and the
// property test all get the same answer.
func judge(m *store.Message, c *store.Consent, suppressed bool, rules recipientRules, s *ComplianceSettings, now time.Time) verdict {
	switch m.Kind {
	case store.KindCompliance:
		// Opt-out confirmations and HELP answers go even to opted-out numbers
		// (R-STOP-3, R-HELP); they carry no marketing.
		return verdict{kind: verdictSend}
	case store.KindMarketing:
	default: // transactional
		if suppressed {
			return verdict{kind: verdictSuppress, reason: "the number was erased on request and is on the suppression list"}
		}
		if c.OptedOutAll {
			return verdict{kind: verdictSuppress, reason: "the number opted out of all texts (STOP)"}
		}
		return verdict{kind: verdictSend}
	}

	switch {
	case suppressed:
		return verdict{kind: verdictSuppress, reason: "no marketing consent: the number was erased on request and is on the suppression list"}
	case c.OptedOutAll || c.Marketing == store.MarketingOptedOut:
		return verdict{kind: verdictSuppress, reason: "no marketing consent: the number opted out"}
	case c.Marketing == store.MarketingPending:
		return verdict{kind: verdictSuppress, reason: "no marketing consent: double opt-in not confirmed (no YES reply yet)"}
	case c.Marketing != store.MarketingConfirmed:
		return verdict{kind: verdictSuppress, reason: "no marketing consent on record for this number"}
	}

	if partlySent(m) {
		// The first parts left (a restart between parts): finish the text
		// rather than leave the phone with half of it until morning.
		return verdict{kind: verdictSend}
	}
	var hold []string
	until := now
	if rules.awaitingConfirmation {
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
	allowed := nextAllowed(until, rules.zones, rules.window)
	if allowed.IsZero() {
		return verdict{kind: verdictSuppress, reason: fmt.Sprintf(
			"the allowed window %s (%s) never opens in all of the number's time zones at once", rules.window, rules.why)}
	}
	if allowed.After(until) {
		lt := until.In(rules.zones[0])
		hold = append(hold, fmt.Sprintf("quiet hours: %s in %s; marketing allowed %s local (%s)",
			lt.Format("15:04"), rules.zones[0], rules.window, rules.why))
		until = allowed
	}
	if len(hold) == 0 {
		return verdict{kind: verdictSend}
	}
	reason := hold[0]
	for _, h := range hold[1:] {
		reason += "; " + h
	}
	if !until.Before(m.ExpiresAt) {
		return verdict{kind: verdictExpire, reason: "expired while held: " + reason + fmt.Sprintf(
			"; the next allowed moment (%s) is after its validity ends (%s)",
			until.UTC().Format(time.RFC3339), m.ExpiresAt.UTC().Format(time.RFC3339))}
	}
	return verdict{kind: verdictDefer, until: until, reason: reason}
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

// recordMarketing notes a marketing send for the cap, dropping what has
// left the window.
func recordMarketing(c *store.Consent, at time.Time) {
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

// strictAreaCodes are the US area codes of states that allow marketing
// texts only 08:00-20:00 (COMPLIANCE.md R-QH: FL, OK, MD, WA, CT), with
// overlays, as assigned by NANPA.
var strictAreaCodes = map[string]string{
	// Florida
	"239": "FL", "305": "FL", "321": "FL", "324": "FL", "352": "FL", "386": "FL", "407": "FL",
	"448": "FL", "561": "FL", "645": "FL", "656": "FL", "689": "FL", "727": "FL", "728": "FL",
	"754": "FL", "772": "FL", "786": "FL", "813": "FL", "850": "FL", "863": "FL", "904": "FL",
	"941": "FL", "954": "FL",
	// Oklahoma
	"405": "OK", "539": "OK", "572": "OK", "580": "OK", "918": "OK",
	// Maryland
	"227": "MD", "240": "MD", "301": "MD", "410": "MD", "443": "MD", "667": "MD",
	// Washington
	"206": "WA", "253": "WA", "360": "WA", "425": "WA", "509": "WA", "564": "WA",
	// Connecticut
	"203": "CT", "475": "CT", "860": "CT", "959": "CT",
}

// zoneCache holds loaded locations: LoadLocation reads the tz database.
var zoneCache sync.Map // name → *time.Location

func loadZone(name string) *time.Location {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zoneCache.Store(name, loc)
	return loc
}

// rulesFor works out the zones and window for number (E.164). A contact's
// time zone, when a person gave it, wins; otherwise every zone of the
// number's area code counts (a state spanning two zones gets the
// intersection of both windows), then the country's easternmost zone, then
// the box's own (R-QH resolution order).
func rulesFor(number string, contact *store.Contact, s *ComplianceSettings) recipientRules {
	var r recipientRules
	num, err := phonenumbers.Parse(number, "")
	region := ""
	if err == nil {
		region = phonenumbers.GetRegionCodeForNumber(num)
	}
	if contact != nil && contact.TimeZone != "" && !contact.TimeZoneDerived {
		if z := loadZone(contact.TimeZone); z != nil {
			r.zones = []*time.Location{z}
		}
	}
	if len(r.zones) == 0 {
		r.zones = numberZones(number)
	}
	if len(r.zones) == 0 {
		r.zones = []*time.Location{time.Local}
	}

	r.window, r.why = s.QuietDefault, "default window"
	if region == "US" || region == "" && len(number) == 12 && number[:2] == "+1" {
		r.why = "US federal rule"
		if state, ok := strictAreaCodes[usAreaCode(number)]; ok {
			r.window, r.why = s.QuietStrict, "stricter state law ("+state+")"
			if state == "FL" && (contact == nil || contact.TimeZone == "" || contact.TimeZoneDerived) {
				// Florida spans Eastern and Central time and its area codes
				// do not follow the line (850 holds Tallahassee and the
				// western panhandle): both clocks must be in the window.
				r.zones = floridaZones()
			}
		}
	}
	if w, ok := s.QuietCountries[region]; ok && region != "" {
		r.window, r.why = w, "setting for "+region
	}
	return r
}

func floridaZones() []*time.Location {
	var out []*time.Location
	for _, n := range []string{"America/New_York", "America/Chicago"} {
		if z := loadZone(n); z != nil {
			out = append(out, z)
		}
	}
	return out
}

// usAreaCode returns the three digits after +1, or "".
func usAreaCode(number string) string {
	if len(number) == 12 && number[:2] == "+1" {
		return number[2:5]
	}
	return ""
}

// numberZones lists the zones a number's prefix may be in (several where
// an area code spans zones), else its country's easternmost zone, else
// none. The guard, a contact's derived zone and the ledger's zone all come
// from here, so they agree.
func numberZones(e164 string) []*time.Location {
	names, _ := phonenumbers.GetTimezonesForPrefix(e164)
	var zones []*time.Location
	for _, n := range names {
		if z := loadZone(n); z != nil && n != phonenumbers.UNKNOWN_TIMEZONE {
			zones = append(zones, z)
		}
	}
	if len(zones) > 0 {
		return zones
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil || phonenumbers.GetRegionCodeForNumber(num) == "" {
		return nil
	}
	return easternmostZone(num.GetCountryCode())
}

// easternZones caches each country code's easternmost zone.
var easternZones sync.Map // int32 → []*time.Location

// easternmostZone is the zone of the country whose clock is furthest ahead
// (Klaviyo's fallback, R-QH): marketing then never starts early anywhere
// in the country, though it may stop early in its west.
func easternmostZone(cc int32) []*time.Location {
	if v, ok := easternZones.Load(cc); ok {
		return v.([]*time.Location)
	}
	names, _ := phonenumbers.GetTimezonesForPrefix(fmt.Sprintf("+%d", cc))
	var best *time.Location
	bestOffset := 0
	ref := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, n := range names {
		z := loadZone(n)
		if z == nil || n == "Etc/Unknown" {
			continue
		}
		if _, off := ref.In(z).Zone(); best == nil || off > bestOffset {
			best, bestOffset = z, off
		}
	}
	var out []*time.Location
	if best != nil {
		out = []*time.Location{best}
	}
	easternZones.Store(cc, out)
	return out
}

// recipientRules gathers what the guard reads about a number outside the
// commit: the contact (for its time zone) and, from c as read a moment
// ago, whether an opt-in confirmation is still on its way. Consent and
// suppression are read again inside the transaction.
func (g *Gateway) recipientRules(number string, c store.Consent, s *ComplianceSettings) recipientRules {
	var contact *store.Contact
	if ct, err := g.db.ContactByNumber(number); err == nil {
		contact = &ct
	}
	r := rulesFor(number, contact, s)
	r.awaitingConfirmation = g.confirmationPending(c)
	return r
}

// confirmationPending reports whether the opt-in confirmation most
// recently queued for c's number has not yet been accepted by the network.
// It reads the ledger only of a number that got one lately.
func (g *Gateway) confirmationPending(c store.Consent) bool {
	at, ok := c.LastReply[replyOptIn]
	if !ok || g.now().Sub(at) > DefaultTransactionalValidity {
		return false
	}
	events, err := g.db.ConsentEvents(c.Number)
	if err != nil {
		return false
	}
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		if ev.MessageID == 0 || ev.Type == store.EventOptOut || ev.Type == store.EventDOIRequest {
			continue
		}
		m, err := g.db.Get(ev.MessageID)
		if err != nil {
			return false
		}
		return m.Status == store.StatusQueued || m.Status == store.StatusSending
	}
	return false
}

// admit is the guard's commit point: in one transaction it reads the
// number's consent, judges m and either lets it through (mark runs on the
// message, typically marking its first part `sending`) or writes the
// decision: held until later, suppressed or expired. It reports whether the
// text may go now.
func (g *Gateway) admit(id uint64, to string, kind store.Kind, mark func(m *store.Message, now time.Time)) (store.Message, bool, error) {
	s := g.ComplianceSettings()
	var rules recipientRules
	if kind == store.KindMarketing { // only marketing waits for a window
		c, err := g.db.Consent(to)
		if err != nil {
			return store.Message{}, false, fmt.Errorf("gateway: read consent: %w", err)
		}
		rules = g.recipientRules(to, c, &s)
	}
	now := g.now()
	send := false
	msg, _, err := g.db.AdmitSend(id, func(m *store.Message, c *store.Consent, suppressed bool) error {
		if m.Status != store.StatusQueued && m.Status != store.StatusSending {
			return errSkip
		}
		send = false
		v := judge(m, c, suppressed, rules, &s, now)
		if v.kind == verdictSend && mark == nil {
			return errSkip // a precheck that finds it may go after all: leave it to the send path
		}
		if v.kind != verdictSend {
			applyVerdict(m, v, now)
			return nil
		}
		if m.Kind == store.KindMarketing && m.AdmittedAt.IsZero() {
			m.AdmittedAt = now
			recordMarketing(c, now)
		}
		if m.Hold != "" {
			m.Hold = ""
		}
		if mark != nil {
			mark(m, now)
		}
		send = true
		return nil
	})
	if err != nil {
		return store.Message{}, false, err
	}
	if !send {
		g.publishMessage(msg)
	}
	return msg, send, nil
}

// applyVerdict writes a decision other than "send" on m, in words a shop
// owner can read on the message page.
func applyVerdict(m *store.Message, v verdict, now time.Time) {
	switch v.kind {
	case verdictSuppress:
		m.Error, m.Hold = v.reason, ""
		setStatus(m, now, store.StatusSuppressed, "suppressed: "+v.reason)
	case verdictExpire:
		m.Error, m.Hold = v.reason, ""
		setStatus(m, now, store.StatusExpired, v.reason)
	case verdictDefer:
		m.NextAttemptAt = v.until
		if m.Hold != v.reason {
			m.Hold = v.reason
			setStatus(m, now, store.StatusQueued, fmt.Sprintf("held until %s: %s", v.until.UTC().Format("2006-01-02 15:04 UTC"), v.reason))
		}
	}
}

// precheck lets the dispatcher hold back a text the guard would refuse
// without spending a modem's turn on it. It only reads; a refusal is then
// written by admit, which judges again inside its transaction.
func (g *Gateway) precheck(m store.Message) bool {
	if m.Kind != store.KindMarketing {
		// Only marketing waits for a window or a cap; a transactional text
		// to an opted-out number is refused by admit in one transaction.
		return true
	}
	s := g.ComplianceSettings()
	c, err := g.db.Consent(m.To)
	if err != nil {
		return true // the send path's admit decides and reports the error
	}
	suppressed, err := g.db.IsSuppressed(m.To)
	if err != nil {
		return true
	}
	if judge(&m, &c, suppressed, g.recipientRules(m.To, c, &s), &s, g.now()).kind == verdictSend {
		return true
	}
	if _, _, err := g.admit(m.ID, m.To, m.Kind, nil); err != nil && !errors.Is(err, errSkip) {
		g.log.Error("hold back message", "id", m.ID, "error", err)
	}
	return false
}

// RecheckQueued judges every queued text to number again at once. After a
// STOP or an opt-out review its marketing is suppressed or paused now,
// not when each text falls due (R-STOP-2: effective before the next
// dequeue); the send path's own check stays the guarantee.
func (g *Gateway) RecheckQueued(number string) error {
	var before uint64
	for {
		msgs, next, err := g.db.MessagesTo(number, before, store.MaxListLimit)
		if err != nil {
			return fmt.Errorf("gateway: recheck queued texts: %w", err)
		}
		for _, m := range msgs {
			if m.Status != store.StatusQueued {
				continue
			}
			if _, _, err := g.admit(m.ID, m.To, m.Kind, nil); err != nil && !errors.Is(err, errSkip) {
				return fmt.Errorf("gateway: recheck message %d: %w", m.ID, err)
			}
		}
		if next == 0 {
			return nil
		}
		before = next
	}
}

package compliance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/store"
)

// marketingValidity is the outbox's default validity of a marketing text
// (docs/architecture.md, "24 h for marketing").
const marketingValidity = 24 * time.Hour

func testSettings() Settings {
	s := Defaults()
	s.Brand, s.SupportContact, s.Frequency = "Rosa's Bakery", "rosa@example.com", "up to 4 msgs/month"
	return s
}

func marketingMsg(now time.Time) store.Message {
	return store.Message{ID: 1, To: "+12125550123", Kind: store.KindMarketing, Status: store.StatusQueued,
		ExpiresAt: now.Add(marketingValidity), Parts: []store.Part{{Seq: 1, MR: -1, Status: store.StatusQueued}}}
}

func confirmed(number string) store.Consent {
	return store.Consent{Number: number, Marketing: store.MarketingConfirmed}
}

// strictStates are the states whose law allows marketing 08:00-20:00 only
// (docs/compliance.md R-QH), as the phone number geocoder names them.
var strictStates = map[string]string{
	"Florida": "FL", "Oklahoma": "OK", "Maryland": "MD", "Washington State": "WA", "Connecticut": "CT",
}

func geocodedState(t *testing.T, num *phonenumbers.PhoneNumber) string {
	g, err := phonenumbers.GetGeocodingForNumber(num, "en")
	if err != nil {
		t.Fatal(err)
	}
	for name, code := range strictStates {
		if strings.Contains(g, name) || strings.HasSuffix(g, ", "+code) {
			return code
		}
	}
	return ""
}

// TestStrictAreaCodesMatchGeocoder checks the hand-kept table of strict
// area codes against the geocoder's idea of each US area code's state, so
// a new overlay code shows up as a failing test, not as texts at 20:30.
func TestStrictAreaCodesMatchGeocoder(t *testing.T) {
	for ac := 200; ac < 1000; ac++ {
		num, err := phonenumbers.Parse(fmt.Sprintf("+1%d2345678", ac), "")
		if err != nil || !phonenumbers.IsValidNumber(num) {
			continue
		}
		want := geocodedState(t, num)
		if got := strictAreaCodes[fmt.Sprint(ac)]; got != want {
			t.Errorf("area code %d: table says %q, geocoder says %q", ac, got, want)
		}
	}
}

func TestGuardTable(t *testing.T) {
	s := testSettings()
	ny, _ := time.LoadLocation("America/New_York")
	noon := time.Date(2026, 6, 10, 12, 0, 0, 0, ny)
	night := time.Date(2026, 6, 10, 22, 30, 0, 0, ny)
	rules := RulesFor("+12125550123", nil, &s)
	type tc struct {
		name                 string
		kind                 store.Kind
		consent              store.Consent
		suppressed           bool
		at                   time.Time
		recent               []time.Time
		admitted             bool
		expiresIn            time.Duration
		awaitingConfirmation bool
		want                 VerdictKind
		reason               string
	}
	for _, c := range []tc{
		{name: "marketing, confirmed, noon", kind: store.KindMarketing, consent: confirmed(""), at: noon, want: VerdictSend},
		{name: "R-DOI: pending gets no marketing", kind: store.KindMarketing, consent: store.Consent{Marketing: store.MarketingPending}, at: noon, want: VerdictSuppress, reason: "double opt-in"},
		{name: "no consent", kind: store.KindMarketing, at: noon, want: VerdictSuppress, reason: "no marketing consent"},
		{name: "R-STOP-2: opted out", kind: store.KindMarketing, consent: store.Consent{Marketing: store.MarketingOptedOut, OptedOutAll: true}, at: noon, want: VerdictSuppress, reason: "opted out"},
		{name: "R-GDPR-2: suppressed", kind: store.KindMarketing, consent: confirmed(""), suppressed: true, at: noon, want: VerdictSuppress, reason: "erased"},
		{name: "R-STOP-4: review pauses", kind: store.KindMarketing, consent: store.Consent{Marketing: store.MarketingConfirmed, Review: true}, at: noon, want: VerdictDefer, reason: "review"},
		{name: "R-QH: night defers", kind: store.KindMarketing, consent: confirmed(""), at: night, want: VerdictDefer, reason: "quiet hours"},
		{name: "R-QH: night past validity expires", kind: store.KindMarketing, consent: confirmed(""), at: night, expiresIn: time.Hour, want: VerdictExpire, reason: "quiet hours"},
		{name: "R-MINI-TCPA-FREQ: cap defers", kind: store.KindMarketing, consent: confirmed(""), at: noon, recent: []time.Time{noon.Add(-time.Hour)}, want: VerdictDefer, reason: "frequency cap"},
		{name: "cap: a send 24 h ago no longer counts", kind: store.KindMarketing, consent: confirmed(""), at: noon, recent: []time.Time{noon.Add(-CapWindow)}, want: VerdictSend},
		{name: "cap: an admitted text is not counted twice", kind: store.KindMarketing, consent: confirmed(""), at: noon, recent: []time.Time{noon.Add(-time.Minute)}, admitted: true, want: VerdictSend},
		{name: "transactional at night", kind: store.KindTransactional, at: night, want: VerdictSend},
		{name: "transactional over the cap", kind: store.KindTransactional, at: noon, recent: []time.Time{noon, noon, noon}, want: VerdictSend},
		{name: "transactional to an opted-out number", kind: store.KindTransactional, consent: store.Consent{OptedOutAll: true}, at: noon, want: VerdictSuppress, reason: "opted out"},
		{name: "transactional to a marketing-only opt-out", kind: store.KindTransactional, consent: store.Consent{Marketing: store.MarketingOptedOut}, at: noon, want: VerdictSend},
		{name: "R-OPTIN-2: marketing waits for the opt-in confirmation", kind: store.KindMarketing, consent: confirmed(""), at: noon, awaitingConfirmation: true, want: VerdictDefer, reason: "confirmation must reach the number first"},
		{name: "R-STOP-3: confirmation to an opted-out number at night", kind: store.KindCompliance, consent: store.Consent{OptedOutAll: true}, at: night, want: VerdictSend},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := marketingMsg(c.at)
			m.Kind = c.kind
			if c.expiresIn != 0 {
				m.ExpiresAt = c.at.Add(c.expiresIn)
			}
			if c.admitted {
				m.AdmittedAt = c.at.Add(-time.Minute)
			}
			cons := c.consent
			cons.RecentMarketing = c.recent
			r := rules
			r.AwaitingConfirmation = c.awaitingConfirmation
			v := Judge(&m, &cons, c.suppressed, r, &s, c.at)
			if v.Kind != c.want || !strings.Contains(v.Reason, c.reason) {
				t.Fatalf("verdict %d %q, want %d containing %q", v.Kind, v.Reason, c.want, c.reason)
			}
			if v.Kind == VerdictDefer && !v.Until.After(c.at) {
				t.Fatalf("held until %s, not after now", v.Until)
			}
		})
	}
}

// TestCapCeiling: with the cap at its ceiling of 3, the fourth marketing
// text in 24 h waits until the first of the three leaves the window
// (R-MINI-TCPA-FREQ).
func TestCapCeiling(t *testing.T) {
	s := testSettings()
	s.MarketingPer24h = 3
	ny, _ := time.LoadLocation("America/New_York")
	t0 := time.Date(2026, 6, 10, 9, 0, 0, 0, ny)
	rules := RulesFor("+12125550123", nil, &s)
	c := confirmed("+12125550123")
	at := t0
	for i := range 3 {
		m := marketingMsg(at)
		if v := Judge(&m, &c, false, rules, &s, at); v.Kind != VerdictSend {
			t.Fatalf("text %d: %q", i+1, v.Reason)
		}
		RecordMarketing(&c, at)
		at = at.Add(time.Hour)
	}
	m := marketingMsg(at)
	v := Judge(&m, &c, false, rules, &s, at)
	if v.Kind != VerdictDefer || !v.Until.Equal(t0.Add(CapWindow)) {
		t.Fatalf("fourth text: verdict %d until %s (%s), want held until %s", v.Kind, v.Until, v.Reason, t0.Add(CapWindow))
	}
	if s.MarketingPer24h = 4; s.Validate() == nil {
		t.Fatal("a cap of 4 per 24 h was accepted; the ceiling is 3")
	}
}

func TestContactTimeZoneWins(t *testing.T) {
	s := testSettings()
	// A New York number whose owner lives in Los Angeles: 07:30 there is
	// still quiet although it is 10:30 in New York.
	la, _ := time.LoadLocation("America/Los_Angeles")
	at := time.Date(2026, 6, 10, 7, 30, 0, 0, la)
	contact := &store.Contact{Number: "+12125550123", TimeZone: "America/Los_Angeles"}
	rules := RulesFor("+12125550123", contact, &s)
	m := marketingMsg(at)
	c := confirmed(m.To)
	if v := Judge(&m, &c, false, rules, &s, at); v.Kind != VerdictDefer || !v.Until.Equal(time.Date(2026, 6, 10, 8, 0, 0, 0, la)) {
		t.Fatalf("verdict %d until %s (%s), want held until 08:00 Los Angeles", v.Kind, v.Until, v.Reason)
	}
	// A derived zone does not override the area code's zones.
	contact.TimeZoneDerived = true
	if v := Judge(&m, &c, false, RulesFor("+12125550123", contact, &s), &s, at); v.Kind != VerdictSend {
		t.Fatalf("with a derived zone: %q", v.Reason)
	}
}

func TestCountryWindow(t *testing.T) {
	s := testSettings()
	s.QuietCountries = map[string]Window{"FR": {Start: 8 * 60, End: 22 * 60}}
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2026, 6, 10, 21, 30, 0, 0, paris)
	m := marketingMsg(at)
	m.To = "+33612345678"
	c := confirmed(m.To)
	if v := Judge(&m, &c, false, RulesFor(m.To, nil, &s), &s, at); v.Kind != VerdictSend {
		t.Fatalf("21:30 in France with a 22:00 window: %q", v.Reason)
	}
	delete(s.QuietCountries, "FR")
	if v := Judge(&m, &c, false, RulesFor(m.To, nil, &s), &s, at); v.Kind != VerdictDefer {
		t.Fatalf("21:30 in France with the default 21:00 window: verdict %d", v.Kind)
	}
}

package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/store"
)

func testSettings() ComplianceSettings {
	s := defaultComplianceSettings()
	s.Brand, s.SupportContact, s.Frequency = "Rosa's Bakery", "rosa@example.com", "up to 4 msgs/month"
	return s
}

func marketingMsg(now time.Time) store.Message {
	return store.Message{ID: 1, To: "+12125550123", Kind: store.KindMarketing, Status: store.StatusQueued,
		ExpiresAt: now.Add(DefaultMarketingValidity), Parts: []store.Part{{Seq: 1, MR: -1, Status: store.StatusQueued}}}
}

func confirmed(number string) store.Consent {
	return store.Consent{Number: number, Marketing: store.MarketingConfirmed}
}

// strictStates are the states whose law allows marketing 08:00-20:00 only
// (COMPLIANCE.md R-QH), as the phone number geocoder names them.
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

// TestQuietHoursEveryAreaCodeEveryMinute is R-QH's test: over every US area
// code and every 7th minute of a week (7 is prime to 60, so every minute of
// the hour comes up), the guard never lets a marketing text through outside
// the recipient's window, and a held text is held until exactly the next
// allowed minute.
func TestQuietHoursEveryAreaCodeEveryMinute(t *testing.T) {
	s := testSettings()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a week spanning the US DST change (8 March)
	step := 7 * time.Minute
	if testing.Short() {
		step = 53 * time.Minute
	}
	codes := 0
	for ac := 200; ac < 1000; ac++ {
		number := fmt.Sprintf("+1%d2345678", ac)
		num, err := phonenumbers.Parse(number, "")
		if err != nil || !phonenumbers.IsValidNumber(num) {
			continue
		}
		codes++
		window := DefaultQuietWindow
		if geocodedState(t, num) != "" {
			window = DefaultStrictWindow
		}
		allowed := windowOracle(t, number)
		rules := rulesFor(number, nil, &s)
		c := confirmed(number)
		for at := start; at.Before(start.Add(7 * 24 * time.Hour)); at = at.Add(step) {
			m := marketingMsg(at)
			m.To = number
			v := judge(&m, &c, false, rules, &s, at)
			switch v.kind {
			case verdictSend:
				if !allowed(at) {
					t.Fatalf("%s at %s: sent outside %s", number, at.Format(time.RFC3339), window)
				}
			case verdictDefer:
				if allowed(at) {
					t.Fatalf("%s at %s: held although inside %s: %s", number, at.Format(time.RFC3339), window, v.reason)
				}
				if !allowed(v.until) || allowed(v.until.Add(-time.Minute)) && v.until.Add(-time.Minute).After(at) {
					t.Fatalf("%s at %s: held until %s, which is not the next allowed minute", number, at.Format(time.RFC3339), v.until.Format(time.RFC3339))
				}
			default:
				t.Fatalf("%s at %s: verdict %d (%s), want send or defer", number, at.Format(time.RFC3339), v.kind, v.reason)
			}
		}
	}
	if codes < 300 {
		t.Fatalf("only %d valid US area codes: the loop is not testing much", codes)
	}
}

func TestGuardTable(t *testing.T) {
	s := testSettings()
	ny, _ := time.LoadLocation("America/New_York")
	noon := time.Date(2026, 6, 10, 12, 0, 0, 0, ny)
	night := time.Date(2026, 6, 10, 22, 30, 0, 0, ny)
	rules := rulesFor("+12125550123", nil, &s)
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
		want                 verdictKind
		reason               string
	}
	for _, c := range []tc{
		{name: "marketing, confirmed, noon", kind: store.KindMarketing, consent: confirmed(""), at: noon, want: verdictSend},
		{name: "R-DOI: pending gets no marketing", kind: store.KindMarketing, consent: store.Consent{Marketing: store.MarketingPending}, at: noon, want: verdictSuppress, reason: "double opt-in"},
		{name: "no consent", kind: store.KindMarketing, at: noon, want: verdictSuppress, reason: "no marketing consent"},
		{name: "R-STOP-2: opted out", kind: store.KindMarketing, consent: store.Consent{Marketing: store.MarketingOptedOut, OptedOutAll: true}, at: noon, want: verdictSuppress, reason: "opted out"},
		{name: "R-GDPR-2: suppressed", kind: store.KindMarketing, consent: confirmed(""), suppressed: true, at: noon, want: verdictSuppress, reason: "erased"},
		{name: "R-STOP-4: review pauses", kind: store.KindMarketing, consent: store.Consent{Marketing: store.MarketingConfirmed, Review: true}, at: noon, want: verdictDefer, reason: "review"},
		{name: "R-QH: night defers", kind: store.KindMarketing, consent: confirmed(""), at: night, want: verdictDefer, reason: "quiet hours"},
		{name: "R-QH: night past validity expires", kind: store.KindMarketing, consent: confirmed(""), at: night, expiresIn: time.Hour, want: verdictExpire, reason: "quiet hours"},
		{name: "R-MINI-TCPA-FREQ: cap defers", kind: store.KindMarketing, consent: confirmed(""), at: noon, recent: []time.Time{noon.Add(-time.Hour)}, want: verdictDefer, reason: "frequency cap"},
		{name: "cap: a send 24 h ago no longer counts", kind: store.KindMarketing, consent: confirmed(""), at: noon, recent: []time.Time{noon.Add(-CapWindow)}, want: verdictSend},
		{name: "cap: an admitted text is not counted twice", kind: store.KindMarketing, consent: confirmed(""), at: noon, recent: []time.Time{noon.Add(-time.Minute)}, admitted: true, want: verdictSend},
		{name: "transactional at night", kind: store.KindTransactional, at: night, want: verdictSend},
		{name: "transactional over the cap", kind: store.KindTransactional, at: noon, recent: []time.Time{noon, noon, noon}, want: verdictSend},
		{name: "transactional to an opted-out number", kind: store.KindTransactional, consent: store.Consent{OptedOutAll: true}, at: noon, want: verdictSuppress, reason: "opted out"},
		{name: "transactional to a marketing-only opt-out", kind: store.KindTransactional, consent: store.Consent{Marketing: store.MarketingOptedOut}, at: noon, want: verdictSend},
		{name: "R-OPTIN-2: marketing waits for the opt-in confirmation", kind: store.KindMarketing, consent: confirmed(""), at: noon, awaitingConfirmation: true, want: verdictDefer, reason: "confirmation must reach the number first"},
		{name: "R-STOP-3: confirmation to an opted-out number at night", kind: store.KindCompliance, consent: store.Consent{OptedOutAll: true}, at: night, want: verdictSend},
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
			r.awaitingConfirmation = c.awaitingConfirmation
			v := judge(&m, &cons, c.suppressed, r, &s, c.at)
			if v.kind != c.want || !strings.Contains(v.reason, c.reason) {
				t.Fatalf("verdict %d %q, want %d containing %q", v.kind, v.reason, c.want, c.reason)
			}
			if v.kind == verdictDefer && !v.until.After(c.at) {
				t.Fatalf("held until %s, not after now", v.until)
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
	rules := rulesFor("+12125550123", nil, &s)
	c := confirmed("+12125550123")
	at := t0
	for i := range 3 {
		m := marketingMsg(at)
		if v := judge(&m, &c, false, rules, &s, at); v.kind != verdictSend {
			t.Fatalf("text %d: %q", i+1, v.reason)
		}
		recordMarketing(&c, at)
		at = at.Add(time.Hour)
	}
	m := marketingMsg(at)
	v := judge(&m, &c, false, rules, &s, at)
	if v.kind != verdictDefer || !v.until.Equal(t0.Add(CapWindow)) {
		t.Fatalf("fourth text: verdict %d until %s (%s), want held until %s", v.kind, v.until, v.reason, t0.Add(CapWindow))
	}
	if s.MarketingPer24h = 4; s.validate() == nil {
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
	rules := rulesFor("+12125550123", contact, &s)
	m := marketingMsg(at)
	c := confirmed(m.To)
	if v := judge(&m, &c, false, rules, &s, at); v.kind != verdictDefer || !v.until.Equal(time.Date(2026, 6, 10, 8, 0, 0, 0, la)) {
		t.Fatalf("verdict %d until %s (%s), want held until 08:00 Los Angeles", v.kind, v.until, v.reason)
	}
	// A derived zone does not override the area code's zones.
	contact.TimeZoneDerived = true
	if v := judge(&m, &c, false, rulesFor("+12125550123", contact, &s), &s, at); v.kind != verdictSend {
		t.Fatalf("with a derived zone: %q", v.reason)
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
	if v := judge(&m, &c, false, rulesFor(m.To, nil, &s), &s, at); v.kind != verdictSend {
		t.Fatalf("21:30 in France with a 22:00 window: %q", v.reason)
	}
	delete(s.QuietCountries, "FR")
	if v := judge(&m, &c, false, rulesFor(m.To, nil, &s), &s, at); v.kind != verdictDefer {
		t.Fatalf("21:30 in France with the default 21:00 window: verdict %d", v.kind)
	}
}

// BenchmarkGuardMarketing measures the compliance guard's cost on the
// send path for one marketing text: reading the contact and consent,
// working out the recipient's zones and window, judging, and committing
// the decision with the first part marked sending (fsync on), as admit
// does before every AT+CMGS of a marketing text.
func BenchmarkGuardMarketing(b *testing.B) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, ny)
	db, err := store.Open(filepath.Join(b.TempDir(), "simgate.db"), store.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g, err := New(db, Config{Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	s := testSettings()
	if err := g.SaveComplianceSettings(s, "bench"); err != nil {
		b.Fatal(err)
	}
	ids := make([]uint64, b.N)
	tos := make([]string, b.N)
	for i := range b.N {
		to := fmt.Sprintf("+1212555%04d", i%10000)
		if _, _, _, err := db.AppendConsent(store.ConsentEvent{Number: to, Type: "opt_in", Purpose: "marketing", Method: "pos"},
			func(c *store.Consent) error { c.Marketing = store.MarketingConfirmed; return nil }); err != nil {
			b.Fatal(err)
		}
		m, _, err := g.Submit(context.Background(), SubmitRequest{To: to, Kind: store.KindMarketing, Text: fmt.Sprintf("Rosa's Bakery: offer %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i], tos[i] = m.ID, to
	}
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := g.admit(ids[i], tos[i], store.KindMarketing, func(m *store.Message, at time.Time) {
			m.Parts[0].Status = store.StatusSending
			setStatus(m, at, store.StatusSending, "bench")
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/text")
}

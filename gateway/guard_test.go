package gateway

import (
	"context"
	"fmt"
	"github.com/simgate/simgate/gateway/msgstate"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

func testSettings() ComplianceSettings {
	s := compliance.Defaults()
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
		rules := compliance.RulesFor(number, nil, &s)
		c := confirmed(number)
		for at := start; at.Before(start.Add(7 * 24 * time.Hour)); at = at.Add(step) {
			m := marketingMsg(at)
			m.To = number
			v := compliance.Judge(&m, &c, false, rules, &s, at)
			switch v.Kind {
			case compliance.VerdictSend:
				if !allowed(at) {
					t.Fatalf("%s at %s: sent outside %s", number, at.Format(time.RFC3339), window)
				}
			case compliance.VerdictDefer:
				if allowed(at) {
					t.Fatalf("%s at %s: held although inside %s: %s", number, at.Format(time.RFC3339), window, v.Reason)
				}
				if !allowed(v.Until) || allowed(v.Until.Add(-time.Minute)) && v.Until.Add(-time.Minute).After(at) {
					t.Fatalf("%s at %s: held until %s, which is not the next allowed minute", number, at.Format(time.RFC3339), v.Until.Format(time.RFC3339))
				}
			default:
				t.Fatalf("%s at %s: verdict %d (%s), want send or defer", number, at.Format(time.RFC3339), v.Kind, v.Reason)
			}
		}
	}
	if codes < 300 {
		t.Fatalf("only %d valid US area codes: the loop is not testing much", codes)
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
		if _, _, _, err := db.AppendConsent(store.ConsentEvent{Number: to, Type: EventOptIn, Purpose: PurposeMarketing, Method: MethodPOS},
			func(c *store.Consent) error { c.Marketing = store.MarketingConfirmed; return nil }); err != nil {
			b.Fatal(err)
		}
		m, _, err := g.Submit(context.Background(), SubmitRequest{To: to, Kind: KindMarketing, Text: fmt.Sprintf("Rosa's Bakery: offer %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i], tos[i] = m.ID, to
	}
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := g.outbox.Admit(ids[i], tos[i], store.KindMarketing, func(m *store.Message, at time.Time) {
			m.Parts[0].Status = store.StatusSending
			msgstate.SetStatus(m, at, store.StatusSending, "bench")
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/text")
}

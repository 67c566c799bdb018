package outbox

import (
	"errors"
	"github.com/simgate/simgate/gateway/msgstate"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// seedSent stores a one-part text to `to` that modemName sent with mr at sentAt.
func (r *testQueue) seedSent(to, modemName string, mr int, sentAt time.Time) uint64 {
	r.t.Helper()
	m := r.submit(to, "seeded")
	_, err := r.db.Update(m.ID, func(m *store.Message) error {
		m.Modem = modemName
		m.Parts[0].Status, m.Parts[0].MR, m.Parts[0].Modem, m.Parts[0].SentAt = store.StatusSent, mr, modemName, sentAt
		msgstate.SetStatus(m, sentAt, store.StatusSent, "seeded")
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return m.ID
}

func TestReportMatching(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name string
		rep  modem.StatusReport
		want int // index of the seeded message that must become delivered, -1 none
	}{
		// Two outstanding parts share MR 7 (the MR wrapped): the report
		// belongs to the one sent when the SMSC stamped it.
		{"old part after MR wrap", modem.StatusReport{MR: 7, Recipient: customer, SCTS: now.Add(-10 * time.Minute)}, 0},
		{"new part after MR wrap", modem.StatusReport{MR: 7, Recipient: customer, SCTS: now.Add(time.Second)}, 1},
		{"national format recipient", modem.StatusReport{MR: 7, Recipient: "2015550123", SCTS: now}, 1},
		{"garbage recipient (ZTE)", modem.StatusReport{MR: 7, Recipient: "#08", SCTS: now}, 1},
		{"other recipient", modem.StatusReport{MR: 7, Recipient: "+12015550999", SCTS: now}, -1},
		{"other MR", modem.StatusReport{MR: 8, Recipient: customer, SCTS: now}, -1},
		{"no SCTS: newest", modem.StatusReport{MR: 7, Recipient: customer}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newTestQueue(t, nil)
			ids := []uint64{
				r.seedSent(customer, "sim1", 7, now.Add(-10*time.Minute)),
				r.seedSent(customer, "sim1", 7, now),
			}
			err := r.handleReport("sim1", c.rep)
			if c.want < 0 && !errors.Is(err, errReportEarly) || c.want >= 0 && err != nil {
				t.Fatalf("handleReport: %v", err)
			}
			for i, id := range ids {
				m, _ := r.db.Get(id)
				want := store.StatusSent
				if i == c.want {
					want = store.StatusDelivered
				}
				if m.Status != want {
					t.Errorf("message %d: got %s, want %s", i, m.Status, want)
				}
			}
		})
	}
}

// A report that overtakes the commit of its part's MR stays on the modem
// and is matched on the next sweep; one that never matches is dropped after
// reportPatience.
func TestEarlyReportIsRetried(t *testing.T) {
	now := time.Now()
	clock := now
	r := newTestQueue(t, func() time.Time { return clock })
	rep := modem.StatusReport{MR: 9, Recipient: customer, SCTS: now}
	if err := r.handleReport("sim1", rep); !errors.Is(err, errReportEarly) {
		t.Fatalf("before the MR is stored: got %v, want errReportEarly", err)
	}
	id := r.seedSent(customer, "sim1", 9, now)
	if err := r.handleReport("sim1", rep); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.db.Get(id); m.Status != store.StatusDelivered {
		t.Errorf("after the retry: got %s, want delivered", m.Status)
	}
	stray := modem.StatusReport{MR: 10, Recipient: customer, SCTS: now}
	if err := r.handleReport("sim1", stray); !errors.Is(err, errReportEarly) {
		t.Fatalf("stray report: got %v, want errReportEarly at first", err)
	}
	clock = now.Add(reportPatience + time.Second)
	if err := r.handleReport("sim1", stray); err != nil {
		t.Errorf("stray report after the patience: got %v, want it dropped", err)
	}
}

func TestSameNumber(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"420602396602", "602396602", true},
		{"12015550123", "12015550123", true},
		{"12015550123", "19175550123", false},
		{"447700900123", "07700900123", true},
		{"12015550123", "5550123", true},
		{"12015550123", "123", false},
		{"12015550123", "12015550124", false},
	}
	for _, c := range cases {
		if got := sameNumber(c.a, c.b); got != c.want {
			t.Errorf("sameNumber(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// A two-part text whose first part's final report arrives before the
// network accepted the second part still settles: once both parts are past
// `sending` the message is sent, and the second report settles it from
// both parts' states. (Before, a failed first report left it `sending` for
// good: the second acceptance did not mark it sent, and msgstate.Settle
// ignored every later report.)
func TestReportBeforeLaterPartIsAccepted(t *testing.T) {
	const (
		delivered = 0x00 // TP-ST: received by the recipient
		failed    = 0x41 // TP-ST: permanent error, incompatible destination
	)
	for _, c := range []struct {
		name          string
		first, second byte
		want          store.Status
		wantErr       string
	}{
		{"failed then delivered", failed, delivered, store.StatusFailed, "1 of 2 parts not delivered"},
		{"failed then failed", failed, failed, store.StatusFailed, "2 of 2 parts not delivered"},
		{"delivered then failed", delivered, failed, store.StatusFailed, "1 of 2 parts not delivered"},
		{"delivered then delivered", delivered, delivered, store.StatusDelivered, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := time.Now()
			r := newTestQueue(t, func() time.Time { return now })
			m := r.seedSending(customer, strings.Repeat("two parts ", 20), "sim1")
			if len(m.Parts) != 2 {
				t.Fatalf("seeded %d parts, want 2", len(m.Parts))
			}
			accept := func(part, mr int) store.Message {
				t.Helper()
				got, err := r.db.Update(m.ID, func(m *store.Message) error {
					m.Parts[part].Status, m.Parts[part].Modem = store.StatusSending, "sim1"
					msgstate.MarkSent(m, part, mr, now, "sim1")
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			report := func(mr int, st byte) store.Message {
				t.Helper()
				if err := r.handleReport("sim1", modem.StatusReport{MR: mr, Recipient: customer, SCTS: now, Status: st}); err != nil {
					t.Fatal(err)
				}
				got, err := r.db.Get(m.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}

			if got := accept(0, 1); got.Status != store.StatusSending {
				t.Fatalf("after part 1 is accepted: %s, want sending (part 2 has not gone)", got.Status)
			}
			if got := report(1, c.first); got.Status != store.StatusSending {
				t.Fatalf("after part 1's report: %s, want sending (part 2 has not gone)", got.Status)
			}
			if got := accept(1, 2); got.Status != store.StatusSent {
				t.Fatalf("after part 2 is accepted: %s, parts %s/%s; want sent", got.Status, got.Parts[0].Status, got.Parts[1].Status)
			}
			got := report(2, c.second)
			if got.Status != c.want || got.Error != c.wantErr {
				t.Errorf("after both reports: %s %q, want %s %q", got.Status, got.Error, c.want, c.wantErr)
			}
		})
	}
}

// A part whose report did not come within the window leaves the report
// index: it stays sent and says so, a report that late matches nothing,
// and a part inside the window is untouched.
func TestExpireReports(t *testing.T) {
	now := time.Now()
	clock := now
	r := newTestQueue(t, func() time.Time { return clock })
	window := r.cfg.ReportWindow
	old := r.seedSent(customer, "sim1", 7, now.Add(-window-time.Minute))
	fresh := r.seedSent(customer, "sim1", 8, now.Add(-window+time.Hour))
	n, err := r.ExpireReports()
	if err != nil || n != 1 {
		t.Fatalf("ExpireReports = %d, %v; want 1 message", n, err)
	}
	m, _ := r.db.Get(old)
	want := "no status report within " + windowText(window)
	if m.Status != store.StatusSent || !m.Parts[0].NoReport || m.Parts[0].Error != want || m.History[len(m.History)-1].Note != want {
		t.Errorf("expired part: status %s, part %+v, last note %q", m.Status, m.Parts[0], m.History[len(m.History)-1].Note)
	}
	if m, _ := r.db.Get(fresh); m.Parts[0].NoReport || m.Parts[0].Error != "" {
		t.Errorf("part inside the window changed: %+v", m.Parts[0])
	}
	// A report this late matches nothing.
	if err := r.handleReport("sim1", modem.StatusReport{MR: 7, Recipient: customer, SCTS: now.Add(-window - time.Minute)}); !errors.Is(err, errReportEarly) {
		t.Fatalf("late report: %v, want no match (errReportEarly)", err)
	}
	if m, _ := r.db.Get(old); m.Status != store.StatusSent {
		t.Errorf("the expired part took a report: %s", m.Status)
	}
	if n, err := r.ExpireReports(); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v; want nothing left", n, err)
	}
	clock = now.Add(2 * time.Hour)
	if n, err := r.ExpireReports(); err != nil || n != 1 {
		t.Errorf("after the fresh part's window = %d, %v; want 1", n, err)
	}
}

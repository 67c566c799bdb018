package alerting

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

// The room over a real store and a real outbox (no modems: texts stay
// queued, which is all these tests look at). The fleet is the list of
// SIMs the test says work; the facade's tests drive the real one.

type fleet []string

type liveAlerts struct{ raised map[string]string }

func (l *liveAlerts) RaiseAlert(kind, modem, message string) { l.raised[kind+"/"+modem] = message }
func (l *liveAlerts) ClearAlert(kind, modem string)          { delete(l.raised, kind+"/"+modem) }

type quiet struct{}

func (quiet) MessageChanged(store.Message)    {}
func (quiet) InboundReceived(store.Inbound)   {}
func (quiet) ModemChanged(outbox.ModemStatus) {}
func (quiet) RaiseAlert(_, _, _ string)       {}
func (quiet) ClearAlert(_, _ string)          {}

type roomRig struct {
	t     *testing.T
	db    *store.DB
	queue *outbox.Queue
	live  *liveAlerts
	now   time.Time
	fleet fleet
}

func newRoomRig(t *testing.T) *roomRig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &roomRig{t: t, db: db, live: &liveAlerts{raised: map[string]string{}}, now: time.Date(2026, 12, 5, 9, 10, 0, 0, time.UTC),
		fleet: fleet{"sim1", "sim2"}}
	policy, err := consent.LoadPolicy(db, r.clock)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.queue = outbox.New(outbox.Config{DB: db, Region: "US", Log: log, Clock: r.clock, Policy: policy, Notify: quiet{}})
	return r
}

func (r *roomRig) clock() time.Time { return r.now }

// service is a new Service over the rig's store, as after a restart.
func (r *roomRig) service() *Service {
	return New(Config{DB: r.db, Sender: r.queue, Fleet: &r.fleet, Notify: r.live, USSD: ussdRefusal{r.queue}, Clock: r.clock,
		Normalize: func(n string) (string, error) { return contacts.Normalize(n, "US") }})
}

// ussdRefusal checks codes with the outbox's allow-list; the network is
// not there, so asking fails (the facade's test reads real balances).
type ussdRefusal struct{ q *outbox.Queue }

func (u ussdRefusal) USSD(context.Context, string, string) (string, error) {
	return "", errors.New("no modem")
}
func (u ussdRefusal) CheckUSSDCode(code string) error { return u.q.CheckUSSDCode(code) }

func (f *fleet) Working() []string { return *f }

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Fatalf("got %v, want a FieldError on %s", err, field)
	}
}

func TestSettingsValidated(t *testing.T) {
	r := newRoomRig(t)
	s := r.service()
	wantField(t, func() error { _, err := s.SaveSettings(Settings{TextAlerts: true}); return err }(), "owner_number")
	wantField(t, func() error { _, err := s.SaveSettings(Settings{OwnerNumber: "12", TextAlerts: true}); return err }(), "owner_number")
	if got, _ := s.Settings(); got != (Settings{}) {
		t.Fatalf("a refused save stored %+v", got)
	}
	saved, err := s.SaveSettings(Settings{OwnerNumber: "(201) 555-0150", TextAlerts: true})
	if err != nil || saved.OwnerNumber != "+12015550150" {
		t.Fatalf("save: %+v, %v; want the number as E.164", saved, err)
	}
	if got, _ := r.service().Settings(); got != saved {
		t.Errorf("after a restart: %+v, want %+v", got, saved)
	}
}

// One text per cause and hour, also across a restart; a new hour texts
// again; the text avoids the SIM it is about.
func TestTextOwnerOncePerHour(t *testing.T) {
	r := newRoomRig(t)
	s := r.service()
	c := Cause{Kind: CauseModemDown, Modem: "sim1", Detail: "no answer"}
	if id, err := s.TextOwner(context.Background(), c); err != nil || id != 0 {
		t.Fatalf("alerts by text off: %d, %v; want nothing queued", id, err)
	}
	if _, err := s.SaveSettings(Settings{OwnerNumber: "+12015550150", TextAlerts: true}); err != nil {
		t.Fatal(err)
	}
	first, err := s.TextOwner(context.Background(), c)
	if err != nil || first == 0 {
		t.Fatalf("first: %d, %v", first, err)
	}
	m, err := r.db.Get(first)
	if err != nil {
		t.Fatal(err)
	}
	if m.AvoidModem != "sim1" || m.To != "+12015550150" || m.Kind != store.KindTransactional || m.IdempotencyScope != IdempotencyScope {
		t.Errorf("queued %+v", m)
	}
	r.now = r.now.Add(40 * time.Minute) // 09:50, the same hour
	again, err := r.service().TextOwner(context.Background(), c)
	if err != nil || again != first {
		t.Errorf("the same hour after a restart: %d, %v; want the first text (%d) again, nothing new", again, err, first)
	}
	other, err := s.TextOwner(context.Background(), Cause{Kind: CauseModemDown, Modem: "sim2"})
	if err != nil || other == first || other == 0 {
		t.Errorf("another SIM's outage: %d, %v; want a text of its own", other, err)
	}
	r.now = r.now.Add(20 * time.Minute) // 10:10
	next, err := s.TextOwner(context.Background(), c)
	if err != nil || next == first || next == 0 {
		t.Errorf("the next hour: %d, %v; want a new text", next, err)
	}
}

func TestTextOwnerNeedsAnotherSIM(t *testing.T) {
	r := newRoomRig(t)
	r.fleet = fleet{"sim1"}
	s := r.service()
	if _, err := s.SaveSettings(Settings{OwnerNumber: "+12015550150", TextAlerts: true}); err != nil {
		t.Fatal(err)
	}
	id, err := s.TextOwner(context.Background(), Cause{Kind: CauseLowBalance, Modem: "sim1", Detail: "balance 1.00 is below 2."})
	if err != nil || id != 0 {
		t.Fatalf("%d, %v; want nothing queued", id, err)
	}
	if _, ok := r.live.raised[AlertNoOtherSIM+"/sim1"]; !ok {
		t.Fatalf("the console was not told: %v", r.live.raised)
	}
	r.fleet = fleet{"sim1", "sim2"}
	if id, err := s.TextOwner(context.Background(), Cause{Kind: CauseLowBalance, Modem: "sim1"}); err != nil || id == 0 {
		t.Fatalf("with sim2 back: %d, %v", id, err)
	}
	if _, ok := r.live.raised[AlertNoOtherSIM+"/sim1"]; ok {
		t.Error("the console still says no other SIM works")
	}
}

func TestSetBalanceCheckValidated(t *testing.T) {
	r := newRoomRig(t)
	s := r.service()
	for _, tc := range []struct {
		in    BalanceCheckInput
		field string
	}{
		{BalanceCheckInput{Code: "**21*5551234#"}, "code"}, // call forwarding: never
		{BalanceCheckInput{Code: "*100#", Interval: "often"}, "interval"},
		{BalanceCheckInput{Code: "*100#", Interval: "5m"}, "interval"},
		{BalanceCheckInput{Code: "*100#", Interval: "800h"}, "interval"},
		{BalanceCheckInput{Code: "*100#", Pattern: "(unclosed"}, "pattern"},
	} {
		_, err := s.SetBalanceCheck("sim1", tc.in)
		wantField(t, err, tc.field)
	}
	if b, _ := s.Balance("sim1"); b.On {
		t.Fatalf("a refused check was stored: %+v", b)
	}
	b, err := s.SetBalanceCheck("sim1", BalanceCheckInput{Code: "*100#", Threshold: 2.5})
	if err != nil || !b.On || b.Interval != "24h" || b.Threshold != 2.5 {
		t.Fatalf("set: %+v, %v", b, err)
	}
	// A failed check keeps the setting, says why, and is due again within
	// the retry, not a day later.
	b, err = s.CheckBalance(context.Background(), "sim1")
	if err != nil || b.Error == "" || b.Amount != nil || b.NextCheck == nil || b.NextCheck.Sub(r.now) != balanceRetry {
		t.Fatalf("failed check: %+v, %v", b, err)
	}
	if b, err = s.SetBalanceCheck("sim1", BalanceCheckInput{}); err != nil || b.On || b.CheckedAt == nil {
		t.Errorf("turned off: %+v, %v; want off with the last check kept", b, err)
	}
}

func TestReadAmount(t *testing.T) {
	for _, tc := range []struct {
		reply, pattern, text string
		amount               float64
		ok                   bool
	}{
		{"Your balance is $12.34. Valid until 2026-12-31.", "", "12.34", 12.34, true},
		{"Saldo: 1.234,50 EUR", "", "1.234,50", 1234.50, true},
		{"Credit 1,234.50 GBP", "", "1,234.50", 1234.50, true},
		{"Restguthaben 12,5 EUR", "", "12,5", 12.5, true},
		{"Balance -3.10, please top up", "", "-3.10", -3.10, true},
		{"Main 500 MB, credit 4.20 USD", `credit ([\d.]+)`, "4.20", 4.20, true},
		{"Main 500 MB, credit 4.20 USD", `credit [\d.]+`, "4.20", 4.20, true},
		{"Service unavailable", "", "", 0, false},
		{"Main 500 MB", `credit ([\d.]+)`, "", 0, false},
	} {
		amount, text, ok := ReadAmount(tc.reply, tc.pattern)
		if ok != tc.ok || text != tc.text || amount != tc.amount {
			t.Errorf("ReadAmount(%q, %q) = %v, %q, %v; want %v, %q, %v", tc.reply, tc.pattern, amount, text, ok, tc.amount, tc.text, tc.ok)
		}
	}
}

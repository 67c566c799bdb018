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

// seedSending stores a text to `to` and marks its first part `sending` via
// modemName, as process does before AT+CMGS.
func (r *testQueue) seedSending(to, text, modemName string) store.Message {
	r.t.Helper()
	m := r.submit(to, text)
	m, err := r.db.Update(m.ID, func(m *store.Message) error {
		m.Modem = modemName
		m.Parts[0].Status, m.Parts[0].Modem = store.StatusSending, modemName
		msgstate.SetStatus(m, time.Now(), store.StatusSending, "seeded")
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// A status report for a part whose MR is only in memory is kept on the
// modem however long the disk stays full, not dropped after reportPatience;
// once the MR is written it matches.
func TestKeptMRHoldsItsReport(t *testing.T) {
	now := time.Now()
	clock := now
	r := newTestQueue(t, func() time.Time { return clock })
	m := r.seedSending(customer, "your order", "sim1")
	r.keepMR(keptMR{id: m.ID, part: 0, mr: 9, at: now, modem: "sim1", to: customer})

	rep := modem.StatusReport{MR: 9, Recipient: customer, SCTS: now}
	if err := r.handleReport("sim1", rep); !errors.Is(err, errReportEarly) {
		t.Fatalf("report before the MR is written: %v, want errReportEarly", err)
	}
	clock = now.Add(2 * reportPatience)
	if err := r.handleReport("sim1", rep); !errors.Is(err, errReportEarly) {
		t.Fatalf("report past the patience while its MR is kept: %v, want it kept on the modem", err)
	}

	r.writeKeptMRs()
	if n := r.keptMRs(); n != 0 {
		t.Fatalf("%d MRs still kept after a write that can succeed", n)
	}
	got, err := r.db.Get(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusSent || got.Parts[0].MR != 9 || !got.Parts[0].SentAt.Equal(now) {
		t.Fatalf("after writing the kept MR: %s, part %+v; want sent with MR 9 at the time +CMGS answered", got.Status, got.Parts[0])
	}
	if err := r.handleReport("sim1", rep); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.db.Get(m.ID); got.Status != store.StatusDelivered {
		t.Errorf("after the report: %s, want delivered", got.Status)
	}
	u, err := r.db.LoadUsage("sim1", now)
	if err != nil {
		t.Fatal(err)
	}
	if u.PartsToday != 1 {
		t.Errorf("SIM usage after the kept MR: %d parts today, want 1", u.PartsToday)
	}
}

// The rest of a long text waits behind a part whose MR is kept; once it
// is written the text goes back to the queue to continue on the same SIM.
// A kept MR whose message was dropped meanwhile is let go.
func TestKeptMRContinuesLongText(t *testing.T) {
	r := newTestQueue(t, nil)
	long := r.seedSending(customer, strings.Repeat("three parts please ", 20), "sim1")
	if len(long.Parts) < 2 {
		t.Fatalf("seeded %d parts", len(long.Parts))
	}
	r.keepMR(keptMR{id: long.ID, part: 0, mr: 4, at: time.Now(), modem: "sim1", to: customer})
	gone := r.seedSending(customer, "dropped meanwhile", "sim1")
	r.keepMR(keptMR{id: gone.ID, part: 0, mr: 5, at: time.Now(), modem: "sim1", to: customer})
	if _, err := r.db.Update(gone.ID, func(m *store.Message) error {
		m.Parts[0].Status = store.StatusUnknown
		msgstate.SetStatus(m, time.Now(), store.StatusUnknown, "a person looked at it")
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	r.writeKeptMRs()
	got, err := r.db.Get(long.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusQueued || got.Parts[0].Status != store.StatusSent || got.Parts[0].MR != 4 || got.Parts[1].Status != store.StatusQueued {
		t.Errorf("long text: %s, parts %+v; want queued with part 1 sent (MR 4)", got.Status, got.Parts)
	}
	if got.Modem != "sim1" {
		t.Errorf("long text routed to %q, want it kept on sim1", got.Modem)
	}
	if got, _ := r.db.Get(gone.ID); got.Parts[0].MR != -1 {
		t.Errorf("a kept MR was written over a part a person had decided on: %+v", got.Parts[0])
	}
	if n := r.keptMRs(); n != 0 {
		t.Errorf("%d MRs still kept", n)
	}
}

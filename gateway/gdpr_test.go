package gateway

import (
	"context"
	"errors"
	"github.com/simgate/simgate/gateway/contacts"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// addInbound stores a received text from number as the modem layer would.
func addInbound(t testing.TB, db *store.DB, from, text string, at time.Time) store.Inbound {
	t.Helper()
	in, done, err := db.AddInboundPart(store.InboundPart{Modem: "sim1", From: from, Seq: 1, Total: 1, SCTS: at, Received: at},
		func(parts []store.InboundPart) (store.Inbound, error) {
			return store.Inbound{Modem: "sim1", From: from, Text: text, SentAt: at, ReceivedAt: at, Parts: 1}, nil
		})
	if err != nil || !done {
		t.Fatalf("AddInboundPart: %v (done %v)", err, done)
	}
	return in
}

// optIn records an API opt-in for number straight in the ledger.
func optIn(t testing.TB, db *store.DB, number string) {
	t.Helper()
	if _, _, _, err := db.AppendConsent(store.ConsentEvent{Number: number, Type: EventOptIn, Purpose: PurposeMarketing, Method: MethodAPI,
		Source: "https://shop.example/join", DisclosureVersion: "v1", IP: "192.0.2.7", UserAgent: "Firefox"},
		func(c *store.Consent) error { c.Marketing = store.MarketingConfirmed; return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestExportAndEraseSubject covers R-GDPR-1 (one call exports profile,
// consents, messages and events) and R-GDPR-2 (after erasure no personal
// data remains and the number comes back suppressed).
func TestExportAndEraseSubject(t *testing.T) {
	g := newContactsGateway(t)
	ctx := context.Background()
	const number = "+12015550101"
	c, err := g.Contacts().Create(ctx, contacts.Contact{Number: number, Name: "Ana Lima", Attributes: map[string]string{"email": "ana@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	optIn(t, g.db, number)
	sent, _, err := g.Submit(ctx, SubmitRequest{To: number, Text: "Your order 1234 is ready"})
	if err != nil {
		t.Fatal(err)
	}
	addInbound(t, g.db, number, "Thanks! Ana", g.clock.now())
	other, _, err := g.Submit(ctx, SubmitRequest{To: "+12015550199", Text: "someone else"})
	if err != nil {
		t.Fatal(err)
	}

	d, err := g.ExportSubject(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Profile == nil || d.Profile.Name != "Ana Lima" || len(d.ConsentEvents) != 1 || len(d.Messages) != 1 || len(d.Inbound) != 1 ||
		d.Consent.Marketing != MarketingConfirmed || d.Messages[0].ID != sent.ID || d.Inbound[0].Text != "Thanks! Ana" {
		t.Fatalf("export %+v", d)
	}
	if _, err := g.ExportSubject(ctx, c.ID+100); !errors.Is(err, ErrNotFound) {
		t.Errorf("export of an unknown contact: %v", err)
	}

	rep, err := g.EraseContact(ctx, c.ID, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Contact || rep.Messages != 1 || rep.Inbound != 1 || rep.ConsentEvents < 1 || rep.Hash == "" || strings.Contains(rep.Hash, "5550101") {
		t.Errorf("erase report %+v", rep)
	}
	// No personal data is left under the number.
	if _, err := g.Contacts().Get(c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("contact after erasure: %v", err)
	}
	if _, err := g.Message(sent.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("message to the erased number: %v", err)
	}
	if _, err := g.Message(other.ID); err != nil {
		t.Errorf("another number's message went too: %v", err)
	}
	rest, err := g.db.Subject(number)
	if err != nil {
		t.Fatal(err)
	}
	if rest.Contact != nil || len(rest.Events) != 0 || len(rest.Messages) != 0 || len(rest.Inbound) != 0 || rest.Consent.Marketing != store.MarketingNone {
		t.Errorf("left after erasure: %+v", rest)
	}
	inbox, _, err := g.Inbox(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inbox {
		if in.From == number {
			t.Errorf("inbound text from the erased number kept: %+v", in)
		}
	}
	// The number is suppressed: neither the API nor an import brings it back.
	if _, err := g.Contacts().Create(ctx, contacts.Contact{Number: "(201) 555-0101"}); !errors.Is(err, ErrSuppressed) {
		t.Errorf("create after erasure: %v, want ErrSuppressed", err)
	}
	job := importFile(t, g.Gateway, "phone\n"+number+"\n", contacts.ImportOptions{})
	if job.Report.Suppressed != 1 || job.Report.Imported != 0 {
		t.Errorf("import after erasure: %+v", job.Report)
	}
}

// TestEraseWhileSending: a customer erased while their text is in AT+CMGS
// does not cost the modem its session (the record the send path wanted to
// update is gone, which is the point), and the next text goes out.
func TestEraseWhileSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA, SubmitLatency: 400 * time.Millisecond}}})
		r.start()
		r.waitFor("the modem to come up", func() bool { return r.g.Modems()[0].State == StateUp })
		since := r.g.Modems()[0].Since
		m := r.submit(customer, "Your order is ready")
		r.waitStatus(m.ID, store.StatusSending)
		if _, err := r.db.EraseNumber(customer); err != nil {
			t.Fatal(err)
		}
		next := r.submit("+12015550188", "Your table is ready")
		r.waitStatus(next.ID, store.StatusSent)
		if st := r.g.Modems()[0]; st.State != StateUp || !st.Since.Equal(since) {
			t.Fatalf("modem went through a reconnect after the erasure: %+v", st)
		}
	})
}

package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

const (
	simA     = "+12015550101"
	simB     = "+12015550102"
	customer = "+12015550123"
)

func TestSubmitValidation(t *testing.T) {
	r := newRig(t, rigOptions{})
	long := strings.Repeat("x", 153*10+1)
	cases := []struct {
		name  string
		req   SubmitRequest
		field string
	}{
		{"empty number", SubmitRequest{To: "", Text: "hi"}, "to"},
		{"letters", SubmitRequest{To: "call me", Text: "hi"}, "to"},
		{"too short", SubmitRequest{To: "+1201", Text: "hi"}, "to"},
		{"invalid US", SubmitRequest{To: "+1 000 555 0123", Text: "hi"}, "to"},
		{"empty text", SubmitRequest{To: customer, Text: "  "}, "text"},
		{"eleven parts", SubmitRequest{To: customer, Text: long}, "text"},
		{"bad utf8", SubmitRequest{To: customer, Text: "\xff\xfe"}, "text"},
		{"expired", SubmitRequest{To: customer, Text: "hi", ExpiresAt: time.Now().Add(-time.Minute)}, "expires_at"},
		{"huge key", SubmitRequest{To: customer, Text: "hi", IdempotencyKey: strings.Repeat("k", 256)}, "idempotency_key"},
		{"bad kind", SubmitRequest{To: customer, Text: "hi", Kind: "bulk"}, "kind"},
		// R-ID: no marketing before the shop has named itself.
		{"marketing before a brand", SubmitRequest{To: customer, Text: "Rosa's Bakery: 20% off", Kind: KindMarketing}, "kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := r.g.Submit(context.Background(), c.req)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FieldError", err)
			}
			if fe.Field != c.field {
				t.Errorf("got field %q, want %q (%v)", fe.Field, c.field, fe)
			}
		})
	}
	// R-ID: a marketing text starts with the brand.
	if err := r.g.SaveComplianceSettings(testSettings(), "test"); err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	if _, _, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: "20% off today", Kind: KindMarketing}); !errors.As(err, &fe) || fe.Field != "text" {
		t.Errorf("marketing without the brand prefix: %v, want a FieldError on text", err)
	}
	counts, err := r.db.CountByStatus()
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Errorf("refused requests stored messages: %v", counts)
	}
	if _, _, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: "rosa's bakery: 20% off today", Kind: KindMarketing}); err != nil {
		t.Errorf("marketing with the brand prefix (any case): %v", err)
	}
}

func TestSubmitNormalizesAndPlans(t *testing.T) {
	r := newRig(t, rigOptions{})
	m := r.submit("(201) 555-0123", "Your order is ready 📦")
	if m.To != customer {
		t.Errorf("got to %q, want %q", m.To, customer)
	}
	if m.Encoding != "UCS-2" || len(m.Parts) != 1 || m.Status != store.StatusQueued {
		t.Errorf("got %s, %d parts, %s; want UCS-2, 1 part, queued", m.Encoding, len(m.Parts), m.Status)
	}
	if !m.ExpiresAt.After(time.Now().Add(71 * time.Hour)) {
		t.Errorf("transactional validity: got expires %v, want about 72h from now", m.ExpiresAt)
	}
	again, existing, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: "x", IdempotencyKey: "k1"})
	if err != nil || existing {
		t.Fatalf("first keyed submit: %v existing=%v", err, existing)
	}
	dup, existing, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: "x", IdempotencyKey: "k1"})
	if err != nil || !existing || dup.ID != again.ID {
		t.Fatalf("replay: got id %d existing=%v err=%v, want id %d existing", dup.ID, existing, err, again.ID)
	}
}

func TestSendAndDeliver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}, {Number: simB, Profile: "huawei"}}})
		r.start()
		texts := []string{
			"Your table for 2 is ready.",
			"Grüße aus dem Laden – 20 % Rabatt! 🎉",
			strings.Repeat("Long GSM text with {braces} and €uro. ", 12),
			strings.Repeat("Длинное сообщение на кириллице. ", 6),
		}
		var ids []uint64
		for _, txt := range texts {
			ids = append(ids, r.submit(customer, txt).ID)
		}
		for i, id := range ids {
			m := r.waitStatus(id, store.StatusDelivered)
			for _, p := range m.Parts {
				if p.Status != store.StatusDelivered || p.MR < 0 || p.Modem == "" || p.SentAt.IsZero() {
					t.Errorf("message %d part %d: %+v", i, p.Seq, p)
				}
			}
		}
		// The simulator saw each text exactly once, whole.
		got := map[string]int{}
		for _, sm := range r.net.Messages() {
			got[sm.Text]++
		}
		for _, txt := range texts {
			if got[txt] != 1 {
				t.Errorf("simulator received %q %d times, want 1", txt, got[txt])
			}
		}
	})
}

func TestPermanentErrorFailsOnlyThatMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		bad := "+12015550177"
		r.sms[0].SetFault(sim.Fault{CMSErrorTo: map[string]int{bad: 1}}) // unassigned number
		r.start()
		b := r.submit(bad, "to a dead number")
		ok := r.submit(customer, "to a live one")
		m := r.waitStatus(b.ID, store.StatusFailed)
		if !strings.Contains(m.Error, "1") {
			t.Errorf("failure reason %q does not name the CMS error", m.Error)
		}
		r.waitStatus(ok.ID, store.StatusDelivered)
	})
}

func TestTransientErrorRetriesThenGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}, gwCfg: Config{MaxAttempts: 3}})
		busy := "+12015550178"
		r.sms[0].SetFault(sim.Fault{CMSErrorTo: map[string]int{busy: 42}}) // congestion
		r.start()
		m := r.submit(busy, "try hard")
		m = r.waitStatus(m.ID, store.StatusFailed)
		if m.Attempts != 3 {
			t.Errorf("got %d attempts, want 3", m.Attempts)
		}
		retries := 0
		for _, h := range m.History {
			if h.Status == store.StatusQueued && strings.Contains(h.Note, "retry") {
				retries++
			}
		}
		if retries != 2 {
			t.Errorf("got %d retry transitions, want 2: %+v", retries, m.History)
		}
	})
}

func TestStatusReportFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		r.net.SetOutcome(customer, sim.OutcomeFailed)
		r.start()
		m := r.submit(customer, strings.Repeat("two parts ", 20))
		m = r.waitStatus(m.ID, store.StatusFailed)
		if !strings.Contains(m.Parts[0].Error, "TP-ST") {
			t.Errorf("part error %q does not carry the report status", m.Parts[0].Error)
		}
	})
}

func TestInboundReassembled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		r.start()
		long := strings.Repeat("Can I pick up my order at five? ", 10)
		if err := r.net.Deliver(customer, simA, "Hi!"); err != nil {
			t.Fatal(err)
		}
		if err := r.net.Deliver(customer, simA, long); err != nil {
			t.Fatal(err)
		}
		var inbox []Inbound
		r.waitFor("two inbound texts", func() bool {
			var err error
			inbox, _, err = r.g.Inbox(0, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(inbox) == 2
		})
		texts := map[string]Inbound{}
		for _, in := range inbox {
			texts[in.Text] = in
		}
		if in, ok := texts[long]; !ok || in.Parts < 2 || in.From != customer || in.Modem != "sim1" {
			t.Errorf("multipart inbound missing or wrong: %+v", inbox)
		}
		if _, ok := texts["Hi!"]; !ok {
			t.Errorf("single inbound missing: %+v", inbox)
		}
	})
}

func TestModemToModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		other := r.newSimOnly(simB)
		_ = other
		r.start()
		m := r.submit(simB, "ping across the network")
		r.waitStatus(m.ID, store.StatusDelivered)
	})
}

// newSimOnly adds a simulated modem that simgate does not drive.
func (r *rig) newSimOnly(number string) *sim.Modem {
	sm, err := r.net.AddModem(sim.Config{Number: number})
	if err != nil {
		r.t.Fatal(err)
	}
	return sm
}

func TestExpiredBeforeSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{}) // no modem: nothing can go
		// A validity far longer than a modem takes to come up, so that
		// only the wait below can make the text stale.
		validity := time.Minute
		m, _, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: "soon stale", ExpiresAt: time.Now().Add(validity)})
		if err != nil {
			t.Fatal(err)
		}
		// A modem appears only after the validity ended.
		elapse(validity + time.Second)
		sm, err := r.net.AddModem(sim.Config{Number: simA})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.g.AddModem(ModemConfig{Name: "late", Path: "pipe", Open: r.opener(sm, testModemConfig())}); err != nil {
			t.Fatal(err)
		}
		r.start()
		r.waitStatus(m.ID, store.StatusExpired)
		if n := len(r.net.Submissions()); n != 0 {
			t.Errorf("an expired message reached the network %d times", n)
		}
	})
}

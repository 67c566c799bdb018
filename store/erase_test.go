package store

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// seedSubject stores everything the box can hold about number: a contact,
// texts to it in several states (with an idempotency key, a pending status
// report, a due time), texts and a waiting segment from it, consent events
// with personal details, a review, and a place in the SIM counters.
func seedSubject(t *testing.T, db *DB, clk *clock, number, sim string) {
	t.Helper()
	digits := strings.TrimPrefix(number, "+")
	if _, err := db.CreateContact(Contact{Number: number, Name: "Pat " + digits, Tags: []string{"vip"},
		Attributes: map[string]string{"email": "pat@example.com", "phone_again": number}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{
		{To: number, Text: "Your order for " + number + " shipped", Kind: KindTransactional, Status: StatusDelivered, IdempotencyKey: "order-" + digits},
		{To: number, Text: "Sale!", Kind: KindMarketing, Status: StatusSent, Modem: sim,
			Parts: []Part{{Seq: 1, MR: 7, Modem: sim, Status: StatusSent, SentAt: clk.now()}}},
		{To: number, Text: "Later", Kind: KindMarketing, Status: StatusQueued, NextAttemptAt: clk.now().Add(time.Hour)},
	} {
		if _, _, err := db.Enqueue(m); err != nil {
			t.Fatal(err)
		}
	}
	// Each number texts through a modem of its own: the same PDU twice on
	// one modem would be taken for a duplicate.
	in := "in-" + digits
	stop, _, err := db.AddInboundPart(InboundPart{Modem: in, From: number, Total: 1, TPDU: []byte("STOP")}, joinParts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddInboundPart(InboundPart{Modem: in, From: number, Total: 1, TPDU: []byte("please stop texting me")}, joinParts); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddInboundPart(part(in, number, 3, 1, 2, "half a"), joinParts); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkInboundHandled(stop.ID); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		ev    ConsentEvent
		apply func(*Consent) error
	}{
		{ConsentEvent{Number: number, Type: "opt_in", Purpose: "marketing", Method: "web_form",
			Source: "https://shop.example/join?phone=" + digits, IP: "192.0.2.7", UserAgent: "Mozilla/5.0",
			DisclosureVersion: "v1", DisclosureText: "Shop: recurring texts. Msg&data rates may apply."}, confirmConsent},
		{ConsentEvent{Number: number, Type: "opt_out_review", Purpose: "marketing", InboundID: stop.ID + 1,
			Note: "please stop texting me"}, func(c *Consent) error {
			c.Review, c.ReviewInboundID, c.ReviewText = true, stop.ID+1, "please stop texting me"
			return nil
		}},
		{ConsentEvent{Number: number, Type: "opt_out", Purpose: "all", Method: "keyword", Keyword: "STOP", InboundID: stop.ID,
			Terminal: "till-2"}, func(c *Consent) error {
			c.Marketing, c.OptedOutAll = MarketingOptedOut, true
			c.LastReply = map[string]time.Time{"stop": clk.now()}
			return nil
		}},
	} {
		if _, _, _, err := db.AppendConsent(e.ev, e.apply); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordUsage(UsageDelta{SIM: sim, Recipient: number, At: clk.now(), Parts: 1}); err != nil {
		t.Fatal(err)
	}
}

// findInFile lists every bucket key or value that contains any of needles,
// in nested buckets too.
func findInFile(t *testing.T, db *DB, needles ...string) []string {
	t.Helper()
	var hits []string
	var walk func(name string, b *bbolt.Bucket) error
	walk = func(name string, b *bbolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			for _, n := range needles {
				if bytes.Contains(k, []byte(n)) || bytes.Contains(v, []byte(n)) {
					hits = append(hits, name+": "+strings.ToValidUTF8(string(k), "?")+" = "+strings.ToValidUTF8(string(v), "?"))
				}
			}
			if nested := b.Bucket(k); v == nil && nested != nil {
				return walk(name+"/"+strings.ToValidUTF8(string(k), "?"), nested)
			}
			return nil
		})
	}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error { return walk(string(name), b) })
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestEraseNumber is the proof of R-GDPR-2: after erasure no bucket of the
// file holds the number, in any form, while other people's data stays.
func TestEraseNumber(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	const gone, kept, sim = "+15550100", "+15550200", "modem-a"
	seedSubject(t, db, clk, gone, sim)
	seedSubject(t, db, clk, kept, sim)
	// The console's read marker is keyed by the number too.
	for _, n := range []string{gone, kept} {
		if err := db.MarkInboxRead(n, 1); err != nil {
			t.Fatal(err)
		}
	}
	if hits := findInFile(t, db, "15550100"); len(hits) < 10 {
		t.Fatalf("the seed should spread the number over the file, found it only in %q", hits)
	}
	before, err := db.Subject(kept)
	if err != nil {
		t.Fatal(err)
	}
	subj, err := db.Subject(gone)
	if err != nil {
		t.Fatal(err)
	}
	if subj.Contact == nil || len(subj.Messages) != 3 || len(subj.Inbound) != 2 || len(subj.Events) != 3 ||
		subj.Messages[0].Kind != KindTransactional || subj.Inbound[0].Text != "STOP" || !subj.Consent.OptedOutAll {
		t.Fatalf("Subject before erasure = %+v", subj)
	}
	clk.advance(time.Hour)

	rep, err := db.EraseNumber(gone)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hash) != 64 || !rep.Contact || rep.Messages != 3 || rep.Inbound != 2 || rep.ConsentEvents != 3 {
		t.Errorf("report %+v", rep)
	}
	if hits := findInFile(t, db, gone, strings.TrimPrefix(gone, "+")); len(hits) != 0 {
		t.Errorf("the erased number is still in the file:\n%s", strings.Join(hits, "\n"))
	}
	// The erased person's details are gone; the kept person's copies stay.
	for _, pii := range []string{"192.0.2.7", "Mozilla", "till-2", "please stop texting me", "pat@example.com"} {
		for _, h := range findInFile(t, db, pii) {
			if !strings.Contains(h, "5550200") {
				t.Errorf("%q of the erased number remains: %s", pii, h)
			}
		}
	}

	// The other person's data is untouched.
	after, err := db.Subject(kept)
	if err != nil {
		t.Fatal(err)
	}
	if after.Contact == nil || len(after.Messages) != 3 || len(after.Inbound) != 2 || len(after.Events) != 3 ||
		after.Events[0].IP != "192.0.2.7" || after.Consent.Marketing != before.Consent.Marketing {
		t.Errorf("kept number's data changed: %+v", after)
	}
	if q, _ := db.ReviewQueue(); len(q) != 1 || q[0].Number != kept {
		t.Errorf("review queue %+v, want only %s", q, kept)
	}
	u, _ := db.LoadUsage(sim, clk.now())
	if len(u.DayRecipients) != 2 || len(u.MonthRecipients) != 2 || !slices.Contains(u.DayRecipients, kept) {
		t.Errorf("usage %+v: the erased recipient must still count, the kept one be there", u)
	}
	if p, _ := db.PendingInbound(); len(p) != 1 || p[0].From != kept {
		t.Errorf("pending %+v, want only the kept number's text", p)
	}
	if stale, _ := db.StaleInboundParts(clk.now()); len(stale) != 1 || stale[0].From != kept {
		t.Errorf("waiting segments %+v, want only the kept number's", stale)
	}
	// Index entries went with the messages.
	if _, _, ok, _ := db.FindReport(sim, 7, time.Time{}, func(m Message, _ int, _ time.Time) bool { return m.To == gone }); ok {
		t.Error("a status report still finds an erased message")
	}
	if due, _ := db.Due(clk.now().Add(2*time.Hour), 10); len(due) != 1 || due[0].To != kept {
		t.Errorf("due %+v, want only the kept number's", due)
	}
	if m, existed, _ := db.Enqueue(Message{To: "+15550300", Text: "x", IdempotencyKey: "order-15550100"}); existed {
		t.Errorf("the erased message's idempotency key still answers: %+v", m)
	}

	// The evidence stays, pseudonymised, with the erasure at the end.
	evs, err := db.ConsentEvents("erased:" + rep.Hash)
	if err != nil {
		t.Fatal(err)
	}
	types := []ConsentEventType{}
	for _, ev := range evs {
		types = append(types, ev.Type)
		if ev.IP != "" || ev.UserAgent != "" || ev.Terminal != "" || ev.Note != "" || strings.Contains(ev.Source, "5550100") {
			t.Errorf("event not pseudonymised: %+v", ev)
		}
	}
	if !slices.Equal(types, []ConsentEventType{"opt_in", "opt_out_review", "opt_out", "erasure"}) {
		t.Errorf("ledger %v", types)
	}
	if evs[0].DisclosureVersion != "v1" || evs[0].Method != "web_form" || evs[2].Keyword != "STOP" || !evs[3].At.Equal(clk.now()) {
		t.Errorf("evidence lost: %+v", evs)
	}
	s, err := db.Subject(gone)
	if err != nil || s.Contact != nil || len(s.Messages) != 0 || len(s.Inbound) != 0 || len(s.Events) != 0 || s.Consent.Marketing != MarketingNone {
		t.Errorf("Subject after erasure = %+v, %v", s, err)
	}

	// Suppressed: no import or API call brings the number back.
	if ok, _ := db.IsSuppressed(gone); !ok {
		t.Error("erased number not suppressed")
	}
	if _, err := db.CreateContact(Contact{Number: gone}); !errors.Is(err, ErrSuppressed) {
		t.Errorf("CreateContact after erasure: %v, want ErrSuppressed", err)
	}
	if res, err := db.UpsertContacts([]ContactUpsert{{Contact: Contact{Number: gone}, OptIn: &ConsentEvent{}}}); err != nil ||
		res[0].Outcome != UpsertSuppressed || !res[0].ConsentKept {
		t.Errorf("import after erasure = %+v, %v; want suppressed", res, err)
	}

	// Erasing again finds nothing more but records the request.
	rep2, err := db.EraseNumber(gone)
	if err != nil || rep2.Hash != rep.Hash || rep2.Contact || rep2.Messages != 0 || rep2.ConsentEvents != 0 {
		t.Errorf("second erasure = %+v, %v", rep2, err)
	}
	if evs, _ := db.ConsentEvents("erased:" + rep.Hash); len(evs) != 5 {
		t.Errorf("ledger after the second erasure has %d events, want 5", len(evs))
	}
	var fe *FieldError
	if _, err := db.EraseNumber(""); !errors.As(err, &fe) || fe.Field != "number" {
		t.Errorf("empty number: %v, want FieldError", err)
	}
}

// TestEraseNumberRawFile reports whether the erased number survives in the
// file's free pages, which bbolt does not overwrite. Bucket contents are
// what TestEraseNumber proves; a compaction (or backup restore) is what
// clears free pages. This only logs, so that the fact stays visible.
func TestEraseNumberRawFile(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	seedSubject(t, db, clk, "+15550100", "modem-a")
	if _, err := db.EraseNumber("+15550100"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	// bbolt does not zero freed pages: the erased records linger until the
	// file is rewritten. Compact is that rewrite.
	t.Logf("before compaction the raw file holds the number %d times in free pages", bytes.Count(raw, []byte("15550100")))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compact(db.Path()); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(raw, []byte("15550100")); n != 0 {
		t.Fatalf("after compaction the file still holds the erased number %d times", n)
	}
	// The compacted file is a working database with the other data.
	db2, err := Open(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.ContactByNumber("+15550100"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("erased contact after compaction: %v", err)
	}
	if sup, err := db2.IsSuppressed("+15550100"); err != nil || !sup {
		t.Fatalf("suppression lost in compaction: %v %v", sup, err)
	}
}

// TestCompactRefusesOpenFile: a running simgate holds the lock.
func TestCompactRefusesOpenFile(t *testing.T) {
	db := openTest(t)
	if _, _, err := Compact(db.Path()); !errors.Is(err, ErrLocked) {
		t.Fatalf("compact of an open database: %v, want ErrLocked", err)
	}
}

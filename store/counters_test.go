package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// TestCountersFollowRandomOperations runs random sequences of everything
// that writes a message or a received text (submit, send, report, fail,
// expire, suppress, drop, resend, purge, erase, receive) and checks after
// each sequence that the counters equal a full recount, and that the status
// totals equal the status index.
func TestCountersFollowRandomOperations(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	numbers := []string{"+15550001", "+15550002", "+15550003", "+15550004", "+15550005"}
	modems := []string{"m1", "m2"}
	var ids []uint64
	pick := func() (uint64, bool) {
		if len(ids) == 0 {
			return 0, false
		}
		return ids[rng.IntN(len(ids))], true
	}
	// change applies fn to a random message through one of the update
	// paths the gateway uses; a refusal (errSkipTest) writes nothing.
	errSkipTest := errors.New("not in a state for this")
	change := func(fn func(m *Message) error) {
		id, ok := pick()
		if !ok {
			return
		}
		var err error
		switch rng.IntN(3) {
		case 0:
			_, err = db.Update(id, fn)
		case 1:
			_, err = db.UpdateBatch(id, fn)
		default:
			_, err = db.UpdateWithUsage(id, UsageDelta{SIM: modems[0], Recipient: numbers[0], At: clk.now(), Parts: 1}, fn)
		}
		if err != nil && !errors.Is(err, errSkipTest) && !errors.Is(err, ErrNotFound) {
			t.Fatalf("update %d: %v", id, err)
		}
	}
	ops := []func(){
		func() { // submit
			parts := 1 + rng.IntN(3)
			m := Message{To: numbers[rng.IntN(len(numbers))], Text: "hi", Kind: Kind(1 + rng.IntN(3)), Encoding: "GSM-7",
				ExpiresAt: clk.now().Add(time.Hour)}
			for i := range parts {
				m.Parts = append(m.Parts, Part{Seq: i + 1, MR: -1, Status: StatusQueued})
			}
			if rng.IntN(4) == 0 {
				m.IdempotencyKey, m.IdempotencyScope = fmt.Sprint("k", rng.IntN(5)), "token:1"
			}
			// Texts of campaigns and flows move the per-origin results too.
			m.Origin = []string{"", "campaign:1:variant:a", "campaign:1:variant:b", "flow:2:entry:3:step:1"}[rng.IntN(4)]
			stored, existed, err := db.Enqueue(m)
			if err != nil {
				t.Fatal(err)
			}
			if !existed {
				ids = append(ids, stored.ID)
			}
		},
		func() { // send: a part sending, then sent with an MR
			modem := modems[rng.IntN(len(modems))]
			change(func(m *Message) error {
				for i := range m.Parts {
					p := &m.Parts[i]
					if p.Status == StatusQueued {
						p.Status, p.Modem = StatusSending, modem
						m.Modem = cmpOr(m.Modem, modem)
						m.Status = StatusSending
						return nil
					}
					if p.Status == StatusSending {
						p.Status, p.MR, p.SentAt = StatusSent, rng.IntN(256), clk.now()
						m.Status = StatusSent
						for _, q := range m.Parts {
							if q.Status == StatusQueued || q.Status == StatusSending {
								m.Status = StatusQueued
							}
						}
						return nil
					}
				}
				return errSkipTest
			})
		},
		func() { // a status report
			delivered := rng.IntN(3) > 0
			change(func(m *Message) error {
				for i := range m.Parts {
					if m.Parts[i].Status == StatusSent {
						m.Parts[i].Status = StatusFailed
						if delivered {
							m.Parts[i].Status = StatusDelivered
						}
						m.Status = m.Parts[i].Status
						return nil
					}
				}
				return errSkipTest
			})
		},
		func() { // fail, expire, unknown, drop (a person's decision)
			to := []Status{StatusFailed, StatusExpired, StatusUnknown}[rng.IntN(3)]
			change(func(m *Message) error {
				if m.Status.Final() {
					return errSkipTest
				}
				m.Status = to
				return nil
			})
		},
		func() { // resend
			change(func(m *Message) error {
				if m.Status != StatusUnknown && m.Status != StatusFailed {
					return errSkipTest
				}
				m.Status, m.Modem = StatusQueued, ""
				for i := range m.Parts {
					m.Parts[i] = Part{Seq: i + 1, MR: -1, Status: StatusQueued}
				}
				return nil
			})
		},
		func() { // suppress at the guard's commit point
			id, ok := pick()
			if !ok {
				return
			}
			_, _, err := db.AdmitSend(id, func(m *Message, c *Consent, suppressed bool) error {
				if m.Status != StatusQueued {
					return errSkipTest
				}
				m.Status = StatusSuppressed
				return nil
			})
			if err != nil && !errors.Is(err, errSkipTest) && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		},
		func() { // receive
			p := part(modems[rng.IntN(len(modems))], numbers[rng.IntN(len(numbers))], 0, 1, 1, fmt.Sprint("pdu", rng.Int()))
			if _, _, err := db.AddInboundPart(p, joinParts); err != nil {
				t.Fatal(err)
			}
		},
		func() { // purge bodies
			if _, err := db.PurgeBodies(clk.now(), 3); err != nil {
				t.Fatal(err)
			}
		},
		func() { // erase a number
			if rng.IntN(4) > 0 {
				return
			}
			if _, err := db.EraseNumber(numbers[rng.IntN(len(numbers))]); err != nil {
				t.Fatal(err)
			}
		},
		func() { // reports that never came
			if _, _, err := db.ExpireReports(clk.now().Add(-2*time.Hour), "no report", 5); err != nil {
				t.Fatal(err)
			}
		},
		func() { // the price of a part changes (parts sent keep theirs)
			price := PartPrice{Modem: modems[rng.IntN(len(modems))], Price: int64(rng.IntN(4)), Currency: []string{"USD", "EUR"}[rng.IntN(2)]}
			if err := db.SetPartPrice(price); err != nil {
				t.Fatal(err)
			}
		},
		func() { // time passes: hours and days turn
			clk.advance(time.Duration(rng.IntN(5*3600)) * time.Second)
		},
	}
	for round := range 20 {
		for range 40 {
			ops[rng.IntN(len(ops))]()
		}
		checkCounters(t, db, fmt.Sprintf("round %d", round))
		if bad, err := db.ResultsRecountCheck(); err != nil || len(bad) > 0 {
			t.Fatalf("round %d: per-origin results apart from a recount: %+v %v", round, bad, err)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkCounters fails t when a counter differs from a full recount or the
// status totals from the status index.
func checkCounters(t *testing.T, db *DB, when string) {
	t.Helper()
	diffs, err := db.RecountCheck()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("%s: counter %s = %d, a recount gives %d", when, d.Key, d.Stored, d.Counted)
	}
	counts, err := db.CountByStatus()
	if err != nil {
		t.Fatal(err)
	}
	for s := range statusNames {
		ids, err := db.IDsByStatus(s)
		if err != nil {
			t.Fatal(err)
		}
		if counts[s] != len(ids) {
			t.Errorf("%s: %d %s by the counters, %d in the status index", when, counts[s], s, len(ids))
		}
	}
}

// TestCounterPeriods checks what the hour, day, kind and modem counters
// answer, against texts made at known times.
func TestCounterPeriods(t *testing.T) {
	clk := newClock() // 2025-03-14 09:26:53 UTC
	db := openTest(t, WithClock(clk.now))
	enqueue := func(kind Kind) uint64 {
		m, _, err := db.Enqueue(Message{To: "+15550001", Text: "x", Kind: kind, Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	a := enqueue(KindTransactional)
	b := enqueue(KindMarketing)
	clk.advance(time.Hour)
	c := enqueue(KindTransactional)
	if _, err := db.Update(a, func(m *Message) error { m.Status, m.Modem = StatusDelivered, "m1"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Update(c, func(m *Message) error { m.Status, m.Modem = StatusSent, "m2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddInboundPart(part("m1", "+15550001", 0, 1, 1, "a"), joinParts); err != nil {
		t.Fatal(err)
	}
	_ = b

	hours, err := db.HourCounts(clk.now().Add(-time.Hour), 3)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(hours[0].ByStatus, hours[0].Inbound, hours[1].ByStatus, hours[1].Inbound, hours[2].ByStatus)
	want := fmt.Sprint(map[Status]int{StatusQueued: 1, StatusDelivered: 1}, 0, map[Status]int{StatusSent: 1}, 1, map[Status]int{})
	if got != want {
		t.Errorf("hours = %s, want %s", got, want)
	}
	days, err := db.DayCounts(clk.now(), 2)
	if err != nil {
		t.Fatal(err)
	}
	got = fmt.Sprint(days[0].ByStatus, days[0].Inbound, days[1].ByStatus)
	want = fmt.Sprint(map[Status]int{StatusQueued: 1, StatusDelivered: 1, StatusSent: 1}, 1, map[Status]int{})
	if got != want {
		t.Errorf("days = %s, want %s", got, want)
	}
	kinds, err := db.CountByKind()
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds[KindTransactional]; k[StatusDelivered] != 1 || k[StatusSent] != 1 || kinds[KindMarketing][StatusQueued] != 1 {
		t.Errorf("kinds = %v", kinds)
	}
	modems, err := db.CountByModem()
	if err != nil {
		t.Fatal(err)
	}
	if m1, m2 := modems["m1"], modems["m2"]; m1.ByStatus[StatusDelivered] != 1 || m1.Inbound != 1 || m2.ByStatus[StatusSent] != 1 || m2.Inbound != 0 {
		t.Errorf("modems = %v", modems)
	}
}

// TestCountersMigration builds the counters of a version 7 file that has
// messages and received texts but no counters.
func TestCountersMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		m, _, err := db.Enqueue(Message{To: "+15550001", Text: "x", Kind: KindTransactional, Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := db.Update(m.ID, func(m *Message) error {
				m.Status, m.Modem = StatusSent, "m1"
				m.Parts[0].Status, m.Parts[0].MR, m.Parts[0].SentAt = StatusSent, i, time.Now()
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := db.AddInboundPart(part("m1", "+15550001", 0, 1, 1, "a"), joinParts); err != nil {
		t.Fatal(err)
	}
	// Back to what a version 7 binary left: no counters bucket.
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket(bucketCounters); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketMsgReportsTime); err != nil {
			return err
		}
		// The counters came with step 10 → 11; the later steps (flows, the
		// change feed) only create buckets and run again harmlessly.
		return tx.Bucket(bucketMeta).Put(keyVersion, u64(countersStepFrom))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts, err := db.CountByStatus()
	if err != nil {
		t.Fatal(err)
	}
	if counts[StatusQueued] != 20 || counts[StatusSent] != 10 {
		t.Errorf("after the migration: %v, want 20 queued and 10 sent", counts)
	}
	if n, err := db.InboundTotal(); err != nil || n != 1 {
		t.Errorf("inbound total %d (%v), want 1", n, err)
	}
	checkCounters(t, db, "after the migration")
	// The parts waiting for a report were put in time order: all ten
	// leave the report index once their window is over.
	msgs, walked, err := db.ExpireReports(time.Now().Add(time.Hour), "no report", 100)
	if err != nil || len(msgs) != 10 || walked != 10 {
		t.Errorf("ExpireReports after the migration = %d messages, %d entries, %v; want 10", len(msgs), walked, err)
	}
	for mr := range 30 {
		if _, _, ok, err := db.FindReport("m1", mr, time.Time{}, func(Message, int, time.Time) bool { return true }); ok || err != nil {
			t.Errorf("MR %d still found after its report expired (%v)", mr, err)
		}
	}
}

// countersStepFrom is the schema version the counters' migration starts
// from (10 → 11 in store/schema.go).
const countersStepFrom = 10

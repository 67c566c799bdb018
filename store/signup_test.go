package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// TestDueLowPriorityLast: a due text of low priority comes after every
// due text of normal priority, however long it has waited; NextDue sees
// both.
func TestDueLowPriorityLast(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	now := c.now()
	seed(t, db,
		Message{To: "a", Priority: PriorityLow, NextAttemptAt: now.Add(-time.Hour)},     // 1
		Message{To: "b", Priority: PriorityLow, NextAttemptAt: now.Add(-2 * time.Hour)}, // 2
		Message{To: "c", NextAttemptAt: now.Add(-time.Minute)},                          // 3
		Message{To: "d", NextAttemptAt: now},                                            // 4
		Message{To: "e", NextAttemptAt: now.Add(time.Minute)},                           // 5: not due
	)
	for _, tt := range []struct {
		limit int
		want  []uint64
	}{
		{10, []uint64{3, 4, 2, 1}},
		{3, []uint64{3, 4, 2}},
		{1, []uint64{3}},
	} {
		got, err := db.Due(now, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("Due(now, %d) = %v, want %v", tt.limit, ids(got), tt.want)
		}
	}
	at, ok, err := db.NextDue()
	if err != nil || !ok || !at.Equal(now.Add(-2*time.Hour)) {
		t.Errorf("NextDue = %v, %v, %v; want the low-priority text's due time", at, ok, err)
	}

	// Sent, the low-priority text leaves its index like any other.
	if _, err := db.Update(2, func(m *Message) error { m.Status = StatusSent; return nil }); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, db, bucketMsgDueLow); n != 1 {
		t.Errorf("%d keys in the low-priority due index, want 1", n)
	}
}

// TestEnqueueWithin: texts are counted against the day's budget in the
// transaction that stores them; one that would pass it is not stored; a
// new day starts from zero and the old day's count goes; a repeated
// idempotency key is not counted twice.
func TestEnqueueWithin(t *testing.T) {
	db := openTest(t)
	twoParts := func(key string) Message {
		return Message{To: "+12015550100", Text: "x", IdempotencyKey: key,
			Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}, {Seq: 2, MR: -1, Status: StatusQueued}}}
	}
	day := DailyBudget{Name: "signup", Day: "2026-05-04", Limit: 5}
	for i := range 2 {
		if _, existed, err := db.EnqueueWithin(twoParts(fmt.Sprint("k", i)), day); err != nil || existed {
			t.Fatalf("text %d within the budget: %v, existed %v", i, err, existed)
		}
	}
	if _, _, err := db.EnqueueWithin(twoParts("k2"), day); !errors.Is(err, ErrBudgetSpent) {
		t.Fatalf("a text past the budget: %v, want ErrBudgetSpent", err)
	}
	if n := countKeys(t, db, bucketMessages); n != 2 {
		t.Errorf("%d messages stored, want 2: the refused one must not be", n)
	}
	if _, existed, err := db.EnqueueWithin(twoParts("k1"), day); err != nil || !existed {
		t.Errorf("a repeated key: %v, existed %v; want the original", err, existed)
	}
	if used, err := db.BudgetUsed("signup", day.Day); err != nil || used != 4 {
		t.Errorf("used %d, %v; want 4", used, err)
	}

	next := DailyBudget{Name: "signup", Day: "2026-05-05", Limit: 1}
	if _, _, err := db.EnqueueWithin(twoParts("k3"), next); err != nil {
		t.Errorf("the first text of a day, longer than the whole budget: %v, want it taken", err)
	}
	if used, _ := db.BudgetUsed("signup", day.Day); used != 0 {
		t.Errorf("the old day still counts %d", used)
	}
	if n := countKeys(t, db, bucketBudgets); n != 1 {
		t.Errorf("%d budget counters kept, want only today's", n)
	}
}

// TestSignups: sign-ups are kept in order until deleted.
func TestSignups(t *testing.T) {
	db := openTest(t)
	for i := range 3 {
		s, err := db.AddSignup(Signup{Number: fmt.Sprintf("+1201555010%d", i), IP: "192.0.2.1", Source: "page"})
		if err != nil || s.ID != uint64(i+1) {
			t.Fatalf("AddSignup %d: %+v, %v", i, s, err)
		}
	}
	if err := db.DeleteSignup(2); err != nil {
		t.Fatal(err)
	}
	got, err := db.Signups(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Number != "+12015550100" || got[1].ID != 3 {
		t.Errorf("Signups = %+v, want the first and third", got)
	}
	if got, _ := db.Signups(1); len(got) != 1 || got[0].ID != 1 {
		t.Errorf("Signups(1) = %+v", got)
	}
}

// TestMigrateV5: a version 5 file gets the buckets of version 6 (and every
// later step's), and its queued texts stay due.
func TestMigrateV5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, db, Message{To: "+12015550100"})
	db.Close()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketMsgDueLow, bucketBudgets, bucketSignups, bucketImportJobs, bucketImportRejected, bucketImportSeen} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	setVersion(t, path, 5)

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := readVersionOf(t, db); v != SchemaVersion {
		t.Errorf("version %d after upgrade, want %d", v, SchemaVersion)
	}
	if due, err := db.Due(time.Now(), 10); err != nil || len(due) != 1 {
		t.Errorf("Due after upgrade: %v, %v", due, err)
	}
	if _, err := db.AddSignup(Signup{Number: "+12015550100"}); err != nil {
		t.Errorf("AddSignup after upgrade: %v", err)
	}
}

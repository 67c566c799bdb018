package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// The public sign-up page's records: the sign-ups answered and waiting to
// be handled, and the daily budget its texts are counted against.

// ErrBudgetSpent is returned by EnqueueWithin when a message would take a
// daily budget past its limit; nothing is stored.
var ErrBudgetSpent = errors.New("store: today's budget is spent")

// DailyBudget is an allowance of parts per day for one kind of text.
type DailyBudget struct {
	Name  string // what is counted, e.g. "signup"
	Day   string // "2006-01-02" in the box's local time
	Limit int    // parts per day
}

func budgetKey(name, day string) []byte {
	k := append([]byte(name), 0)
	return append(k, day...)
}

// EnqueueWithin is Enqueue for a text counted against a daily budget: in
// the one transaction that stores it, its parts are added to the day's
// count, or, when they would pass b.Limit, nothing is stored and the error
// is ErrBudgetSpent. As with a SIM's daily limit, the first text of a day
// is never refused, or a text longer than the whole budget could never go.
// A message whose idempotency key was already used is returned as Enqueue
// returns it, and is not counted again.
func (db *DB) EnqueueWithin(m Message, b DailyBudget) (stored Message, existed bool, err error) {
	err = db.bolt.Batch(func(tx *bbolt.Tx) error {
		var err error
		stored, existed, err = db.enqueue(tx, m)
		if err != nil || existed {
			return err
		}
		counts := tx.Bucket(bucketBudgets)
		key := budgetKey(b.Name, b.Day)
		used := 0
		if v := counts.Get(key); len(v) == 8 {
			used = int(binary.BigEndian.Uint64(v))
		}
		if used > 0 && used+len(m.Parts) > b.Limit {
			return ErrBudgetSpent
		}
		// Only today's count is needed: drop the days before.
		prefix := append([]byte(b.Name), 0)
		c := counts.Cursor()
		var old [][]byte
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if !bytes.Equal(k, key) {
				old = append(old, bytes.Clone(k))
			}
		}
		for _, k := range old {
			if err := counts.Delete(k); err != nil {
				return err
			}
		}
		return counts.Put(key, u64(uint64(used+len(m.Parts))))
	})
	if errors.Is(err, ErrBudgetSpent) {
		return Message{}, false, ErrBudgetSpent
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("store: enqueue: %w", err)
	}
	return stored, existed, nil
}

// BudgetUsed returns the parts counted against budget name on day.
func (db *DB) BudgetUsed(name, day string) (int, error) {
	used := 0
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketBudgets).Get(budgetKey(name, day)); len(v) == 8 {
			used = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return used, err
}

// Signup is one sign-up on the public page, stored before the page
// answers and deleted once the gateway has acted on it, so that the answer
// never waits for (or reveals) what the number's state calls for.
type Signup struct {
	ID     uint64    `json:"id"`
	Number string    `json:"number"` // E.164
	At     time.Time `json:"at"`
	// CartReminders: the box for abandoned-cart texts was ticked.
	CartReminders bool `json:"cart_reminders,omitempty"`
	// The evidence of the sign-up (R-RECORD): where, under which
	// disclosure, from which address and browser.
	Source            string `json:"source"`
	DisclosureVersion string `json:"disclosure_version"`
	IP                string `json:"ip"`
	UserAgent         string `json:"user_agent,omitempty"`
}

// AddSignup stores a sign-up and returns it with its ID, after the fsync.
// Concurrent calls share one commit.
func (db *DB) AddSignup(s Signup) (Signup, error) {
	err := db.bolt.Batch(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSignups)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec := s
		rec.ID = id
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := b.Put(u64(id), raw); err != nil {
			return err
		}
		s.ID = id
		return nil
	})
	if err != nil {
		return Signup{}, fmt.Errorf("store: add sign-up: %w", err)
	}
	return s, nil
}

// Signups returns up to limit waiting sign-ups, oldest first.
func (db *DB) Signups(limit int) ([]Signup, error) {
	var out []Signup
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketSignups).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var s Signup
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("store: decode sign-up %x: %w", k, err)
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// DeleteSignup forgets a handled sign-up.
func (db *DB) DeleteSignup(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketSignups).Delete(u64(id)) })
}

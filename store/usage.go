package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Usage is what one SIM has sent in the current day and calendar month, in
// the box's local time: the figures the fleet's per-SIM limits are checked
// against.
type Usage struct {
	Day             string   // "2006-01-02"
	Month           string   // "2006-01"
	PartsToday      int      // SMS parts submitted today
	DayRecipients   []string // distinct recipients today
	MonthRecipients []string // distinct recipients this month
}

// usagePruneBatch bounds the old keys removed per RecordUsage, so pruning
// never makes one send slow.
const usagePruneBatch = 64

func dayOf(t time.Time) string   { return t.Format("2006-01-02") }
func monthOf(t time.Time) string { return t.Format("2006-01") }

func usageKey(kind byte, sim, period, recipient string) []byte {
	k := make([]byte, 0, 2+len(sim)+len(period)+len(recipient)+2)
	k = append(k, kind)
	k = append(k, sim...)
	k = append(k, 0)
	k = append(k, period...)
	if recipient != "" {
		k = append(k, 0)
		k = append(k, recipient...)
	}
	return k
}

// UsageDelta is a number of parts a SIM submitted to one recipient.
type UsageDelta struct {
	SIM       string
	Recipient string
	At        time.Time
	Parts     int
}

// RecordUsage counts parts submitted by a SIM, group-committed.
func (db *DB) RecordUsage(u UsageDelta) error {
	if u.SIM == "" {
		return &FieldError{Field: "sim", Message: "must not be empty"}
	}
	return db.bolt.Batch(func(tx *bbolt.Tx) error { return addUsage(tx, u) })
}

// UpdateWithUsage is Update that also counts u in the same transaction, so a
// part's MR and its SIM's budget are made durable by one commit.
func (db *DB) UpdateWithUsage(id uint64, u UsageDelta, fn func(m *Message) error) (Message, error) {
	if u.SIM == "" {
		return Message{}, &FieldError{Field: "sim", Message: "must not be empty"}
	}
	return db.updateVia(db.bolt.Batch, id, fn, func(tx *bbolt.Tx) error { return addUsage(tx, u) })
}

func addUsage(tx *bbolt.Tx, u UsageDelta) error {
	day, month := dayOf(u.At), monthOf(u.At)
	b := tx.Bucket(bucketSIMUsage)
	ck := usageKey('c', u.SIM, day, "")
	n := uint64(0)
	if v := b.Get(ck); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	if err := b.Put(ck, u64(n+uint64(max(u.Parts, 0)))); err != nil {
		return err
	}
	if u.Recipient != "" {
		if err := b.Put(usageKey('d', u.SIM, day, u.Recipient), []byte{}); err != nil {
			return err
		}
		if err := b.Put(usageKey('m', u.SIM, month, u.Recipient), []byte{}); err != nil {
			return err
		}
	}
	return pruneUsage(b, u.SIM, day, month)
}

// pruneUsage drops keys of earlier days and months for sim, oldest first.
func pruneUsage(b *bbolt.Bucket, sim, day, month string) error {
	budget := usagePruneBatch
	for _, kind := range []struct {
		b      byte
		period string
	}{{'c', day}, {'d', day}, {'m', month}} {
		prefix := usageKey(kind.b, sim, "", "")
		keep := usageKey(kind.b, sim, kind.period, "")
		c := b.Cursor()
		var stale [][]byte
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && bytes.Compare(k, keep) < 0 && budget > 0; k, _ = c.Next() {
			stale = append(stale, append([]byte(nil), k...))
			budget--
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadUsage returns sim's counters for the day and month containing at.
func (db *DB) LoadUsage(sim string, at time.Time) (Usage, error) {
	u := Usage{Day: dayOf(at), Month: monthOf(at)}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSIMUsage)
		if v := b.Get(usageKey('c', sim, u.Day, "")); len(v) == 8 {
			u.PartsToday = int(binary.BigEndian.Uint64(v))
		}
		u.DayRecipients = recipientsUnder(b, usageKey('d', sim, u.Day, ""))
		u.MonthRecipients = recipientsUnder(b, usageKey('m', sim, u.Month, ""))
		return nil
	})
	if err != nil {
		return Usage{}, fmt.Errorf("store: load usage of %s: %w", sim, err)
	}
	return u, nil
}

// recipientsUnder lists the recipients stored below a period key.
func recipientsUnder(b *bbolt.Bucket, period []byte) []string {
	prefix := append(append([]byte(nil), period...), 0)
	var out []string
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

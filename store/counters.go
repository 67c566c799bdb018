package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.etcd.io/bbolt"
)

// Counters answer "how many" without reading the records: the overview's
// tiles and charts, /console/counts and the status totals read a handful of
// keys whatever the box's age. Each record adds one to every counter key it
// implies (counterKeys), and the transaction that writes, changes or deletes
// the record moves those ones (countChange), exactly as index entries move:
// a crash can never leave a counter apart from its records. Migration 7 → 8
// builds them from the records; RecountCheck compares them with a full
// recount.
//
// Keys in bucketCounters (each → 8-byte big-endian count):
//
//	'S' | status                     outbound messages in status
//	'K' | kind | status              by kind
//	'M' | modem | 0x00 | status      by the modem that sent the first part
//	'H' | hour (8 bytes) | status    by the hour created (Unix hours, UTC)
//	'D' | "2006-01-02" | 0x00 | status by the day created, the box's local time
//	'i' | 'T'                        inbound texts
//	'i' | 'M' | modem                inbound by the modem that received them
//	'i' | 'H' | hour (8 bytes)       inbound by the hour received
//	'i' | 'D' | "2006-01-02"         inbound by the local day received
//
// Days are local because the shop's day is; the same rule as the SIM
// counters (usage.go). A box whose time zone changes keeps the days it
// counted under the old zone until a recount (the migration).

// counterKeys is every counter m adds one to.
func counterKeys(m *Message) [][]byte {
	s := byte(m.Status)
	keys := [][]byte{
		{'S', s},
		{'K', byte(m.Kind), s},
		hourKey('H', m.CreatedAt, s),
		dayKey('D', m.CreatedAt, s),
	}
	if m.Modem != "" {
		k := append([]byte{'M'}, m.Modem...)
		keys = append(keys, append(k, 0, s))
	}
	return keys
}

// inboundCounterKeys is every counter a received text adds one to.
func inboundCounterKeys(in *Inbound) [][]byte {
	keys := [][]byte{
		{'i', 'T'},
		append([]byte{'i', 'M'}, in.Modem...),
		append([]byte{'i'}, hourKey('H', in.ReceivedAt, 0)[:9]...),
		append([]byte{'i'}, dayKey('D', in.ReceivedAt, 0)[:11]...),
	}
	return keys
}

// hourKey is prefix | Unix hour of t | status.
func hourKey(prefix byte, t time.Time, s byte) []byte {
	k := make([]byte, 0, 10)
	k = append(k, prefix)
	k = binary.BigEndian.AppendUint64(k, unixHour(t))
	return append(k, s)
}

// unixHour is the hour t falls in, counted from the Unix epoch; zero for
// times before it.
func unixHour(t time.Time) uint64 {
	if t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix() / 3600)
}

// dayKey is prefix | local day of t | 0x00 | status.
func dayKey(prefix byte, t time.Time, s byte) []byte {
	k := make([]byte, 0, 13)
	k = append(k, prefix)
	k = t.Local().AppendFormat(k, "2006-01-02")
	return append(k, 0, s)
}

// countChange moves the counters from what old implied to what new implies
// (nil for an insert or a delete).
func countChange(tx *bbolt.Tx, old, new *Message) error {
	var before, after [][]byte
	if old != nil {
		before = counterKeys(old)
	}
	if new != nil {
		after = counterKeys(new)
	}
	if err := moveResults(tx, old, new); err != nil {
		return err
	}
	return moveCounts(tx, before, after)
}

// countInbound adds (delta 1) or removes (-1) a received text's counts.
func countInbound(tx *bbolt.Tx, in *Inbound, delta int) error {
	if delta > 0 {
		return moveCounts(tx, nil, inboundCounterKeys(in))
	}
	return moveCounts(tx, inboundCounterKeys(in), nil)
}

// moveCounts takes one from each key of before and adds one to each of
// after; keys in both are left alone, so a change that moves no key costs
// no write.
func moveCounts(tx *bbolt.Tx, before, after [][]byte) error {
	b := tx.Bucket(bucketCounters)
	if b == nil {
		return fmt.Errorf("store: bucket %s missing", bucketCounters)
	}
	for _, k := range before {
		if slices.ContainsFunc(after, func(a []byte) bool { return bytes.Equal(a, k) }) {
			continue
		}
		if err := addCount(b, k, -1); err != nil {
			return err
		}
	}
	for _, k := range after {
		if slices.ContainsFunc(before, func(a []byte) bool { return bytes.Equal(a, k) }) {
			continue
		}
		if err := addCount(b, k, 1); err != nil {
			return err
		}
	}
	return nil
}

// addCount adds delta to counter k. A count that reaches zero is deleted,
// so the bucket holds only what exists. A count is never taken below zero:
// that would mean a counter already apart from its records, and failing
// the write that found it would stop sending over a tile's figure;
// RecountCheck reports it instead.
func addCount(b *bbolt.Bucket, k []byte, delta int64) error {
	var n int64
	if v := b.Get(k); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n = max(n+delta, 0)
	if n == 0 {
		return b.Delete(k)
	}
	return b.Put(k, u64(uint64(n)))
}

// countOf reads counter k inside tx.
func countOf(b *bbolt.Bucket, k []byte) int {
	if v := b.Get(k); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}

// countedMessage is the part of a message the counters derive from, so a
// recount decodes only these fields.
type countedMessage struct {
	Kind      Kind      `json:"kind"`
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	Modem     string    `json:"modem"`
}

// countedInbound is the part of a received text the counters derive from.
type countedInbound struct {
	Modem      string    `json:"modem"`
	ReceivedAt time.Time `json:"received_at"`
}

// recount computes every counter from the records inside tx.
func recount(tx *bbolt.Tx) (map[string]int, error) {
	counts := map[string]int{}
	err := tx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
		var c countedMessage
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode message %x: %w", k, err)
		}
		m := Message{Kind: c.Kind, Status: c.Status, CreatedAt: c.CreatedAt, Modem: c.Modem}
		for _, key := range counterKeys(&m) {
			counts[string(key)]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = tx.Bucket(bucketInbound).ForEach(func(k, v []byte) error {
		var c countedInbound
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode inbound %x: %w", k, err)
		}
		in := Inbound{Modem: c.Modem, ReceivedAt: c.ReceivedAt}
		for _, key := range inboundCounterKeys(&in) {
			counts[string(key)]++
		}
		return nil
	})
	return counts, err
}

// migrateCounters is schema step 7 → 8: the counters bucket, filled from
// every message and received text (a year of a busy shop takes a few
// seconds, once).
func migrateCounters(tx *bbolt.Tx) error {
	if tx.Bucket(bucketCounters) != nil {
		if err := tx.DeleteBucket(bucketCounters); err != nil {
			return err
		}
	}
	b, err := tx.CreateBucket(bucketCounters)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketCounters, err)
	}
	counts, err := recount(tx)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if err := b.Put([]byte(k), u64(uint64(counts[k]))); err != nil {
			return err
		}
	}
	return nil
}

// CounterMismatch is one counter that differs from a full recount.
type CounterMismatch struct {
	Key     string // printable form of the counter's key
	Stored  int
	Counted int
}

// RecountCheck counts every message and received text again, in one read
// transaction, and returns the counters that differ from the stored ones
// (none on a sound file). It reads the whole history: for tests, `simgate
// stats --recount` and an operator's doubt, never for a page.
func (db *DB) RecountCheck() ([]CounterMismatch, error) {
	var out []CounterMismatch
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		counted, err := recount(tx)
		if err != nil {
			return err
		}
		stored := map[string]int{}
		err = tx.Bucket(bucketCounters).ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("counter %q has %d bytes, want 8", k, len(v))
			}
			stored[string(k)] = int(binary.BigEndian.Uint64(v))
			return nil
		})
		if err != nil {
			return err
		}
		keys := slices.Sorted(maps.Keys(stored))
		for k := range counted {
			if _, ok := stored[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if stored[k] != counted[k] {
				out = append(out, CounterMismatch{Key: counterName([]byte(k)), Stored: stored[k], Counted: counted[k]})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: recount: %w", err)
	}
	return out, nil
}

// counterName prints a counter key for people: "status/queued",
// "hour/2026-01-02T15/sent", "inbound/day/2026-01-02".
func counterName(k []byte) string {
	status := func(b byte) string { return Status(b).String() }
	switch {
	case len(k) == 2 && k[0] == 'S':
		return "status/" + status(k[1])
	case len(k) == 3 && k[0] == 'K':
		return "kind/" + Kind(k[1]).String() + "/" + status(k[2])
	case len(k) == 10 && k[0] == 'H':
		return "hour/" + hourName(k[1:9]) + "/" + status(k[9])
	case len(k) >= 3 && k[0] == 'D':
		return "day/" + string(k[1:len(k)-2]) + "/" + status(k[len(k)-1])
	case len(k) >= 3 && k[0] == 'M':
		return "modem/" + string(k[1:len(k)-2]) + "/" + status(k[len(k)-1])
	case len(k) == 2 && k[0] == 'i' && k[1] == 'T':
		return "inbound/total"
	case len(k) >= 2 && k[0] == 'i' && k[1] == 'M':
		return "inbound/modem/" + string(k[2:])
	case len(k) == 10 && k[0] == 'i' && k[1] == 'H':
		return "inbound/hour/" + hourName(k[2:10])
	case len(k) >= 2 && k[0] == 'i' && k[1] == 'D':
		return "inbound/day/" + string(k[2:])
	}
	return fmt.Sprintf("%q", k)
}

func hourName(b []byte) string {
	return time.Unix(int64(binary.BigEndian.Uint64(b))*3600, 0).UTC().Format("2006-01-02T15")
}

// PeriodCounts is what the counters hold for one hour or one day.
type PeriodCounts struct {
	Start    time.Time
	ByStatus map[Status]int // messages created in the period, by their status now
	Inbound  int            // texts received in the period
}

// HourCounts returns n consecutive hours, the first starting at from
// (truncated to the hour), each with the messages created in it by their
// current status and the texts received in it. It reads about 9 keys per
// hour, never a record.
func (db *DB) HourCounts(from time.Time, n int) ([]PeriodCounts, error) {
	from = from.Truncate(time.Hour)
	out := make([]PeriodCounts, n)
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		for i := range out {
			start := from.Add(time.Duration(i) * time.Hour)
			p := PeriodCounts{Start: start, ByStatus: map[Status]int{}}
			prefix := hourKey('H', start, 0)[:9]
			readStatuses(b, prefix, p.ByStatus)
			p.Inbound = countOf(b, append([]byte{'i'}, prefix...))
			out[i] = p
		}
		return nil
	})
	return out, err
}

// DayCounts returns n consecutive days of the box's local time, the first
// being the day of from, as HourCounts does hours.
func (db *DB) DayCounts(from time.Time, n int) ([]PeriodCounts, error) {
	y, m, d := from.Local().Date()
	out := make([]PeriodCounts, n)
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		for i := range out {
			start := time.Date(y, m, d+i, 0, 0, 0, 0, time.Local)
			p := PeriodCounts{Start: start, ByStatus: map[Status]int{}}
			k := dayKey('D', start, 0)
			prefix := k[:len(k)-1] // 'D' | day | 0x00
			readStatuses(b, prefix, p.ByStatus)
			p.Inbound = countOf(b, append([]byte{'i'}, k[:len(k)-2]...))
			out[i] = p
		}
		return nil
	})
	return out, err
}

// readStatuses adds the counts of keys prefix | status into into.
func readStatuses(b *bbolt.Bucket, prefix []byte, into map[Status]int) {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) == len(prefix)+1 && len(v) == 8 {
			into[Status(k[len(prefix)])] += int(binary.BigEndian.Uint64(v))
		}
	}
}

// CountByStatus counts messages per status, from the counters.
func (db *DB) CountByStatus() (map[Status]int, error) {
	counts := map[Status]int{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		clear(counts)
		readStatuses(tx.Bucket(bucketCounters), []byte{'S'}, counts)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// CountByKind counts messages per kind and status, from the counters.
func (db *DB) CountByKind() (map[Kind]map[Status]int, error) {
	out := map[Kind]map[Status]int{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		clear(out)
		b := tx.Bucket(bucketCounters)
		for kind := range kindNames {
			m := map[Status]int{}
			readStatuses(b, []byte{'K', byte(kind)}, m)
			out[kind] = m
		}
		return nil
	})
	return out, err
}

// ModemCounts is what the counters hold for one modem.
type ModemCounts struct {
	ByStatus map[Status]int // messages whose first part it sent, by status
	Inbound  int            // texts it received
}

// CountByModem returns the counts of every modem that sent or received a
// text, from the counters.
func (db *DB) CountByModem() (map[string]ModemCounts, error) {
	out := map[string]ModemCounts{}
	get := func(name string) ModemCounts {
		mc, ok := out[name]
		if !ok {
			mc = ModemCounts{ByStatus: map[Status]int{}}
		}
		return mc
	}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		clear(out)
		c := tx.Bucket(bucketCounters).Cursor()
		for k, v := c.Seek([]byte{'M'}); k != nil && k[0] == 'M'; k, v = c.Next() {
			if len(k) < 3 || k[len(k)-2] != 0 || len(v) != 8 {
				continue
			}
			name := string(k[1 : len(k)-2])
			mc := get(name)
			mc.ByStatus[Status(k[len(k)-1])] += int(binary.BigEndian.Uint64(v))
			out[name] = mc
		}
		prefix := []byte{'i', 'M'}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(v) != 8 {
				continue
			}
			name := string(k[2:])
			mc := get(name)
			mc.Inbound += int(binary.BigEndian.Uint64(v))
			out[name] = mc
		}
		return nil
	})
	return out, err
}

// InboundTotal is how many received texts the box holds, from the
// counters.
func (db *DB) InboundTotal() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		n = countOf(tx.Bucket(bucketCounters), []byte{'i', 'T'})
		return nil
	})
	return n, err
}

// ReviewCount is how many numbers wait in the opt-out review queue; it
// counts keys and decodes nothing.
func (db *DB) ReviewCount() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		n = 0
		c := tx.Bucket(bucketConsentReview).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// InboundCountFrom counts the texts received from number, all of them and
// those with an ID above after (the unread ones, for a read marker), from
// the keys of inbound_by_from: no text is decoded.
func (db *DB) InboundCountFrom(number string, after uint64) (total, newer int, err error) {
	prefix := numberPrefix(number)
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		total, newer = 0, 0
		c := tx.Bucket(bucketInboundByFrom).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				continue
			}
			total++
			if binary.BigEndian.Uint64(k[len(prefix):]) > after {
				newer++
			}
		}
		return nil
	})
	return total, newer, err
}

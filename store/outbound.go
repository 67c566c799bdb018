package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"go.etcd.io/bbolt"
)

// IdempotencyWindow is how long an idempotency key returns the original
// message (docs/architecture.md: "the same key within 24 h").
const IdempotencyWindow = 24 * time.Hour

// idemPruneBatch bounds the expired idempotency keys removed per Enqueue.
// Each Enqueue adds at most one key, so removing up to 16 keeps the index at
// about one day of keys without ever making one submission slow.
const idemPruneBatch = 16

// List page sizes: the console shows 50 rows; 500 caps one API answer at a
// few hundred kilobytes.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// DefaultDueLimit is what Due returns when asked for limit <= 0: enough to
// keep every modem busy for a while, small enough to hold in memory.
const DefaultDueLimit = 100

// ListFilter selects a page of messages for List.
type ListFilter struct {
	Status Status // 0 = any
	Before uint64 // cursor: only IDs < Before; 0 = from the newest
	Limit  int    // DefaultListLimit when 0, at most MaxListLimit
}

// Enqueue stores a new message and returns it with its ID. Concurrent calls
// share one commit (group commit): the call returns after the fsync.
//
// CreatedAt and UpdatedAt default to now, Status to queued, and an empty
// History gets the initial transition. If m.IdempotencyKey was used in
// m.IdempotencyScope by a message created within IdempotencyWindow, nothing
// is stored and that message is returned with existed = true; an older use
// of the key is forgotten and the key now names the new message. When both
// messages carry an IdempotencyFingerprint and the two differ, the key was
// reused for another text: nothing is stored and the error is
// ErrIdempotencyKeyReused. A key stored before scopes (none recorded) is
// found from any scope, as it was before.
func (db *DB) Enqueue(m Message) (stored Message, existed bool, err error) {
	err = db.bolt.Batch(func(tx *bbolt.Tx) error {
		// Batch may run this function more than once (a sibling in the
		// batch failed): start from nothing every time.
		var err error
		stored, existed, err = db.enqueue(tx, m)
		return err
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("store: enqueue: %w", err)
	}
	return stored, existed, nil
}

// enqueue is Enqueue inside tx. It changes nothing outside tx, so that Batch
// can run it again.
func (db *DB) enqueue(tx *bbolt.Tx, m Message) (Message, bool, error) {
	now := db.now()
	msgs := tx.Bucket(bucketMessages)
	if m.IdempotencyKey != "" {
		existing, found, err := findIdempotent(tx, m.IdempotencyScope, m.IdempotencyKey, now)
		if err != nil {
			return Message{}, false, err
		}
		if found {
			if existing.IdempotencyFingerprint != "" && m.IdempotencyFingerprint != "" &&
				existing.IdempotencyFingerprint != m.IdempotencyFingerprint {
				return Message{}, false, ErrIdempotencyKeyReused
			}
			return existing, true, nil
		}
	}

	n := m
	n.Parts = slices.Clone(m.Parts)
	n.History = slices.Clone(m.History)
	id, err := msgs.NextSequence()
	if err != nil {
		return Message{}, false, err
	}
	n.ID = id
	if n.Status == 0 {
		n.Status = StatusQueued
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	if len(n.History) == 0 {
		n.History = []Transition{{At: n.CreatedAt, Status: n.Status}}
	}
	if err := putMessage(tx, nil, &n); err != nil {
		return Message{}, false, err
	}
	if err := pruneIdempotency(tx, now); err != nil {
		return Message{}, false, err
	}
	return n, false, nil
}

// findIdempotent returns the message that key names in scope, if it was
// made within IdempotencyWindow of now. Keys of no scope (stored before
// scopes existed, when every caller shared one key space) are also looked
// up from any scope, as they were found before, so that a retry across an
// upgrade still finds its message; a day later all of them have expired.
func findIdempotent(tx *bbolt.Tx, scope, key string, now time.Time) (Message, bool, error) {
	lookups := [][]byte{idemKey(scope, key)}
	if scope != "" {
		lookups = append(lookups, idemKey("", key))
	}
	for _, k := range lookups {
		v := tx.Bucket(bucketMsgIdem).Get(k)
		if len(v) != 16 {
			continue
		}
		created := fromNanos(binary.BigEndian.Uint64(v[8:]))
		if now.Sub(created) >= IdempotencyWindow {
			continue
		}
		m, err := getMessage(tx, binary.BigEndian.Uint64(v[:8]))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Message{}, false, err
		}
		return m, true, nil
	}
	return Message{}, false, nil
}

// putMessage writes m and moves its index entries from what old implied
// (nil for a new message). A new status is recorded in the change feed in
// the same transaction.
func putMessage(tx *bbolt.Tx, old, m *Message) error {
	if err := stampPartPrices(tx, old, m); err != nil {
		return err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode message %d: %w", m.ID, err)
	}
	if err := tx.Bucket(bucketMessages).Put(u64(m.ID), raw); err != nil {
		return err
	}
	if err := messageChanged(tx, old, m); err != nil {
		return err
	}
	if err := countChange(tx, old, m); err != nil {
		return err
	}
	return reindex(tx, messageIndexes(), old, m)
}

// pruneIdempotency forgets up to idemPruneBatch keys older than the window,
// oldest first.
func pruneIdempotency(tx *bbolt.Tx, now time.Time) error {
	cutoff := nanos(now.Add(-IdempotencyWindow))
	byTime := tx.Bucket(bucketMsgIdemTime)
	idem := tx.Bucket(bucketMsgIdem)
	type stale struct{ timeKey, key []byte }
	var drop []stale
	c := byTime.Cursor()
	for k, v := c.First(); k != nil && len(drop) < idemPruneBatch; k, v = c.Next() {
		if len(k) != 16 || binary.BigEndian.Uint64(k[:8]) >= cutoff {
			break
		}
		drop = append(drop, stale{bytes.Clone(k), bytes.Clone(v)})
	}
	for _, s := range drop {
		// The key may since name a newer message: only remove it while it
		// still points at the expired one.
		if cur := idem.Get(s.key); len(cur) == 16 && bytes.Equal(cur[:8], s.timeKey[8:]) {
			if err := idem.Delete(s.key); err != nil {
				return err
			}
		}
		if err := byTime.Delete(s.timeKey); err != nil {
			return err
		}
	}
	return nil
}

// getMessage reads message id inside tx; the result shares nothing with the
// transaction's memory.
func getMessage(tx *bbolt.Tx, id uint64) (Message, error) {
	return getRecord[Message](tx, bucketMessages, id, "message")
}

// Get returns message id, or an error wrapping ErrNotFound.
func (db *DB) Get(id uint64) (Message, error) {
	var m Message
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		m, err = getMessage(tx, id)
		return err
	})
	return m, err
}

// Update changes message id with fn and commits (fsync) before returning, so
// that a caller can rely on the new state before it talks to a modem. fn
// gets a private copy; if it returns an error nothing is written and that
// error is returned as is. UpdatedAt is set; transitions are the caller's
// to append. Index entries follow the new record.
//
// The commit is shared (groupcommit.go) with the writes that arrive while
// another commit runs: the `sending` marks and MRs of several modems go
// in one fdatasync, and a lone write commits at once. So fn may run more
// than once and must only change m.
func (db *DB) Update(id uint64, fn func(m *Message) error) (Message, error) {
	return db.updateVia(db.bolt.Batch, id, fn, nil)
}

// UpdateBatch is Update; the name stays for the callers that said so
// before every update shared its commit (status reports and other updates
// that many goroutines make at once).
func (db *DB) UpdateBatch(id uint64, fn func(m *Message) error) (Message, error) {
	return db.updateVia(db.bolt.Batch, id, fn, nil)
}

// updateVia runs update in a transaction made by commit (bbolt's Update or
// Batch), followed by also when it is set, and returns the new record.
func (db *DB) updateVia(commit func(func(*bbolt.Tx) error) error, id uint64, fn func(m *Message) error, also func(*bbolt.Tx) error) (Message, error) {
	var out Message
	err := commit(func(tx *bbolt.Tx) error {
		var err error
		if out, err = db.update(tx, id, fn); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	return out, nil
}

func (db *DB) update(tx *bbolt.Tx, id uint64, fn func(m *Message) error) (Message, error) {
	old, err := getMessage(tx, id)
	if err != nil {
		return Message{}, err
	}
	// A second decode gives fn a copy that shares no slices with old, which
	// the index diff still needs.
	m, err := getMessage(tx, id)
	if err != nil {
		return Message{}, err
	}
	if err := fn(&m); err != nil {
		return Message{}, err
	}
	m.ID = id
	m.UpdatedAt = db.now()
	if err := putMessage(tx, &old, &m); err != nil {
		return Message{}, err
	}
	return m, nil
}

// List returns a page of messages, newest first, and the cursor for the
// next page (the last ID returned) or 0 when there is no more. With a status
// it walks the status index, never the whole history.
func (db *DB) List(f ListFilter) ([]Message, uint64, error) {
	if f.Status != 0 {
		return pageBack(db, bucketMsgByStatus, []byte{byte(f.Status)}, f.Before, f.Limit, getMessage)
	}
	return pageBack(db, bucketMessages, nil, f.Before, f.Limit, getMessage)
}

// pageBack reads a page of records newest first through a bucket whose
// keys are prefix | ID (8 bytes), getting each record with get, and returns
// the cursor for the next page (the last ID returned) or 0 when there is no
// more. limit follows ListFilter.Limit.
func pageBack[T any](db *DB, bucket, prefix []byte, before uint64, limit int, get func(*bbolt.Tx, uint64) (T, error)) ([]T, uint64, error) {
	limit = clampLimit(limit)
	var out []T
	var next uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out, next = nil, 0
		ids, more := walkBack(tx.Bucket(bucket).Cursor(), prefix, before, limit)
		for _, id := range ids {
			r, err := get(tx, id)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		if more && len(ids) > 0 {
			next = ids[len(ids)-1]
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, next, nil
}

// MessagesTo returns a page of the messages sent (or to be sent) to
// number, newest first, and the cursor for the next page or 0 when there is
// no more. It walks messages_by_to, never the whole history.
func (db *DB) MessagesTo(number string, before uint64, limit int) ([]Message, uint64, error) {
	return pageBack(db, bucketMsgByTo, numberPrefix(number), before, limit, getMessage)
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxListLimit:
		return MaxListLimit
	}
	return n
}

// walkBack collects up to limit IDs from keys prefix | ID (8 bytes) with
// ID < before (0: no bound), highest first, and reports whether more remain.
func walkBack(c *bbolt.Cursor, prefix []byte, before uint64, limit int) (ids []uint64, more bool) {
	var k []byte
	if before == 0 {
		if len(prefix) == 0 {
			k, _ = c.Last()
		} else {
			// Seek past the prefix, then step back into it.
			k, _ = seekBefore(c, append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 9)...))
		}
	} else {
		k, _ = seekBefore(c, append(bytes.Clone(prefix), u64(before)...))
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if len(k) != len(prefix)+8 {
			continue
		}
		if len(ids) == limit {
			return ids, true
		}
		ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
	}
	return ids, false
}

// seekBefore positions c on the last key < target.
func seekBefore(c *bbolt.Cursor, target []byte) ([]byte, []byte) {
	k, _ := c.Seek(target)
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// Due returns queued messages whose NextAttemptAt is not after now, at
// most limit (DefaultDueLimit when limit <= 0): those of normal priority
// first, earliest first, then those of low priority, earliest first.
func (db *DB) Due(now time.Time, limit int) ([]Message, error) {
	var out []Message
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		return walkDue(tx, now, limit, func(id uint64) error {
			m, err := getMessage(tx, id)
			if err == nil {
				out = append(out, m)
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DueIDs returns the IDs of queued messages whose NextAttemptAt is not
// after now, in the order Due returns them, at most limit
// (DefaultDueLimit when limit <= 0). It reads only the due indexes' keys:
// the dispatcher decodes a message only when it means to hand it out,
// not the ones it passes over (in flight, or waiting for their modem).
func (db *DB) DueIDs(now time.Time, limit int) ([]uint64, error) {
	var out []uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		return walkDue(tx, now, limit, func(id uint64) error {
			out = append(out, id)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walkDue calls fn with the ID of each queued message due at now, normal
// priority first, earliest first, at most limit (DefaultDueLimit when
// limit <= 0): the one walk of the due indexes Due and DueIDs share.
func walkDue(tx *bbolt.Tx, now time.Time, limit int, fn func(id uint64) error) error {
	if limit <= 0 {
		limit = DefaultDueLimit
	}
	until, n := nanos(now), 0
	for _, bucket := range [][]byte{bucketMsgDue, bucketMsgDueLow} {
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.First(); k != nil && n < limit; k, _ = c.Next() {
			if len(k) != 16 {
				continue
			}
			if binary.BigEndian.Uint64(k[:8]) > until {
				break
			}
			if err := fn(binary.BigEndian.Uint64(k[8:])); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}

// NextDue returns the earliest NextAttemptAt among queued messages of any
// priority, and false when nothing is queued. A message queued with a zero
// NextAttemptAt is due at the Unix epoch, that is now.
func (db *DB) NextDue() (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		at, ok = time.Time{}, false
		for _, bucket := range [][]byte{bucketMsgDue, bucketMsgDueLow} {
			k, _ := tx.Bucket(bucket).Cursor().First()
			if len(k) != 16 {
				continue
			}
			if t := fromNanos(binary.BigEndian.Uint64(k[:8])); !ok || t.Before(at) {
				at, ok = t, true
			}
		}
		return nil
	})
	return at, ok, err
}

// IDsByStatus returns the IDs of all messages in status s, oldest first,
// from the status index.
func (db *DB) IDsByStatus(s Status) ([]uint64, error) {
	var ids []uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		ids = idsUnder(tx.Bucket(bucketMsgByStatus), []byte{byte(s)})
		return nil
	})
	return ids, err
}

// FindReport finds the part a status report is about. It walks the parts
// sent through modem with message reference mr at or after since that
// still wait for a report, newest SentAt first, and returns the first for
// which match is true. Parts sent before since are passed over on their
// index entry, before any message is read. match runs outside any
// transaction and may use the DB; the gateway checks the recipient there,
// because MRs wrap at 256.
func (db *DB) FindReport(modem string, mr int, since time.Time, match func(m Message, seq int, sentAt time.Time) bool) (id uint64, seq int, ok bool, err error) {
	if mr < 0 || mr > 255 {
		return 0, 0, false, nil
	}
	type candidate struct {
		id     uint64
		seq    int
		sentAt uint64
	}
	var cands []candidate
	prefix := reportPrefix(modem, mr)
	oldest := nanos(since)
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		cands = nil
		c := tx.Bucket(bucketMsgReports).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != len(prefix)+9 || len(v) != 8 || binary.BigEndian.Uint64(v) < oldest {
				continue
			}
			cands = append(cands, candidate{
				id:     binary.BigEndian.Uint64(k[len(prefix):]),
				seq:    int(k[len(k)-1]),
				sentAt: binary.BigEndian.Uint64(v),
			})
		}
		return nil
	})
	if err != nil {
		return 0, 0, false, err
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].sentAt != cands[j].sentAt {
			return cands[i].sentAt > cands[j].sentAt
		}
		return cands[i].id > cands[j].id
	})
	for _, c := range cands {
		m, err := db.Get(c.id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, 0, false, err
		}
		if match(m, c.seq, fromNanos(c.sentAt)) {
			return c.id, c.seq, true, nil
		}
	}
	return 0, 0, false, nil
}

// ExpireReports gives up waiting for the status reports of parts sent
// before `before`, at most limit parts per call, oldest first, and returns
// the messages it changed and how many index entries it took (the caller
// repeats while that equals limit). Each such part stays `sent`, gets NoReport and the error note,
// and leaves the report index; its message records the note once.
func (db *DB) ExpireReports(before time.Time, note string, limit int) ([]Message, int, error) {
	if limit <= 0 {
		limit = DefaultPurgeLimit
	}
	// A look first: a sweep that finds nothing must not cost a commit.
	var any bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bucketMsgReportsTime).Cursor().First()
		any = len(k) == 17 && binary.BigEndian.Uint64(k[:8]) < nanos(before)
		return nil
	})
	if err != nil || !any {
		return nil, 0, err
	}
	var out []Message
	var walked int
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		out, walked = nil, 0
		type due struct {
			id  uint64
			seq int
		}
		var list []due
		var keys [][]byte
		cutoff := nanos(before)
		c := tx.Bucket(bucketMsgReportsTime).Cursor()
		for k, _ := c.First(); k != nil && len(list) < limit; k, _ = c.Next() {
			if len(k) != 17 {
				continue
			}
			if binary.BigEndian.Uint64(k[:8]) >= cutoff {
				break
			}
			list = append(list, due{binary.BigEndian.Uint64(k[8:16]), int(k[16])})
			keys = append(keys, bytes.Clone(k))
		}
		// Written after the walk: a cursor must not see its bucket change.
		byID := map[uint64][]int{}
		var order []uint64
		for _, d := range list {
			if _, ok := byID[d.id]; !ok {
				order = append(order, d.id)
			}
			byID[d.id] = append(byID[d.id], d.seq)
		}
		for _, id := range order {
			m, err := db.update(tx, id, func(m *Message) error {
				for _, seq := range byID[id] {
					if seq < 1 || seq > len(m.Parts) || !awaitsReport(m.Parts[seq-1]) {
						continue
					}
					p := &m.Parts[seq-1]
					p.NoReport, p.Error = true, note
				}
				m.History = append(m.History, Transition{At: db.now(), Status: m.Status, Note: note})
				return nil
			})
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		// The update moved each entry out of the index. One whose message
		// is gone, or whose part no longer waits, cannot be; if it were,
		// it must not stay first and stall every later sweep.
		byTime := tx.Bucket(bucketMsgReportsTime)
		for _, k := range keys {
			if byTime.Get(k) != nil {
				if err := byTime.Delete(k); err != nil {
					return err
				}
			}
		}
		walked = len(keys)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: expire reports: %w", err)
	}
	return out, walked, nil
}

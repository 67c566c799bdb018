package store

import (
	"bytes"
	"fmt"

	"go.etcd.io/bbolt"
)

// indexEntry is one key/value an index holds because of a record.
type indexEntry struct {
	key, value []byte
}

// index ties a bucket to the one function that derives its entries from a
// record. Nothing else writes index buckets except pruning of entries whose
// meaning has expired (idempotency keys older than 24 h).
type index[T any] struct {
	bucket []byte
	derive func(r *T) []indexEntry
}

// messageIndexes lists every index kept for outbound messages.
func messageIndexes() []index[Message] {
	return []index[Message]{
		{bucketMsgByStatus, statusEntries},
		{bucketMsgDue, dueEntries},
		{bucketMsgDueLow, dueLowEntries},
		{bucketMsgIdem, idemEntries},
		{bucketMsgIdemTime, idemTimeEntries},
		{bucketMsgReports, reportEntries},
		{bucketMsgReportsTime, reportTimeEntries},
		{bucketMsgByTo, toEntries},
		{bucketMsgByExit, exitEntries},
	}
}

// exitEntries: a queued text with an exit key is found by that key, so an
// order withdraws its checkout's reminders without a scan. Once a text
// leaves the queue nothing can recall it.
func exitEntries(m *Message) []indexEntry {
	if m.ExitKey == "" || m.Status != StatusQueued {
		return nil
	}
	k := append(append([]byte(m.ExitKey), 0), u64(m.ID)...)
	return []indexEntry{{key: k, value: []byte{}}}
}

// toEntries: every message is listed under its recipient, so a number's
// history and its erasure never scan all messages.
func toEntries(m *Message) []indexEntry {
	if m.To == "" {
		return nil
	}
	return []indexEntry{{key: numberKey(m.To, m.ID), value: []byte{}}}
}

// numberKey is number | 0x00 | id: the layout of every per-number index
// (messages_by_to, inbound_by_from, consent_by_number). The 0x00 ends the
// number, so "+1555" never matches the keys of "+15550".
func numberKey(number string, id uint64) []byte {
	k := make([]byte, 0, len(number)+9)
	k = append(k, number...)
	k = append(k, 0)
	return append(k, u64(id)...)
}

// numberPrefix is the part of numberKey shared by all IDs of number.
func numberPrefix(number string) []byte {
	return append([]byte(number), 0)
}

// statusEntries: every message is in exactly one status.
func statusEntries(m *Message) []indexEntry {
	return []indexEntry{{key: statusKey(m.Status, m.ID), value: []byte{}}}
}

func statusKey(s Status, id uint64) []byte {
	return append([]byte{byte(s)}, u64(id)...)
}

// dueEntries: only queued messages wait for a due time; those of normal
// priority here, low priority in dueLowEntries.
func dueEntries(m *Message) []indexEntry {
	if m.Status != StatusQueued || m.Priority != PriorityNormal {
		return nil
	}
	return []indexEntry{{key: dueKey(m), value: []byte{}}}
}

// dueLowEntries: queued messages of low priority, which Due returns only
// after every normal one that is due.
func dueLowEntries(m *Message) []indexEntry {
	if m.Status != StatusQueued || m.Priority == PriorityNormal {
		return nil
	}
	return []indexEntry{{key: dueKey(m), value: []byte{}}}
}

func dueKey(m *Message) []byte { return append(u64(nanos(m.NextAttemptAt)), u64(m.ID)...) }

// idemEntries: the idempotency key, in its scope, finds the message and
// when it was made.
func idemEntries(m *Message) []indexEntry {
	if m.IdempotencyKey == "" {
		return nil
	}
	return []indexEntry{{key: idemKey(m.IdempotencyScope, m.IdempotencyKey), value: append(u64(m.ID), u64(nanos(m.CreatedAt))...)}}
}

// idemTimeEntries orders idempotency keys by age so that expired ones can be
// pruned oldest first with bounded work.
func idemTimeEntries(m *Message) []indexEntry {
	if m.IdempotencyKey == "" {
		return nil
	}
	return []indexEntry{{key: append(u64(nanos(m.CreatedAt)), u64(m.ID)...), value: idemKey(m.IdempotencyScope, m.IdempotencyKey)}}
}

// idemKey is the messages_idempotency key of key in scope: 0x00 | scope |
// 0x00 | key. A key of no scope (stored before scopes) is the bare key;
// clients sent those in an HTTP header or a JSON string, where a leading
// NUL does not occur in practice (and the API now refuses it), so the two
// forms do not meet.
func idemKey(scope, key string) []byte {
	if scope == "" {
		return []byte(key)
	}
	k := make([]byte, 0, len(scope)+len(key)+2)
	k = append(k, 0)
	k = append(k, scope...)
	k = append(k, 0)
	return append(k, key...)
}

// awaitsReport: a part the SMSC accepted (it has an MR) that is still
// `sent` waits for its status report until the report window ends.
func awaitsReport(p Part) bool {
	return p.Status == StatusSent && !p.NoReport && p.MR >= 0 && p.MR <= 255 && p.Seq >= 0 && p.Seq <= 255
}

// reportEntries: a part waiting for its status report is found by (modem,
// MR).
func reportEntries(m *Message) []indexEntry {
	var out []indexEntry
	for _, p := range m.Parts {
		if !awaitsReport(p) {
			continue
		}
		modem := p.Modem
		if modem == "" {
			modem = m.Modem
		}
		k := reportPrefix(modem, p.MR)
		k = append(k, u64(m.ID)...)
		k = append(k, byte(p.Seq))
		out = append(out, indexEntry{key: k, value: u64(nanos(p.SentAt))})
	}
	return out
}

// reportTimeEntries orders the parts waiting for a report by when they
// were sent, so those past the report window leave the index oldest first
// with bounded work (ExpireReports).
func reportTimeEntries(m *Message) []indexEntry {
	var out []indexEntry
	for _, p := range m.Parts {
		if !awaitsReport(p) {
			continue
		}
		k := u64(nanos(p.SentAt))
		k = append(k, u64(m.ID)...)
		out = append(out, indexEntry{key: append(k, byte(p.Seq)), value: []byte{}})
	}
	return out
}

func reportPrefix(modem string, mr int) []byte {
	k := make([]byte, 0, len(modem)+2+8+1)
	k = append(k, modem...)
	k = append(k, 0, byte(mr))
	return k
}

// reindex moves the entries of every index from what old implies to what
// new implies; old or new is nil for an insert or a delete. An entry is
// deleted only while it still holds the value old put there, so that a key
// since taken over by another record (an expired idempotency key reused) is
// left alone.
func reindex[T any](tx *bbolt.Tx, indexes []index[T], old, new *T) error {
	for _, ix := range indexes {
		b := tx.Bucket(ix.bucket)
		if b == nil {
			return fmt.Errorf("store: bucket %s missing", ix.bucket)
		}
		var before, after []indexEntry
		if old != nil {
			before = ix.derive(old)
		}
		if new != nil {
			after = ix.derive(new)
		}
		for _, e := range before {
			if containsKey(after, e.key) {
				continue
			}
			if cur := b.Get(e.key); cur != nil && bytes.Equal(cur, e.value) {
				if err := b.Delete(e.key); err != nil {
					return fmt.Errorf("store: index %s: %w", ix.bucket, err)
				}
			}
		}
		for _, e := range after {
			if containsEntry(before, e) {
				continue
			}
			if err := b.Put(e.key, e.value); err != nil {
				return fmt.Errorf("store: index %s: %w", ix.bucket, err)
			}
		}
	}
	return nil
}

func containsKey(es []indexEntry, key []byte) bool {
	for _, e := range es {
		if bytes.Equal(e.key, key) {
			return true
		}
	}
	return false
}

func containsEntry(es []indexEntry, x indexEntry) bool {
	for _, e := range es {
		if bytes.Equal(e.key, x.key) && bytes.Equal(e.value, x.value) {
			return true
		}
	}
	return false
}

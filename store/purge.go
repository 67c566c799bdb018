package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// DefaultPurgeLimit is how many bodies PurgeBodies blanks per call when
// asked for limit <= 0: one transaction of about a megabyte, short enough
// that sends and status reports never wait long behind it.
const DefaultPurgeLimit = 1000

// PurgeBodies blanks the Text of outbound and inbound rows created before
// `before` (setting BodyPurged), at most limit rows per call (outbound
// first), and returns how many it changed; the caller repeats while the
// count equals limit. Rows are never deleted and the consent ledger is
// never touched: the record that a text was sent, when, and under which
// consent outlives its words (docs/compliance.md R-RECORD).
//
// Rows are walked in ID (creation) order from where the last call stopped,
// and the walk ends at the first row created at or after `before`. Texts
// still needed are skipped and looked at again next time: outbound ones
// queued or being sent, inbound ones whose keywords are not yet handled.
func (db *DB) PurgeBodies(before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = DefaultPurgeLimit
	}
	var n int
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		n = 0
		out, err := purgeWalk(tx, bucketMessages, keyPurgedMessages, limit, func(id uint64, raw []byte) (purgeStep, []byte, error) {
			var m Message
			if err := json.Unmarshal(raw, &m); err != nil {
				return 0, nil, fmt.Errorf("decode message %d: %w", id, err)
			}
			switch {
			case !m.CreatedAt.Before(before):
				return purgeStop, nil, nil
			case m.Status == StatusQueued || m.Status == StatusSending:
				return purgeLater, nil, nil // it still has to go out with its words
			case m.Text == "":
				return purgeDone, nil, nil
			}
			m.Text, m.BodyPurged = "", true
			// The fingerprint hashes the text with the number: a short
			// text could be found again from it by trying candidates.
			m.IdempotencyFingerprint = ""
			v, err := json.Marshal(m)
			return purgeDone, v, err
		})
		if err != nil {
			return err
		}
		pending := tx.Bucket(bucketInboundPending)
		in, err := purgeWalk(tx, bucketInbound, keyPurgedInbound, limit-out, func(id uint64, raw []byte) (purgeStep, []byte, error) {
			var in Inbound
			if err := json.Unmarshal(raw, &in); err != nil {
				return 0, nil, fmt.Errorf("decode inbound %d: %w", id, err)
			}
			switch {
			case !in.ReceivedAt.Before(before):
				return purgeStop, nil, nil
			case pending.Get(u64(id)) != nil:
				return purgeLater, nil, nil // a STOP not yet applied must still be read
			case in.Text == "":
				return purgeDone, nil, nil
			}
			in.Text, in.BodyPurged = "", true
			v, err := json.Marshal(in)
			return purgeDone, v, err
		})
		n = out + in
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge bodies: %w", err)
	}
	return n, nil
}

// purgeStep is what the purge walk does with one row.
type purgeStep uint8

const (
	purgeDone  purgeStep = iota + 1 // blanked now (new value) or nothing to blank
	purgeLater                      // not yet: skip, and look again next call
	purgeStop                       // too young: this row and all after it stay
)

// purgeWalk runs step over the rows of records from the cursor stored under
// cursorKey in meta, rewriting the rows step returns a value for (at most
// limit of them), and moves the cursor to the last row up to which
// everything is done. Only the rewritten count is returned. Rows are put
// back without reindexing: no index derives from a body.
func purgeWalk(tx *bbolt.Tx, records, cursorKey []byte, limit int, step func(id uint64, raw []byte) (purgeStep, []byte, error)) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	meta := tx.Bucket(bucketMeta)
	var through uint64
	if v := meta.Get(cursorKey); len(v) == 8 {
		through = binary.BigEndian.Uint64(v)
	}
	b := tx.Bucket(records)
	type rewrite struct {
		id  uint64
		raw []byte
	}
	var writes []rewrite
	advancing := true
	c := b.Cursor()
	for k, v := c.Seek(u64(through + 1)); k != nil && len(writes) < limit; k, v = c.Next() {
		if len(k) != 8 {
			continue
		}
		id := binary.BigEndian.Uint64(k)
		what, raw, err := step(id, v)
		if err != nil {
			return 0, err
		}
		if what == purgeStop {
			break
		}
		if what == purgeLater {
			advancing = false
			continue
		}
		if raw != nil {
			writes = append(writes, rewrite{id, raw})
		}
		if advancing {
			through = id
		}
	}
	// Written after the walk: a cursor must not see its bucket change.
	for _, w := range writes {
		if err := b.Put(u64(w.id), w.raw); err != nil {
			return 0, err
		}
	}
	return len(writes), meta.Put(cursorKey, u64(through))
}

package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"
)

// SeenWindow is how long a received PDU is remembered. A crash between
// persisting a text and AT+CMGD makes the modem hand the same stored
// message again, possibly after days switched off; a week covers that
// without keeping every PDU forever.
const SeenWindow = 7 * 24 * time.Hour

// seenPruneBatch bounds the forgotten PDUs per AddInboundPart: each call
// adds at most one, so this keeps up with any inbound rate.
const seenPruneBatch = 32

// AddInboundPart persists one received segment, in one transaction, and
// reports whether a whole text was completed and stored.
//
// A PDU already received on the same modem within SeenWindow, or a segment
// whose (modem, from, ref, total, seq) is already stored, is ignored
// (false). A single-part text (Total <= 1) is assembled at once. Otherwise
// the segment waits for its siblings; when all Total are present, assemble
// gets them sorted by Seq, its Inbound is stored with a new ID and the
// segments are deleted. assemble runs inside the write transaction: it must
// not use the DB. If it fails, nothing is written.
func (db *DB) AddInboundPart(p InboundPart, assemble func(parts []InboundPart) (Inbound, error)) (Inbound, bool, error) {
	if err := validatePart(p); err != nil {
		return Inbound{}, false, err
	}
	var out Inbound
	var done bool
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		out, done = Inbound{}, false
		now := db.now()
		if p.Received.IsZero() {
			p.Received = now
		}
		if err := pruneSeen(tx, now); err != nil {
			return err
		}
		if len(p.TPDU) > 0 {
			dup, err := markSeen(tx, p, now)
			if err != nil || dup {
				return err
			}
		}
		if p.Total <= 1 {
			in, err := storeInbound(tx, []InboundPart{p}, assemble, now)
			if err != nil {
				return err
			}
			out, done = in, true
			return nil
		}

		parts := tx.Bucket(bucketInboundParts)
		key := append(partPrefix(p), byte(p.Seq))
		if parts.Get(key) != nil {
			return nil // the same segment again
		}
		raw, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("store: encode inbound part: %w", err)
		}
		if err := parts.Put(key, raw); err != nil {
			return err
		}
		siblings, keys, err := partsWithPrefix(tx, partPrefix(p))
		if err != nil {
			return err
		}
		if len(siblings) < p.Total {
			return nil
		}
		in, err := storeInbound(tx, siblings, assemble, now)
		if err != nil {
			return err
		}
		if err := deleteKeys(parts, keys); err != nil {
			return err
		}
		out, done = in, true
		return nil
	})
	if err != nil {
		return Inbound{}, false, err
	}
	return out, done, nil
}

// FlushInboundParts assembles whatever segments of p's text (same modem,
// from, ref and total as p) are stored, for a text whose missing parts never
// came (see StaleInboundParts). It returns false when none are stored.
// assemble runs inside the write transaction, as for AddInboundPart.
func (db *DB) FlushInboundParts(p InboundPart, assemble func(parts []InboundPart) (Inbound, error)) (Inbound, bool, error) {
	if err := validatePart(p); err != nil {
		return Inbound{}, false, err
	}
	var out Inbound
	var done bool
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		out, done = Inbound{}, false
		siblings, keys, err := partsWithPrefix(tx, partPrefix(p))
		if err != nil || len(siblings) == 0 {
			return err
		}
		in, err := storeInbound(tx, siblings, assemble, db.now())
		if err != nil {
			return err
		}
		if err := deleteKeys(tx.Bucket(bucketInboundParts), keys); err != nil {
			return err
		}
		out, done = in, true
		return nil
	})
	if err != nil {
		return Inbound{}, false, err
	}
	return out, done, nil
}

func validatePart(p InboundPart) error {
	switch {
	case p.Modem == "":
		return &FieldError{Field: "modem", Message: "must not be empty"}
	case p.Total < 0 || p.Total > 255:
		return &FieldError{Field: "total", Message: fmt.Sprintf("%d is outside 0..255", p.Total)}
	case p.Total > 1 && (p.Seq < 1 || p.Seq > p.Total):
		return &FieldError{Field: "seq", Message: fmt.Sprintf("%d is outside 1..%d", p.Seq, p.Total)}
	case p.ConcatRef < 0 || p.ConcatRef > 0xffff:
		return &FieldError{Field: "concat_ref", Message: fmt.Sprintf("%d is outside 0..65535", p.ConcatRef)}
	}
	return nil
}

// partPrefix is the key prefix shared by all segments of one text.
func partPrefix(p InboundPart) []byte {
	k := make([]byte, 0, len(p.Modem)+len(p.From)+6)
	k = append(k, p.Modem...)
	k = append(k, 0)
	k = append(k, p.From...)
	k = append(k, 0, byte(p.ConcatRef>>8), byte(p.ConcatRef), byte(p.Total))
	return k
}

// partsWithPrefix returns the stored segments under prefix, sorted by Seq
// (the key order), and their keys.
func partsWithPrefix(tx *bbolt.Tx, prefix []byte) ([]InboundPart, [][]byte, error) {
	var parts []InboundPart
	var keys [][]byte
	c := tx.Bucket(bucketInboundParts).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+1 {
			continue
		}
		var p InboundPart
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, nil, fmt.Errorf("store: decode inbound part: %w", err)
		}
		parts = append(parts, p)
		keys = append(keys, bytes.Clone(k))
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].Seq < parts[j].Seq })
	return parts, keys, nil
}

func deleteKeys(b *bbolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// storeInbound assembles parts and stores the text under a new ID.
func storeInbound(tx *bbolt.Tx, parts []InboundPart, assemble func([]InboundPart) (Inbound, error), now time.Time) (Inbound, error) {
	in, err := assemble(parts)
	if err != nil {
		return Inbound{}, err
	}
	b := tx.Bucket(bucketInbound)
	id, err := b.NextSequence()
	if err != nil {
		return Inbound{}, err
	}
	in.ID = id
	if in.Modem == "" {
		in.Modem = parts[0].Modem
	}
	if in.From == "" {
		in.From = parts[0].From
	}
	if in.SentAt.IsZero() {
		in.SentAt = parts[0].SCTS
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = now
	}
	if in.Parts == 0 {
		in.Parts = len(parts)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return Inbound{}, fmt.Errorf("store: encode inbound: %w", err)
	}
	if err := b.Put(u64(id), raw); err != nil {
		return Inbound{}, err
	}
	if err := countInbound(tx, &in, 1); err != nil {
		return Inbound{}, err
	}
	if in.From != "" {
		if err := tx.Bucket(bucketInboundByFrom).Put(numberKey(in.From, id), []byte{}); err != nil {
			return Inbound{}, err
		}
	}
	// Pending in the same transaction as the text: a STOP that is stored is
	// a STOP that will be handled, even if the process dies right now.
	if err := tx.Bucket(bucketInboundPending).Put(u64(id), []byte{}); err != nil {
		return Inbound{}, err
	}
	if err := appendChange(tx, in.ReceivedAt, ChangeMessageInbound, in.From,
		InboundChange{ID: id, From: in.From, Modem: in.Modem, Text: in.Text, ReceivedAt: in.ReceivedAt}); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

// getInbound reads inbound text id inside tx.
func getInbound(tx *bbolt.Tx, id uint64) (Inbound, error) {
	return getRecord[Inbound](tx, bucketInbound, id, "inbound")
}

// PendingInbound returns the complete texts whose keywords are not yet
// handled, oldest first. AddInboundPart and FlushInboundParts mark every
// text they store; MarkInboundHandled clears the mark.
func (db *DB) PendingInbound() ([]Inbound, error) {
	var out []Inbound
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		return tx.Bucket(bucketInboundPending).ForEach(func(k, _ []byte) error {
			if len(k) != 8 {
				return nil
			}
			in, err := getInbound(tx, binary.BigEndian.Uint64(k))
			if errors.Is(err, ErrNotFound) {
				return nil // erased while pending: nothing left to handle
			}
			if err != nil {
				return err
			}
			out = append(out, in)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MarkInboundHandled clears the pending mark of text id. Clearing a text
// that is not pending is not an error, so a retry after a crash is safe.
func (db *DB) MarkInboundHandled(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketInboundPending).Delete(u64(id))
	})
}

// InboundFrom returns a page of the texts received from number, newest
// first, and the cursor for the next page (the last ID returned) or 0 when
// there is no more. limit follows ListFilter.Limit.
func (db *DB) InboundFrom(number string, before uint64, limit int) ([]Inbound, uint64, error) {
	return pageBack(db, bucketInboundByFrom, numberPrefix(number), before, limit, getInbound)
}

// markSeen records p's PDU and reports whether it was already seen within
// SeenWindow.
func markSeen(tx *bbolt.Tx, p InboundPart, now time.Time) (bool, error) {
	h := sha256.New()
	h.Write([]byte(p.Modem))
	h.Write([]byte{0})
	h.Write(p.TPDU)
	sum := h.Sum(nil)

	seen := tx.Bucket(bucketInboundSeen)
	byTime := tx.Bucket(bucketInboundSeenTime)
	if v := seen.Get(sum); len(v) == 8 {
		at := binary.BigEndian.Uint64(v)
		if now.Sub(fromNanos(at)) < SeenWindow {
			return true, nil
		}
		if err := byTime.Delete(append(bytes.Clone(v), sum...)); err != nil {
			return false, err
		}
	}
	at := u64(nanos(now))
	if err := seen.Put(sum, at); err != nil {
		return false, err
	}
	return false, byTime.Put(append(at, sum...), []byte{})
}

// pruneSeen forgets up to seenPruneBatch PDUs older than SeenWindow.
func pruneSeen(tx *bbolt.Tx, now time.Time) error {
	cutoff := nanos(now.Add(-SeenWindow))
	byTime := tx.Bucket(bucketInboundSeenTime)
	var drop [][]byte
	c := byTime.Cursor()
	for k, _ := c.First(); k != nil && len(drop) < seenPruneBatch; k, _ = c.Next() {
		if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) >= cutoff {
			break
		}
		drop = append(drop, bytes.Clone(k))
	}
	seen := tx.Bucket(bucketInboundSeen)
	for _, k := range drop {
		if v := seen.Get(k[8:]); bytes.Equal(v, k[:8]) {
			if err := seen.Delete(k[8:]); err != nil {
				return err
			}
		}
		if err := byTime.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Inbox returns a page of received texts, newest first, and the cursor for
// the next page (the last ID returned) or 0 when there is no more. limit
// follows ListFilter.Limit.
func (db *DB) Inbox(before uint64, limit int) ([]Inbound, uint64, error) {
	return pageBack(db, bucketInbound, nil, before, limit, getInbound)
}

// StaleInboundParts returns stored segments received before olderThan,
// whose siblings never came; FlushInboundParts turns them into a text.
func (db *DB) StaleInboundParts(olderThan time.Time) ([]InboundPart, error) {
	var out []InboundPart
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		return tx.Bucket(bucketInboundParts).ForEach(func(_, v []byte) error {
			var p InboundPart
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("store: decode inbound part: %w", err)
			}
			if p.Received.Before(olderThan) {
				out = append(out, p)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

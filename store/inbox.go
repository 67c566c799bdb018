package store

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// InboxRead returns the highest inbound ID from number that the console
// marked as read, 0 when none. The console counts newer texts as unread.
func (db *DB) InboxRead(number string) (uint64, error) {
	if number == "" {
		return 0, &FieldError{Field: "number", Message: "must not be empty"}
	}
	var id uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		id, err = inboxRead(tx, number)
		return err
	})
	return id, err
}

// MarkInboxRead raises number's read marker to id; a lower id changes
// nothing, so a stale page cannot mark newer texts unread. The comparison
// and the write are one transaction: of two requests marking at once, the
// higher id stays whichever commits last.
func (db *DB) MarkInboxRead(number string, id uint64) error {
	if number == "" {
		return &FieldError{Field: "number", Message: "must not be empty"}
	}
	// Batch may run the function twice; raising a marker is idempotent.
	return db.bolt.Batch(func(tx *bbolt.Tx) error {
		cur, err := inboxRead(tx, number)
		if err != nil || id <= cur {
			return err
		}
		return tx.Bucket(bucketInboxRead).Put([]byte(number), u64(id))
	})
}

func inboxRead(tx *bbolt.Tx, number string) (uint64, error) {
	raw := tx.Bucket(bucketInboxRead).Get([]byte(number))
	if raw == nil {
		return 0, nil
	}
	if len(raw) != 8 {
		return 0, fmt.Errorf("store: read marker of %s has %d bytes, want 8", number, len(raw))
	}
	return binary.BigEndian.Uint64(raw), nil
}

package store

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// IntegrationSettings returns the shop integrations' settings document as
// the gateway last saved it, or nil when none was. The document (webhook
// secrets, event retention) is the gateway's; the store only keeps it.
func (db *DB) IntegrationSettings() (json.RawMessage, error) {
	return db.settingsDoc(keyIntegrationSettings)
}

// SaveIntegrationSettings stores the shop integrations' settings document.
func (db *DB) SaveIntegrationSettings(doc json.RawMessage) error {
	return db.saveSettingsDoc(keyIntegrationSettings, "integration settings", doc)
}

// HookLogSize is how many deliveries the hook log keeps: enough to see
// what a shop sent in the last minutes of trouble, small enough to show
// on one page.
const HookLogSize = 50

// HookDelivery is one delivery of a shop's webhook or event batch, kept in
// the hook log with what the box made of it. It never holds a secret or a
// body: only what an operator needs to see that deliveries arrive.
type HookDelivery struct {
	ID      uint64    `json:"id"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`          // "shopify", "woocommerce", "api", "console"
	Topic   string    `json:"topic,omitempty"` // the platform's topic, or the event type
	Status  int       `json:"status"`          // the HTTP status answered
	Outcome string    `json:"outcome"`         // in a shop owner's words: "stored 2 events", "bad signature"
	// Events are the Seqs of the events the delivery stored.
	Events []uint64 `json:"events,omitempty"`
}

// AppendHookDelivery adds d to the hook log (ID and, when zero, At are
// set) and deletes entries beyond the newest HookLogSize.
func (db *DB) AppendHookDelivery(d HookDelivery) (HookDelivery, error) {
	err := db.bolt.Batch(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketHookLog)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		d.ID = id
		if d.At.IsZero() {
			d.At = db.now()
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := b.Put(u64(id), raw); err != nil {
			return err
		}
		// Keys are sequential: everything below id-HookLogSize+1 is old.
		c := b.Cursor()
		for k, _ := c.First(); k != nil && id >= HookLogSize && keyU64(k) <= id-HookLogSize; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return HookDelivery{}, fmt.Errorf("store: hook log: %w", err)
	}
	return d, nil
}

// HookDeliveries returns the hook log, newest first.
func (db *DB) HookDeliveries() ([]HookDelivery, error) {
	var out []HookDelivery
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketHookLog).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var d HookDelivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode hook delivery %d: %w", keyU64(k), err)
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// keyU64 reads an 8-byte key (0 for any other length).
func keyU64(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return uint64(k[0])<<56 | uint64(k[1])<<48 | uint64(k[2])<<40 | uint64(k[3])<<32 |
		uint64(k[4])<<24 | uint64(k[5])<<16 | uint64(k[6])<<8 | uint64(k[7])
}

package store

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// The owner's alerts: where they are texted (a settings document the
// gateway owns) and each SIM's periodic balance check with its last
// reading (bucketSIMBalance).

// OwnerAlertSettings returns the owner's alert settings document, or nil
// when none was saved.
func (db *DB) OwnerAlertSettings() (json.RawMessage, error) {
	return db.settingsDoc(keyOwnerAlertSettings)
}

// SaveOwnerAlertSettings stores the owner's alert settings document.
func (db *DB) SaveOwnerAlertSettings(doc json.RawMessage) error {
	return db.saveSettingsDoc(keyOwnerAlertSettings, "owner alert settings", doc)
}

// BalanceCheck is how a SIM's balance is read: a USSD code sent every
// Interval, the amount taken from the answer by Pattern (its first group,
// or the whole match), or the first number in it when Pattern is empty.
// A balance below Threshold is low.
type BalanceCheck struct {
	Code      string        `json:"code"`
	Interval  time.Duration `json:"interval"`
	Threshold float64       `json:"threshold"`
	Pattern   string        `json:"pattern,omitempty"`
}

// BalanceReading is the outcome of one check: the amount read (with the
// text it was read from, shown as the network wrote it) or why none was.
type BalanceReading struct {
	At     time.Time `json:"at"`
	Amount float64   `json:"amount"`
	Text   string    `json:"text,omitempty"`  // the amount as the answer wrote it ("4.20")
	Reply  string    `json:"reply,omitempty"` // the network's whole answer
	Error  string    `json:"error,omitempty"` // no amount: the modem or the answer failed
	Low    bool      `json:"low,omitempty"`   // Amount was below the threshold
	// ReadAt is when Amount was read: At for a check that read it, an
	// earlier check's time when this one failed and kept the last amount.
	ReadAt time.Time `json:"read_at,omitempty"`
}

// SIMBalance is one SIM's balance check and its last reading.
type SIMBalance struct {
	Modem string          `json:"modem"`
	Check *BalanceCheck   `json:"check,omitempty"` // nil: not checked
	Last  *BalanceReading `json:"last,omitempty"`  // nil: never read
}

// SIMBalances returns the record of every SIM that has one, by modem name.
func (db *DB) SIMBalances() (map[string]SIMBalance, error) {
	out := map[string]SIMBalance{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSIMBalance).ForEach(func(k, v []byte) error {
			var b SIMBalance
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("store: decode balance of %s: %w", k, err)
			}
			out[string(k)] = b
			return nil
		})
	})
	return out, err
}

// SIMBalanceOf returns one SIM's record and whether it has one.
func (db *DB) SIMBalanceOf(modem string) (SIMBalance, bool, error) {
	var b SIMBalance
	var found bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketSIMBalance).Get([]byte(modem))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &b)
	})
	return b, found, err
}

// SetBalanceCheck sets (nil: removes) a SIM's balance check, keeping its
// last reading. Read and written in one transaction, so a reading
// recorded meanwhile is not lost.
func (db *DB) SetBalanceCheck(modem string, c *BalanceCheck) (SIMBalance, error) {
	if modem == "" {
		return SIMBalance{}, &FieldError{Field: "modem", Message: "must not be empty"}
	}
	return db.changeBalance(modem, func(b *SIMBalance) { b.Check = c })
}

// RecordBalance stores a SIM's newest reading.
func (db *DB) RecordBalance(modem string, r BalanceReading) (SIMBalance, error) {
	if modem == "" {
		return SIMBalance{}, &FieldError{Field: "modem", Message: "must not be empty"}
	}
	return db.changeBalance(modem, func(b *SIMBalance) { b.Last = &r })
}

func (db *DB) changeBalance(modem string, fn func(*SIMBalance)) (SIMBalance, error) {
	var out SIMBalance
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketSIMBalance)
		b := SIMBalance{Modem: modem}
		if v := bk.Get([]byte(modem)); v != nil {
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("store: decode balance of %s: %w", modem, err)
			}
		}
		fn(&b)
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		out = b
		return bk.Put([]byte(modem), raw)
	})
	return out, err
}

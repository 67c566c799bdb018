package store

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// ModemIdentity is what a modem reported about itself and its SIM. It has
// the fields of modem.Identity (the store does not import the driver), so
// the gateway converts one into the other directly and a field added on
// one side only fails to compile.
type ModemIdentity struct {
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	Revision     string `json:"revision"`
	IMEI         string `json:"imei"`
	IMSI         string `json:"imsi"`
	ICCID        string `json:"iccid"`
}

// ModemRecord is what the store keeps about a modem between runs, so the
// console shows its identity even while it is unplugged.
type ModemRecord struct {
	Name      string        `json:"name"`
	Path      string        `json:"path"`
	Identity  ModemIdentity `json:"identity"`
	FirstSeen time.Time     `json:"first_seen"`
	LastSeen  time.Time     `json:"last_seen"`
}

// ModemRecord returns the record of the modem called name and whether
// there is one.
func (db *DB) ModemRecord(name string) (ModemRecord, bool, error) {
	var rec ModemRecord
	var found bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketModems).Get([]byte(name))
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, &rec)
	})
	if err != nil {
		return ModemRecord{}, false, fmt.Errorf("store: modem record %q: %w", name, err)
	}
	return rec, found, nil
}

// PutModemRecord stores rec under rec.Name, replacing what was there.
func (db *DB) PutModemRecord(rec ModemRecord) error {
	if rec.Name == "" {
		return &FieldError{Field: "name", Message: "must not be empty"}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: encode modem record %q: %w", rec.Name, err)
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketModems).Put([]byte(rec.Name), raw) })
}

// ModemPaused reports whether an operator took the modem called name out
// of sending.
func (db *DB) ModemPaused(name string) (bool, error) {
	var paused bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		paused = tx.Bucket(bucketModemsPaused).Get([]byte(name)) != nil
		return nil
	})
	return paused, err
}

// SetModemPaused records an operator's decision to pause or resume
// sending through the modem called name; it survives restarts.
func (db *DB) SetModemPaused(name string, paused bool) error {
	if name == "" {
		return &FieldError{Field: "name", Message: "must not be empty"}
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketModemsPaused)
		if paused {
			return b.Put([]byte(name), []byte{})
		}
		return b.Delete([]byte(name))
	})
}

// UndecodablePDU is a stored message the driver could not read as a text
// (or an SMS-SUBMIT left in the SIM), kept as raw evidence so that the SIM
// storage could be freed.
type UndecodablePDU struct {
	Modem string    `json:"modem"`
	Index int       `json:"index"` // where it was in the modem's storage
	PDU   string    `json:"pdu"`   // hex, as the modem gave it
	At    time.Time `json:"at"`
}

// KeepUndecodable stores p and returns its ID.
func (db *DB) KeepUndecodable(p UndecodablePDU) (uint64, error) {
	var id uint64
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUndecodable)
		var err error
		if id, err = b.NextSequence(); err != nil {
			return err
		}
		raw, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put(u64(id), raw)
	})
	if err != nil {
		return 0, fmt.Errorf("store: keep undecodable PDU from %s: %w", p.Modem, err)
	}
	return id, nil
}

package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// Disclosure is one version of the consent text shown where numbers are
// collected. Every opt-in records the version it was given under, so a
// version's text never changes once saved.
type Disclosure struct {
	Version string `json:"version"`
	Text    string `json:"text"`
}

// ComplianceSettings returns the compliance settings document the gateway
// last saved, or nil when none was. The document is the gateway's: its
// fields and their rules live there, the store only keeps it.
func (db *DB) ComplianceSettings() (json.RawMessage, error) {
	return db.settingsDoc(keyComplianceSettings)
}

// settingsDoc reads the settings document under key, or nil when none was
// saved. The documents are their parts': the store only keeps them.
func (db *DB) settingsDoc(key []byte) (json.RawMessage, error) {
	var doc json.RawMessage
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		doc = bytes.Clone(tx.Bucket(bucketSettings).Get(key))
		return nil
	})
	return doc, err
}

// saveSettingsDoc stores doc under key; what names the document in the
// error when doc is not JSON.
func (db *DB) saveSettingsDoc(key []byte, what string, doc json.RawMessage) error {
	if !json.Valid(doc) {
		return fmt.Errorf("store: save %s: the document is not JSON", what)
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSettings).Put(key, doc)
	})
}

// SaveComplianceSettings stores the gateway's settings document and, when
// d.Version is set, the disclosure it names, in one transaction: either
// both are saved or neither is. A version already saved with another text
// is a *FieldError for "disclosure.version" (ledger entries name the
// version, so its text must stay the one the person saw).
func (db *DB) SaveComplianceSettings(doc json.RawMessage, d Disclosure) error {
	if !json.Valid(doc) {
		return errors.New("store: save compliance settings: the document is not JSON")
	}
	rawDisclosure, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("store: encode disclosure: %w", err)
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketSettings).Put(keyComplianceSettings, doc); err != nil {
			return fmt.Errorf("store: save compliance settings: %w", err)
		}
		if d.Version == "" {
			return nil
		}
		old, found, err := getDisclosure(tx, d.Version)
		if err != nil {
			return err
		}
		if found && old.Text != d.Text {
			return &FieldError{Field: "disclosure.version", Message: fmt.Sprintf(
				"version %q was already used for a different text; give the new text a new version", d.Version)}
		}
		if found {
			return nil
		}
		if err := tx.Bucket(bucketDisclosures).Put([]byte(d.Version), rawDisclosure); err != nil {
			return fmt.Errorf("store: save disclosure %q: %w", d.Version, err)
		}
		return nil
	})
}

// Disclosure returns a saved disclosure version and whether there is one.
func (db *DB) Disclosure(version string) (Disclosure, bool, error) {
	var d Disclosure
	var found bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		d, found, err = getDisclosure(tx, version)
		return err
	})
	return d, found, err
}

func getDisclosure(tx *bbolt.Tx, version string) (Disclosure, bool, error) {
	raw := tx.Bucket(bucketDisclosures).Get([]byte(version))
	if raw == nil {
		return Disclosure{}, false, nil
	}
	var d Disclosure
	if err := json.Unmarshal(raw, &d); err != nil {
		return Disclosure{}, false, fmt.Errorf("store: decode disclosure %q: %w", version, err)
	}
	return d, true, nil
}

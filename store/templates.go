package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"
)

// Template is a saved message template: the source a flow, a campaign or
// the console's Send page renders for each contact (gateway/msgtemplate).
type Template struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"` // unique, case-insensitively
	Kind      Kind      `json:"kind"` // marketing or transactional
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Bounds of a template. A body renders to at most ten parts in practice;
// 4,000 bytes leaves room for template actions around that.
const (
	maxTemplateName = 100
	MaxTemplateBody = 4000
)

func (t *Template) validate() error {
	t.Name = strings.TrimSpace(t.Name)
	switch {
	case t.Name == "":
		return &FieldError{Field: "name", Message: "must not be empty"}
	case len(t.Name) > maxTemplateName:
		return &FieldError{Field: "name", Message: fmt.Sprintf("longer than %d bytes", maxTemplateName)}
	case !utf8.ValidString(t.Name) || !utf8.ValidString(t.Body):
		return &FieldError{Field: "body", Message: "must be valid UTF-8"}
	case strings.TrimSpace(t.Body) == "":
		return &FieldError{Field: "body", Message: "must not be empty"}
	case len(t.Body) > MaxTemplateBody:
		return &FieldError{Field: "body", Message: fmt.Sprintf("is %d bytes long; a template may have at most %d", len(t.Body), MaxTemplateBody)}
	case t.Kind != KindMarketing && t.Kind != KindTransactional:
		return &FieldError{Field: "kind", Message: "must be marketing or transactional"}
	}
	return nil
}

// SaveTemplate creates t (ID 0) or replaces the template with its ID. A
// name another template has is a *FieldError on "name".
func (db *DB) SaveTemplate(t Template) (Template, error) {
	if err := t.validate(); err != nil {
		return Template{}, err
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTemplates)
		now := db.now().UTC()
		if t.ID != 0 {
			old, err := getRecord[Template](tx, bucketTemplates, t.ID, "template")
			if err != nil {
				return err
			}
			t.CreatedAt = old.CreatedAt
		}
		err := b.ForEach(func(k, v []byte) error {
			var other Template
			if err := json.Unmarshal(v, &other); err != nil {
				return fmt.Errorf("store: decode template %x: %w", k, err)
			}
			if other.ID != t.ID && strings.EqualFold(other.Name, t.Name) {
				return &FieldError{Field: "name", Message: fmt.Sprintf("%q is taken by another template", t.Name)}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if t.ID == 0 {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			t.ID, t.CreatedAt = id, now
		}
		t.UpdatedAt = now
		raw, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return b.Put(u64(t.ID), raw)
	})
	if err != nil {
		return Template{}, err
	}
	return t, nil
}

// GetTemplate returns one template, or an error wrapping ErrNotFound.
func (db *DB) GetTemplate(id uint64) (Template, error) {
	var t Template
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		t, err = getRecord[Template](tx, bucketTemplates, id, "template")
		return err
	})
	return t, err
}

// ListTemplates returns every template by ID. A shop keeps tens of them,
// not thousands, so there is no paging.
func (db *DB) ListTemplates() ([]Template, error) {
	var out []Template
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTemplates).ForEach(func(k, v []byte) error {
			var t Template
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("store: decode template %x: %w", k, err)
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

// DeleteTemplate deletes one template, or returns an error wrapping
// ErrNotFound.
func (db *DB) DeleteTemplate(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		if _, err := getRecord[Template](tx, bucketTemplates, id, "template"); err != nil {
			return err
		}
		return tx.Bucket(bucketTemplates).Delete(u64(id))
	})
}

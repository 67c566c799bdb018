package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"
)

// MaxUserName is the longest console user name, in characters.
const MaxUserName = 64

// User is a console login. PasswordHash is opaque to the store (the gateway
// puts a bcrypt hash there); it never leaves the process.
type User struct {
	Name         string    `json:"name"`
	PasswordHash []byte    `json:"password_hash"`
	CreatedAt    time.Time `json:"created_at"`
}

// ValidUserName checks a user name: 1..MaxUserName printable characters
// without spaces, so that it reads the same in a form, a log and a shell.
func ValidUserName(name string) error {
	if name == "" {
		return &FieldError{Field: "name", Message: "must not be empty"}
	}
	if utf8.RuneCountInString(name) > MaxUserName {
		return &FieldError{Field: "name", Message: fmt.Sprintf("must be at most %d characters", MaxUserName)}
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		return &FieldError{Field: "name", Message: "must not contain spaces or control characters"}
	}
	return nil
}

// AddUser stores a new user. A name already taken is a *FieldError for
// "name": adding never silently replaces a password (SetPassword does).
func (db *DB) AddUser(u User) error {
	if err := ValidUserName(u.Name); err != nil {
		return err
	}
	if len(u.PasswordHash) == 0 {
		return &FieldError{Field: "password", Message: "hash is empty"}
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = db.now()
	}
	raw, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(u.Name)) != nil {
			return &FieldError{Field: "name", Message: fmt.Sprintf("a user named %q already exists", u.Name)}
		}
		return b.Put([]byte(u.Name), raw)
	})
}

// SetPassword replaces a user's password hash and ends all their sessions,
// in one transaction: a changed password locks out whoever had the old one.
func (db *DB) SetPassword(name string, hash []byte) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		raw := b.Get([]byte(name))
		if raw == nil {
			return fmt.Errorf("store: user %q: %w", name, ErrNotFound)
		}
		var u User
		if err := json.Unmarshal(raw, &u); err != nil {
			return fmt.Errorf("store: decode user: %w", err)
		}
		u.PasswordHash = hash
		out, err := json.Marshal(u)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(name), out); err != nil {
			return err
		}
		_, err = deleteSessions(tx, func(s Session) bool { return s.User == name })
		return err
	})
}

// GetUser returns one user or ErrNotFound.
func (db *DB) GetUser(name string) (User, error) {
	var u User
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketUsers).Get([]byte(name))
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &u)
	})
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", name, err)
	}
	return u, nil
}

// Users lists users by name, without their password hashes.
func (db *DB) Users() ([]User, error) {
	var out []User
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		return tx.Bucket(bucketUsers).ForEach(func(_, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("store: decode user: %w", err)
			}
			u.PasswordHash = nil
			out = append(out, u)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// DeleteUser removes a user and all their sessions.
func (db *DB) DeleteUser(name string) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("store: user %q: %w", name, ErrNotFound)
		}
		if err := b.Delete([]byte(name)); err != nil {
			return err
		}
		_, err := deleteSessions(tx, func(s Session) bool { return s.User == name })
		return err
	})
}

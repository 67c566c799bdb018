package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Session is a console login. Only the SHA-256 of its id is stored, so a
// copy of the database (a backup, a stolen disk) cannot be used to log in.
type Session struct {
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// CreateSession starts a session for user, valid for ttl, and returns its
// id: 32 random bytes, shown once (it goes into the cookie). The user must
// exist.
func (db *DB) CreateSession(user string, ttl time.Duration) (string, Session, error) {
	if ttl <= 0 {
		return "", Session{}, errors.New("store: session ttl must be positive")
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", Session{}, fmt.Errorf("store: session: %w", err)
	}
	id := tokenEncoding.EncodeToString(secret)
	now := db.now()
	s := Session{User: user, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	raw, err := json.Marshal(s)
	if err != nil {
		return "", Session{}, err
	}
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(user)) == nil {
			return fmt.Errorf("store: user %q: %w", user, ErrNotFound)
		}
		return tx.Bucket(bucketSessions).Put(sessionHash(id), raw)
	})
	if err != nil {
		return "", Session{}, err
	}
	return id, s, nil
}

// CheckSession returns the live session for id, or ErrNotFound when it
// does not exist or has expired (an expired one is deleted on the way).
func (db *DB) CheckSession(id string) (Session, error) {
	if id == "" {
		return Session{}, ErrNotFound
	}
	key := sessionHash(id)
	var s Session
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketSessions).Get(key)
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &s)
	})
	if err != nil {
		return Session{}, err
	}
	if !db.now().Before(s.ExpiresAt) {
		_ = db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketSessions).Delete(key) })
		return Session{}, ErrNotFound
	}
	return s, nil
}

// DeleteSession ends one session (logout). An unknown id is not an error.
func (db *DB) DeleteSession(id string) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketSessions).Delete(sessionHash(id)) })
}

// DeleteUserSessions ends every session of user ("log out everywhere") and
// returns how many there were.
func (db *DB) DeleteUserSessions(user string) (int, error) {
	var n int
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		var err error
		n, err = deleteSessions(tx, func(s Session) bool { return s.User == user })
		return err
	})
	return n, err
}

// PruneSessions deletes expired sessions and returns how many. Sessions
// are few (one per browser), so a full scan is fine.
func (db *DB) PruneSessions() (int, error) {
	now := db.now()
	var n int
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		var err error
		n, err = deleteSessions(tx, func(s Session) bool { return !now.Before(s.ExpiresAt) })
		return err
	})
	return n, err
}

// deleteSessions removes every session for which match is true.
func deleteSessions(tx *bbolt.Tx, match func(Session) bool) (int, error) {
	b := tx.Bucket(bucketSessions)
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var s Session
		if err := json.Unmarshal(v, &s); err != nil {
			// A record this binary cannot read cannot be checked either.
			doomed = append(doomed, append([]byte(nil), k...))
			return nil
		}
		if match(s) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

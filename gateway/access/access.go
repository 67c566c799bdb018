// Package access keeps who may use the box: console users and their
// passwords, login sessions and API tokens.
//
// Passwords are hashed with bcrypt here, so the store never sees one and
// webui never hashes anything itself. It must not decide anything about
// texts or consent.
package access

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/simgate/simgate/store"
)

const (
	// MinPasswordLen is the shortest password accepted, in characters
	// (NIST SP 800-63B asks for at least 8; a shop's console deserves 10).
	MinPasswordLen = 10
	// maxPasswordBytes is bcrypt's input limit: longer inputs are refused
	// rather than silently truncated.
	maxPasswordBytes = 72
	// SessionTTL is how long a console login lasts: a week, so the laptop at
	// the counter does not ask every morning.
	SessionTTL = 7 * 24 * time.Hour
)

// ErrBadLogin is a wrong user name or password; which of the two is never
// said.
var ErrBadLogin = errors.New("wrong user name or password")

// Accounts are the box's console users, their sessions and the API tokens.
type Accounts struct {
	db       *store.DB
	watchers watchers // of open streams, ended with their credential
}

// New returns the accounts kept in db.
func New(db *store.DB) *Accounts { return &Accounts{db: db} }

// checkPassword returns a *store.FieldError for a password bcrypt cannot take or
// that is too short to be safe.
func checkPassword(password string) error {
	switch {
	case !utf8.ValidString(password):
		return &store.FieldError{Field: "password", Message: "must be valid UTF-8"}
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return &store.FieldError{Field: "password", Message: fmt.Sprintf("must be at least %d characters", MinPasswordLen)}
	case len(password) > maxPasswordBytes:
		return &store.FieldError{Field: "password", Message: fmt.Sprintf("must be at most %d bytes", maxPasswordBytes)}
	}
	return nil
}

// AddUser creates a console user. Errors about the input are *store.FieldError
// ("name" or "password").
func (a *Accounts) AddUser(name, password string) error {
	if err := store.ValidUserName(name); err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("gateway: hash password: %w", err)
	}
	return a.db.AddUser(store.User{Name: name, PasswordHash: hash})
}

// SetPassword changes a user's password and ends all their sessions,
// their open streams included.
func (a *Accounts) SetPassword(name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("gateway: hash password: %w", err)
	}
	err = a.db.SetPassword(name, hash)
	if err == nil {
		a.watchers.endUser(name)
	}
	return err
}

// Users lists console users (never their password hashes).
func (a *Accounts) Users() ([]store.User, error) { return a.db.Users() }

// DeleteUser removes a user and ends their sessions and open streams.
func (a *Accounts) DeleteUser(name string) error {
	err := a.db.DeleteUser(name)
	if err == nil {
		a.watchers.endUser(name)
	}
	return err
}

// Login checks a user name and password and starts a session, returning its
// id for the cookie. A wrong name or password is ErrBadLogin; for an unknown
// name a dummy hash is still compared so the answer takes as long either way.
func (a *Accounts) Login(ctx context.Context, name, password string) (string, store.Session, error) {
	if err := ctx.Err(); err != nil {
		return "", store.Session{}, err
	}
	u, err := a.db.GetUser(name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return "", store.Session{}, ErrBadLogin
	case err != nil:
		return "", store.Session{}, err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil {
		return "", store.Session{}, ErrBadLogin
	}
	return a.db.CreateSession(u.Name, SessionTTL)
}

// CheckSession returns the live session for a cookie's id, or
// store.ErrNotFound.
func (a *Accounts) CheckSession(id string) (store.Session, error) { return a.db.CheckSession(id) }

// Logout ends one session and the streams opened with it.
func (a *Accounts) Logout(id string) error {
	err := a.db.DeleteSession(id)
	if err == nil {
		a.watchers.endSession(id)
	}
	return err
}

// LogoutEverywhere ends every session of user, and their streams, and
// returns how many sessions there were.
func (a *Accounts) LogoutEverywhere(user string) (int, error) {
	n, err := a.db.DeleteUserSessions(user)
	if err == nil {
		a.watchers.endUser(user)
	}
	return n, err
}

// PruneSessions deletes expired sessions.
func (a *Accounts) PruneSessions() (int, error) { return a.db.PruneSessions() }

// CreateToken makes a new API token; the plaintext is shown once.
func (a *Accounts) CreateToken(name string) (string, store.Token, error) {
	return a.db.CreateToken(name)
}

// CreateTokenWith makes a token with options (marketing, Twilio).
func (a *Accounts) CreateTokenWith(name string, opt store.TokenOptions) (string, store.Token, error) {
	return a.db.CreateTokenWith(name, opt)
}

// CheckTwilioToken returns the Twilio token of accountSID and authToken,
// or store.ErrNotFound.
func (a *Accounts) CheckTwilioToken(accountSID, authToken string) (store.Token, error) {
	return a.db.CheckTwilioToken(accountSID, authToken)
}

// TwilioAccount returns the token of a Twilio Account SID, signing key
// included, or store.ErrNotFound.
func (a *Accounts) TwilioAccount(accountSID string) (store.Token, error) {
	return a.db.TwilioAccount(accountSID)
}

// CheckToken returns the token for plaintext, or store.ErrNotFound.
func (a *Accounts) CheckToken(plaintext string) (store.Token, error) {
	return a.db.CheckToken(plaintext)
}

// Tokens lists API tokens (never their plaintext).
func (a *Accounts) Tokens() ([]store.Token, error) { return a.db.Tokens() }

// RevokeToken deletes a token and ends the streams opened with it.
func (a *Accounts) RevokeToken(id uint64) error {
	err := a.db.RevokeToken(id)
	if err == nil {
		a.watchers.endToken(id)
	}
	return err
}

// dummyHash is a bcrypt hash (at bcrypt.DefaultCost, like real ones) of a
// password nobody has, so that logins with unknown names cost the same time
// as wrong passwords and do not reveal which names exist.
const dummyHash = "$2a$10$Iw2WeFHqJkCh8CP/.VY6xuUUwgonctidRg5yEMuQKRv0bkBlYDdXW"

package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/simgate/simgate/store"
)

// Console users and their sessions. Passwords are hashed with bcrypt here,
// so the store never sees one and webui never hashes anything itself.
type (
	User    = store.User
	Session = store.Session
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

// checkPassword returns a *FieldError for a password bcrypt cannot take or
// that is too short to be safe.
func checkPassword(password string) error {
	switch {
	case !utf8.ValidString(password):
		return &FieldError{Field: "password", Message: "must be valid UTF-8"}
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return &FieldError{Field: "password", Message: fmt.Sprintf("must be at least %d characters", MinPasswordLen)}
	case len(password) > maxPasswordBytes:
		return &FieldError{Field: "password", Message: fmt.Sprintf("must be at most %d bytes", maxPasswordBytes)}
	}
	return nil
}

// AddUser creates a console user. Errors about the input are *FieldError
// ("name" or "password").
func (g *Gateway) AddUser(name, password string) error {
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
	return g.db.AddUser(User{Name: name, PasswordHash: hash})
}

// SetPassword changes a user's password and ends all their sessions.
func (g *Gateway) SetPassword(name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("gateway: hash password: %w", err)
	}
	return g.db.SetPassword(name, hash)
}

// Users lists console users (never their password hashes).
func (g *Gateway) Users() ([]User, error) { return g.db.Users() }

// DeleteUser removes a user and ends their sessions.
func (g *Gateway) DeleteUser(name string) error { return g.db.DeleteUser(name) }

// Login checks a user name and password and starts a session, returning its
// id for the cookie. A wrong name or password is ErrBadLogin; for an unknown
// name a dummy hash is still compared so the answer takes as long either way.
func (g *Gateway) Login(ctx context.Context, name, password string) (string, Session, error) {
	if err := ctx.Err(); err != nil {
		return "", Session{}, err
	}
	u, err := g.db.GetUser(name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return "", Session{}, ErrBadLogin
	case err != nil:
		return "", Session{}, err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil {
		return "", Session{}, ErrBadLogin
	}
	return g.db.CreateSession(u.Name, SessionTTL)
}

// CheckSession returns the live session for a cookie's id, or ErrNotFound.
func (g *Gateway) CheckSession(id string) (Session, error) { return g.db.CheckSession(id) }

// Logout ends one session.
func (g *Gateway) Logout(id string) error { return g.db.DeleteSession(id) }

// LogoutEverywhere ends every session of user and returns how many.
func (g *Gateway) LogoutEverywhere(user string) (int, error) { return g.db.DeleteUserSessions(user) }

// PruneSessions deletes expired sessions.
func (g *Gateway) PruneSessions() (int, error) { return g.db.PruneSessions() }

// dummyHash is a bcrypt hash (at bcrypt.DefaultCost, like real ones) of a
// password nobody has, so that logins with unknown names cost the same time
// as wrong passwords and do not reveal which names exist.
const dummyHash = "$2a$10$Iw2WeFHqJkCh8CP/.VY6xuUUwgonctidRg5yEMuQKRv0bkBlYDdXW"

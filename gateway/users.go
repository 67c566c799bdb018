package gateway

import (
	"context"

	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// Console users, their sessions and API tokens (package access).
// CredentialWatch tells a long-lived connection that the session or token
// it was opened with has ended (access.Watch).
type CredentialWatch = access.Watch

const (
	// MinPasswordLen is the shortest password accepted, in characters.
	MinPasswordLen = access.MinPasswordLen
	// SessionTTL is how long a console login lasts.
	SessionTTL = access.SessionTTL
)

// ErrBadLogin is a wrong user name or password; which of the two is never
// said.
var ErrBadLogin = access.ErrBadLogin

// AddUser creates a console user. Errors about the input are *FieldError
// ("name" or "password").
func (g *Gateway) AddUser(name, password string) error { return g.access.AddUser(name, password) }

// SetPassword changes a user's password and ends all their sessions.
func (g *Gateway) SetPassword(name, password string) error {
	return g.access.SetPassword(name, password)
}

// Users lists console users (never their password hashes).
func (g *Gateway) Users() ([]User, error) { return asViews(view.FromUser)(g.access.Users()) }

// DeleteUser removes a user and ends their sessions.
func (g *Gateway) DeleteUser(name string) error { return g.access.DeleteUser(name) }

// Login checks a user name and password and starts a session, returning its
// id for the cookie; a wrong name or password is ErrBadLogin.
func (g *Gateway) Login(ctx context.Context, name, password string) (string, Session, error) {
	id, s, err := g.access.Login(ctx, name, password)
	return id, view.FromSession(s), err
}

// CheckSession returns the live session for a cookie's id, or ErrNotFound.
func (g *Gateway) CheckSession(id string) (Session, error) {
	return asView(view.FromSession)(g.access.CheckSession(id))
}

// WatchSession checks a session like CheckSession and returns a watch that
// ends when the session does (logout, password change, user deleted). The
// caller must Stop it.
func (g *Gateway) WatchSession(id string) (Session, *CredentialWatch, error) {
	s, w, err := g.access.WatchSession(id)
	return view.FromSession(s), w, err
}

// WatchToken checks a token like CheckToken and returns a watch that ends
// when the token is revoked. The caller must Stop it.
func (g *Gateway) WatchToken(plaintext string) (Token, *CredentialWatch, error) {
	t, w, err := g.access.WatchToken(plaintext)
	return view.FromToken(t), w, err
}

// Logout ends one session.
func (g *Gateway) Logout(id string) error { return g.access.Logout(id) }

// LogoutEverywhere ends every session of user and returns how many.
func (g *Gateway) LogoutEverywhere(user string) (int, error) { return g.access.LogoutEverywhere(user) }

// PruneSessions deletes expired sessions.
func (g *Gateway) PruneSessions() (int, error) { return g.access.PruneSessions() }

// CreateToken makes a new API token; the plaintext is shown once.
func (g *Gateway) CreateToken(name string) (string, Token, error) {
	plaintext, t, err := g.access.CreateToken(name)
	return plaintext, view.FromToken(t), err
}

// TokenOptions are what a token may be made for besides the native API.
type TokenOptions = store.TokenOptions

// CreateTokenWith makes a token with options: marketing (the compatibility
// APIs' texts are marketing) or a Twilio account, whose plaintext is the
// Auth Token and Token.TwilioSID the Account SID.
func (g *Gateway) CreateTokenWith(name string, opt TokenOptions) (string, Token, error) {
	plaintext, t, err := g.access.CreateTokenWith(name, opt)
	return plaintext, view.FromToken(t), err
}

// CheckTwilioToken returns the token of a Twilio Account SID and Auth
// Token (HTTP Basic credentials), or ErrNotFound.
func (g *Gateway) CheckTwilioToken(accountSID, authToken string) (Token, error) {
	return asView(view.FromToken)(g.access.CheckTwilioToken(accountSID, authToken))
}

// CheckToken returns the token for plaintext, or ErrNotFound.
func (g *Gateway) CheckToken(plaintext string) (Token, error) {
	return asView(view.FromToken)(g.access.CheckToken(plaintext))
}

// Tokens lists API tokens (never their plaintext).
func (g *Gateway) Tokens() ([]Token, error) { return asViews(view.FromToken)(g.access.Tokens()) }

// RevokeToken deletes a token.
func (g *Gateway) RevokeToken(id uint64) error { return g.access.RevokeToken(id) }

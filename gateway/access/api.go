package access

import (
	"context"
	"time"

	"github.com/simgate/simgate/store"
)

// API is what the web layer and the subcommands may do with the box's
// users, sessions and tokens. It speaks only this package's types,
// converted from the store's records here, so no password hash and no
// token hash ever leaves this package.
type API struct{ a *Accounts }

// NewAPI returns the API over a.
func NewAPI(a *Accounts) *API { return &API{a: a} }

// Token is an API token, never its plaintext.
type Token struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used"`
	// Marketing: its texts through the compatibility APIs are marketing.
	Marketing bool `json:"marketing"`
	// TwilioSID is the Account SID of a token made for Twilio's API.
	TwilioSID string `json:"twilio_sid,omitempty"`
	// PrivateCallbacks: its texts' status callbacks may reach private
	// addresses.
	PrivateCallbacks bool `json:"private_callbacks"`
}

// User is a console user, never the password hash.
type User struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is a console login.
type Session struct {
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TokenOptions are what a token may be made for besides the native API.
type TokenOptions struct {
	// Marketing: texts the token submits through the compatibility APIs
	// are marketing (Token.Marketing).
	Marketing bool
	// Twilio makes a Twilio account: the token gets an Account SID and its
	// plaintext is a Twilio-shaped Auth Token (32 hex digits).
	Twilio bool
	// PrivateCallbacks: Token.PrivateCallbacks.
	PrivateCallbacks bool
	// TwilioInboundURL: where the account's inbound texts are posted (a
	// Twilio token only).
	TwilioInboundURL string
}

func tokenOf(t store.Token) Token {
	return Token{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsed: t.LastUsed,
		Marketing: t.Marketing, TwilioSID: t.TwilioSID, PrivateCallbacks: t.PrivateCallbacks}
}

func tokenResult(t store.Token, err error) (Token, error) {
	if err != nil {
		return Token{}, err
	}
	return tokenOf(t), nil
}

func sessionResult(s store.Session, err error) (Session, error) {
	if err != nil {
		return Session{}, err
	}
	return Session(s), nil
}

// AddUser creates a console user. Errors about the input are
// *store.FieldError ("name" or "password").
func (p *API) AddUser(name, password string) error { return p.a.AddUser(name, password) }

// SetPassword changes a user's password and ends all their sessions.
func (p *API) SetPassword(name, password string) error { return p.a.SetPassword(name, password) }

// Users lists console users (never their password hashes).
func (p *API) Users() ([]User, error) {
	us, err := p.a.Users()
	if err != nil {
		return nil, err
	}
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = User{Name: u.Name, CreatedAt: u.CreatedAt}
	}
	return out, nil
}

// DeleteUser removes a user and ends their sessions.
func (p *API) DeleteUser(name string) error { return p.a.DeleteUser(name) }

// Login checks a user name and password and starts a session, returning
// its id for the cookie; a wrong name or password is ErrBadLogin.
func (p *API) Login(ctx context.Context, name, password string) (string, Session, error) {
	id, s, err := p.a.Login(ctx, name, password)
	return id, Session(s), err
}

// CheckSession returns the live session for a cookie's id, or
// store.ErrNotFound.
func (p *API) CheckSession(id string) (Session, error) { return sessionResult(p.a.CheckSession(id)) }

// WatchSession checks a session like CheckSession and returns a watch
// that ends when the session does (logout, password change, user
// deleted). The caller must Stop it.
func (p *API) WatchSession(id string) (Session, *Watch, error) {
	s, w, err := p.a.WatchSession(id)
	return Session(s), w, err
}

// WatchToken checks a token like CheckToken and returns a watch that ends
// when the token is revoked. The caller must Stop it.
func (p *API) WatchToken(plaintext string) (Token, *Watch, error) {
	t, w, err := p.a.WatchToken(plaintext)
	return tokenOf(t), w, err
}

// Logout ends one session.
func (p *API) Logout(id string) error { return p.a.Logout(id) }

// LogoutEverywhere ends every session of user and returns how many.
func (p *API) LogoutEverywhere(user string) (int, error) { return p.a.LogoutEverywhere(user) }

// PruneSessions deletes expired sessions.
func (p *API) PruneSessions() (int, error) { return p.a.PruneSessions() }

// CreateToken makes a new API token; the plaintext is shown once.
func (p *API) CreateToken(name string) (string, Token, error) {
	plaintext, t, err := p.a.CreateToken(name)
	return plaintext, tokenOf(t), err
}

// CreateTokenWith makes a token with options: marketing (the
// compatibility APIs' texts are marketing) or a Twilio account, whose
// plaintext is the Auth Token and Token.TwilioSID the Account SID.
func (p *API) CreateTokenWith(name string, opt TokenOptions) (string, Token, error) {
	plaintext, t, err := p.a.CreateTokenWith(name, store.TokenOptions(opt))
	return plaintext, tokenOf(t), err
}

// CheckTwilioToken returns the token of a Twilio Account SID and Auth
// Token (HTTP Basic credentials), or store.ErrNotFound.
func (p *API) CheckTwilioToken(accountSID, authToken string) (Token, error) {
	return tokenResult(p.a.CheckTwilioToken(accountSID, authToken))
}

// CheckToken returns the token for plaintext, or store.ErrNotFound.
func (p *API) CheckToken(plaintext string) (Token, error) {
	return tokenResult(p.a.CheckToken(plaintext))
}

// Tokens lists API tokens (never their plaintext).
func (p *API) Tokens() ([]Token, error) {
	ts, err := p.a.Tokens()
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = tokenOf(t)
	}
	return out, nil
}

// RevokeToken deletes a token.
func (p *API) RevokeToken(id uint64) error { return p.a.RevokeToken(id) }

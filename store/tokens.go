package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"
)

// TokenPrefix starts every API token, so that a leaked one is recognisable
// by secret scanners and people.
const TokenPrefix = "sg_"

// MaxTokenName is the longest token name, in characters: enough for
// "POS terminal 3, back office" and short enough for one table cell.
const MaxTokenName = 64

// tokenTouchInterval limits LastUsed writes: a busy POS would otherwise turn
// every API read into a disk write.
const tokenTouchInterval = time.Minute

// tokenEncoding is lower-case base32 without padding: 32 random bytes become
// 52 characters that survive copy-paste, URLs and shell quoting.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func tokenHash(plaintext string) []byte {
	h := sha256.Sum256([]byte(plaintext))
	return h[:]
}

// CreateToken makes a new API token called name and returns its plaintext,
// which exists only in this return value: the database keeps its SHA-256.
// name must be non-empty, at most MaxTokenName characters and unique among
// live tokens (a *FieldError for "name" otherwise).
func (db *DB) CreateToken(name string) (string, Token, error) {
	return db.CreateTokenWith(name, TokenOptions{})
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
	// TwilioInboundURL: Token.TwilioInboundURL (a Twilio token only).
	TwilioInboundURL string
}

// twilioHexLen is the length in hex digits of a Twilio SID's body and of
// an Auth Token: 128 bits, as Twilio's own.
const twilioHexLen = 32

// CreateTokenWith is CreateToken with options. For a Twilio token the
// plaintext returned is the Auth Token and Token.TwilioSID the Account SID.
func (db *DB) CreateTokenWith(name string, opt TokenOptions) (string, Token, error) {
	if err := validTokenName(name); err != nil {
		return "", Token{}, err
	}
	var plaintext, sid string
	if opt.Twilio {
		var err error
		if sid, err = randomHex(twilioHexLen); err != nil {
			return "", Token{}, err
		}
		sid = "AC" + sid
		if plaintext, err = randomHex(twilioHexLen); err != nil {
			return "", Token{}, err
		}
	} else {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return "", Token{}, fmt.Errorf("store: token: %w", err)
		}
		plaintext = TokenPrefix + tokenEncoding.EncodeToString(secret)
	}
	hash := tokenHash(plaintext)

	var t Token
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		if err := tokens.ForEach(func(_, v []byte) error {
			var other Token
			if err := json.Unmarshal(v, &other); err != nil {
				return fmt.Errorf("store: decode token: %w", err)
			}
			if other.Name == name {
				return &FieldError{Field: "name", Message: fmt.Sprintf("a token named %q already exists", name)}
			}
			return nil
		}); err != nil {
			return err
		}
		byID := tx.Bucket(bucketTokensByID)
		id, err := byID.NextSequence()
		if err != nil {
			return err
		}
		t = Token{ID: id, Name: name, CreatedAt: db.now(), Marketing: opt.Marketing, PrivateCallbacks: opt.PrivateCallbacks}
		if opt.Twilio {
			t.TwilioSID, t.TwilioSigningKey, t.TwilioInboundURL = sid, plaintext, opt.TwilioInboundURL
		}
		raw, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if err := tokens.Put(hash, raw); err != nil {
			return err
		}
		return byID.Put(u64(id), hash)
	})
	if err != nil {
		return "", Token{}, err
	}
	return plaintext, t, nil
}

func validTokenName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return &FieldError{Field: "name", Message: "must not be empty"}
	case !utf8.ValidString(name):
		return &FieldError{Field: "name", Message: "must be valid UTF-8"}
	case utf8.RuneCountInString(name) > MaxTokenName:
		return &FieldError{Field: "name", Message: fmt.Sprintf("longer than %d characters", MaxTokenName)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return &FieldError{Field: "name", Message: "must not contain control characters"}
	}
	return nil
}

// CheckToken returns the token whose plaintext this is, or an error wrapping
// ErrNotFound. The lookup is by SHA-256, so its timing says nothing about
// how much of a guess was right. LastUsed is refreshed at most once a
// minute.
func (db *DB) CheckToken(plaintext string) (Token, error) {
	if !strings.HasPrefix(plaintext, TokenPrefix) {
		return Token{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	return db.checkTokenHash(tokenHash(plaintext))
}

// CheckTwilioToken returns the Twilio token whose Account SID and Auth
// Token these are, or an error wrapping ErrNotFound. The lookup is by the
// Auth Token's SHA-256, as CheckToken's; the SID must then match, compared
// in constant time.
func (db *DB) CheckTwilioToken(accountSID, authToken string) (Token, error) {
	if len(authToken) != twilioHexLen || strings.HasPrefix(authToken, TokenPrefix) {
		return Token{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	t, err := db.checkTokenHash(tokenHash(authToken))
	if err != nil {
		return Token{}, err
	}
	if t.TwilioSID == "" || subtle.ConstantTimeCompare([]byte(t.TwilioSID), []byte(accountSID)) != 1 {
		return Token{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	return t, nil
}

// TwilioAccount returns the live token with this Account SID (for signing
// what is sent to its callbacks), or an error wrapping ErrNotFound.
func (db *DB) TwilioAccount(accountSID string) (Token, error) {
	tokens, err := db.Tokens()
	if err != nil {
		return Token{}, err
	}
	for _, t := range tokens {
		if t.TwilioSID != "" && t.TwilioSID == accountSID {
			return t, nil
		}
	}
	return Token{}, fmt.Errorf("store: twilio account %s: %w", accountSID, ErrNotFound)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// checkTokenHash is CheckToken after the plaintext was hashed.
func (db *DB) checkTokenHash(hash []byte) (Token, error) {
	var t Token
	found := false
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketTokens).Get(hash)
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, &t)
	})
	if err != nil {
		return Token{}, fmt.Errorf("store: token: %w", err)
	}
	if !found {
		return Token{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	now := db.now()
	if now.Sub(t.LastUsed) < tokenTouchInterval {
		return t, nil
	}
	// Many requests may arrive with the same stale token at once: share the
	// commit, and re-read inside so a revoke in between wins.
	err = db.bolt.Batch(func(tx *bbolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		raw := tokens.Get(hash)
		if raw == nil {
			return fmt.Errorf("store: token: %w", ErrNotFound)
		}
		var cur Token
		if err := json.Unmarshal(raw, &cur); err != nil {
			return err
		}
		t = cur
		if now.Sub(cur.LastUsed) < tokenTouchInterval {
			return nil
		}
		t.LastUsed = now
		raw, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return tokens.Put(hash, raw)
	})
	if err != nil {
		return Token{}, err
	}
	return t, nil
}

// Tokens lists live tokens, oldest first.
func (db *DB) Tokens() ([]Token, error) {
	var out []Token
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		tokens := tx.Bucket(bucketTokens)
		return tx.Bucket(bucketTokensByID).ForEach(func(_, hash []byte) error {
			raw := tokens.Get(hash)
			if raw == nil {
				return nil
			}
			var t Token
			if err := json.Unmarshal(raw, &t); err != nil {
				return fmt.Errorf("store: decode token: %w", err)
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeToken deletes token id; its plaintext stops working at once.
func (db *DB) RevokeToken(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		byID := tx.Bucket(bucketTokensByID)
		key := u64(id)
		hash := byID.Get(key)
		if hash == nil {
			return fmt.Errorf("store: token %d: %w", id, ErrNotFound)
		}
		if err := tx.Bucket(bucketTokens).Delete(hash); err != nil {
			return err
		}
		return byID.Delete(key)
	})
}

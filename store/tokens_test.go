package store

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	plain, tok, err := db.CreateToken("pos")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, TokenPrefix) || len(plain) != len(TokenPrefix)+52 {
		t.Errorf("plaintext %q, want sg_ and 52 characters", plain)
	}
	if tok.ID == 0 || tok.Name != "pos" || !tok.CreatedAt.Equal(c.now()) {
		t.Errorf("token %+v", tok)
	}
	plain2, tok2, err := db.CreateToken("website")
	if err != nil {
		t.Fatal(err)
	}
	if plain2 == plain || tok2.ID == tok.ID {
		t.Error("two tokens share a plaintext or an ID")
	}

	got, err := db.CheckToken(plain)
	if err != nil || got.ID != tok.ID {
		t.Fatalf("CheckToken = %+v, %v", got, err)
	}
	for _, wrong := range []string{"", "sg_", plain[:len(plain)-1], plain + "a", strings.ToUpper(plain), "Bearer " + plain} {
		if _, err := db.CheckToken(wrong); !errors.Is(err, ErrNotFound) {
			t.Errorf("CheckToken(%q) = %v, want ErrNotFound", wrong, err)
		}
	}

	list, err := db.Tokens()
	if err != nil || len(list) != 2 || list[0].Name != "pos" || list[1].Name != "website" {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}
	if err := db.RevokeToken(tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckToken(plain); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token still works: %v", err)
	}
	if _, err := db.CheckToken(plain2); err != nil {
		t.Errorf("revoking one token broke another: %v", err)
	}
	if err := db.RevokeToken(tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke = %v, want ErrNotFound", err)
	}
	if list, _ := db.Tokens(); len(list) != 1 || list[0].ID != tok2.ID {
		t.Errorf("Tokens after revoke = %+v", list)
	}
	// A revoked name can be used again.
	if _, _, err := db.CreateToken("pos"); err != nil {
		t.Errorf("reusing a revoked name: %v", err)
	}
}

func TestTokenName(t *testing.T) {
	db := openTest(t)
	if _, _, err := db.CreateToken("taken"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		wantErr string
	}{
		{"", "must not be empty"},
		{"   ", "must not be empty"},
		{strings.Repeat("é", MaxTokenName), ""},
		{strings.Repeat("a", MaxTokenName+1), "longer than 64"},
		{"taken", "already exists"},
		{"bad\nname", "control characters"},
		{"\xff", "UTF-8"},
	}
	for _, tt := range tests {
		_, _, err := db.CreateToken(tt.name)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("CreateToken(%q): %v", tt.name, err)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "name" || !strings.Contains(fe.Message, tt.wantErr) {
			t.Errorf("CreateToken(%q) = %v, want a name error with %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestTokenLastUsed(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	plain, _, err := db.CreateToken("pos")
	if err != nil {
		t.Fatal(err)
	}
	first := c.now()
	steps := []struct {
		advance time.Duration
		want    time.Time
	}{
		{0, first},                                     // first use is recorded
		{30 * time.Second, first},                      // not again within a minute
		{29 * time.Second, first},                      // still within
		{2 * time.Second, first.Add(61 * time.Second)}, // a minute on: recorded
	}
	for i, st := range steps {
		c.advance(st.advance)
		stats := db.bolt.Stats()
		writes := stats.TxStats.GetWrite()
		tok, err := db.CheckToken(plain)
		if err != nil {
			t.Fatal(err)
		}
		// A check that records nothing new must not commit at all: a
		// busy POS would otherwise fsync on every request.
		stats = db.bolt.Stats()
		if wrote := stats.TxStats.GetWrite() != writes; wrote != st.want.Equal(c.now()) {
			t.Errorf("step %d: wrote to disk = %v", i, wrote)
		}
		stored, _ := db.Tokens()
		if !tok.LastUsed.Equal(st.want) || !stored[0].LastUsed.Equal(st.want) {
			t.Errorf("step %d: LastUsed returned %v stored %v, want %v", i, tok.LastUsed, stored[0].LastUsed, st.want)
		}
	}
}

// TestTokenHashOnlyAtRest reads the raw file: the plaintext (and its secret
// part) must not be anywhere in it, while the name must be, which proves
// the scan looks at the right bytes.
func TestTokenHashOnlyAtRest(t *testing.T) {
	db := openTest(t)
	plain, _, err := db.CreateToken("findable-token-name")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckToken(plain); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("findable-token-name")) {
		t.Fatal("token name not found in the file: the scan is not reading the database")
	}
	if !bytes.Contains(raw, tokenHash(plain)) {
		t.Error("token hash not found in the file")
	}
	secret := strings.TrimPrefix(plain, TokenPrefix)
	for _, s := range []string{plain, secret, secret[:20]} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("file contains %q of the plaintext", s)
		}
	}
}

func TestTwilioToken(t *testing.T) {
	db := openTest(t)
	auth, tok, err := db.CreateTokenWith("shop plugin", TokenOptions{Twilio: true, Marketing: true, PrivateCallbacks: true})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^AC[0-9a-f]{32}$`).MatchString(tok.TwilioSID) {
		t.Fatalf("Account SID %q is not AC + 32 hex", tok.TwilioSID)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(auth) {
		t.Fatalf("Auth Token %q is not 32 hex", auth)
	}
	got, err := db.CheckTwilioToken(tok.TwilioSID, auth)
	if err != nil || got.ID != tok.ID || !got.Marketing || !got.PrivateCallbacks || got.TwilioSigningKey != auth {
		t.Fatalf("CheckTwilioToken = %+v, %v", got, err)
	}
	other, otherTok, err := db.CreateTokenWith("other", TokenOptions{Twilio: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]string{
		"another account's SID":   {otherTok.TwilioSID, auth},
		"another account's token": {tok.TwilioSID, other},
		"a wrong token":           {tok.TwilioSID, strings.Repeat("0", 32)},
		"an empty token":          {tok.TwilioSID, ""},
	} {
		if _, err := db.CheckTwilioToken(c[0], c[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	// The Auth Token is not a bearer token, and a bearer token not an Auth Token.
	if _, err := db.CheckToken(auth); !errors.Is(err, ErrNotFound) {
		t.Errorf("CheckToken(auth token) = %v, want ErrNotFound", err)
	}
	bearer, plainTok, err := db.CreateToken("native")
	if err != nil {
		t.Fatal(err)
	}
	if plainTok.TwilioSID != "" || plainTok.Marketing || plainTok.PrivateCallbacks {
		t.Errorf("a plain token is %+v", plainTok)
	}
	if _, err := db.CheckTwilioToken(tok.TwilioSID, bearer); !errors.Is(err, ErrNotFound) {
		t.Errorf("CheckTwilioToken(bearer) = %v, want ErrNotFound", err)
	}
	acct, err := db.TwilioAccount(tok.TwilioSID)
	if err != nil || acct.TwilioSigningKey != auth {
		t.Fatalf("TwilioAccount = %+v, %v", acct, err)
	}
	// Revoked: neither authenticates nor signs.
	if err := db.RevokeToken(tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckTwilioToken(tok.TwilioSID, auth); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked: CheckTwilioToken = %v", err)
	}
	if _, err := db.TwilioAccount(tok.TwilioSID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked: TwilioAccount = %v", err)
	}
}

package access

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/simgate/simgate/store"
)

func newAccounts(t *testing.T) (*Accounts, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db), db
}

func TestUsersAndLogin(t *testing.T) {
	g, db := newAccounts(t)
	ctx := context.Background()
	var fe *store.FieldError
	for _, tc := range []struct{ name, pw, field string }{
		{"ana", "short", "password"},
		{"ana", strings.Repeat("x", 73), "password"},
		{"a b", "long enough password", "name"},
		{"", "long enough password", "name"},
	} {
		if err := g.AddUser(tc.name, tc.pw); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("AddUser(%q, %d chars) = %v, want a %s FieldError", tc.name, len(tc.pw), err, tc.field)
		}
	}
	if err := g.AddUser("ana", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := g.AddUser("ana", "another password"); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("duplicate user: %v", err)
	}
	u, err := db.GetUser("ana")
	if err != nil || strings.Contains(string(u.PasswordHash), "correct horse") || !strings.HasPrefix(string(u.PasswordHash), "$2") {
		t.Fatalf("stored hash %q, %v: want bcrypt", u.PasswordHash, err)
	}
	for _, bad := range [][2]string{{"ana", "correct hors"}, {"ana", ""}, {"bob", "correct horse"}} {
		if _, _, err := g.Login(ctx, bad[0], bad[1]); !errors.Is(err, ErrBadLogin) {
			t.Errorf("Login(%q, %q) = %v, want ErrBadLogin", bad[0], bad[1], err)
		}
	}
	id, s, err := g.Login(ctx, "ana", "correct horse")
	if err != nil || s.User != "ana" {
		t.Fatalf("Login = %+v, %v", s, err)
	}
	if s2, err := g.CheckSession(id); err != nil || s2.User != "ana" {
		t.Fatalf("CheckSession = %+v, %v", s2, err)
	}
	id2, _, _ := g.Login(ctx, "ana", "correct horse")
	if err := g.Logout(id); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CheckSession(id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after Logout: %v", err)
	}
	if _, err := g.CheckSession(id2); err != nil {
		t.Errorf("other session ended by Logout: %v", err)
	}
	if n, err := g.LogoutEverywhere("ana"); err != nil || n != 1 {
		t.Errorf("LogoutEverywhere = %d, %v", n, err)
	}
	if _, err := g.CheckSession(id2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after LogoutEverywhere: %v", err)
	}
	id3, _, _ := g.Login(ctx, "ana", "correct horse")
	if err := g.SetPassword("ana", "a new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CheckSession(id3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session survived a password change: %v", err)
	}
	if _, _, err := g.Login(ctx, "ana", "correct horse"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("old password still works: %v", err)
	}
	if _, _, err := g.Login(ctx, "ana", "a new password"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestDummyHashCost(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil || cost != bcrypt.DefaultCost {
		t.Errorf("dummy hash cost %d, %v; want %d so unknown names take as long", cost, err, bcrypt.DefaultCost)
	}
}

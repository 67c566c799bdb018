package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/simgate/simgate/store"
)

func newUserGateway(t *testing.T) *Gateway {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g, err := New(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestUsersAndLogin(t *testing.T) {
	g := newUserGateway(t)
	ctx := context.Background()
	var fe *FieldError
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
	u, err := g.db.GetUser("ana")
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
	if _, err := g.CheckSession(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Logout: %v", err)
	}
	if _, err := g.CheckSession(id2); err != nil {
		t.Errorf("other session ended by Logout: %v", err)
	}
	if n, err := g.LogoutEverywhere("ana"); err != nil || n != 1 {
		t.Errorf("LogoutEverywhere = %d, %v", n, err)
	}
	if _, err := g.CheckSession(id2); !errors.Is(err, ErrNotFound) {
		t.Errorf("after LogoutEverywhere: %v", err)
	}
	id3, _, _ := g.Login(ctx, "ana", "correct horse")
	if err := g.SetPassword("ana", "a new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.CheckSession(id3); !errors.Is(err, ErrNotFound) {
		t.Errorf("session survived a password change: %v", err)
	}
	if _, _, err := g.Login(ctx, "ana", "correct horse"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("old password still works: %v", err)
	}
	if _, _, err := g.Login(ctx, "ana", "a new password"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestInboxReadMarker(t *testing.T) {
	g := newUserGateway(t)
	if id, err := g.InboxRead("+12015550123"); err != nil || id != 0 {
		t.Fatalf("fresh marker = %d, %v", id, err)
	}
	for _, step := range []struct{ mark, want uint64 }{{5, 5}, {3, 5}, {9, 9}} {
		if err := g.MarkInboxRead("+12015550123", step.mark); err != nil {
			t.Fatal(err)
		}
		if id, _ := g.InboxRead("+12015550123"); id != step.want {
			t.Errorf("after marking %d: %d, want %d", step.mark, id, step.want)
		}
	}
	if id, _ := g.InboxRead("+12015550999"); id != 0 {
		t.Errorf("other number's marker = %d", id)
	}
}

func TestDummyHashCost(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil || cost != bcrypt.DefaultCost {
		t.Errorf("dummy hash cost %d, %v; want %d so unknown names take as long", cost, err, bcrypt.DefaultCost)
	}
}

// TestMarkInboxReadRace: requests marking the same number at once (two
// console tabs, a double click) must leave the marker at the highest id any
// of them marked. A read followed by a separate write lets a request that
// read an old marker overwrite a higher one written in between.
func TestMarkInboxReadRace(t *testing.T) {
	g := newUserGateway(t)
	const number, workers, marks = "+12015550123", 16, 8
	var wg sync.WaitGroup
	highest := make([]uint64, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range marks {
				id := 1 + rng.Uint64N(1000)
				highest[w] = max(highest[w], id)
				if err := g.MarkInboxRead(number, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := slices.Max(highest)
	if got, err := g.InboxRead(number); err != nil || got != want {
		t.Errorf("marker after concurrent marks = %d, %v; want the highest marked, %d", got, err, want)
	}
}

// Bad input the store catches is the same FieldError as the gateway's, so
// the HTTP layer answers 400 for both.
func TestStoreFieldErrorIsGateways(t *testing.T) {
	g := newUserGateway(t)
	var fe *FieldError
	if _, _, err := g.CreateToken(""); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("CreateToken(\"\") = %v, want a FieldError on name", err)
	}
	if err := g.AddUser("ana", "long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := g.AddUser("ana", "long enough password"); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("second AddUser(ana) = %v, want a FieldError on name", err)
	}
}

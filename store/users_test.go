package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestUsers(t *testing.T) {
	db := openTest(t)
	if err := db.AddUser(User{Name: "ana", PasswordHash: []byte("h1")}); err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	if err := db.AddUser(User{Name: "ana", PasswordHash: []byte("h2")}); !errors.As(err, &fe) || fe.Field != "name" {
		t.Fatalf("duplicate AddUser = %v, want a name FieldError", err)
	}
	for _, bad := range []string{"", "a b", "x\x01", strings.Repeat("n", MaxUserName+1)} {
		if err := db.AddUser(User{Name: bad, PasswordHash: []byte("h")}); !errors.As(err, &fe) {
			t.Errorf("AddUser(%q) = %v, want a FieldError", bad, err)
		}
	}
	if err := db.AddUser(User{Name: "bo"}); !errors.As(err, &fe) || fe.Field != "password" {
		t.Errorf("AddUser without hash = %v", err)
	}
	u, err := db.GetUser("ana")
	if err != nil || string(u.PasswordHash) != "h1" {
		t.Fatalf("GetUser = %+v, %v; duplicate must not replace the hash", u, err)
	}
	if _, err := db.GetUser("nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetUser(nobody) = %v", err)
	}
	if err := db.AddUser(User{Name: "bo", PasswordHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	list, err := db.Users()
	if err != nil || len(list) != 2 || list[0].Name != "ana" || list[1].Name != "bo" || list[0].PasswordHash != nil {
		t.Fatalf("Users = %+v, %v", list, err)
	}
	if err := db.SetPassword("ana", []byte("h3")); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.GetUser("ana"); string(u.PasswordHash) != "h3" {
		t.Errorf("after SetPassword hash = %q", u.PasswordHash)
	}
	if err := db.DeleteUser("bo"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser("bo"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteUser = %v", err)
	}
}

func TestSessions(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	for _, n := range []string{"ana", "bo"} {
		if err := db.AddUser(User{Name: n, PasswordHash: []byte("h")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.CreateSession("nobody", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("session for unknown user: %v", err)
	}
	id1, _, err := db.CreateSession("ana", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id2, _, _ := db.CreateSession("ana", 2*time.Hour)
	id3, _, _ := db.CreateSession("bo", time.Hour)
	if id1 == id2 || len(id1) < 40 {
		t.Fatalf("ids %q %q", id1, id2)
	}
	s, err := db.CheckSession(id1)
	if err != nil || s.User != "ana" {
		t.Fatalf("CheckSession = %+v, %v", s, err)
	}
	// Only the hash is stored: the id itself must not be a key.
	_ = db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSessions).ForEach(func(k, _ []byte) error {
			if strings.Contains(string(k), id1) {
				t.Error("the session id is stored in clear")
			}
			return nil
		})
	})
	if _, err := db.CheckSession(id1 + "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong id: %v", err)
	}
	c.advance(time.Hour)
	if _, err := db.CheckSession(id1); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	if _, err := db.CheckSession(id2); err != nil {
		t.Errorf("live session: %v", err)
	}
	if err := db.DeleteSession(id2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckSession(id2); !errors.Is(err, ErrNotFound) {
		t.Errorf("after logout: %v", err)
	}
	a, _, _ := db.CreateSession("ana", time.Hour)
	b, _, _ := db.CreateSession("ana", time.Hour)
	if n, err := db.DeleteUserSessions("ana"); err != nil || n != 2 {
		t.Errorf("DeleteUserSessions = %d, %v", n, err)
	}
	for _, id := range []string{a, b} {
		if _, err := db.CheckSession(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("after logout everywhere: %v", err)
		}
	}
	// id3 (bo's, expired an hour in) was never checked: only a prune
	// removes it, together with a one-minute session.
	_, _, _ = db.CreateSession("bo", time.Minute)
	c.advance(2 * time.Minute)
	if n, err := db.PruneSessions(); err != nil || n != 2 {
		t.Errorf("PruneSessions = %d, %v", n, err)
	}
	if _, err := db.CheckSession(id3); !errors.Is(err, ErrNotFound) {
		t.Errorf("pruned session: %v", err)
	}
	// A password change ends the user's sessions.
	d, _, _ := db.CreateSession("bo", time.Hour)
	if err := db.SetPassword("bo", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckSession(d); !errors.Is(err, ErrNotFound) {
		t.Errorf("session after password change: %v", err)
	}
}

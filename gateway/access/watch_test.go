package access

import (
	"context"
	"errors"
	"testing"

	"github.com/simgate/simgate/store"
)

func ended(w *Watch) bool {
	select {
	case <-w.Ended():
		return true
	default:
		return false
	}
}

// Every way a session or token ends closes the watches opened with it, and
// only those.
func TestWatchEndsWithCredential(t *testing.T) {
	a, _ := newAccounts(t)
	ctx := context.Background()
	for _, u := range []string{"ana", "bo"} {
		if err := a.AddUser(u, "correct horse"); err != nil {
			t.Fatal(err)
		}
	}
	login := func(user string) (string, *Watch) {
		t.Helper()
		id, _, err := a.Login(ctx, user, "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		s, w, err := a.WatchSession(id)
		if err != nil || s.User != user {
			t.Fatalf("WatchSession = %+v, %v", s, err)
		}
		return id, w
	}
	if _, _, err := a.WatchSession("no such session"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("WatchSession of an unknown id: %v", err)
	}
	if _, _, err := a.WatchToken("sg_nosuchtoken"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("WatchToken of an unknown token: %v", err)
	}

	id1, w1 := login("ana")
	_, w2 := login("ana")
	_, bo := login("bo")
	if err := a.Logout(id1); err != nil {
		t.Fatal(err)
	}
	if !ended(w1) || ended(w2) || ended(bo) {
		t.Errorf("after Logout: ended %v %v %v, want only the first", ended(w1), ended(w2), ended(bo))
	}
	if _, err := a.LogoutEverywhere("ana"); err != nil {
		t.Fatal(err)
	}
	if !ended(w2) || ended(bo) {
		t.Errorf("after LogoutEverywhere: ana's %v, bo's %v", ended(w2), ended(bo))
	}
	_, w3 := login("ana")
	if err := a.SetPassword("ana", "another horse"); err != nil {
		t.Fatal(err)
	}
	if !ended(w3) || ended(bo) {
		t.Errorf("after SetPassword: ana's %v, bo's %v", ended(w3), ended(bo))
	}
	if err := a.DeleteUser("bo"); err != nil {
		t.Fatal(err)
	}
	if !ended(bo) {
		t.Error("a deleted user's watch goes on")
	}

	p1, t1, _ := a.CreateToken("pos")
	p2, _, _ := a.CreateToken("web")
	_, tw1, err := a.WatchToken(p1)
	if err != nil {
		t.Fatal(err)
	}
	_, tw2, err := a.WatchToken(p2)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(t1.ID); err != nil {
		t.Fatal(err)
	}
	if !ended(tw1) || ended(tw2) {
		t.Errorf("after RevokeToken: %v %v, want only the revoked one", ended(tw1), ended(tw2))
	}
	if _, _, err := a.WatchToken(p1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("WatchToken of a revoked token: %v", err)
	}

	// Ended watches are forgotten; a stopped one is too, and stopping twice
	// is harmless.
	tw2.Stop()
	tw2.Stop()
	if n := len(a.watchers.all); n != 0 {
		t.Errorf("%d watches kept after all ended or stopped", n)
	}
}

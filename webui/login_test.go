package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// loginFrom posts the login form from addr (host:port), as a browser on
// that address would.
func loginFrom(h http.Handler, addr, name, password string) *httptest.ResponseRecorder {
	q := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"name": {name}, "password": {password}}.Encode()))
	q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	q.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, q)
	return w
}

// recordDelays makes the login's slow-down record each delay instead of
// waiting it out, so tests see the delays without spending them.
func recordDelays(h http.Handler) *[]time.Duration {
	var got []time.Duration
	h.(*server).logins.sleep = func(_ context.Context, d time.Duration) error {
		got = append(got, d)
		return nil
	}
	return &got
}

// Issue 15, point 2: strangers failing again and again for the owner's
// name, from one address or from many, must not keep the owner out. They
// are refused per address and slowed per name; the owner, from an address
// that has not failed, gets in at once.
func TestOwnerNotLockedOutByStrangers(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	delays := recordDelays(c.h)
	const attacker = "203.0.113.9:5555"
	for i := range 3 * loginMaxFailures {
		w := loginFrom(c.h, attacker, testUser, "not the password")
		if i >= loginMaxFailures {
			wantBody(t, w, http.StatusTooManyRequests, "Too many wrong passwords")
		} else if w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, w.Code)
		}
	}
	// The attacker's first try was not slowed (its address had not failed);
	// each later one waited longer, the name's failures doubling the wait.
	want := []time.Duration{loginDelayBase, 2 * loginDelayBase, 4 * loginDelayBase, 8 * loginDelayBase}
	if fmt.Sprint(*delays) != fmt.Sprint(want) {
		t.Errorf("delays %v, want %v", *delays, want)
	}
	// A botnet: more addresses, each staying under the per-address limit.
	// (Few here: under -race each bcrypt takes a second.)
	const bots = 3
	*delays = nil
	for a := range bots {
		addr := fmt.Sprintf("198.51.100.%d:4000", a+1)
		for range loginMaxFailures - 1 {
			if w := loginFrom(c.h, addr, testUser, "not the password"); w.Code != http.StatusUnauthorized {
				t.Fatalf("%s: %d, want 401", addr, w.Code)
			}
		}
	}
	if len(*delays) != bots*(loginMaxFailures-2) {
		t.Errorf("%d slowed attempts, want all but each address's first (%d)", len(*delays), bots*(loginMaxFailures-2))
	}
	for _, d := range *delays {
		if d != loginDelayMax {
			t.Fatalf("delay %v under attack, want the bound %v", d, loginDelayMax)
		}
	}

	// The owner, from an address that has not failed, gets in at once.
	*delays = nil
	if w := loginFrom(c.h, "192.0.2.10:4000", testUser, testPassword); w.Code != http.StatusSeeOther {
		t.Fatalf("the owner from another address: %d %.300s, want 303", w.Code, w.Body)
	}
	if len(*delays) != 0 {
		t.Errorf("the owner was slowed by %v", *delays)
	}
	// An owner who mistypes while under attack is slowed, not refused.
	const shop = "192.0.2.11:4000"
	if w := loginFrom(c.h, shop, testUser, "typo"); w.Code != http.StatusUnauthorized {
		t.Fatalf("typo: %d", w.Code)
	}
	if w := loginFrom(c.h, shop, testUser, testPassword); w.Code != http.StatusSeeOther {
		t.Fatalf("the owner after a typo: %d %.300s, want 303", w.Code, w.Body)
	}
	if fmt.Sprint(*delays) != fmt.Sprint([]time.Duration{loginDelayMax}) {
		t.Errorf("after a typo the owner waited %v, want %v", *delays, loginDelayMax)
	}
	// The attacker's address stays refused for that name, right password or not.
	wantBody(t, loginFrom(c.h, attacker, testUser, testPassword), http.StatusTooManyRequests)
}

// Logins from one address are taken one at a time, and an address with
// too many waiting is refused with a message.
func TestLoginTurns(t *testing.T) {
	t.Parallel()
	g := newLoginGuard(time.Now)
	ctx := context.Background()
	var leaves []func()
	leave, err := g.enter(ctx, "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	// The next one from that address waits for the turn; another address
	// does not.
	waited := make(chan error, 1)
	go func() {
		l, err := g.enter(ctx, "203.0.113.9")
		if err == nil {
			l()
		}
		waited <- err
	}()
	other, err := g.enter(ctx, "192.0.2.10")
	if err != nil {
		t.Fatalf("another address: %v", err)
	}
	other()
	waitWaiting(g, "203.0.113.9", 2)
	select {
	case err := <-waited:
		t.Fatalf("a second login from the address ran beside the first (%v)", err)
	default:
	}
	leave()
	if err := <-waited; err != nil {
		t.Fatal(err)
	}

	// Fill the line: the one holding the turn and loginMaxWaiting-1 waiting.
	leave, err = g.enter(ctx, "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	leaves = append(leaves, leave)
	cctx, cancel := context.WithCancel(ctx)
	errs := make(chan error, loginMaxWaiting)
	for range loginMaxWaiting - 1 {
		go func() {
			_, err := g.enter(cctx, "203.0.113.9")
			errs <- err
		}()
	}
	waitWaiting(g, "203.0.113.9", loginMaxWaiting)
	if _, err := g.enter(ctx, "203.0.113.9"); err != errLoginBusy {
		t.Errorf("one more than the line holds: %v, want errLoginBusy", err)
	}
	// Those waiting give up when their clients go; the guard forgets the
	// address once nobody is left.
	cancel()
	for range loginMaxWaiting - 1 {
		if err := <-errs; err != context.Canceled {
			t.Errorf("a waiting login ended with %v, want context.Canceled", err)
		}
	}
	for _, l := range leaves {
		l()
	}
	if len(g.turns) != 0 {
		t.Errorf("%d addresses kept after every login ended", len(g.turns))
	}
}

// waitWaiting polls until n logins of addr hold or wait for the turn.
func waitWaiting(g *loginGuard, addr string, n int) {
	for {
		g.mu.Lock()
		t := g.turns[addr]
		done := t != nil && t.waiting == n
		g.mu.Unlock()
		if done {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

package webui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Login throttling. Three counters of wrong passwords over loginWindow:
//
//   - per address and user name: loginMaxFailures, then that address is
//     refused for that name until the window has passed;
//   - per address, whatever the name: loginMaxAddressFailures, then the
//     address is refused (one machine spraying many names);
//   - per user name, from anywhere: never a refusal, only a delay that
//     grows with the count (loginDelay), for attempts from addresses that
//     have failed. A per-user refusal is what let anyone keep the owner
//     out with five requests every 15 minutes (issue 15).
//
// An address that has not failed is neither refused nor slowed, so the
// owner at the counter always gets in at once. The price is that each
// fresh address of a botnet gets one undelayed guess; with bcrypt and
// passwords of at least access.MinPasswordLen characters that buys it
// nothing, and every later guess from that address is slowed and capped.
const (
	// loginMaxAddressFailures is four names' worth of loginMaxFailures: a
	// shop has a handful of console users, and a person who forgot which
	// name they use tries two or three.
	loginMaxAddressFailures = 4 * loginMaxFailures
	// loginDelayBase doubles with each failure for the user name, up to
	// loginDelayMax: a person who mistyped while the name is under attack
	// waits seconds, while a guesser on a failed address gets a few tries
	// a minute.
	loginDelayBase = time.Second
	loginDelayMax  = 10 * time.Second
	// loginMaxWaiting is how many logins from one address may wait their
	// turn; a person never sends more than one or two at once.
	loginMaxWaiting = 8
)

// errLoginBusy refuses an address with too many logins waiting.
var errLoginBusy = errors.New("too many logins at once from this address")

// loginGuard keeps the counters above and takes the logins of one address
// one at a time. Memory is bounded by the limiters' limiterMaxKeys and by
// the logins in flight.
type loginGuard struct {
	now                      func() time.Time
	byAddrUser, byAddr, user *limiter
	// sleep waits out a delay unless ctx ends first; tests record delays
	// instead of waiting them.
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	turns map[string]*loginTurn
}

// loginTurn lets one login of an address run; waiting counts those in
// line or running.
type loginTurn struct {
	slot    chan struct{}
	waiting int
}

func newLoginGuard(now func() time.Time) *loginGuard {
	g := &loginGuard{now: now, sleep: sleepCtx, turns: map[string]*loginTurn{}}
	clock := func() time.Time { return g.now() }
	g.byAddrUser = newLimiterMax(clock, loginMaxFailures)
	g.byAddr = newLimiterMax(clock, loginMaxAddressFailures)
	// Enough failures to reach loginDelayMax: 1, 2, 4, 8, then 10 s.
	g.user = newLimiterMax(clock, loginMaxFailures)
	return g
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func addrUserKey(addr, user string) string { return addr + "\x00" + user }

// enter waits for addr's turn and returns the function that ends it; it
// fails with errLoginBusy when too many are waiting, or with ctx's error.
func (g *loginGuard) enter(ctx context.Context, addr string) (func(), error) {
	g.mu.Lock()
	t := g.turns[addr]
	if t == nil {
		t = &loginTurn{slot: make(chan struct{}, 1)}
		g.turns[addr] = t
	}
	if t.waiting >= loginMaxWaiting {
		g.mu.Unlock()
		return nil, errLoginBusy
	}
	t.waiting++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		if t.waiting--; t.waiting == 0 {
			delete(g.turns, addr)
		}
		g.mu.Unlock()
	}
	select {
	case t.slot <- struct{}{}:
		return func() { <-t.slot; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// loginRefusal says why an attempt is refused and for how long.
type loginRefusal struct {
	wait         time.Duration
	wholeAddress bool // every name from this address, not just this one
}

func (r *loginRefusal) message() string {
	mins := int(r.wait.Round(time.Minute).Minutes())
	if mins < 1 {
		mins = 1
	}
	if r.wholeAddress {
		return fmt.Sprintf("Too many wrong passwords from this connection. For your safety, logging in from it is paused: try again in %d minutes.", mins)
	}
	return fmt.Sprintf("Too many wrong passwords. For your safety, logging in is paused: try again in %d minutes.", mins)
}

// refusal is non-nil when addr may not try user now.
func (g *loginGuard) refusal(addr, user string) *loginRefusal {
	if blocked, until := g.byAddrUser.blocked(addrUserKey(addr, user)); blocked {
		return &loginRefusal{wait: until.Sub(g.now())}
	}
	if blocked, until := g.byAddr.blocked(addr); blocked {
		return &loginRefusal{wait: until.Sub(g.now()), wholeAddress: true}
	}
	return nil
}

// delay is how long an attempt for user from addr waits before its
// password is checked: nothing from an address that has not failed,
// otherwise loginDelayBase doubled per failure for user, at most
// loginDelayMax.
func (g *loginGuard) delay(addr, user string) time.Duration {
	if g.byAddr.count(addr) == 0 {
		return 0
	}
	n := g.user.count(user)
	if n == 0 {
		return 0
	}
	return min(loginDelayBase<<(n-1), loginDelayMax)
}

func (g *loginGuard) failed(addr, user string) {
	g.byAddrUser.failed(addrUserKey(addr, user))
	g.byAddr.failed(addr)
	g.user.failed(user)
}

// succeeded forgets addr's failures for user: it knows the password. The
// address's and the name's counts stay, or logging in to one account
// would reset the guessing budget for the others.
func (g *loginGuard) succeeded(addr, user string) {
	g.byAddrUser.reset(addrUserKey(addr, user))
}

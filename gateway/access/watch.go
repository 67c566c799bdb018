package access

import (
	"sync"

	"github.com/simgate/simgate/store"
)

// A long-lived connection (the websocket of live events) is authenticated
// once, when it opens. So that it cannot outlive its credential, whoever
// holds one registers a Watch, and every operation that ends sessions or
// tokens closes the watches it ends. The alternative, checking the
// credential in the store before each frame, would put a bbolt read on
// every event for every client and still leave an idle stream open; a
// watch costs one small struct and a channel per client and work only when
// something is revoked, which is rare.

// Watch tells its holder that the session or token it was opened with has
// ended: logged out, the user's password changed or the user deleted, or
// the token revoked.
type Watch struct {
	ended chan struct{}
	once  sync.Once
	w     *watchers

	// What ends it: a session (its id and user) or a token (its id).
	session string
	user    string
	token   uint64
}

// Ended is closed when the credential ends.
func (w *Watch) Ended() <-chan struct{} { return w.ended }

// Stop forgets the watch; the holder calls it when it closes. It is safe
// to call more than once and after the watch has ended.
func (w *Watch) Stop() {
	w.w.mu.Lock()
	delete(w.w.all, w)
	w.w.mu.Unlock()
}

func (w *Watch) end() { w.once.Do(func() { close(w.ended) }) }

// watchers are the live watches. They are scanned whole when something is
// revoked: that is rare and the set is one entry per open stream, so a
// scan costs less than keeping indexes by session, user and token.
type watchers struct {
	mu  sync.Mutex
	all map[*Watch]struct{}
}

// recheck registers w, then checks its credential once more. Who it is
// (the session's user, the token's id) is known only after a first check;
// an end that committed between that check and the registration is missed
// by the watch but seen by this second check, and any later one finds the
// watch registered. Ending always commits in the store before it closes
// watches.
func (ws *watchers) recheck(w *Watch, check func() error) error {
	ws.add(w)
	if err := check(); err != nil {
		w.Stop()
		return err
	}
	return nil
}

func (ws *watchers) add(w *Watch) {
	w.w = ws
	ws.mu.Lock()
	if ws.all == nil {
		ws.all = map[*Watch]struct{}{}
	}
	ws.all[w] = struct{}{}
	ws.mu.Unlock()
}

// end closes and forgets every watch for which match is true.
func (ws *watchers) end(match func(*Watch) bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.all {
		if match(w) {
			w.end()
			delete(ws.all, w)
		}
	}
}

func (ws *watchers) endSession(id string) {
	ws.end(func(w *Watch) bool { return w.session != "" && w.session == id })
}

func (ws *watchers) endUser(user string) {
	ws.end(func(w *Watch) bool { return w.session != "" && w.user == user })
}

func (ws *watchers) endToken(id uint64) {
	ws.end(func(w *Watch) bool { return w.session == "" && w.token == id })
}

// WatchSession checks a session like CheckSession and, when it is live,
// returns a Watch that ends with it; the caller must Stop it when done.
func (a *Accounts) WatchSession(id string) (store.Session, *Watch, error) {
	s, err := a.db.CheckSession(id)
	if err != nil {
		return store.Session{}, nil, err
	}
	w := &Watch{ended: make(chan struct{}), session: id, user: s.User}
	if err := a.watchers.recheck(w, func() error { _, err := a.db.CheckSession(id); return err }); err != nil {
		return store.Session{}, nil, err
	}
	return s, w, nil
}

// WatchToken checks a token like CheckToken and, when it is live, returns
// a Watch that ends when the token is revoked. As with WatchSession, the
// caller must Stop it.
func (a *Accounts) WatchToken(plaintext string) (store.Token, *Watch, error) {
	t, err := a.db.CheckToken(plaintext)
	if err != nil {
		return store.Token{}, nil, err
	}
	w := &Watch{ended: make(chan struct{}), token: t.ID}
	if err := a.watchers.recheck(w, func() error { _, err := a.db.CheckToken(plaintext); return err }); err != nil {
		return store.Token{}, nil, err
	}
	return t, w, nil
}

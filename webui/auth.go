package webui

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/access"
)

// Failures are counted over loginWindow; loginMaxFailures is how many a
// limiter allows per key for one address and name (login_guard.go has the
// login's rules).
const (
	// loginMaxFailures and loginWindow: five tries in 15 minutes, the
	// common lockout threshold and well inside NIST SP 800-63B §5.2.2,
	// which allows at most 100 consecutive failures per account.
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
	// limiterMaxKeys bounds the limiter's memory under a flood of
	// addresses; beyond it the oldest entries are forgotten first.
	limiterMaxKeys = 10000
)

// limiter counts recent failures per key, in memory: a restart forgets
// them, which costs an attacker a restart per few guesses.
type limiter struct {
	mu   sync.Mutex
	now  func() time.Time
	max  int // failures per key within loginWindow before it is blocked
	fail map[string][]time.Time
}

// newLimiterMax is a limiter that blocks a key at max failures.
func newLimiterMax(now func() time.Time, max int) *limiter {
	return &limiter{now: now, max: max, fail: map[string][]time.Time{}}
}

// blocked reports whether key has used up its failures, and when the
// oldest one counted stops counting.
func (l *limiter) blocked(key string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.recent(key)
	if len(recent) < l.max {
		return false, time.Time{}
	}
	return true, recent[len(recent)-l.max].Add(loginWindow)
}

// count is how many failures of key are within the window (at most max).
func (l *limiter) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key))
}

// recent drops failures older than the window; the caller holds mu.
func (l *limiter) recent(key string) []time.Time {
	cutoff := l.now().Add(-loginWindow)
	list := l.fail[key]
	i := 0
	for i < len(list) && !list[i].After(cutoff) {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(l.fail, key)
		return nil
	}
	l.fail[key] = list
	return list
}

func (l *limiter) failed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fail) >= limiterMaxKeys {
		for k := range l.fail { // prune expired, then anything
			if l.recent(k) == nil {
				continue
			}
			if len(l.fail) >= limiterMaxKeys {
				delete(l.fail, k)
			}
		}
	}
	list := append(l.recent(key), l.now())
	if len(list) > l.max {
		list = list[len(list)-l.max:]
	}
	l.fail[key] = list
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fail, key)
}

// clientIP is the peer address. X-Forwarded-For is ignored on purpose: the
// console is served directly on a shop's network, and trusting the header
// would let anyone pick a fresh "address" per guess.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginData struct {
	Name string
	Next string
}

// loginPage answers GET /login.
func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, ok := s.sessionUser(r); ok {
		seeOther(w, r, next)
		return
	}
	v := view{Title: "Log in", Data: loginData{Next: next}}
	if r.URL.Query().Get("bye") != "" {
		v.Notice = "You are logged out."
	}
	s.renderPublic(w, r, http.StatusOK, "login", v)
}

// login answers POST /login.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"))
	again := func(status int, msg string) {
		s.renderPublic(w, r, status, "login", view{Title: "Log in", Error: msg, Data: loginData{Name: name, Next: next}})
	}
	if name == "" || password == "" {
		again(http.StatusBadRequest, "Enter your user name and password.")
		return
	}
	addr := clientIP(r)
	// One attempt at a time per address: failures are counted before the
	// next check, and a slowed-down address holds one waiting request.
	leave, err := s.logins.enter(r.Context(), addr)
	if errors.Is(err, errLoginBusy) {
		again(http.StatusTooManyRequests, "Too many logins at once from this connection. Wait a moment and try again.")
		return
	}
	if err != nil {
		return // the client has gone
	}
	defer leave()
	if ref := s.logins.refusal(addr, name); ref != nil {
		w.Header().Set("Retry-After", fmt.Sprint(int(ref.wait.Seconds())+1))
		again(http.StatusTooManyRequests, ref.message())
		return
	}
	if d := s.logins.delay(addr, name); d > 0 {
		if s.logins.sleep(r.Context(), d) != nil {
			return // the client has gone
		}
	}
	id, sess, err := s.gw.Access().Login(r.Context(), name, password)
	if errors.Is(err, access.ErrBadLogin) {
		s.logins.failed(addr, name)
		again(http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	if err != nil {
		s.consoleFail(w, r, err)
		return
	}
	s.logins.succeeded(addr, name)
	// Expired sessions are deleted when used; those never used again are
	// swept here, on the rare event of a login, rather than by a timer.
	if _, err := s.gw.Access().PruneSessions(); err != nil {
		s.log.Warn("prune sessions", "err", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: "/",
		Expires:  sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	seeOther(w, r, next)
}

// logout answers POST /logout; with everywhere=1 it ends every session of
// the user, e.g. after losing a phone.
func (s *server) logout(w http.ResponseWriter, r *http.Request, u user) error {
	var err error
	if r.PostFormValue("everywhere") != "" {
		_, err = s.gw.Access().LogoutEverywhere(u.Name)
	} else {
		err = s.gw.Access().Logout(u.sessionID)
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	seeOther(w, r, "/login?bye=1")
	return nil
}

// renderPublic renders a page that needs no login, with no-store.
func (s *server) renderPublic(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	w.Header().Set("Cache-Control", "no-store")
	if err := s.render(w, r, status, name, v); err != nil {
		s.consoleFail(w, r, err)
	}
}

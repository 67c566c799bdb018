package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// testClockEnv starts the daemon's clock at a given moment, for end-to-end
// tests of what happens at 10:00 tomorrow (docs/operations.md, "Test
// clock"). Never set on a real box.
const testClockEnv = "SIMGATE_TEST_CLOCK"

// testClock is a clock that starts at a set moment and moves with real
// time; it can only be moved forward.
type testClock struct {
	mu   sync.Mutex
	base time.Time // the clock's reading at real time since
	real time.Time
}

// testClockFromEnv reads SIMGATE_TEST_CLOCK (RFC 3339): nil when unset.
func testClockFromEnv() (*testClock, error) {
	v := os.Getenv(testClockEnv)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, &configError{fmt.Errorf("%s=%q is not an RFC 3339 time: %v", testClockEnv, v, err)}
	}
	return &testClock{base: t, real: time.Now()}, nil
}

// Now is the test clock's reading.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.real))
}

// Jump moves the clock forward to t; a time before its reading is refused,
// as time never runs backwards for the parts that wait on it.
func (c *testClock) Jump(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.base.Add(time.Since(c.real)); t.Before(now) {
		return fmt.Errorf("the test clock only moves forward: it reads %s", now.Format(time.RFC3339))
	}
	c.base, c.real = t, time.Now()
	return nil
}

// handler serves POST /clock?to=<RFC 3339> on the control socket: the
// clock jumps and every part that sleeps until a time wakes.
func (c *testClock) handler(gw *gateway.Gateway, log *slog.Logger, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("POST /clock", func(w http.ResponseWriter, r *http.Request) {
		t, err := time.Parse(time.RFC3339, r.URL.Query().Get("to"))
		if err != nil {
			http.Error(w, "to: must be an RFC 3339 time", http.StatusBadRequest)
			return
		}
		if err := c.Jump(t); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		log.Warn("test clock moved", "to", t.Format(time.RFC3339))
		gw.ClockJumped()
		fmt.Fprintln(w, c.Now().Format(time.RFC3339Nano))
	})
	return mux
}

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// notifySocket listens on a unixgram socket the way systemd does and points
// $NOTIFY_SOCKET at it. name is a path, or "@..." for an abstract socket.
func notifySocket(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

// readDatagram returns the next datagram, failing the test if none comes.
func readDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("reading notify socket: %v", err)
	}
	return string(buf[:n])
}

func TestSdNotifyPathSocket(t *testing.T) {
	conn := notifySocket(t, filepath.Join(t.TempDir(), "notify"))
	for _, state := range []string{"READY=1", "STATUS=listening on 127.0.0.1:8080\nWATCHDOG=1", "STOPPING=1"} {
		if err := sdNotify(state); err != nil {
			t.Fatalf("sdNotify(%q): %v", state, err)
		}
		if got := readDatagram(t, conn); got != state {
			t.Errorf("got %q, want %q", got, state)
		}
	}
}

func TestSdNotifyAbstractSocket(t *testing.T) {
	// The name is unique per test run: abstract sockets live in the network
	// namespace, not the file system, so t.TempDir can't keep runs apart.
	conn := notifySocket(t, "@simgate-test-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := sdNotify("READY=1"); err != nil {
		t.Fatal(err)
	}
	if got := readDatagram(t, conn); got != "READY=1" {
		t.Errorf("got %q, want READY=1", got)
	}
}

func TestSdNotifyUnset(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Errorf("with NOTIFY_SOCKET unset: got %v, want nil (no-op)", err)
	}
}

func TestSdNotifyErrors(t *testing.T) {
	for _, name := range []string{
		filepath.Join(t.TempDir(), "nobody-listens"), // systemd gone: report it, don't hang
		"vsock:2:1234", // not something a host daemon can use
	} {
		t.Setenv("NOTIFY_SOCKET", name)
		if err := sdNotify("READY=1"); err == nil {
			t.Errorf("NOTIFY_SOCKET=%q: got nil error, want one", name)
		}
	}
}

func TestWatchdogInterval(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"60000000", "", 30 * time.Second},
		{"60000000", me, 30 * time.Second},
		{"60000000", "1", 0}, // inherited from a parent that had the watchdog
		{"60000000", "x", 0},
		{"", "", 0},
		{"0", "", 0},
		{"-5", "", 0},
		{"abc", me, 0},
		{"99999999999999999999", "", 0}, // beyond uint63: not a value systemd writes
	} {
		t.Run(tc.usec+"/"+tc.pid, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			if got := watchdogInterval(); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestWatchdogLoop drives the loop tick by tick. healthy takes its answer
// from a channel, so the loop is in step with the test: each tick is
// followed by the health for that tick, and the datagrams on the socket are
// exactly what was sent, in order.
func TestWatchdogLoop(t *testing.T) {
	conn := notifySocket(t, filepath.Join(t.TempDir(), "notify"))
	health := make(chan error)
	healthy := func(context.Context) error { return <-health }

	ctx, cancel := context.WithCancel(t.Context())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdogLoop(ctx, tick, healthy, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	defer func() { cancel(); <-done }()

	steps := []struct {
		health error
		want   string // "" means nothing is sent for this tick
	}{
		{nil, "WATCHDOG=1"},
		{nil, "WATCHDOG=1"},
		{errors.New("all modems down:\nsim1 hung"), "STATUS=unhealthy: all modems down: sim1 hung"},
		{errors.New("still down"), ""},
		{nil, "STATUS=running\nWATCHDOG=1"},
		{nil, "WATCHDOG=1"},
	}
	var want []string
	for _, s := range steps {
		tick <- time.Time{}
		health <- s.health
		if s.want != "" {
			want = append(want, s.want)
		}
	}
	for i, w := range want {
		if got := readDatagram(t, conn); got != w {
			t.Fatalf("datagram %d: got %q, want %q", i, got, w)
		}
	}
	// Nothing beyond that: the unhealthy tick sent no ping.
	conn.SetReadDeadline(time.Now())
	if n, err := conn.Read(make([]byte, 64)); err == nil {
		t.Errorf("unexpected extra datagram (%d bytes)", n)
	}
}

func TestWatchdogLoopStops(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdogLoop(ctx, make(chan time.Time), func(context.Context) error { return nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watchdogLoop did not return after cancel")
	}
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"time"
)

// notifyWriteTimeout bounds one write to the notify socket. systemd reads it
// at once; if it ever stops reading, a full socket buffer must not stall the
// daemon (or its watchdog loop) behind a status message.
const notifyWriteTimeout = time.Second

// sdNotify sends state (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1",
// "STATUS=text"; several separated by newlines) to the service manager, as
// sd_notify(3) does, without linking libsystemd. It writes one datagram to
// the unix socket named in $NOTIFY_SOCKET; a name starting with '@' is an
// abstract socket (Go's net package maps the '@' to the leading NUL). When
// $NOTIFY_SOCKET is unset, not running under systemd or not Type=notify, it
// does nothing and returns nil.
func sdNotify(state string) error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	if name[0] != '/' && name[0] != '@' {
		// systemd ≥ 254 can also hand out "vsock:" addresses, for VMs;
		// simgate runs on the host, so that is a misconfiguration here.
		return fmt.Errorf("sd_notify: unsupported NOTIFY_SOCKET %q", name)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(notifyWriteTimeout)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// watchdogInterval returns how often to send "WATCHDOG=1": half of the
// $WATCHDOG_USEC timeout that systemd set from WatchdogSec=, as
// sd_watchdog_enabled(3) recommends, so one late ping is not fatal. It
// returns 0 when the watchdog is off: variable unset or invalid, or
// $WATCHDOG_PID naming another process (the variables were inherited, not
// meant for us).
func watchdogInterval() time.Duration {
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 {
		return 0
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0
		}
	}
	// A Duration holds at most ~292 years; clamp rather than overflow on
	// an absurd value.
	if max := uint64(math.MaxInt64 / int64(time.Microsecond)); usec > max {
		usec = max
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// watchdogLoop sends "WATCHDOG=1" on every tick while healthy(ctx) returns
// nil, and stops pinging while it returns an error, so systemd restarts a
// daemon that is running but no longer doing its job (WatchdogSec=). The
// reason is published as STATUS= so `systemctl status simgate` shows it; when
// health returns, STATUS is reset to "running". healthy must answer quickly
// (from state the gateway already has, not by talking to a modem): a
// health check that blocks is itself a missed ping. Ticks come in from the
// caller (a time.Ticker at watchdogInterval() in production) so tests can
// drive the loop without sleeping. It returns when ctx is done.
func watchdogLoop(ctx context.Context, tick <-chan time.Time, healthy func(context.Context) error, log *slog.Logger) {
	wasHealthy := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		err := healthy(ctx)
		var state string
		switch {
		case err != nil && wasHealthy:
			log.Warn("unhealthy: withholding watchdog ping", "error", err)
			state = "STATUS=unhealthy: " + oneLine(err.Error())
		case err != nil:
			continue // already reported; systemd will act when the timeout runs out
		case !wasHealthy:
			log.Info("healthy again: resuming watchdog pings")
			state = "STATUS=running\nWATCHDOG=1"
		default:
			state = "WATCHDOG=1"
		}
		wasHealthy = err == nil
		if err := sdNotify(state); err != nil {
			log.Warn("watchdog notify failed", "error", err)
		}
	}
}

// oneLine keeps a STATUS= value on one line: a newline would start a new
// assignment in the notify protocol.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"
)

// lockedBuffer is written by runModemsim and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunModemsim(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "m")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- runModemsim(ctx, []string{"--count", "2", "--link", prefix, "--number-base", "+15550000009",
			"--profile", "generic,huawei", "--report-delay", "10ms"}, &out, quiet)
	}()
	re := regexp.MustCompile(`control (http://127\.0\.0\.1:\d+)\n`)
	waitFor(t, 10*time.Second, "modemsim to print its control URL", func() error {
		select {
		case err := <-done:
			t.Fatalf("modemsim returned early: %v\n%s", err, out.String())
		default:
		}
		if !re.MatchString(out.String()) {
			return fmt.Errorf("output %q", out.String())
		}
		return nil
	})
	control := re.FindStringSubmatch(out.String())[1]
	for _, want := range []string{"modem 0 +15550000009 " + prefix + "0\n", "modem 1 +15550000010 " + prefix + "1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}

	resp, err := http.Get(control + "/modems")
	if err != nil {
		t.Fatal(err)
	}
	var modems []struct{ Number, Profile, Link string }
	json.NewDecoder(resp.Body).Decode(&modems)
	resp.Body.Close()
	if len(modems) != 2 || modems[1].Profile != "huawei" || modems[0].Link != prefix+"0" {
		t.Errorf("GET /modems: %+v", modems)
	}

	port, err := serial.Open(prefix+"0", &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	port.SetReadTimeout(20 * time.Millisecond)
	port.Write([]byte("AT+CGMI\r"))
	var got []byte
	buf := make([]byte, 256)
	deadline := time.Now().Add(10 * time.Second) // a bound, should the answer never come
	for !bytes.Contains(got, []byte("\r\nOK\r\n")) && time.Now().Before(deadline) {
		n, err := port.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	port.Close()
	if !bytes.Contains(got, []byte("SIMULATOR\r\n\r\nOK\r\n")) {
		t.Errorf("AT+CGMI over the pty: got %q", got)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("runModemsim: %v", err)
	}
	for i := range 2 {
		if _, err := os.Lstat(prefix + string(rune('0'+i))); !os.IsNotExist(err) {
			t.Errorf("link %d left behind: %v", i, err)
		}
	}
}

func TestRunModemsimFlags(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, args := range [][]string{
		{"--count", "0"},
		{"--number-base", "15550000001"},
		{"--number-base", "+1555x"},
		{"--profile", "nokia"},
		{"--control", "0.0.0.0:0"},
		{"--latency", "-1s"},
		{"--boot-delay", "-1s"},
		{"--cnma-timeout", "0s"},
		{"extra"},
	} {
		var out bytes.Buffer
		if err := runModemsim(t.Context(), append(args, "--link", filepath.Join(t.TempDir(), "m")), &out, quiet); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if got, err := simNumbers("+15550000099", 3); err != nil || strings.Join(got, " ") != "+15550000099 +15550000100 +15550000101" {
		t.Errorf("simNumbers: %q %v", got, err)
	}
}

// startModemsim runs modemsim until the test ends and returns its control
// URL; cleanup stops it and checks it returned cleanly.
func startModemsim(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- runModemsim(ctx, args, &out, quiet) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runModemsim: %v", err)
		}
	})
	re := regexp.MustCompile(`control (http://127\.0\.0\.1:\d+)\n`)
	waitFor(t, 10*time.Second, "modemsim to print its control URL", func() error {
		if !re.MatchString(out.String()) {
			return fmt.Errorf("output %q", out.String())
		}
		return nil
	})
	return re.FindStringSubmatch(out.String())[1]
}

type simModemInfo struct {
	Number, Profile, Link, PTY, State, SIM string
	Faults                                 []string
}

func getModems(t *testing.T, control string) []simModemInfo {
	t.Helper()
	resp, err := http.Get(control + "/modems")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var modems []simModemInfo
	if err := json.NewDecoder(resp.Body).Decode(&modems); err != nil {
		t.Fatal(err)
	}
	return modems
}

func TestRunModemsimFleetProfilesAndUnplug(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "m")
	control := startModemsim(t, "--count", "3", "--link", prefix, "--profile", "simcom-sim800,quectel-ec25,zte",
		"--boot-delay", "0s", "--cnma-timeout", "2s")
	modems := getModems(t, control)
	if len(modems) != 3 || modems[0].Profile != "simcom-sim800" || modems[2].Profile != "zte" {
		t.Fatalf("modems: %+v", modems)
	}
	for i, m := range modems {
		if m.State != "up" || m.SIM != "ready" || m.PTY == "" {
			t.Errorf("modem %d: %+v", i, m)
		}
	}
	first := modems[1].PTY

	resp, err := http.Post(control+"/faults", "application/json",
		strings.NewReader(`{"modem":1,"unplug":true,"replug_after":"50ms"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /faults: %s", resp.Status)
	}
	waitFor(t, 5*time.Second, "modem 1 to come back on a new pty", func() error {
		m := getModems(t, control)[1]
		target, _ := os.Readlink(prefix + "1")
		if m.State != "up" || m.PTY == "" || m.PTY == first || target != m.PTY {
			return fmt.Errorf("modem %+v, link -> %q, first pty %q", m, target, first)
		}
		return nil
	})

	port, err := serial.Open(prefix+"1", &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	port.SetReadTimeout(20 * time.Millisecond)
	port.Write([]byte("AT+CGMM\r"))
	var got []byte
	buf := make([]byte, 256)
	deadline := time.Now().Add(5 * time.Second) // a bound, should the answer never come
	for !bytes.Contains(got, []byte("\r\nOK\r\n")) && time.Now().Before(deadline) {
		n, err := port.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	// The boot URCs of the replug wait in the pty, then the answer.
	if !bytes.Contains(got, []byte("+QIND: SMS DONE")) || !bytes.Contains(got, []byte("EC25\r\n\r\nOK\r\n")) {
		t.Errorf("after replug: %q", got)
	}
}

package sim

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"
)

// readUntil reads from a serial port until the output contains want.
func readUntil(t *testing.T, p serial.Port, want string) string {
	t.Helper()
	if err := p.SetReadTimeout(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var got []byte
	deadline := time.Now().Add(waitFor)
	buf := make([]byte, 256)
	for !bytes.Contains(got, []byte(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q; got %q", want, got)
		}
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	return string(got)
}

func TestServePTY(t *testing.T) {
	before := runtime.NumGoroutine()
	var logs bytes.Buffer
	lw := &syncWriter{w: &logs}
	n := NewNetwork(NetworkConfig{Log: slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer n.Close()
	p, _ := LookupProfile("huawei")
	p.NoiseInterval = 2 * time.Millisecond // the modem talks before anyone listens
	p.MidReplyNoiseEvery = 0
	m := addModem(t, n, Config{Number: "+15550000001", ProfileData: &p})

	link := filepath.Join(t.TempDir(), "modem0")
	if err := os.Symlink("/nonexistent/stale", link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- m.ServePTY(ctx, link) }()
	eventually(t, "the pty link", func() bool {
		target, err := os.Readlink(link)
		return err == nil && strings.HasPrefix(target, "/dev/pts/") && m.Info().Link == link
	})
	time.Sleep(30 * time.Millisecond) // let noise pile up unread

	// Nothing came back to the modem: its slave is raw, so the line
	// discipline did not echo the modem's own output (docs/modems.md §3.2).
	lw.mu.Lock()
	echoed := strings.Contains(logs.String(), "sim: rx")
	lw.mu.Unlock()
	if echoed {
		t.Fatalf("the modem read its own output back:\n%s", logs.String())
	}

	for round := range 2 { // close and reopen, like a reconnecting driver
		port, err := serial.Open(link, &serial.Mode{BaudRate: 115200})
		if err != nil {
			t.Fatalf("round %d: open: %v", round, err)
		}
		if _, err := port.Write([]byte("AT+CGMI\r")); err != nil {
			t.Fatal(err)
		}
		got := readUntil(t, port, "\r\nOK\r\n")
		if !strings.Contains(got, "huawei") {
			t.Errorf("round %d: got %q", round, got)
		}
		port.Close()
	}

	cancel()
	if err := <-served; err != nil {
		t.Errorf("ServePTY: %v", err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("link still there after return: %v", err)
	}
	if m.Info().Link != "" {
		t.Errorf("modem still reports link %q", m.Info().Link)
	}
	eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func TestServePTYRefusesRegularFile(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	link := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(link, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.ServePTY(t.Context(), link); err == nil {
		t.Fatal("ServePTY replaced a regular file")
	}
	if b, _ := os.ReadFile(link); string(b) != "keep me" {
		t.Errorf("file changed: %q", b)
	}
}

// ptyTarget is where link points, "" when it is missing.
func ptyTarget(link string) string {
	t, _ := os.Readlink(link)
	return t
}

// ptySend submits one PDU over a serial port and returns the MR.
func ptySend(t *testing.T, p serial.Port, tp []byte) int {
	t.Helper()
	if _, err := fmt.Fprintf(p, "AT+CMGS=%d\r", len(tp)); err != nil {
		t.Fatal(err)
	}
	readUntil(t, p, "> ")
	if _, err := fmt.Fprintf(p, "00%X\x1a", tp); err != nil {
		t.Fatal(err)
	}
	got := readUntil(t, p, "\r\nOK\r\n")
	x := mrRe.FindStringSubmatch(got)
	if x == nil {
		t.Fatalf("no +CMGS in %q", got)
	}
	mr, _ := strconv.Atoi(x[1])
	return mr
}

func TestServePTYUnplugReplug(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", Profile: "quectel-ec25", BootDelay: -1})
	link := filepath.Join(t.TempDir(), "modem0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- m.ServePTY(ctx, link) }()
	eventually(t, "the pty link", func() bool { return m.Info().PTY != "" && ptyTarget(link) == m.Info().PTY })
	first := ptyTarget(link)

	port, err := serial.Open(link, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	port.Write([]byte("ATE0\r"))
	readUntil(t, port, "\r\nOK\r\n")
	tp := submitPDUs(t, "+15551234567", "before", false)[0]
	if mr := ptySend(t, port, tp); mr != 1 {
		t.Fatalf("MR %d", mr)
	}

	// Unplugged: the client's reads fail and the link goes away.
	m.SetFault(Fault{Unplug: true})
	port.SetReadTimeout(20 * time.Millisecond)
	buf := make([]byte, 64)
	deadline := time.Now().Add(waitFor)
	for {
		if _, err := port.Read(buf); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reads still succeed after the unplug")
		}
	}
	eventually(t, "the link to go", func() bool { return ptyTarget(link) == "" })
	if info := m.Info(); info.State != "unplugged" || info.PTY != "" || info.Link != link {
		t.Errorf("info while unplugged: %+v", info)
	}

	// Keep the old port open, as a driver that has not noticed would:
	// the new pty cannot take its number anyway. Then replug.
	m.Replug()
	eventually(t, "the link to come back", func() bool { return ptyTarget(link) != "" && m.Info().PTY == ptyTarget(link) })
	second := ptyTarget(link)
	if second == first {
		t.Errorf("replugged on the same pty %s", first)
	}
	port.Close()

	// The same link opens the new pty; the modem booted (its boot URCs
	// wait in the pty, echo is back on) and the SIM kept its MR counter.
	port2, err := serial.Open(link, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port2.Close()
	readUntil(t, port2, "+QIND: SMS DONE")
	port2.Write([]byte("AT\r"))
	readUntil(t, port2, "AT\r\r\nOK\r\n")
	if mr := ptySend(t, port2, tp); mr != 2 {
		t.Errorf("MR %d after replug, want 2", mr)
	}
	port2.Close()

	// Unplugged with replug_after, after the client let go: a different
	// number again, although the old one is free.
	m.SetFault(Fault{Unplug: true, ReplugAfter: 20 * time.Millisecond})
	eventually(t, "the automatic replug", func() bool {
		target := ptyTarget(link)
		return target != "" && target != second && m.Info().PTY == target
	})

	cancel()
	if err := <-served; err != nil {
		t.Errorf("ServePTY: %v", err)
	}
	if ptyTarget(link) != "" {
		t.Error("link left behind")
	}
}

func TestServePTYStartsUnplugged(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	m.Unplug(0)
	link := filepath.Join(t.TempDir(), "modem0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.ServePTY(ctx, link) }()
	m.Replug()
	eventually(t, "the pty link", func() bool { return ptyTarget(link) != "" })
	m.Unplug(0)
	eventually(t, "the link to go", func() bool { return ptyTarget(link) == "" })
	cancel() // while unplugged
	if err := <-served; err != nil {
		t.Errorf("ServePTY: %v", err)
	}
}

// Linux hands a pty number out again as soon as it is free, so a replug
// must steer around the number it just gave up.
func TestOpenPTYNotReusesNumber(t *testing.T) {
	m1, s1, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	old := s1.Name()
	s1.Close()
	m1.Close()
	m2, s2, err := openPTYNot(old)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	defer s2.Close()
	if s2.Name() == old {
		t.Errorf("got %s again", old)
	}
}

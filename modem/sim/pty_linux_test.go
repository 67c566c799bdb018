package sim

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
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
	// discipline did not echo the modem's own output (MODEMS.md §3.2).
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

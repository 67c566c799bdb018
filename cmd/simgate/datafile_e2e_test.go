package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// The tests below start the real binary on data files damaged the ways a
// disk, an SD card or a careless copy damages them (issue 15, point 5), and
// check it refuses with a clear message instead of starting fresh over the
// shop's STOP list or panicking.

// seedDataDir writes a data directory whose simgate.db holds a few
// thousand contacts, consent and messages, compacted so that every page of
// the file is in use: damage anywhere in it lands on live data.
func seedDataDir(t *testing.T) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, dbFile)
	s, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]store.ContactUpsert, 0, 500)
	for batch := range 8 {
		rows = rows[:0]
		for i := range 500 {
			n := batch*500 + i
			rows = append(rows, store.ContactUpsert{Contact: store.Contact{
				Number: fmt.Sprintf("+1201555%04d", n), Name: fmt.Sprintf("Customer %d of the corner shop", n)}})
		}
		if _, err := s.UpsertContacts(rows); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		_, _, err := s.Enqueue(store.Message{To: fmt.Sprintf("+1201555%04d", i), Text: "Your order is ready",
			Parts: []store.Part{{Seq: 1, MR: -1}}, ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Compact(db); err != nil {
		t.Fatal(err)
	}
	return dir, db
}

// startOutcome is how one run of the binary ended.
type startOutcome struct {
	served bool // it printed "listening on" (and was then stopped)
	code   int  // exit status when it did not serve
	output string
}

// runStart runs the binary until it either serves (then stops it with
// SIGTERM) or exits by itself. The minute is a hang guard, not a timing.
func runStart(t *testing.T, args ...string) startOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, simgateBinary(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	served := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if reListening.MatchString(sc.Text()) && !served {
			served = true
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	err = cmd.Wait()
	o := startOutcome{served: served, output: out.String() + stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		o.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s did not end within a minute:\n%s", strings.Join(args, " "), o.output)
	}
	return o
}

// wantRefused checks that the binary refused to start on a bad data file
// with status 65, a message holding every one of want, and no panic.
func wantRefused(t *testing.T, o startOutcome, want ...string) {
	t.Helper()
	if o.served {
		t.Fatalf("simgate started serving on a bad data file:\n%s", o.output)
	}
	if o.code != exitDataErr {
		t.Errorf("exit status %d, want %d (EX_DATAERR):\n%s", o.code, exitDataErr, o.output)
	}
	for _, w := range want {
		if !strings.Contains(o.output, w) {
			t.Errorf("output does not say %q:\n%s", w, o.output)
		}
	}
	if strings.Contains(o.output, "panic") || strings.Contains(o.output, "goroutine ") {
		t.Errorf("it panicked instead of refusing:\n%s", o.output)
	}
}

func serveArgs(dir string, extra ...string) []string {
	return append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}, extra...)
}

// A 0-byte simgate.db used to start as a fresh, empty database: the STOP
// list and the consent ledger silently gone. Only --init may do that.
func TestServeRefusesEmptyDatabaseFile(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, dbFile)
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, runStart(t, serveArgs(dir)...), "simgate.db is empty (0 bytes)", "--init")
	if st, err := os.Stat(db); err != nil || st.Size() != 0 {
		t.Fatalf("the refused file was changed: %v, %v", st, err)
	}

	// The other commands that open the file refuse it too.
	out, err := exec.Command(simgateBinary(t), "token", "create", "--data", dir, "--name", "x").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitDataErr || !strings.Contains(string(out), "0 bytes") {
		t.Errorf("token create on a 0-byte file: %v\n%s", err, out)
	}

	if o := runStart(t, serveArgs(dir, "--init")...); !o.served {
		t.Fatalf("--init did not start a new database:\n%s", o.output)
	}
	// Once made, the file is an ordinary database: no --init needed.
	if o := runStart(t, serveArgs(dir)...); !o.served {
		t.Fatalf("restart after --init:\n%s", o.output)
	}
}

// A data directory that holds files but no simgate.db has lost its
// database (moved, deleted, a wrong mount): starting fresh there would
// forget every opt-out, so it needs --init as well. A new, empty directory
// needs nothing.
func TestServeRefusesMissingDatabaseInUsedDir(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	fresh := filepath.Join(t.TempDir(), "new")
	if o := runStart(t, serveArgs(fresh)...); !o.served {
		t.Fatalf("a new data directory did not start:\n%s", o.output)
	}
	used := t.TempDir()
	if err := os.Mkdir(filepath.Join(used, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, runStart(t, serveArgs(used)...), "no simgate.db", "--init")
	if _, err := os.Stat(filepath.Join(used, dbFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created in the refused directory: %v", err)
	}
	if o := runStart(t, serveArgs(used, "--init")...); !o.served {
		t.Fatalf("--init:\n%s", o.output)
	}
}

// A file cut in half used to panic at start ("invalid freelist page").
func TestServeRefusesTruncatedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir, db := seedDataDir(t)
	st, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(db, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, runStart(t, serveArgs(dir)...), "simgate.db is damaged", "truncated", "simgate check")
	// --init never replaces a file that has data in it.
	wantRefused(t, runStart(t, serveArgs(dir, "--init")...), "simgate.db is damaged")
}

// 64 KB of garbage in the middle of the file used to go unnoticed: the
// daemon served and accepted writes, and a listing panicked later.
func TestServeRefusesGarbageMidFile(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir, db := seedDataDir(t)
	garbleMiddle(t, db, 64<<10)
	wantRefused(t, runStart(t, serveArgs(dir)...), "simgate.db is damaged", "simgate check")
}

// garbleMiddle overwrites n bytes in the middle of the file with
// pseudo-random bytes (a fixed seed, so a failure can be reproduced).
func garbleMiddle(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 4*int64(n) {
		t.Fatalf("the seeded file is only %d bytes", st.Size())
	}
	garbage := make([]byte, n)
	rng := rand.New(rand.NewPCG(15, 5))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	if _, err := f.WriteAt(garbage, st.Size()/2&^4095); err != nil {
		t.Fatal(err)
	}
}

// simgate check reads the whole file and says what it found: status 0 on a
// sound file, 65 and a list of problems on a damaged one.
func TestCheckCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir, db := seedDataDir(t)
	check := func() (int, string) {
		out, err := exec.Command(simgateBinary(t), "check", "--data", dir).CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	code, out := check()
	if code != 0 || !strings.Contains(out, "no damage found") || !strings.Contains(out, "every page") {
		t.Fatalf("check of a sound file: status %d\n%s", code, out)
	}
	garbleMiddle(t, db, 64<<10)
	code, out = check()
	if code != exitDataErr || !strings.Contains(out, "simgate.db is damaged") || !strings.Contains(out, "page") {
		t.Errorf("check of a damaged file: status %d\n%s", code, out)
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Errorf("check panicked:\n%s", out)
	}
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	if code, out = check(); code != exitDataErr || !strings.Contains(out, "0 bytes") {
		t.Errorf("check of a 0-byte file: status %d\n%s", code, out)
	}
}

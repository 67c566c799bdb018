package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/simgate/simgate/store"
)

// TestEndToEndBackupDuringRunAndRestore takes a backup with `simgate
// backup` through the running daemon's control socket while 2,000 texts
// are submitted and sent, stops the daemon, restores the backup into a new
// data directory with `simgate restore`, and checks every message in it
// against the live file: each one the backup holds is the same text to the
// same number, in a state the message really passed through, and every
// message the backup lacks was created after it.
func TestEndToEndBackupDuringRunAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	messages := 2000
	if os.Getenv("SIMGATE_E2E_QUICK") != "" {
		messages = 300
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, _ := startSim(t, dir, 2, "--latency", "5ms", "--report-delay", "50ms")
	token := createToken(t, data)
	p, base := startServe(t, data, links)
	c := &api{t: t, base: base, token: token, http: &http.Client{}}

	var wg sync.WaitGroup
	backupAt := messages / 2
	submitted := make(chan int, messages)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range messages {
			var m apiMessage
			code, err := c.do("POST", "/api/v1/messages", map[string]string{"to": e2eRecipient(i), "text": e2eText(i)}, &m)
			if err != nil || code != http.StatusAccepted {
				t.Errorf("submit %d: %d %v", i, code, err)
				return
			}
			submitted <- i
		}
	}()
	for i := range submitted {
		if i == backupAt {
			break
		}
	}
	backup := filepath.Join(dir, "during-run.db")
	out, err := exec.Command(simgateBinary(t), "backup", "--data", data, "--to", backup).CombinedOutput()
	if err != nil {
		t.Fatalf("simgate backup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "from the running daemon") {
		t.Errorf("backup did not go through the daemon: %s", out)
	}
	wg.Wait()
	p.kill(syscall.SIGTERM)
	<-p.done

	// A second backup after the stop goes straight to the file.
	out, err = exec.Command(simgateBinary(t), "backup", "--data", data, "--to", filepath.Join(dir, "stopped.db")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no daemon running") {
		t.Fatalf("backup with the daemon stopped: %v\n%s", err, out)
	}

	restored := filepath.Join(dir, "restored")
	out, err = exec.Command(simgateBinary(t), "restore", backup, "--data", restored).CombinedOutput()
	if err != nil {
		t.Fatalf("simgate restore: %v\n%s", err, out)
	}
	out, err = exec.Command(simgateBinary(t), "check", "--data", restored).CombinedOutput()
	if err != nil {
		t.Fatalf("simgate check of the restored file: %v\n%s", err, out)
	}

	live, err := store.Open(filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	copyDB, err := store.Open(filepath.Join(restored, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	liveMsgs := allMessages(t, live)
	copyMsgs := allMessages(t, copyDB)
	if len(liveMsgs) != messages {
		t.Fatalf("the live file holds %d messages, want %d", len(liveMsgs), messages)
	}
	if len(copyMsgs) < backupAt || len(copyMsgs) > messages {
		t.Fatalf("the backup holds %d messages; it was taken after %d were accepted", len(copyMsgs), backupAt)
	}
	var newest uint64
	for id, m := range copyMsgs {
		l, ok := liveMsgs[id]
		if !ok {
			t.Fatalf("message %d is in the backup but not in the live file", id)
		}
		if m.To != l.To || m.Text != l.Text || !m.CreatedAt.Equal(l.CreatedAt) {
			t.Errorf("message %d differs: backup %q to %s, live %q to %s", id, m.Text, m.To, l.Text, l.To)
		}
		// The backup's state is one the message passed through.
		passed := false
		for _, tr := range l.History {
			passed = passed || tr.Status == m.Status
		}
		if !passed {
			t.Errorf("message %d is %s in the backup, a state its live history %v never had", id, m.Status, l.History)
		}
		newest = max(newest, id)
	}
	for id := range liveMsgs {
		if _, ok := copyMsgs[id]; !ok && id < newest {
			t.Errorf("message %d is missing from the backup, though %d, made later, is in it", id, newest)
		}
	}
	t.Logf("backup holds %d of %d messages", len(copyMsgs), messages)
}

func allMessages(t *testing.T, db *store.DB) map[uint64]store.Message {
	t.Helper()
	out := map[uint64]store.Message{}
	var before uint64
	for {
		page, next, err := db.List(store.ListFilter{Before: before, Limit: store.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			out[m.ID] = m
		}
		if next == 0 {
			return out
		}
		before = next
	}
}

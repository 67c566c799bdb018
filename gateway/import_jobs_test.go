package gateway

import (
	"context"
	"errors"
	"fmt"
	"github.com/simgate/simgate/gateway/contacts"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// generatedCSV is a contacts file of n valid rows made as it is read:
// large enough that an import is still running when the test acts on it.
// Close is counted, to see that the import let go of its input.
type generatedCSV struct {
	n, i   int
	header bool
	unread []byte
	closed atomic.Int32
}

func newGeneratedCSV(n int) *generatedCSV { return &generatedCSV{n: n} }

func (g *generatedCSV) Read(p []byte) (int, error) {
	if g.closed.Load() != 0 {
		return 0, errors.New("read after close")
	}
	for len(g.unread) == 0 {
		switch {
		case !g.header:
			g.unread, g.header = []byte("phone,name\n"), true
		case g.i == g.n:
			return 0, io.EOF
		default:
			g.unread = fmt.Appendf(g.unread[:0], "+1%03d555%04d,Customer %d\n", 201+g.i/10000, g.i%10000, g.i)
			g.i++
		}
	}
	n := copy(p, g.unread)
	g.unread = g.unread[n:]
	return n, nil
}

func (g *generatedCSV) Close() error {
	g.closed.Add(1)
	return nil
}

// waitWritten waits until job has written at least rows rows; the limit
// is a hang guard, not a speed assertion.
func waitWritten(t *testing.T, g *Gateway, id string, rows int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		j, err := g.Contacts().Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != contacts.ImportRunning {
			t.Fatalf("job ended (%s) before the test could act on it", j.State)
		}
		if j.Report.Imported >= rows {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job wrote %d rows, waiting for %d: %+v", j.Report.Imported, rows, j)
		}
	}
}

// TestCancelImport cancels an import of a large generated file: it stops
// reading, lets go of its input, reports cancelled with the rows it had
// written (which stay), and cannot be cancelled twice.
func TestCancelImport(t *testing.T) {
	g := newContactsGateway(t)
	const rows = 500_000
	src := newGeneratedCSV(rows)
	job, err := g.Contacts().Import(context.Background(), src, contacts.ImportOptions{FileName: "big.csv"})
	if err != nil {
		t.Fatal(err)
	}
	waitWritten(t, g.Gateway, job.ID, 2000)
	got, err := g.Contacts().Cancel(context.Background(), job.ID, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != contacts.ImportCancelled || got.FinishedAt.IsZero() || got.Error != "" {
		t.Fatalf("cancelled job %+v", got)
	}
	stored, err := g.Contacts().Count()
	if err != nil {
		t.Fatal(err)
	}
	if got.Report.Imported < 2000 || got.Report.Imported != stored || got.RowsRead != got.Report.Imported || got.RowsRead >= rows {
		t.Errorf("cancelled after %d rows read, %d imported, %d contacts stored; want the rows written, all counted, fewer than %d",
			got.RowsRead, got.Report.Imported, stored, rows)
	}
	if src.closed.Load() == 0 {
		t.Error("the cancelled import did not close its input")
	}
	if again, err := g.Contacts().Job(job.ID); err != nil || again.State != contacts.ImportCancelled || again.Report.Imported != got.Report.Imported {
		t.Errorf("job read again: %+v, %v", again, err)
	}
	if _, err := g.Contacts().Cancel(context.Background(), job.ID, "ana"); !errors.Is(err, ErrConflict) {
		t.Errorf("second cancel: %v, want ErrConflict", err)
	}
	if _, err := g.Contacts().Cancel(context.Background(), "nope", "ana"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel of an unknown job: %v, want ErrNotFound", err)
	}
	done := importFile(t, g.Gateway, "phone\n+12015550100\n", contacts.ImportOptions{})
	if _, err := g.Contacts().Cancel(context.Background(), done.ID, "ana"); !errors.Is(err, ErrConflict) {
		t.Errorf("cancel of a finished job: %v, want ErrConflict", err)
	}
}

// TestRunEndInterruptsImport: an import started before Run belongs to Run
// all the same: when Run's context ends mid-import, Run returns only after
// the import stopped and recorded itself interrupted, with the rows it
// wrote; after Run, imports are refused.
func TestRunEndInterruptsImport(t *testing.T) {
	g := newContactsGateway(t)
	src := newGeneratedCSV(500_000)
	job, err := g.Contacts().Import(context.Background(), src, contacts.ImportOptions{FileName: "big.csv"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- g.Run(ctx) }()
	waitWritten(t, g.Gateway, job.ID, 1000)
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	// Read straight from the store, the moment Run returned: the job's
	// last write happened before.
	rec, err := g.db.ImportJob(job.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := g.Contacts().Count()
	if rec.State != contacts.ImportInterrupted || rec.Imported != stored || rec.Imported < 1000 || !strings.Contains(rec.Error, "stopped") {
		t.Errorf("job when Run returned: %s (%q), %d imported, %d contacts stored", rec.State, rec.Error, rec.Imported, stored)
	}
	if src.closed.Load() == 0 {
		t.Error("the interrupted import did not close its input")
	}
	if _, err := g.Contacts().Import(context.Background(), strings.NewReader("phone\n+12015550100\n"), contacts.ImportOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("import after Run returned: %v, want it refused", err)
	}
}

// TestImportJobsSurviveRestart: a finished job's report and rejected rows
// are read back after the store is closed and opened again, and a job the
// process left running (it crashed: the store was closed under it) is
// reported interrupted with the rows of the batches it wrote.
func TestImportJobsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "simgate.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(db, Config{Region: "US", Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	finished := importFile(t, g, "phone,name\n+12015550101,Ana\nbad,Bo\n+12015550101,Ana again\n", contacts.ImportOptions{FileName: "shop.csv"})

	pr, pw := io.Pipe()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		var b strings.Builder
		b.WriteString("phone\n")
		for i := range 2500 {
			fmt.Fprintf(&b, "+1%03d555%04d\n", 301+i/10000, i%10000)
		}
		_, _ = io.WriteString(pw, b.String()) // the rest of the file never comes
	}()
	crashed, err := g.Contacts().Import(context.Background(), pr, contacts.ImportOptions{FileName: "crash.csv"})
	if err != nil {
		t.Fatal(err)
	}
	waitWritten(t, g, crashed.ID, 2000)
	if err := db.Close(); err != nil { // the crash: nothing more reaches the file
		t.Fatal(err)
	}
	pw.Close()
	<-writerDone

	db, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g, err = New(db, Config{Region: "US", Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	again, err := g.Contacts().Job(finished.ID)
	if err != nil {
		t.Fatalf("finished job after a restart: %v", err)
	}
	if again.State != contacts.ImportDone || again.Report.Imported != 1 || again.Report.Invalid != 2 || len(again.Report.Rejected) != 2 ||
		again.FileName != "shop.csv" || again.Columns["phone"] != "number" {
		t.Errorf("finished job after a restart: %+v", again)
	}
	var csv strings.Builder
	if err := g.Contacts().WriteRejectedCSV(&csv, finished.ID); err != nil || !strings.Contains(csv.String(), "duplicate of row 2") {
		t.Errorf("rejected rows after a restart: %q, %v", csv.String(), err)
	}
	lost, err := g.Contacts().Job(crashed.ID)
	if err != nil {
		t.Fatalf("crashed job after a restart: %v", err)
	}
	if lost.State != contacts.ImportInterrupted || lost.Report.Imported != 2000 || lost.RowsRead != 2000 || lost.Error == "" {
		t.Errorf("crashed job after a restart: %+v", lost)
	}
	if jobs := g.Contacts().Jobs(); len(jobs) != 2 || jobs[0].ID != crashed.ID {
		t.Errorf("jobs after a restart: %+v", jobs)
	}
}

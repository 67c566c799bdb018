package contacts

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// pipedFile is an upload whose rows the test writes while the import
// reads them: the first part is there at once, the rest comes through the
// pipe. Closing it (the import owns its input) closes the pipe, which
// tells the writer the import stopped reading.
type pipedFile struct {
	io.Reader
	pipe *io.PipeReader
}

func (p pipedFile) Close() error { return p.pipe.Close() }

// validRows are n rows of distinct valid numbers from first on.
func validRows(first, n int) string {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "+1201%03d%04d,Customer %d\n", 200+i/10000, i%10000, i)
	}
	return b.String()
}

// TestImportStopsAtTheFirstFailedWrite: when a batch cannot be written the
// job fails there, naming the rows, counts the batches written before and
// reads no further; it does not go on reading (and failing to write) the
// rest of the file. The write failure is real: the store is closed under
// the import after its first two batches.
func TestImportStopsAtTheFirstFailedWrite(t *testing.T) {
	b, db := newBook(t)
	pr, pw := io.Pipe()
	in := pipedFile{Reader: io.MultiReader(strings.NewReader("phone,name\n"+validRows(0, 2*importBatch)), pr), pipe: pr}
	job, err := b.Import(t.Context(), in, ImportOptions{FileName: "big.csv"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		n, err := db.CountContacts()
		if err != nil {
			t.Fatal(err)
		}
		if n == 2*importBatch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d contacts stored, want the first two batches", n)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rest := validRows(2*importBatch, 5*importBatch)
	written := make(chan error, 1)
	go func() {
		// Fails with io.ErrClosedPipe once the import stopped reading.
		n, err := io.WriteString(pw, rest)
		if err == nil {
			err = fmt.Errorf("the import read all %d bytes", n)
		}
		pw.Close()
		written <- err
	}()
	done, err := b.Wait(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != ImportFailed || !strings.Contains(done.Error, fmt.Sprintf("write rows %d to %d", 2*importBatch+2, 3*importBatch+1)) {
		t.Fatalf("job %s (%q), want failed writing the third batch", done.State, done.Error)
	}
	if done.RowsRead != 2*importBatch || done.Report.Imported != 2*importBatch {
		t.Errorf("job counts %d rows read, %d imported; want the %d of the batches written", done.RowsRead, done.Report.Imported, 2*importBatch)
	}
	if err := <-written; !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("the rest of the file: %v, want the import to stop reading (io.ErrClosedPipe)", err)
	}
}

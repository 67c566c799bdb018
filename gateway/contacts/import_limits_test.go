package contacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// countedReader counts what the import took of its input.
type countedReader struct {
	r io.Reader
	n int64
}

func (c *countedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// importEnd runs an import of body to its end, whatever that is.
func importEnd(t *testing.T, b *Book, body io.Reader) ImportJob {
	t.Helper()
	job, err := b.Import(context.Background(), body, ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done, err := b.Wait(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// TestImportRefusesLongHeader: a 10 MB "header" (a file that is not CSV,
// or has no line breaks) is refused after the first 64 KiB, naming the
// limit and never echoing it back as column names.
func TestImportRefusesLongHeader(t *testing.T) {
	b, _ := newBook(t)
	for _, tc := range []struct {
		name, header string
	}{
		{"no line break", strings.Repeat("x", 10<<20)},
		{"many short columns", strings.Repeat("x,", 5<<20) + "phone\n+12015550101\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &countedReader{r: strings.NewReader(tc.header)}
			_, err := b.Import(context.Background(), in, ImportOptions{})
			var fe *store.FieldError
			if !errors.As(err, &fe) || fe.Field != "file" || !strings.Contains(fe.Message, "64 KiB") {
				t.Fatalf("got %v, want a FieldError on file naming the 64 KiB limit", err)
			}
			if strings.Contains(fe.Message, "xx") {
				t.Errorf("the error echoes the header: %.80s...", fe.Message)
			}
			if in.n > 1<<20 {
				t.Errorf("read %d bytes of the file before refusing it", in.n)
			}
		})
	}
	long := strings.Repeat("y", maxHeaderName+1)
	_, err := b.Import(context.Background(), strings.NewReader("phone,"+long+"\n+12015550101,x\n"), ImportOptions{})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "file" || !strings.Contains(fe.Message, "column 2") || strings.Contains(fe.Message, "yy") {
		t.Errorf("a %d-byte column name: %v, want a FieldError naming the column, not echoing it", len(long), err)
	}
	if jobs := b.Jobs(); len(jobs) != 0 {
		t.Errorf("refused files left %d jobs", len(jobs))
	}
}

// TestImportRefusesLongLine: a data line over 64 KiB fails the job with
// its line number and the limit, without reading the rest of the file; a
// line of exactly 64 KiB is read.
func TestImportRefusesLongLine(t *testing.T) {
	b, db := newBook(t)
	// A name cell that makes the line exactly maxImportLine bytes long,
	// line break excluded.
	fits := "+12015550102," + strings.Repeat("n", maxImportLine-len("+12015550102,"))
	ok := importEnd(t, b, strings.NewReader("phone,note\n+12015550101,a\n"+fits+"\n"))
	if ok.State != ImportDone || ok.RowsRead != 2 {
		t.Fatalf("a line of exactly %d bytes: %s %q, %d rows", maxImportLine, ok.State, ok.Error, ok.RowsRead)
	}
	tooLong := fits + "n"
	rest := strings.Repeat("+12015550103,c\n", 100_000)
	in := &countedReader{r: strings.NewReader("phone,note\n+12015550101,a\n+12015550104,b\n" + tooLong + "\n" + rest)}
	job := importEnd(t, b, in)
	want := fmt.Sprintf("line 4 is longer than %d KiB", maxImportLine>>10)
	if job.State != ImportFailed || job.Error != want {
		t.Fatalf("job %s %q, want failed with %q", job.State, job.Error, want)
	}
	if in.n > 1<<20 {
		t.Errorf("read %d bytes: the import went on past the line", in.n)
	}
	if _, err := db.ContactByNumber("+12015550103"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a row after the long line was stored: %v", err)
	}
}

// TestImportRefusesRunawayQuote: a quote that never closes makes one
// row of the rest of the file; the job fails once that row passes the
// limit, naming the line it starts on, instead of reading the file into
// one field.
func TestImportRefusesRunawayQuote(t *testing.T) {
	b, _ := newBook(t)
	body := "phone,name\n+12015550101,Ana\n+12015550102,\"Bo\n" + strings.Repeat(strings.Repeat("z", 1000)+"\n", 5000)
	in := &countedReader{r: strings.NewReader(body)}
	job := importEnd(t, b, in)
	want := fmt.Sprintf("line 3: the row starting there is longer than %d KiB", maxImportLine>>10)
	if job.State != ImportFailed || !strings.HasPrefix(job.Error, want) {
		t.Fatalf("job %s %q, want failed with %q", job.State, job.Error, want)
	}
	if in.n > 1<<20 {
		t.Errorf("read %d bytes of a runaway field", in.n)
	}
}

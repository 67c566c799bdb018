package contacts

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// rowSource is a CSV file of n rows that is made as it is read, so that
// a test of the import's memory holds none of it.
type rowSource struct {
	header string
	n, i   int
	row    func(buf []byte, i int) []byte
	buf    []byte
	unread []byte
}

func (s *rowSource) Read(p []byte) (int, error) {
	for len(s.unread) == 0 {
		switch {
		case s.header != "":
			s.unread, s.header = []byte(s.header), ""
		case s.i == s.n:
			return 0, io.EOF
		default:
			s.buf = s.row(s.buf[:0], s.i)
			s.unread = s.buf
			s.i++
		}
	}
	n := copy(p, s.unread)
	s.unread = s.unread[n:]
	return n, nil
}

// liveHeap is the heap the last garbage collection found in use.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// importHeap imports src to its end and reports the most heap found live
// while it ran and the heap it left behind, both above what was live
// before.
func importHeap(t testing.TB, b *Book, src io.Reader) (job ImportJob, peak, retained int64) {
	t.Helper()
	// The live heap a collection reports also counts what was allocated
	// while it marked. With the default GOGC that can reach twice the
	// heap, and on a starved CPU it did (28 MB reported for an import
	// holding 5 MB); a small GOGC keeps each collection's goal, and so
	// what it can count beyond the live objects, within a few percent.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	base := liveHeap()
	var (
		mu  sync.Mutex
		max uint64
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				mu.Lock()
				max = maxOf(max, liveHeap())
				mu.Unlock()
			}
		}
	}()
	started, err := b.Import(context.Background(), src, ImportOptions{FileName: "big.csv"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	job, err = b.Wait(ctx, started.ID)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	job.Report.Rejected = nil // the list is this read's, not the job's memory
	runtime.GC()
	after := liveHeap()
	runtime.KeepAlive(b) // the gateway keeps its Book: what the Book holds counts
	return job, int64(maxOf(max, after)) - int64(base), int64(after) - int64(base)
}

func maxOf(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// rejectedRows makes rows with a number that is not one and a 2 KiB
// note, each refused.
func rejectedRows(buf []byte, i int) []byte {
	buf = fmt.Appendf(buf, "not a number %d,", i)
	buf = append(buf, strings.Repeat("n", 2<<10)...)
	return append(buf, '\n')
}

// TestImportMemoryBounded imports 100,000 rejected rows of 2 KiB (200 MB,
// made as they are read) and measures the heap: the job holds a few MB
// while it runs and nothing once it ended, however large the file; the
// rows it keeps for the report are in the store. Before, a job held its
// rejected rows in memory: here 10,000 of them, over 20 MB, for as long as
// the job was listed.
func TestImportMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200 MB")
	}
	b, _ := newBook(t)
	const rows = 100_000
	src := &rowSource{header: "phone,note\n", n: rows, row: rejectedRows}
	job, peak, retained := importHeap(t, b, src)
	t.Logf("%d rejected rows of 2 KiB: live heap up to %.1f MB while importing, %.1f MB retained after",
		rows, float64(peak)/(1<<20), float64(retained)/(1<<20))
	if job.State != ImportDone || job.Report.Invalid != rows || !job.Report.RejectedTruncated {
		t.Fatalf("job %s: %+v", job.State, job.Report)
	}
	const peakLimit, retainedLimit = 16 << 20, 2 << 20
	if peak > peakLimit {
		t.Errorf("the import held %.1f MB at its peak, want at most %d MB", float64(peak)/(1<<20), peakLimit>>20)
	}
	if retained > retainedLimit {
		t.Errorf("the ended job left %.1f MB on the heap, want at most %d MB", float64(retained)/(1<<20), retainedLimit>>20)
	}
}

// BenchmarkImportMemory reports the heap an import holds at its peak and
// leaves behind, for 100,000 rejected rows of 2 KiB and for 100,000 valid
// rows (whose numbers the job must remember to find duplicates).
func BenchmarkImportMemory(b *testing.B) {
	for _, tc := range []struct {
		name string
		row  func(buf []byte, i int) []byte
	}{
		{"rejected", rejectedRows},
		{"valid", func(buf []byte, i int) []byte {
			return fmt.Appendf(buf, "+1201%03d%04d,Customer %d\n", 200+i/10000, i%10000, i)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var peak, retained int64
			for b.Loop() {
				book, _ := newBook(b)
				_, p, r := importHeap(b, book, &rowSource{header: "phone,note\n", n: 100_000, row: tc.row})
				peak, retained = max(peak, p), max(retained, r)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
			b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
		})
	}
}

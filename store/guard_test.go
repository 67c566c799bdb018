package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/bbolt"
)

// problems records what OnHealthChange reports.
type problems struct {
	mu   sync.Mutex
	seen []error
}

func (p *problems) record(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, err)
}

func (p *problems) list() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.seen...)
}

// A damaged page that the start-up check did not read (the file is over
// its bound) makes bbolt panic inside a read. The read fails with
// ErrDamaged instead of taking the process down, the watcher hears of it,
// every write is refused from then on, and reads elsewhere still work.
func TestPanicInReadStopsWrites(t *testing.T) {
	path := seedFile(t)
	damagePageHolding(t, path, "message-marker-0150")
	db, err := Open(path, WithStartCheck(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var seen problems
	db.OnHealthChange(seen.record)
	if err := db.Writable(); err != nil {
		t.Fatalf("before the damage is met: Writable = %v", err)
	}

	// Walk the history page by page until the damaged page is met.
	var readErr error
	for before := uint64(0); ; {
		page, next, err := db.List(ListFilter{Before: before, Limit: 50})
		if err != nil {
			readErr = err
			break
		}
		if len(page) == 0 || next == 0 {
			break
		}
		before = next
	}
	if !errors.Is(readErr, ErrDamaged) {
		t.Fatalf("listing over a damaged page: %v, want ErrDamaged", readErr)
	}
	if got := seen.list(); len(got) != 1 || !errors.Is(got[0], ErrDamaged) {
		t.Errorf("watcher heard %v, want one ErrDamaged", got)
	}

	_, err = db.CreateContact(Contact{Number: "+12025550199"})
	if !errors.Is(err, ErrWritesStopped) || !errors.Is(err, ErrDamaged) {
		t.Fatalf("a write after the damage: %v, want ErrWritesStopped and ErrDamaged", err)
	}
	if _, _, err := db.Enqueue(Message{To: "+12025550199", Text: "x", Parts: []Part{{Seq: 1, MR: -1}}}); !errors.Is(err, ErrWritesStopped) {
		t.Errorf("a batched write after the damage: %v, want ErrWritesStopped", err)
	}
	if err := db.Writable(); !errors.Is(err, ErrWritesStopped) || !strings.Contains(err.Error(), "since") {
		t.Errorf("Writable = %v, want ErrWritesStopped saying since when", err)
	}
	// Reads that do not meet the damaged page go on.
	if c, err := db.ContactByNumber("+12015550007"); err != nil || c.Name != "contact-marker-0007" {
		t.Errorf("reading an undamaged record: %+v, %v", c, err)
	}
	if len(seen.list()) != 1 {
		t.Errorf("the watcher was told again: %v", seen.list())
	}
}

// A panic inside a write transaction's own function is caught in whichever
// goroutine runs it: a shared commit runs in the goroutine of one of its
// writers.
func TestPanicInBatchedWrite(t *testing.T) {
	db := openTest(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.bolt.Batch(func(tx *bbolt.Tx) error {
				if i == 3 {
					panic(fmt.Sprintf("page %d is not a page", i))
				}
				return tx.Bucket(bucketMeta).Put([]byte(fmt.Sprint("k", i)), []byte("v"))
			})
		}()
	}
	wg.Wait()
	if !errors.Is(errs[3], ErrDamaged) {
		t.Errorf("the panicking write: %v, want ErrDamaged", errs[3])
	}
	if err := db.Writable(); !errors.Is(err, ErrWritesStopped) {
		t.Errorf("Writable after a panic in a batch: %v", err)
	}
}

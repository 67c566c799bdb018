package store

import (
	"runtime/debug"
	"slices"
	"sync/atomic"

	"go.etcd.io/bbolt"
)

// Group commit without a wait. bbolt's Batch holds every write for
// MaxBatchDelay hoping for company: a lone client then waits out the
// window on every request (one sequential client got ~270 submits/s with
// 2 ms), and a modem's `sending` mark could not share a commit without
// the same wait. groupCommit never waits for writers that are not there:
// a write arriving while no commit runs commits at once; writes arriving
// while one runs are gathered and go together in the next. Under load the
// batches grow by themselves, because a commit (an fdatasync or two) takes
// longer than a request.

// maxGroup bounds one shared commit, as bbolt's default MaxBatchSize does.
const maxGroup = 1000

// groupCommit gathers writes into shared transactions.
type groupCommit struct {
	turn    chan struct{} // held by the goroutine committing a group
	mu      chan struct{} // guards pending (a channel: see lock)
	pending []*groupCall
	size    int // most calls per commit: maxGroup, or 1 without group commit

	commits atomic.Uint64 // write transactions committed (shared or not), for benchmarks
	calls   atomic.Uint64 // writes they carried
}

// groupCall is one write waiting for its commit.
type groupCall struct {
	fn   func(*bbolt.Tx) error
	err  error
	done chan struct{}
}

func newGroupCommit(size int) *groupCommit {
	return &groupCommit{turn: make(chan struct{}, 1), mu: make(chan struct{}, 1), size: size}
}

// lock and unlock guard pending. A channel rather than a sync.Mutex, so
// that a goroutine waiting here is durably blocked for testing/synctest.
func (g *groupCommit) lock()   { g.mu <- struct{}{} }
func (g *groupCommit) unlock() { <-g.mu }

// do runs fn in a shared write transaction and returns once that
// transaction committed (fsync) or failed. fn may run more than once: a
// group whose member fails is rolled back and run again without it.
func (b boltDB) groupDo(fn func(*bbolt.Tx) error) error {
	g := b.group
	c := &groupCall{fn: fn, done: make(chan struct{})}
	g.lock()
	g.pending = append(g.pending, c)
	g.unlock()
	for {
		select {
		case <-c.done:
			return c.err
		case g.turn <- struct{}{}:
			// This goroutine commits whatever waits, its own write
			// included unless an earlier group took it.
			g.lock()
			n := min(len(g.pending), g.size)
			group := slices.Clone(g.pending[:n])
			g.pending = slices.Delete(g.pending, 0, n)
			g.unlock()
			if len(group) > 0 {
				b.commitGroup(group)
			}
			<-g.turn
		}
	}
}

// commitGroup commits group in one transaction. When a member fails, the
// transaction is rolled back: that member runs again alone (its error may
// have come from a write of another member before it) and gets its own
// outcome, and the rest run again together, as bbolt's Batch does.
func (b boltDB) commitGroup(group []*groupCall) {
	for len(group) > 0 {
		failed := -1
		err := b.commitTx(func(tx *bbolt.Tx) error {
			for i, c := range group {
				if err := c.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			b.group.commits.Add(1)
			b.group.calls.Add(uint64(len(group)))
			for _, c := range group {
				c.err = err
				close(c.done)
			}
			return
		}
		c := group[failed]
		c.err = b.commitTx(c.fn)
		if c.err == nil {
			b.group.commits.Add(1)
			b.group.calls.Add(1)
		}
		close(c.done)
		group = slices.Delete(group, failed, failed+1)
	}
}

// commitTx runs one write transaction. A panic in bbolt's own commit code
// becomes an error wrapping ErrDamaged for every member of the group, as
// it would for a lone Update, instead of ending the process.
func (b boltDB) commitTx(fn func(*bbolt.Tx) error) (err error) {
	defer b.health.recoverPanic(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return b.DB.Update(fn)
}

// CommitStats is how many write transactions the store committed, and how
// many writes (Update and Batch calls) they carried.
type CommitStats struct {
	Commits uint64
	Writes  uint64
}

// CommitStats reports the commits so far (for benchmarks: bbolt
// fdatasyncs twice per commit, after the pages and after the meta page).
func (db *DB) CommitStats() CommitStats {
	return CommitStats{Commits: db.bolt.group.commits.Load(), Writes: db.bolt.group.calls.Load()}
}

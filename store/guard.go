package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
)

var (
	// ErrDamaged is returned when the database file turned out to be
	// damaged: a read inside it panicked (a page that is not what its
	// parent says it is), or the check at Open found a problem.
	ErrDamaged = errors.New("the database file is damaged")
	// ErrWritesStopped is returned for every write once the file was found
	// damaged while running: writing more into a damaged file can only
	// spread the damage. It stays until the process restarts, when Open
	// checks the file again. Errors carrying it also carry ErrDamaged.
	ErrWritesStopped = errors.New("writes are stopped")
	// ErrDiskFull is returned by a write that failed because the file
	// system is out of space (ENOSPC) or the owner's quota is used up
	// (EDQUOT). Nothing of that write was stored; the file is intact and
	// later writes succeed once there is room.
	ErrDiskFull = errors.New("no space left for the database")
)

// boltDB is bbolt's DB with every transaction guarded, so that the store's
// methods, which call db.bolt.View, Update and Batch, are all covered,
// including ones added later. The guard does three things:
//
//   - A panic inside a transaction (bbolt asserts on a page that is not
//     what it should be; a damaged page can make it read past the file) is
//     recovered and returned as an error wrapping ErrDamaged, and marks the
//     file damaged: every later write is refused with ErrWritesStopped.
//     Memory faults on the mapped file become such panics too
//     (debug.SetPanicOnFault) instead of killing the process. The store
//     cannot tell a damaged page from a bug that trips over a sound one;
//     either way, writing on is the risk, and a restart checks the file.
//   - A write that fails for lack of space returns an error wrapping
//     ErrDiskFull and marks the disk full until there is room again.
//   - Whoever watches (DB.OnHealthChange) hears of each change.
//
// Shared commits (Batch) run in the goroutine of one of their writers,
// guarded the same way: a panic while committing fails every writer of
// the group with ErrDamaged.
type boltDB struct {
	*bbolt.DB
	health *health
	group  *groupCommit
}

// View runs fn in a read transaction, guarded.
func (b boltDB) View(fn func(*bbolt.Tx) error) (err error) {
	defer b.health.recoverPanic(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return b.DB.View(fn)
}

// Update runs fn in a write transaction, guarded; it is refused at once
// while writes are stopped.
func (b boltDB) Update(fn func(*bbolt.Tx) error) (err error) {
	if err := b.health.writesStopped(); err != nil {
		return err
	}
	defer b.health.afterWrite(&err)
	defer b.health.recoverPanic(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := b.DB.Update(b.guard(fn)); err != nil {
		return err
	}
	b.group.commits.Add(1)
	b.group.calls.Add(1)
	return nil
}

// Batch is Update through a shared commit (groupcommit.go), guarded:
// writes that arrive while a commit runs go together in the next one, and
// a lone write commits at once. fn runs in whichever goroutine commits the
// group, so it carries its own guard, and may run more than once.
func (b boltDB) Batch(fn func(*bbolt.Tx) error) (err error) {
	if err := b.health.writesStopped(); err != nil {
		return err
	}
	defer b.health.afterWrite(&err)
	return b.groupDo(b.guard(fn))
}

// guard wraps a write transaction's function: it refuses to run once
// writes are stopped (another member of the same batch may have found the
// damage), and turns a panic into ErrDamaged in the goroutine it runs in.
func (b boltDB) guard(fn func(*bbolt.Tx) error) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) (err error) {
		if err := b.health.writesStopped(); err != nil {
			return err
		}
		defer b.health.recoverPanic(&err)
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		setFill(tx)
		return fn(tx)
	}
}

// health is what the guard knows about the file and the disk under it.
type health struct {
	path string // the database file, whose next growth must fit
	now  func() time.Time

	mu        sync.Mutex
	damaged   error // the first panic; never cleared while running
	damagedAt time.Time
	full      error // the write that found no room; cleared once there is room
	fullAt    time.Time
	onChange  func(problem error)
}

// recoverPanic is deferred directly by the guarded calls (recover only
// works there). A panic becomes an error wrapping ErrDamaged.
func (h *health) recoverPanic(err *error) {
	p := recover()
	if p == nil {
		return
	}
	cause := fmt.Errorf("%v", p)
	h.mu.Lock()
	first := h.damaged == nil
	if first {
		h.damaged, h.damagedAt = cause, h.now()
	}
	h.mu.Unlock()
	*err = fmt.Errorf("store: %w: a read inside it failed (%v); writes are stopped until the file is checked", ErrDamaged, cause)
	if first {
		h.changed()
	}
}

// writesStopped is the error every write gets once the file was found
// damaged, or nil.
func (h *health) writesStopped() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.damaged == nil {
		return nil
	}
	return h.stoppedLocked()
}

func (h *health) stoppedLocked() error {
	return fmt.Errorf("store: %w: %w since %s (%v)", ErrWritesStopped, ErrDamaged,
		h.damagedAt.UTC().Format(time.RFC3339), h.damaged)
}

// afterWrite classifies the outcome of a write: a failure for lack of
// space is marked and wrapped in ErrDiskFull; a success clears the mark if
// the disk has room again.
func (h *health) afterWrite(err *error) {
	switch {
	case *err == nil:
		h.mu.Lock()
		wasFull := h.full != nil
		h.mu.Unlock()
		if wasFull {
			h.recheckRoom()
		}
	case isNoSpace(*err):
		h.mu.Lock()
		first := h.full == nil
		h.full = *err
		if first {
			h.fullAt = h.now()
		}
		h.mu.Unlock()
		*err = fmt.Errorf("store: %w: %w", ErrDiskFull, *err)
		if first {
			h.changed()
		}
	}
}

// isNoSpace reports whether err is the file system saying there is no
// room. bbolt flattens some errors to text (its file-resize error uses %s),
// so the errno's text is matched as well as the errno itself.
func isNoSpace(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}

// recheckRoom clears the disk-full mark when the file system has room for
// the file's next growth (roomFor). Without this a mark would flap: writes
// that reuse the file's free pages succeed on a full disk, and only the
// next one that must grow the file fails again.
func (h *health) recheckRoom() {
	h.mu.Lock()
	if h.full == nil {
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	if !hasRoom(h.path) {
		return
	}
	h.mu.Lock()
	cleared := h.full != nil
	h.full = nil
	h.mu.Unlock()
	if cleared {
		h.changed()
	}
}

// Room bbolt needs to grow the file: it grows by doubling up to its
// AllocSize (16 MiB, bbolt's DefaultAllocSize), then 16 MiB at a time. A
// disk is taken to have room again when the next growth fits, and at least
// a mebibyte, so that one freed block does not clear the mark.
const (
	minRoom = 1 << 20
	maxRoom = 16 << 20
)

// hasRoom reports whether the file system under path has room for the
// file's next growth; true when it cannot tell (the next failing write
// then marks the disk full again).
func hasRoom(path string) bool {
	free, ok := freeBytes(filepath.Dir(path))
	if !ok {
		return true
	}
	need := int64(minRoom)
	if st, err := os.Stat(path); err == nil {
		need = min(max(st.Size(), minRoom), maxRoom)
	}
	return free >= uint64(need)
}

// problem is what stands in the way of writing now: an error wrapping
// ErrWritesStopped (and ErrDamaged), one wrapping ErrDiskFull, or nil.
func (h *health) problem() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.damaged != nil:
		return h.stoppedLocked()
	case h.full != nil:
		return fmt.Errorf("store: %w since %s: %w", ErrDiskFull, h.fullAt.UTC().Format(time.RFC3339), h.full)
	}
	return nil
}

// changed tells the watcher the current problem (nil: none).
func (h *health) changed() {
	h.mu.Lock()
	fn := h.onChange
	h.mu.Unlock()
	if fn != nil {
		fn(h.problem())
	}
}

// Writable reports whether writes can be expected to succeed: nil, or an
// error wrapping ErrWritesStopped (the file was found damaged while
// running) or ErrDiskFull (the last write found no room, and the disk has
// not got enough since). While the disk is full each call measures the
// free space again, so the answer changes as soon as someone frees some.
func (db *DB) Writable() error {
	db.bolt.health.recheckRoom()
	return db.bolt.health.problem()
}

// OnHealthChange sets fn to be called, with what Writable would return,
// each time the file is found damaged, the disk found full, or room found
// again. fn is called in the goroutine that noticed, possibly inside a
// write transaction (a group commit's), so it must not block or use the
// database; one watcher at a time (the last one set).
func (db *DB) OnHealthChange(fn func(problem error)) {
	db.bolt.health.mu.Lock()
	db.bolt.health.onChange = fn
	db.bolt.health.mu.Unlock()
}

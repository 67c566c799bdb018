package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrEmptyFile is returned by Open for a database file of 0 bytes. bbolt
// would quietly make a new, empty database of it, and with it forget every
// opt-out and consent the shop had; only an explicit WithInit allows that.
var ErrEmptyFile = errors.New("refusing to start a new database in its place")

// DefaultStartCheckBytes bounds the check Open runs: a file up to this
// size has every page read and checked; a larger one has its headers, its
// free-page list and the compliance records checked (startCheckBuckets),
// and the rest waits for `simgate check`. Reading and checking 247 MB took
// 5.1 s from a cold cache on a 2-core test VM (0.26 s warm); 128 MiB keeps
// a Raspberry Pi's SD card, which reads at 20-40 MB/s, to a few seconds.
const DefaultStartCheckBytes = 128 << 20

// startCheckBuckets are checked at every start, whatever the file's size:
// losing them silently would mean texting people who said STOP, or
// letting the wrong people in. They stay small (one record per number or
// person), unlike the message history.
var startCheckBuckets = [][]byte{
	bucketMeta, bucketSettings, bucketDisclosures,
	bucketConsent, bucketConsentEvents, bucketConsentByNumber, bucketConsentByInbound, bucketConsentReview,
	bucketSuppression, bucketInboundPending, bucketUsers, bucketTokens, bucketTokensByID,
}

// maxProblems bounds the problems a report lists; a badly damaged file can
// have thousands, and the first few say what is needed.
const maxProblems = 20

// CheckReport is what Verify found in a database file.
type CheckReport struct {
	Path    string
	Size    int64 // bytes on disk
	InUse   int64 // bytes the file's header says are in use
	Schema  uint64
	Full    bool   // every page was checked, not only startCheckBuckets
	Checked string // what was checked, in words
	// Problems lists the damage found, at most maxProblems; More counts
	// the rest. Both empty: no damage found.
	Problems []string
	More     int

	digest byte // what the reads added up to, so that they are not optimised away
}

func (r *CheckReport) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		return
	}
	r.More++
}

// Damaged reports whether any problem was found.
func (r CheckReport) Damaged() bool { return len(r.Problems) > 0 }

// Err is nil for a sound file, else an error wrapping ErrDamaged that
// names the file and the first problem.
func (r CheckReport) Err() error {
	if !r.Damaged() {
		return nil
	}
	n := len(r.Problems) + r.More
	return &damageError{fmt.Sprintf("store: %s is damaged: %s (%d problem%s found)", r.Path, r.Problems[0], n, plural(n))}
}

// damageError is a damaged file's report as an error wrapping ErrDamaged.
type damageError struct{ msg string }

func (e *damageError) Error() string { return e.msg }
func (e *damageError) Unwrap() error { return ErrDamaged }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Verify checks the database file at path without changing it: the
// headers (bbolt's two meta pages and their checksums), that the file is as
// long as its header says (a copy cut short), the free-page list, then
// every bucket and record (each page read and decoded) and bbolt's own
// consistency check (Tx.Check: every page reachable once or free, keys in
// order). A file larger than fullBytes is checked fully only in
// startCheckBuckets. Damage is reported in the CheckReport; the error is
// for a file that could not be looked at (missing, locked by a running
// simgate: ErrLocked).
//
// A damaged page can make bbolt panic or read past the file; Verify turns
// both into problems in the report (debug.SetPanicOnFault), except inside
// the goroutine bbolt's Tx.Check runs in, which is why every page is read
// in this goroutine first and Tx.Check only runs on a file that passed.
func Verify(path string, fullBytes int64) (CheckReport, error) {
	return verify(path, fullBytes, DefaultLockTimeout)
}

func verify(path string, fullBytes int64, lockTimeout time.Duration) (rep CheckReport, err error) {
	rep.Path = path
	st, err := os.Stat(path)
	if err != nil {
		return rep, fmt.Errorf("store: check: %w", err)
	}
	rep.Size = st.Size()
	if rep.Size == 0 {
		rep.Checked = "the file's length"
		rep.problem("the file is empty (0 bytes)")
		return rep, nil
	}
	rep.Checked = "the headers"
	// First open: only the meta pages are read, so a file cut short is
	// told before anything reads past its end.
	err = withReadOnly(path, lockTimeout, false, func(bdb *bbolt.DB) error {
		return guardedView(bdb, func(tx *bbolt.Tx) error {
			rep.InUse = tx.Size()
			return nil
		})
	})
	if err != nil {
		return rep, headerProblem(&rep, err, lockTimeout)
	}
	if rep.InUse > rep.Size {
		rep.problem("the file is truncated: its header says %d bytes are in use, but it has only %d", rep.InUse, rep.Size)
		return rep, nil
	}
	rep.Checked = "the headers, the file's length and the free-page list"
	// Second open loads the free-page list, in this goroutine.
	err = withReadOnly(path, lockTimeout, true, func(bdb *bbolt.DB) error {
		return guardedView(bdb, func(tx *bbolt.Tx) error {
			if meta := tx.Bucket(bucketMeta); meta != nil {
				if v := meta.Get(keyVersion); len(v) == 8 {
					rep.Schema = binary.BigEndian.Uint64(v)
				}
			}
			rep.Full = rep.Size <= fullBytes
			if rep.Full {
				rep.Checked = "every page: the headers, the file's length, the free-page list, every bucket and record (a bucket is read up to its first damaged page), and bbolt's consistency check (on a file whose pages all read)"
				checkAll(tx, &rep)
			} else {
				rep.Checked = fmt.Sprintf("the headers, the file's length, the free-page list and the compliance records (%s); the file is over %d MiB, so the message history, inbound texts and contacts were not read",
					bucketList(startCheckBuckets), fullBytes>>20)
				checkSome(tx, &rep, startCheckBuckets)
			}
			return nil
		})
	})
	if err != nil {
		return rep, headerProblem(&rep, err, lockTimeout)
	}
	return rep, nil
}

// headerProblem sorts an error from opening the file: a lock is the
// caller's problem, anything bbolt says about the file's contents is
// damage.
func headerProblem(rep *CheckReport, err error, lockTimeout time.Duration) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("store: %s is in use by another simgate process (waited %s for its lock): %w", rep.Path, lockTimeout, ErrLocked)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum):
		rep.problem("both headers (bbolt's meta pages) are invalid: %v; this is not a simgate database, or its first pages are overwritten", err)
	case errors.Is(err, bolterrors.ErrVersionMismatch):
		rep.problem("the headers name another bbolt file format version: %v", err)
	case errors.Is(err, ErrDamaged):
		rep.problem("%v", err)
	default:
		// bbolt's other complaints at open are about the file's contents
		// too ("file size too small", a bad page size).
		if _, statErr := os.Stat(rep.Path); statErr != nil {
			return fmt.Errorf("store: check: %w", statErr)
		}
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("store: check: %w", err)
		}
		rep.problem("the file cannot be opened as a database: %v", err)
	}
	return nil
}

// withReadOnly opens path read-only (a shared lock: a running simgate,
// which holds it exclusively, makes this wait lockTimeout and fail) and
// calls fn. preload loads the free-page list at open. A panic in bbolt's
// Open becomes an error wrapping ErrDamaged.
func withReadOnly(path string, lockTimeout time.Duration, preload bool, fn func(*bbolt.DB) error) error {
	bdb, err := guardedOpen(path, &bbolt.Options{ReadOnly: true, Timeout: lockTimeout, PreLoadFreelist: preload})
	if err != nil {
		return err
	}
	defer bdb.Close()
	return fn(bdb)
}

// guardedOpen is bbolt.Open with its panics (a damaged free-page list)
// and memory faults (a free-page list past the end of the file) turned
// into an error wrapping ErrDamaged. bbolt leaves the file open and locked
// after such a panic; the process is about to refuse the file anyway.
func guardedOpen(path string, opts *bbolt.Options) (bdb *bbolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			bdb, err = nil, fmt.Errorf("%w: opening it failed: %v", ErrDamaged, p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return bbolt.Open(path, 0o600, opts)
}

// guardedView is a read transaction whose panics and faults become an
// error wrapping ErrDamaged.
func guardedView(bdb *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return bdb.View(fn)
}

// checkAll reads every bucket and record, then runs bbolt's consistency
// check over the whole file if the reading found nothing.
func checkAll(tx *bbolt.Tx, rep *CheckReport) {
	_ = tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
		readBucket(b, string(name), rep)
		return nil
	})
	if rep.Damaged() {
		return // Tx.Check would meet the same pages in a goroutine that cannot survive a fault
	}
	for err := range tx.Check() {
		rep.problem("%v", err)
	}
}

// checkSome reads and checks the named top-level buckets only.
func checkSome(tx *bbolt.Tx, rep *CheckReport, names [][]byte) {
	for _, name := range names {
		b := tx.Bucket(name)
		if b == nil {
			continue // not made yet by an older schema's migrations
		}
		before := len(rep.Problems) + rep.More
		readBucket(b, string(name), rep)
		if len(rep.Problems)+rep.More > before || b.RootPage() == 0 {
			continue // damaged already, or an inline bucket that lives in its parent's page
		}
		for err := range tx.Check(bbolt.WithPageId(uint64(b.RootPage()))) {
			rep.problem("bucket %q: %v", name, err)
		}
	}
}

// readBucket reads every key and value of b and its nested buckets, so
// that every page is loaded and decoded; a panic or fault on the way is
// reported as damage in the bucket named by path.
func readBucket(b *bbolt.Bucket, path string, rep *CheckReport) {
	defer func() {
		if p := recover(); p != nil {
			rep.problem("bucket %q: reading it failed: %v", path, p)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if nested := b.Bucket(k); nested != nil {
				readBucket(nested, path+"/"+string(k), rep)
			}
			continue
		}
		rep.digest ^= touch(v)
	}
}

// touch reads a byte in every 4 KiB of v and its last byte, so that every
// page of a value that spans several is mapped in.
func touch(v []byte) byte {
	var x byte
	for i := 0; i < len(v); i += 4096 {
		x ^= v[i]
	}
	if len(v) > 0 {
		x ^= v[len(v)-1]
	}
	return x
}

func bucketList(names [][]byte) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

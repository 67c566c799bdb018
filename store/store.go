// Package store keeps all of simgate's state in one bbolt file: outbound
// messages with their indexes (status, due time, idempotency key, pending
// status reports, recipient), inbound texts and their partial segments,
// contacts and their CSV import jobs, the consent ledger and suppression
// list, API tokens, console users, and the gateway's own records: compliance settings and disclosure
// versions, modem identities and pause flags, console read markers and
// undecodable PDUs.
//
// Every bucket is declared in schema.go. A record and its index entries
// change in the same transaction, and index entries are derived from the
// record by one function per index (index.go): callers never touch an index.
// Durability is bbolt's: every write is fsync'd before the call returns;
// concurrent small writes share a commit through bbolt's Batch.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrNotFound is returned for an unknown message, inbound text or token.
	ErrNotFound = errors.New("not found")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("database locked")
	// ErrNewerSchema is returned by Open for a file written by a newer
	// simgate, whose layout this binary cannot be trusted to read or write.
	ErrNewerSchema = errors.New("database schema is newer than this simgate")
	// ErrExists is returned when a unique field (a contact's number) is
	// already taken.
	ErrExists = errors.New("already exists")
	// ErrSuppressed is returned for a number erased on request: it may not
	// be stored or subscribed again except by the person's own act.
	ErrSuppressed = errors.New("number is on the suppression list (erased on request)")
	// ErrConflict is returned when an action does not fit a record's
	// current state: resending a delivered message, resolving an opt-out
	// review that is not open. The store declares it beside its other
	// refusals because the states are its records': the gateway's parts
	// check them inside the store's transactions and return it from there.
	ErrConflict = errors.New("conflict")
	// ErrIdempotencyKeyReused is returned by Enqueue when the idempotency
	// key was used within IdempotencyWindow, in the same scope, for a
	// request with another fingerprint: a different text, not a retry.
	ErrIdempotencyKeyReused = errors.New("idempotency key already used for a different request")
)

// FieldError is bad input; Field names the offending argument so that the
// HTTP layer can answer 400 pointing at it. It is simgate's one such type:
// package gateway re-exports it, so an error from either layer maps alike.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// DefaultLockTimeout is how long Open waits for another process to release
// the file: long enough to ride out a restart by systemd, short enough that
// a second `simgate serve` fails at once instead of hanging.
const DefaultLockTimeout = time.Second

// DB is an open simgate database. It is safe for concurrent use.
type DB struct {
	bolt boltDB // every transaction guarded (guard.go)
	path string
	now  func() time.Time
	// onWithdrawn hears of texts withdrawn by an event (OnWithdrawn).
	onWithdrawn atomic.Pointer[func([]Message)]
}

type options struct {
	noSync      bool
	now         func() time.Time
	lockTimeout time.Duration
	init        bool
	startCheck  int64
	soloCommit  bool
}

// Option adjusts Open.
type Option func(*options)

// WithNoSync turns off fsync. Only for benchmarks that say so: a crash can
// lose or corrupt everything written since the last sync.
func WithNoSync() Option { return func(o *options) { o.noSync = true } }

// WithClock replaces time.Now, for tests of time-dependent rules
// (idempotency window, inbound de-duplication, token last-used).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLockTimeout changes how long Open waits for a lock held by another
// opener (DefaultLockTimeout).
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithInit lets Open make a new database in a file that exists but is
// empty (0 bytes), which it otherwise refuses with ErrEmptyFile. A missing
// file is always created. It never touches a file that holds data.
func WithInit() Option { return func(o *options) { o.init = true } }

// WithStartCheck sets the size up to which Open checks every page of the
// file (DefaultStartCheckBytes; see Verify). Zero or less checks only what
// Verify checks in a large file.
func WithStartCheck(maxBytes int64) Option { return func(o *options) { o.startCheck = maxBytes } }

// WithoutGroupCommit makes every batched write commit on its own, never
// sharing a transaction with another writer's. Shared commits no longer
// wait on a timer, so tests under testing/synctest run with or without
// it; it stays for tests that want one transaction per write.
func WithoutGroupCommit() Option { return func(o *options) { o.soloCommit = true } }

// Open opens or creates (mode 0600) the database at path and brings its
// schema up to date. The directory must exist. A file held open by another
// process fails after the lock timeout with an error wrapping ErrLocked; a
// file from a newer simgate with one wrapping ErrNewerSchema.
//
// An existing file is checked first (Verify, bounded by WithStartCheck):
// a damaged one is refused with an error wrapping ErrDamaged, and a 0-byte
// one with ErrEmptyFile unless WithInit is given.
func Open(path string, opts ...Option) (*DB, error) {
	o := options{now: time.Now, lockTimeout: DefaultLockTimeout, startCheck: DefaultStartCheckBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("store: open %s: directory %s does not exist: %w", path, dir, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("store: open %s: %s is not a directory", path, dir)
	}
	switch st, err := os.Stat(path); {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	case err != nil: // a new file
	case st.Size() == 0 && !o.init:
		return nil, fmt.Errorf("store: %s is empty (0 bytes): %w", path, ErrEmptyFile)
	case st.Size() > 0:
		rep, err := verify(path, o.startCheck, o.lockTimeout)
		if err != nil {
			return nil, err
		}
		if err := rep.Err(); err != nil {
			return nil, err
		}
	}
	bdb, err := guardedOpen(path, &bbolt.Options{
		Timeout: o.lockTimeout,
		NoSync:  o.noSync,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is in use by another simgate process (waited %s for its lock): %w",
			path, o.lockTimeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	group := newGroupCommit(maxGroup)
	if o.soloCommit {
		group = newGroupCommit(1)
	}
	db := &DB{bolt: boltDB{DB: bdb, health: &health{path: path, now: o.now}, group: group}, path: path, now: o.now}
	if err := db.bolt.Update(func(tx *bbolt.Tx) error { return migrate(tx, migrations) }); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// Close releases the file and its lock. Pending Batch calls finish first.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the file the database lives in.
func (db *DB) Path() string { return db.path }

// u64 encodes v as an 8-byte big-endian key, so that byte order is numeric
// order.
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// nanos encodes t for a time-ordered key. The zero time and anything before
// 1970 sort first (0); times past 2262 (beyond int64 nanoseconds) sort last.
func nanos(t time.Time) uint64 {
	if t.IsZero() || t.Unix() < 0 {
		return 0
	}
	if t.Unix() >= math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

// fromNanos decodes a key written by nanos.
func fromNanos(n uint64) time.Time { return time.Unix(0, int64(n)) }

// Check reports whether the database answers a read transaction; the
// service watchdog pings only while it does.
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("store: meta bucket missing")
		}
		return nil
	})
}

// getRecord reads and decodes the JSON record id of bucket inside tx; what
// names the kind of record in errors. The result shares nothing with the
// transaction's memory.
func getRecord[T any](tx *bbolt.Tx, bucket []byte, id uint64, what string) (T, error) {
	var r T
	raw := tx.Bucket(bucket).Get(u64(id))
	if raw == nil {
		return r, fmt.Errorf("store: %s %d: %w", what, id, ErrNotFound)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("store: decode %s %d: %w", what, id, err)
	}
	return r, nil
}

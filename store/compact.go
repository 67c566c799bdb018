package store

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// compactTxSize bounds one copy transaction: small enough for a Raspberry
// Pi's memory, large enough that a big file copies in a few hundred commits.
const compactTxSize = 64 << 20

// Compact rewrites the database at path into a fresh file holding only live
// records, then puts it in place. bbolt never overwrites freed pages, so
// after an erasure (EraseNumber) fragments of the erased records can stay
// in the file until it is rewritten; Compact is that rewrite, and it also
// gives back the space of deleted history. The file must not be open: a
// running simgate holds its lock and Compact fails with ErrLocked.
// A crash half way leaves the original untouched (the copy is renamed over
// it only when complete and synced).
//
// A damaged file is refused (an error wrapping ErrDamaged): bbolt's copy
// would panic on the damage, or copy what it can read and make the damage
// look like records that never were.
func Compact(path string) (before, after int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	rep, err := Verify(path, math.MaxInt64)
	if err != nil {
		return 0, 0, err // missing, or locked by a running simgate (ErrLocked)
	}
	if err := rep.Err(); err != nil {
		return 0, 0, fmt.Errorf("%w; compact refuses to copy a damaged file: restore it from a backup", err)
	}
	src, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: DefaultLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return 0, 0, fmt.Errorf("store: compact: %s is in use by a running simgate; stop it first: %w", path, ErrLocked)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact: open %s: %w", path, err)
	}
	defer src.Close()
	tmp := path + ".compact"
	_ = os.Remove(tmp) // left by an interrupted run
	dst, err := bbolt.Open(tmp, 0o600, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact: create %s: %w", tmp, err)
	}
	if err := bbolt.Compact(dst, src, compactTxSize); err != nil {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: copy: %w", err)
	}
	// bbolt grows a file ahead of its pages (up to 16 MiB at a time): the
	// copy's last pages end before its file does. What lies past them is
	// never read, so the copy is cut there.
	var used int64
	if err := dst.View(func(tx *bbolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: sync: %w", err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: close copy: %w", err)
	}
	if err := truncateSynced(tmp, used); err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: replace %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename itself durable
		d.Close()
	}
	nst, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	return st.Size(), nst.Size(), nil
}

// truncateSynced cuts the file at path to size bytes, if longer, and syncs
// it.
func truncateSynced(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Size() > size {
		err = f.Truncate(size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

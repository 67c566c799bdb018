package store

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// RestoreReport says what Restore did.
type RestoreReport struct {
	Schema uint64 // the backup's schema version (upgraded at the next Open)
	Size   int64  // bytes restored
	// KeptAside is where the file that was in place went ("" when there
	// was none): nothing is ever deleted by a restore.
	KeptAside string
}

// Restore puts the backup at src in place of the database at path. The
// service must be stopped: a file in use is refused with ErrLocked. The
// backup is checked page by page first (Verify) and refused when damaged or
// written by a newer simgate (ErrNewerSchema); an older schema is accepted
// and upgraded by the next Open. The file that was in place is renamed
// to path + ".before-restore-<time>", never deleted, and the new file is
// written beside it and renamed over path only once it is on disk, so a
// crash half way leaves either the old file or the new one, whole.
func Restore(src, path string, now time.Time) (RestoreReport, error) {
	rep, err := Verify(src, math.MaxInt64)
	if err != nil {
		return RestoreReport{}, fmt.Errorf("store: restore: the backup %s: %w", src, err)
	}
	if err := rep.Err(); err != nil {
		return RestoreReport{}, fmt.Errorf("store: restore: the backup %s: %w", src, err)
	}
	if rep.Schema > SchemaVersion {
		return RestoreReport{}, fmt.Errorf("store: restore: %w: the backup %s is at schema version %d, this simgate knows up to %d: restore it with a newer simgate",
			ErrNewerSchema, src, rep.Schema, SchemaVersion)
	}
	out := RestoreReport{Schema: rep.Schema, Size: rep.Size}

	// Hold the lock of the file in place while swapping, so that a daemon
	// started meanwhile waits, and a running one is found.
	var unlock func()
	if _, err := os.Stat(path); err == nil {
		bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: DefaultLockTimeout, ReadOnly: true})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return RestoreReport{}, fmt.Errorf("store: restore: %w: %s is in use; stop simgate first (systemctl stop simgate)", ErrLocked, path)
		}
		if err == nil {
			unlock = func() { bdb.Close() }
		}
		// A file in place that bbolt cannot open (damaged: the very reason
		// for many restores) is set aside all the same.
	} else if !errors.Is(err, os.ErrNotExist) {
		return RestoreReport{}, fmt.Errorf("store: restore: %w", err)
	}
	if unlock != nil {
		defer unlock()
	}

	tmp := path + ".restoring"
	if err := copyFileSynced(src, tmp); err != nil {
		os.Remove(tmp)
		return RestoreReport{}, fmt.Errorf("store: restore: copy the backup: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		out.KeptAside = path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(path, out.KeptAside); err != nil {
			os.Remove(tmp)
			return RestoreReport{}, fmt.Errorf("store: restore: set the old file aside: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return RestoreReport{}, fmt.Errorf("store: restore: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return RestoreReport{}, fmt.Errorf("store: restore: %w", err)
	}
	return out, nil
}

// copyFileSynced copies src to a new file dst (mode 0600) and syncs it.
func copyFileSynced(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// BackupTo writes a consistent snapshot of the database to the file path
// while the gateway keeps running: to path + ".partial" first, synced, then
// renamed, so a reader of path never sees half a backup. It returns the
// bytes written.
func (db *DB) BackupTo(path string) (int64, error) {
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	n, err := db.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return n, nil
}

package gateway

import (
	"errors"
	"io"

	"github.com/simgate/simgate/gateway/backups"
	"github.com/simgate/simgate/gateway/datafile"
	"github.com/simgate/simgate/store"
)

// The store's refusals the HTTP layer maps to status codes
// (webui/errors.go).
var (
	// ErrDamaged: a read met a damaged part of the database file. The
	// request fails; so does every write from then on (ErrWritesStopped).
	ErrDamaged = store.ErrDamaged
	// ErrWritesStopped: the file was found damaged while running, and
	// nothing more is written into it until it is checked and restored.
	// Errors carrying it carry ErrDamaged too.
	ErrWritesStopped = store.ErrWritesStopped
	// ErrDiskFull: the disk has no room for the write; nothing of it was
	// stored, and it can be retried once there is room.
	ErrDiskFull = store.ErrDiskFull
)

// Alert kinds about the database file and its disk. They concern the
// whole gateway, not a modem.
const (
	AlertStoreDamaged = "store_damaged" // writes are stopped until restart; the file needs a check and a restore
	AlertDiskFull     = "disk_full"     // writes fail for lack of space; cleared once there is room
)

// Writable reports whether the gateway can store new work now: nil, or
// why not (an error wrapping ErrWritesStopped or ErrDiskFull). GET /healthz
// answers 503 with it. Unlike Healthy it does not stop the systemd
// watchdog: a restart cannot free the disk or mend the file, and would
// lose the MRs the outbox holds in memory while the disk is full.
func (g *Gateway) Writable() error { return g.db.Writable() }

// watchStore raises and clears the store's alerts as the store finds the
// file damaged, the disk full, or room again.
func (g *Gateway) watchStore() {
	g.db.OnHealthChange(g.storeHealthChanged)
	if problem := g.db.Writable(); problem != nil {
		g.storeHealthChanged(problem)
	}
}

func (g *Gateway) storeHealthChanged(problem error) {
	switch {
	case errors.Is(problem, store.ErrDamaged):
		g.events.RaiseAlert(AlertStoreDamaged, "", "The database file is damaged, so simgate has stopped writing to it: new texts and changes are refused and nothing is sent. "+
			"Stop the service, run `simgate check`, and restore simgate.db from a backup (docs/operations.md, \"Damaged data file\"). Found: "+problem.Error())
	case errors.Is(problem, store.ErrDiskFull):
		g.events.RaiseAlert(AlertDiskFull, "", "The disk that holds the database is full: new texts and changes are refused, and sending waits, until there is room. "+
			"Free some space on it; simgate carries on by itself. Found: "+problem.Error())
	default:
		g.events.ClearAlert(AlertDiskFull, "")
	}
}

// Backup writes a consistent snapshot of the whole database to w while
// sending goes on (a read transaction), and returns the bytes written. The
// result is a database file that `simgate restore` accepts.
func (g *Gateway) Backup(w io.Writer) (int64, error) { return g.db.Backup(w) }

// Backups reports the nightly backups' settings and the files in their
// directory.
func (g *Gateway) Backups() (backups.Status, error) { return g.backups.Status() }

// DataFile is the room that tells how the data file's space is used
// (package datafile).
func (g *Gateway) DataFile() *datafile.Meter { return g.dataFile }

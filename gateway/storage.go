package gateway

import (
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

// Alert kinds about the database file and its disk (package datafile
// raises them). They concern the whole gateway, not a modem.
const (
	AlertStoreDamaged = datafile.AlertStoreDamaged
	AlertDiskFull     = datafile.AlertDiskFull
)

// Writable reports whether the gateway can store new work now: nil, or
// why not (an error wrapping ErrWritesStopped or ErrDiskFull). GET /healthz
// answers 503 with it. Unlike Healthy it does not stop the systemd
// watchdog: a restart cannot free the disk or mend the file, and would
// lose the MRs the outbox holds in memory while the disk is full.
func (g *Gateway) Writable() error { return g.db.Writable() }

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

package gateway

import (
	"errors"
	"fmt"
	"time"

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

// DataFile is how the data file's space is used, for the settings page.
type DataFile struct {
	At        time.Time // when it was measured
	Bytes     int64     // the file's size
	DataBytes int64     // bytes of pages holding data
	FreeBytes int64     // bytes of free pages, reused before the file grows
	Fill      float64   // share of the allocated pages' bytes that hold data
	Messages  int       // outbound messages stored
}

// dataFileMaxAge is how long DataFile answers from its last measurement:
// measuring reads every page of the file (a few hundred milliseconds for
// a year of a busy shop), which a page load must not repeat.
const dataFileMaxAge = 10 * time.Minute

// DataFile measures the data file, at most once per dataFileMaxAge.
func (g *Gateway) DataFile() (DataFile, error) {
	g.fileMu.Lock()
	defer g.fileMu.Unlock()
	now := g.cfg.Clock()
	if !g.fileStats.At.IsZero() && now.Sub(g.fileStats.At) < dataFileMaxAge {
		return g.fileStats, nil
	}
	st, err := g.db.FileStats()
	if err != nil {
		return DataFile{}, fmt.Errorf("gateway: %w", err)
	}
	counts, err := g.db.CountByStatus()
	if err != nil {
		return DataFile{}, fmt.Errorf("gateway: %w", err)
	}
	d := DataFile{At: now, Bytes: st.FileBytes, DataBytes: st.Used, FreeBytes: st.FreeBytes, Fill: st.Fill()}
	for _, n := range counts {
		d.Messages += n
	}
	g.fileStats = d
	return d, nil
}

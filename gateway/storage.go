package gateway

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/simgate/simgate/gateway/backups"
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

// BackupsStatus is what the settings page says about the nightly backups.
type BackupsStatus struct {
	On     bool
	Dir    string
	Keep   int
	At     string   // local time of day, "03:30"
	Latest []string // the backups in Dir, newest first
}

// Backups reports the nightly backups' settings and the files in their
// directory.
func (g *Gateway) Backups() (BackupsStatus, error) {
	if g.backups == nil {
		return BackupsStatus{}, nil
	}
	cfg := g.backups.Config()
	names, err := backups.List(cfg.Dir)
	slices.Reverse(names)
	at := time.Time{}.Add(cfg.At).Format("15:04")
	return BackupsStatus{On: true, Dir: cfg.Dir, Keep: cfg.Keep, At: at, Latest: names}, err
}

// DataFile is how the data file's space is used, for the settings page.
type DataFile struct {
	Bytes     int64 // the file's size
	FreeBytes int64 // bytes of free pages, reused before the file grows
	Messages  int   // outbound messages stored
	// From the last measurement of every page, zero At before the first:
	// the bytes of pages that hold data and their share of the pages.
	At        time.Time
	DataBytes int64
	Fill      float64
}

// dataFileMaxAge is how old the page measurement may be before a page
// load starts another. Measuring reads every page of the file (0.8 s and
// the whole file into the page cache for a year of a busy shop), so it
// runs in the background and a page shows the last result.
const dataFileMaxAge = time.Hour

// DataFile returns the file's size, free pages and message count, read
// at once, with the last page measurement; when that is missing or older
// than dataFileMaxAge a new one starts in the background.
func (g *Gateway) DataFile() (DataFile, error) {
	size, free := g.db.FileSize()
	counts, err := g.db.CountByStatus()
	if err != nil {
		return DataFile{}, fmt.Errorf("gateway: %w", err)
	}
	d := DataFile{Bytes: size, FreeBytes: free}
	for _, n := range counts {
		d.Messages += n
	}
	g.fileMu.Lock()
	defer g.fileMu.Unlock()
	d.At, d.DataBytes, d.Fill = g.fileStats.At, g.fileStats.DataBytes, g.fileStats.Fill
	if !g.fileMeasuring && (d.At.IsZero() || g.cfg.Clock().Sub(d.At) > dataFileMaxAge) {
		g.fileMeasuring = true
		go g.measureFile()
	}
	return d, nil
}

// measureFile reads every page of the file and keeps the result for
// DataFile. A failure (the store closed meanwhile) keeps the last one.
func (g *Gateway) measureFile() {
	st, err := g.db.FileStats()
	g.fileMu.Lock()
	defer g.fileMu.Unlock()
	g.fileMeasuring = false
	if err != nil {
		if g.cfg.Log != nil {
			g.cfg.Log.Warn("measure the data file", "error", err)
		}
		return
	}
	g.fileStats = DataFile{At: g.cfg.Clock(), DataBytes: st.Used, Fill: st.Fill()}
}

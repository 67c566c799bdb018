// Package datafile looks after the database file as a person sees it: how
// its space is used, for the settings page (its size, its free pages and
// the messages it holds, read at once, and the fill of its pages, measured
// in the background because that reads every page), and the alerts while
// the file is damaged or its disk is full.
package datafile

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/store"
)

// Usage is how the data file's space is used.
type Usage struct {
	Bytes     int64 // the file's size
	FreeBytes int64 // bytes of free pages, reused before the file grows
	Messages  int   // outbound messages stored
	// From the last measurement of every page, zero At before the first:
	// the bytes of pages that hold data and their share of the pages.
	At        time.Time
	DataBytes int64
	Fill      float64
}

// MaxAge is how old the page measurement may be before a page load
// starts another. Measuring reads every page of the file (0.8 s and the
// whole file into the page cache for a year of a busy shop), so it runs
// in the background and a page shows the last result.
const MaxAge = time.Hour

// Meter reads the data file's usage and keeps the last page measurement.
type Meter struct {
	db    *store.DB
	log   *slog.Logger // nil: failures are not logged
	clock func() time.Time

	mu        sync.Mutex
	last      Usage // the last page measurement (At, DataBytes, Fill)
	measuring bool  // a measurement runs in the background
}

// New returns a Meter of db's file.
func New(db *store.DB, log *slog.Logger, clock func() time.Time) *Meter {
	return &Meter{db: db, log: log, clock: clock}
}

// Usage returns the file's size, free pages and message count, read at
// once, with the last page measurement; when that is missing or older
// than MaxAge a new one starts in the background.
func (m *Meter) Usage() (Usage, error) {
	size, free := m.db.FileSize()
	counts, err := m.db.CountByStatus()
	if err != nil {
		return Usage{}, fmt.Errorf("gateway: %w", err)
	}
	u := Usage{Bytes: size, FreeBytes: free}
	for _, n := range counts {
		u.Messages += n
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u.At, u.DataBytes, u.Fill = m.last.At, m.last.DataBytes, m.last.Fill
	if !m.measuring && (u.At.IsZero() || m.clock().Sub(u.At) > MaxAge) {
		m.measuring = true
		go m.measure()
	}
	return u, nil
}

// measure reads every page of the file and keeps the result for Usage. A
// failure (the store closed meanwhile) keeps the last one.
func (m *Meter) measure() {
	st, err := m.db.FileStats()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.measuring = false
	if err != nil {
		if m.log != nil {
			m.log.Warn("measure the data file", "error", err)
		}
		return
	}
	m.last = Usage{At: m.clock(), DataBytes: st.Used, Fill: st.Fill()}
}

// Alert kinds about the database file and its disk. They concern the
// whole gateway, not a modem.
const (
	AlertStoreDamaged = "store_damaged" // writes are stopped until restart; the file needs a check and a restore
	AlertDiskFull     = "disk_full"     // writes fail for lack of space; cleared once there is room
)

// Alerter raises and clears the alerts a person should look at.
type Alerter interface {
	RaiseAlert(kind, modemName, message string)
	ClearAlert(kind, modemName string)
}

// WatchHealth raises and clears the store's alerts as the store finds the
// file damaged, the disk full, or room again, starting with how it is now.
func WatchHealth(db *store.DB, a Alerter) {
	changed := func(problem error) { healthChanged(a, problem) }
	db.OnHealthChange(changed)
	if problem := db.Writable(); problem != nil {
		changed(problem)
	}
}

func healthChanged(a Alerter, problem error) {
	switch {
	case errors.Is(problem, store.ErrDamaged):
		a.RaiseAlert(AlertStoreDamaged, "", "The database file is damaged, so simgate has stopped writing to it: new texts and changes are refused and nothing is sent. "+
			"Stop the service, run `simgate check`, and restore simgate.db from a backup (docs/operations.md, \"Damaged data file\"). Found: "+problem.Error())
	case errors.Is(problem, store.ErrDiskFull):
		a.RaiseAlert(AlertDiskFull, "", "The disk that holds the database is full: new texts and changes are refused, and sending waits, until there is room. "+
			"Free some space on it; simgate carries on by itself. Found: "+problem.Error())
	default:
		a.ClearAlert(AlertDiskFull, "")
	}
}

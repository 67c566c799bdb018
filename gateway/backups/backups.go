// Package backups writes the nightly copies of the database: one
// consistent snapshot a day at a set local time, into a directory, keeping
// the newest few. A snapshot is a bbolt read transaction, so sending goes on
// while it is written. See docs/operations.md, "Backups".
package backups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults of the [backup] table.
const (
	DefaultKeep = 7
	DefaultAt   = 3*time.Hour + 30*time.Minute // 03:30 local: the shop is shut, no sale runs
	// retryAfter is how long a failed night waits before trying again, so
	// a full disk freed in the morning still gets the day's copy.
	retryAfter = time.Hour
	// AlertKind is the live alert raised while the last backup failed.
	AlertKind = "backup"
)

// Config says where and when. The zero Keep or At take the defaults.
type Config struct {
	Dir      string
	Keep     int
	At       time.Duration // time of day, from local midnight
	Location *time.Location
}

// Snapshotter writes a consistent copy of the database to a file
// (store.DB.BackupTo).
type Snapshotter interface {
	BackupTo(path string) (int64, error)
}

// Alerter shows a failed backup to the shop owner until one succeeds.
type Alerter interface {
	RaiseAlert(kind, modem, message string)
	ClearAlert(kind, modem string)
}

// Nightly writes the backups.
type Nightly struct {
	cfg    Config
	db     Snapshotter
	alerts Alerter
	log    *slog.Logger
	now    func() time.Time
}

// Result is one backup written.
type Result struct {
	Path   string
	Bytes  int64
	Took   time.Duration
	Pruned []string // older backups removed to keep Keep
}

// New returns a Nightly for cfg; nil log and now take slog's default and
// time.Now.
func New(cfg Config, db Snapshotter, alerts Alerter, log *slog.Logger, now func() time.Time) *Nightly {
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.At <= 0 || cfg.At >= 24*time.Hour {
		cfg.At = DefaultAt
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Nightly{cfg: cfg, db: db, alerts: alerts, log: log, now: now}
}

// Config returns the settings in force, defaults filled in.
func (n *Nightly) Config() Config { return n.cfg }

// Run writes a backup at the configured time every day until ctx ends.
func (n *Nightly) Run(ctx context.Context) {
	next := NextRun(n.now(), n.cfg.At, n.cfg.Location)
	for {
		t := time.NewTimer(next.Sub(n.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := n.Once(); err != nil {
			next = n.now().Add(retryAfter)
			continue
		}
		next = NextRun(n.now(), n.cfg.At, n.cfg.Location)
	}
}

// Once writes one backup now and prunes the oldest beyond Keep. A failure
// raises the backup alert, which the next success clears.
func (n *Nightly) Once() (Result, error) {
	start := n.now()
	res, err := n.write(start)
	if err != nil {
		n.log.Error("backup failed", "dir", n.cfg.Dir, "error", err)
		n.alerts.RaiseAlert(AlertKind, "", fmt.Sprintf("The nightly backup failed: %v. It is tried again in an hour.", err))
		return Result{}, err
	}
	n.alerts.ClearAlert(AlertKind, "")
	n.log.Info("backup written", "path", res.Path, "bytes", res.Bytes, "took", res.Took.Round(time.Millisecond), "pruned", len(res.Pruned))
	return res, nil
}

func (n *Nightly) write(start time.Time) (Result, error) {
	if err := os.MkdirAll(n.cfg.Dir, 0o700); err != nil {
		return Result{}, err
	}
	path := filepath.Join(n.cfg.Dir, FileName(start))
	bytes, err := n.db.BackupTo(path)
	if err != nil {
		return Result{}, err
	}
	res := Result{Path: path, Bytes: bytes, Took: n.now().Sub(start)}
	res.Pruned, err = prune(n.cfg.Dir, n.cfg.Keep)
	return res, err
}

// Name pattern of the files Nightly writes; prune touches only these.
const (
	filePrefix = "simgate-"
	fileSuffix = ".db"
	fileTime   = "20060102T150405Z"
)

// FileName is the name of a backup taken at t; names sort by time.
func FileName(t time.Time) string {
	return filePrefix + t.UTC().Format(fileTime) + fileSuffix
}

// List returns the backups in dir, oldest first.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, filePrefix) || !strings.HasSuffix(name, fileSuffix) {
			continue
		}
		if _, err := time.Parse(fileTime, strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix)); err != nil {
			continue // someone's own file that happens to look alike
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// prune removes the oldest backups in dir beyond keep.
func prune(dir string, keep int) ([]string, error) {
	names, err := List(dir)
	if err != nil || len(names) <= keep {
		return nil, err
	}
	var removed []string
	for _, name := range names[:len(names)-keep] {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// NextRun is the first moment after now that is at (from local midnight)
// in loc. On the night the clock jumps over at, it is a moment next to the
// gap that time.Date picks, still that night.
func NextRun(now time.Time, at time.Duration, loc *time.Location) time.Time {
	local := now.In(loc)
	h, m, s := int(at/time.Hour), int(at%time.Hour/time.Minute), int(at%time.Minute/time.Second)
	next := time.Date(local.Year(), local.Month(), local.Day(), h, m, s, 0, loc)
	if !next.After(now) {
		next = time.Date(local.Year(), local.Month(), local.Day()+1, h, m, s, 0, loc)
	}
	return next
}

// Status is what the settings page says about the nightly backups.
type Status struct {
	On     bool
	Dir    string
	Keep   int
	At     string   // local time of day, "03:30"
	Latest []string // the backups in Dir, newest first
}

// Status reports the nightly backups' settings and the files in their
// directory; a nil Nightly (backups off) reports them off.
func (n *Nightly) Status() (Status, error) {
	if n == nil {
		return Status{}, nil
	}
	names, err := List(n.cfg.Dir)
	slices.Reverse(names)
	at := time.Time{}.Add(n.cfg.At).Format("15:04")
	return Status{On: true, Dir: n.cfg.Dir, Keep: n.cfg.Keep, At: at, Latest: names}, err
}

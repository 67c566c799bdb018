package backups

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/store"
)

type alertLog struct {
	mu     sync.Mutex
	active map[string]string
}

func (a *alertLog) RaiseAlert(kind, modem, message string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		a.active = map[string]string{}
	}
	a.active[kind] = message
}

func (a *alertLog) ClearAlert(kind, modem string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.active, kind)
}

func (a *alertLog) get(kind string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active[kind]
}

func TestNextRun(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		now  time.Time
		at   time.Duration
		want time.Time
	}{
		{time.Date(2026, 12, 5, 1, 0, 0, 0, ny), DefaultAt, time.Date(2026, 12, 5, 3, 30, 0, 0, ny)},
		{time.Date(2026, 12, 5, 3, 30, 0, 0, ny), DefaultAt, time.Date(2026, 12, 6, 3, 30, 0, 0, ny)},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, ny), DefaultAt, time.Date(2027, 1, 1, 3, 30, 0, 0, ny)},
	}
	for _, c := range cases {
		if got := NextRun(c.now, c.at, ny); !got.Equal(c.want) {
			t.Errorf("NextRun(%s, %s) = %s, want %s", c.now, c.at, got, c.want)
		}
	}
	// 8 March 2026: 02:00-03:00 does not exist in New York. The run falls
	// next to the gap, on that day, and never before now.
	now := time.Date(2026, 3, 8, 1, 0, 0, 0, ny)
	got := NextRun(now, 2*time.Hour+30*time.Minute, ny)
	if !got.After(now) || got.Sub(now) > 3*time.Hour {
		t.Errorf("NextRun across the DST gap = %s, want within the night of 8 March", got)
	}
}

func TestNightlyWritesAndKeepsTheNewest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithNoSync())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		m, _, err := db.Enqueue(store.Message{To: "+15550100", Text: "kept in every backup"})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "backups")
		// Someone's own file in the directory is never pruned.
		os.MkdirAll(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "simgate-mine.db"), []byte("mine"), 0o600)

		alerts := &alertLog{}
		n := New(Config{Dir: dir, Keep: 3, Location: time.UTC}, db, alerts, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { n.Run(ctx); close(done) }()
		// The bubble's clock starts at midnight UTC 2000-01-01: five nights.
		time.Sleep(5*24*time.Hour - time.Minute)
		synctest.Wait()
		cancel()
		<-done

		names, err := List(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"simgate-20000103T033000Z.db", "simgate-20000104T033000Z.db", "simgate-20000105T033000Z.db"}
		if !slices.Equal(names, want) {
			t.Fatalf("backups %v, want the newest 3 %v", names, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "simgate-mine.db")); err != nil {
			t.Errorf("prune removed a file it did not write: %v", err)
		}
		copyDB, err := store.Open(filepath.Join(dir, names[2]))
		if err != nil {
			t.Fatal(err)
		}
		defer copyDB.Close()
		if got, err := copyDB.Get(m.ID); err != nil || got.Text != "kept in every backup" {
			t.Errorf("backup holds %+v, %v", got, err)
		}
		if a := alerts.get(AlertKind); a != "" {
			t.Errorf("alert after good backups: %q", a)
		}
	})
}

func TestNightlyFailureAlertsAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithNoSync())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// A file where the directory should be: every backup fails.
		blocker := filepath.Join(t.TempDir(), "backups")
		os.WriteFile(blocker, []byte("not a directory"), 0o600)
		alerts := &alertLog{}
		n := New(Config{Dir: blocker, Location: time.UTC}, db, alerts, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { n.Run(ctx); close(done) }()
		time.Sleep(3*time.Hour + 31*time.Minute)
		synctest.Wait()
		if a := alerts.get(AlertKind); a == "" {
			t.Fatal("no alert after a failed backup")
		}
		// The owner fixes it; the retry an hour later succeeds and clears
		// the alert.
		os.Remove(blocker)
		time.Sleep(time.Hour)
		synctest.Wait()
		cancel()
		<-done
		if a := alerts.get(AlertKind); a != "" {
			t.Errorf("alert still up after a good retry: %q", a)
		}
		if names, _ := List(blocker); len(names) != 1 || names[0] != "simgate-20000101T043000Z.db" {
			t.Errorf("backups after the retry: %v", names)
		}
	})
}

package attribution

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/store/yeartest"
)

// yearFile is the aged box the benchmarks share: built once per process
// (tens of seconds), caught up by the first run.
var yearFile struct {
	once sync.Once
	path string
	dir  string
}

// BenchmarkAttributeOrderYear measures the attribution of new orders on a
// box with a year of history (yeartest.ShopYear: 180,000 texts, 50,000
// contacts, 1,000,000 shop events of which 100,000 orders), fsync on: each
// order walks its contact's clicks and texts and commits with the cursor.
// The first run also reports how long the consumer took to catch up with
// the year (catch-up-s), as on the first start after the upgrade.
func BenchmarkAttributeOrderYear(b *testing.B) {
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	y := yeartest.ShopYear(end)
	first := false
	yearFile.once.Do(func() {
		// Not b.TempDir: the file outlives this run, for the next b.N.
		dir, err := mkdirTemp()
		if err != nil {
			b.Fatal(err)
		}
		yearFile.dir, yearFile.path = dir, filepath.Join(dir, "year.db")
		yeartest.BuildYear(b, yearFile.path, y)
		first = true
	})
	now := end.Add(time.Hour)
	db, err := store.Open(yearFile.path, store.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := New(Config{DB: db, Clock: func() time.Time { return now }})
	if first {
		start := time.Now()
		n, err := s.CatchUp()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("caught up with the year in %v: %d orders credited", time.Since(start).Round(time.Millisecond), n)
		b.ReportMetric(time.Since(start).Seconds(), "catch-up-s")
	}
	base, err := db.LastEventSeq()
	if err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < b.N; lo += 1000 {
		var evs []store.ShopEvent
		for i := lo; i < min(lo+1000, b.N); i++ {
			n := yeartest.ContactNumber((i * 7919) % y.Contacts)
			id := fmt.Sprintf("bench-%d-%d", base, i)
			evs = append(evs, store.ShopEvent{ID: id, Source: "api", Type: "order_placed", Number: n,
				OccurredAt: now, OrderID: id, Total: 2500, Currency: "USD"})
		}
		if _, err := db.AppendEvents(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if _, err := s.CatchUp(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/order")
}

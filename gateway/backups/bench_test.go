package backups

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/store/yeartest"
)

// BenchmarkBackupMillion times one backup (Nightly.Once: the consistent
// snapshot written, fsync'd and renamed, as `simgate backup` and the
// nightly copy write it) of a box holding 1,000,000 outbound texts, built
// through the store's own APIs (yeartest: final states, 10 % of reports
// missing, 50,000 contacts with their opt-ins). It reports the seconds one
// backup takes and the backup's size in MB. Building the file takes a few
// minutes on 2 cores, so it is skipped by -short and built once per run.
func BenchmarkBackupMillion(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 1,000,000-message file")
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "simgate.db")
	end := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	year := yeartest.Year{End: end, Texts: 1_000_000, NoReport: 0.10, Contacts: 50_000,
		Modems: []string{"sim1", "sim2"}, ReportWindow: 72 * time.Hour}
	start := time.Now()
	yeartest.BuildYear(b, src, year)
	b.Logf("built 1,000,000 messages in %v", time.Since(start).Round(time.Second))
	db, err := store.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if got := countMessages(b, db); got != year.Texts {
		b.Fatalf("the file holds %d messages, want %d", got, year.Texts)
	}
	info, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	n := New(Config{Dir: filepath.Join(dir, "backups"), Keep: 1}, db, nopAlerts{},
		slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	var res Result
	b.ResetTimer()
	for b.Loop() {
		if res, err = n.Once(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/backup")
	b.ReportMetric(float64(res.Bytes)/1e6, "MB/backup")
	b.ReportMetric(float64(info.Size())/1e6, "MB-file")
}

// countMessages reads the status totals (the store's counters).
func countMessages(tb testing.TB, db *store.DB) int {
	tb.Helper()
	counts, err := db.CountByStatus()
	if err != nil {
		tb.Fatal(err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	return total
}

// nopAlerts drops the backup alert: a failure fails the benchmark anyway.
type nopAlerts struct{}

func (nopAlerts) RaiseAlert(string, string, string) {}
func (nopAlerts) ClearAlert(string, string)         {}

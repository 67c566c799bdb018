package campaigns

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

// fixedAudience is an audience evaluated once: the benchmark measures
// planning and enqueueing, not segment evaluation (the segments room has
// its own benchmark).
type fixedAudience struct{ members []Member }

func (a fixedAudience) CheckSegment(json.RawMessage) error { return nil }
func (a fixedAudience) Segment(context.Context, uint64) (string, json.RawMessage, error) {
	return "all", json.RawMessage(`{}`), nil
}
func (a fixedAudience) Audience(context.Context, json.RawMessage, bool) (AudienceResult, error) {
	return AudienceResult{Members: append([]Member(nil), a.members...)}, nil
}
func (a fixedAudience) AudienceOf(context.Context, []string, bool) (AudienceResult, error) {
	return AudienceResult{Members: append([]Member(nil), a.members...)}, nil
}

// peakRSS reads the process's peak resident set (VmHWM) in bytes.
func peakRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rssParts reads the resident heap and file-backed pages (RssAnon,
// RssFile) in bytes.
func rssParts() (anon, file int64) {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(st), "\n") {
		name, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch name {
		case "RssAnon":
			anon = kb << 10
		case "RssFile":
			file = kb << 10
		}
	}
	return anon, file
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS starts VmHWM again from the current RSS (Linux 4.0+), so
// the peak is the planning's, not the setup's.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// BenchmarkPlan100k plans and enqueues a campaign of 100,000 consented
// recipients with two variants, a holdout, local send times and a short
// link in every text, on a real bbolt file with fsync. Reported: seconds
// per plan and the process's peak RSS during it (VmHWM after a reset, so
// the 100,000 contacts' setup does not count; the bbolt file's mapped
// pages the plan touches do).
func BenchmarkPlan100k(b *testing.B) {
	const n = 100000
	zones := []string{"America/New_York", "America/Chicago", "America/Los_Angeles"}
	areas := []string{"212", "312", "213"}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		clk := &clock{t: time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)}
		db, err := store.Open(filepath.Join(b.TempDir(), "simgate.db"), store.WithClock(clk.now))
		if err != nil {
			b.Fatal(err)
		}
		members := make([]Member, 0, n)
		for start := 0; start < n; start += 5000 {
			var rows []store.ContactUpsert
			for j := start; j < start+5000; j++ {
				number := fmt.Sprintf("+1%s%07d", areas[j%3], 5550000+j)
				rows = append(rows, store.ContactUpsert{Contact: store.Contact{Number: number, Name: fmt.Sprintf("Customer %d", j), TimeZone: zones[j%3]},
					OptIn: &store.ConsentEvent{Source: "bench"}})
			}
			res, err := db.UpsertContacts(rows)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				c := r.Contact
				members = append(members, Member{ContactID: c.ID, Number: c.Number, Name: c.Name, TimeZone: c.TimeZone})
			}
		}
		policy, err := consent.LoadPolicy(db, clk.now)
		if err != nil {
			b.Fatal(err)
		}
		s := policy.Settings()
		s.Brand, s.SupportContact, s.Frequency = "Rosa's", "help@rosa.example", "up to 4 msgs/month"
		if err := policy.Save(s, "bench"); err != nil {
			b.Fatal(err)
		}
		queue := outbox.New(outbox.Config{DB: db, Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Clock: clk.now, Policy: policy, Notify: quiet{}})
		svc := New(Config{DB: db, Outbox: queue, Audiences: fixedAudience{members},
			Shortener: LinkShortener(links.New(links.Config{DB: db, BaseURL: "https://go.rosa.example", Clock: clk.now})),
			Policy:    policy, Clock: clk.now, NewLinkCode: links.NewCode})
		def := saleAt10()
		def.Audience = Audience{Segment: json.RawMessage(`{}`)}
		c, err := svc.Create(context.Background(), def)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Send(context.Background(), c.ID); err != nil {
			b.Fatal(err)
		}
		resetPeakRSS(b)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		if err := svc.Step(context.Background(), c.ID); err != nil {
			b.Fatal(err)
		}
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		b.ReportMetric(elapsed.Seconds(), "s/plan")
		// The process's CPU time (user + system) over the plan: what the
		// plan costs whatever else the shared machine runs meanwhile.
		b.ReportMetric(cpu.Seconds(), "CPU-s/plan")
		b.ReportMetric(float64(peakRSS(b))/1e6, "MB-peak-RSS")
		// The peak counts the bbolt file's pages the plan touched through
		// the mmap (RssFile) as well as the heap (RssAnon): both are
		// reported, at the end of the plan, so the two can be told apart.
		anon, file := rssParts()
		b.ReportMetric(float64(anon)/1e6, "MB-anon-RSS-end")
		b.ReportMetric(float64(file)/1e6, "MB-file-RSS-end")
		got, _ := svc.Get(c.ID)
		if got.Texts+got.Holdout != n || got.Phase != "done" {
			b.Fatalf("planned %d texts + %d holdout, phase %q", got.Texts, got.Holdout, got.Phase)
		}
		db.Close()
	}
}

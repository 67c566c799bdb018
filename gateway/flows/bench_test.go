package flows

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// waitingEntries stores n entries of flow that wait a day, in pages, as
// the engine makes them from checkouts (with the checkout's event).
func waitingEntries(tb testing.TB, r *rig, flow uint64, n int) {
	tb.Helper()
	ev := r.event("checkout_started", anne, "bench")
	trigger := []byte(fmt.Sprintf(`{"seq":%d,"id":"x","source":"shopify","type":"checkout_started","number":"%s","checkout_id":"bench","total":4200,"currency":"USD","properties":{"items":[{"name":"Blue mug","price":4200,"quantity":1}],"resume_url":"https://shop.example/r/bench"}}`, ev.Seq, anne))
	due := r.clk.now().Add(300 * 24 * time.Hour) // never due within a benchmark
	for i := 0; i < n; {
		var b store.FlowBatch
		for ; i < n && len(b.Enter) < 1000; i++ {
			number := fmt.Sprintf("+1201%07d", i)
			b.Enter = append(b.Enter, store.FlowEntry{Flow: flow, Version: 1, Number: number, Key: "checkout:shopify:" + strconv.Itoa(i),
				ExitKey: "checkout:shopify:" + strconv.Itoa(i), Trigger: trigger, EnteredAt: r.clk.now(), DueAt: due, StepDue: due})
		}
		if _, err := r.db.CommitFlowBatch(b); err != nil {
			tb.Fatal(err)
		}
	}
}

// rssMB reads the process's resident set from /proc (Linux).
func rssMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// BenchmarkWaitingEntries reports what 100,000 waiting entries cost in
// memory: the Go heap after a tick (which must not load them) and the
// process's resident set, the bbolt file's mapped pages included.
func BenchmarkWaitingEntries(b *testing.B) {
	r := newRig(b)
	f := r.preset("abandoned_cart", PresetOptions{})
	waitingEntries(b, r, f.Flow.ID, 100_000)
	r.start()
	b.ResetTimer()
	for range b.N {
		if _, err := r.eng.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap_MB")
	b.ReportMetric(rssMB(), "rss_MB")
	if c := r.counters(f.Flow.ID); c.Waiting < 100_000 {
		b.Fatalf("waiting %d", c.Waiting)
	}
}

// BenchmarkTick runs ticks that each find 50 entries due among 10,000 or
// 100,000 waiting ones: the cost follows the due entries, not the
// waiting ones. Each due entry sends its text (through the outbox, fsync
// included).
func BenchmarkTick(b *testing.B) {
	for _, waiting := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("waiting=%d", waiting), func(b *testing.B) {
			r := newRig(b)
			r.optIn(anne, true)
			f := r.preset("abandoned_cart", PresetOptions{})
			r.clk.add(time.Second)
			waitingEntries(b, r, f.Flow.ID, waiting)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				// 50 checkouts an hour ago: due now, past their wait.
				for j := range 50 {
					r.event("checkout_started", anne, fmt.Sprintf("t%d-%d", i, j))
				}
				if _, err := r.eng.Tick(ctx); err != nil { // enters them
					b.Fatal(err)
				}
				r.clk.add(time.Hour)
				b.StartTimer()
				if _, err := r.eng.Tick(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/50, "µs/due_entry")
		})
	}
}

// BenchmarkDueRead is the scheduler's own read in a tick: the due entries
// from the front of the index (50 of them) and the next due time, among
// 10,000 or 100,000 waiting entries. BenchmarkTick adds the sends, whose
// commits cost what the store's commits cost.
func BenchmarkDueRead(b *testing.B) {
	for _, waiting := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("waiting=%d", waiting), func(b *testing.B) {
			r := newRig(b)
			f := r.preset("abandoned_cart", PresetOptions{})
			waitingEntries(b, r, f.Flow.ID, waiting)
			var due store.FlowBatch
			for j := range 50 {
				due.Enter = append(due.Enter, store.FlowEntry{Flow: f.Flow.ID, Version: 1, Number: anne, Key: fmt.Sprint("due", j), DueAt: r.clk.now()})
			}
			if _, err := r.db.CommitFlowBatch(due); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				es, err := r.db.DueFlowEntries(r.clk.now(), pageSize)
				if err != nil || len(es) != 50 {
					b.Fatalf("%d due, %v", len(es), err)
				}
				if _, ok, err := r.db.NextFlowDue(); err != nil || !ok {
					b.Fatal(err)
				}
			}
		})
	}
}

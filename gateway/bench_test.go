package gateway

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// BenchmarkDispatchZeroLatency measures the gateway's own cost per part:
// one simulated modem that answers at once, over io.Pipe, with the real
// bbolt file (fsync on) and the real driver. Every part costs two durable
// writes (sending before AT+CMGS, the MR after) plus the AT exchange.
func BenchmarkDispatchZeroLatency(b *testing.B) {
	r := newBenchRig(b)
	// Queue everything first, from many goroutines so group commit applies:
	// the figure is the dispatch cost, not the ingest cost.
	ids := make([]uint64, b.N)
	var wg sync.WaitGroup
	var failed atomic.Value
	next := atomic.Int64{}
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				m, _, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: fmt.Sprintf("bench %d", i)})
				if err != nil {
					failed.Store(err)
					return
				}
				ids[i] = m.ID
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	r.start()
	for _, id := range ids {
		pollUntil(b, fmt.Sprintf("message %d to be sent", id), time.Millisecond, time.Minute, func() bool {
			return sentOrFailed(b, r, id, store.StatusSent, store.StatusDelivered)
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "parts/s")
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/part")
}

// newBenchRig builds a one-modem rig for a benchmark.
func newBenchRig(b *testing.B) *rig {
	return newRigTB(b, rigOptions{
		modems: []sim.Config{{Number: simA}},
		netCfg: sim.NetworkConfig{ReportDelay: time.Hour}, // no reports: measure sending only
	})
}

// BenchmarkFleetUtilization measures how much of the modems' capacity the
// dispatcher uses: four simulated modems that each take `latency` per
// submit (3 s, a real modem's median; SIMGATE_BENCH_LATENCY overrides it),
// limits off, b.N single-part texts queued up front. Capacity is
// modems/latency parts per second; utilization is what was achieved of it.
// Run with e.g. -benchtime 80x (about a minute at 3 s).
func BenchmarkFleetUtilization(b *testing.B) {
	latency := 3 * time.Second
	if v := os.Getenv("SIMGATE_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		latency = d
	}
	const modems = 4
	var cfgs []sim.Config
	for i := 0; i < modems; i++ {
		cfgs = append(cfgs, sim.Config{Number: fmt.Sprintf("+1201555%04d", 110+i), SubmitLatency: latency})
	}
	r := newRigTB(b, rigOptions{
		modems:   cfgs,
		netCfg:   sim.NetworkConfig{ReportDelay: time.Hour},
		modemCfg: modem.Config{SubmitTimeout: latency + 30*time.Second},
	})
	ids := make([]uint64, b.N)
	for i := range ids {
		m, _, err := r.g.Submit(context.Background(), SubmitRequest{To: customer, Text: fmt.Sprintf("fleet %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = m.ID
	}
	// Let every modem finish init before the clock starts: start-up is not
	// dispatch.
	r.start()
	pollUntil(b, "all modems up", 5*time.Millisecond, time.Minute, func() bool {
		for _, st := range r.g.Modems() {
			if st.State != StateUp {
				return false
			}
		}
		return true
	})
	b.ResetTimer()
	start := time.Now()
	for _, id := range ids {
		// The texts go out in order, a few at a time, so none should wait
		// much longer than one submit; the limit only catches a hang.
		pollUntil(b, fmt.Sprintf("message %d to be sent", id), 5*time.Millisecond, time.Minute+10*latency, func() bool {
			return sentOrFailed(b, r, id, store.StatusSent)
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()
	capacity := float64(modems) / latency.Seconds() // parts/s
	achieved := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(achieved, "parts/s")
	b.ReportMetric(100*achieved/capacity, "utilization-%")
}

// sentOrFailed reports whether message id has reached one of want, and
// fails the benchmark if it ended any other way.
func sentOrFailed(b *testing.B, r *rig, id uint64, want ...store.Status) bool {
	m, err := r.db.Get(id)
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range want {
		if m.Status == w {
			return true
		}
	}
	if m.Status.Final() || m.Status == store.StatusUnknown {
		b.Fatalf("message %d ended %s: %s", id, m.Status, m.Error)
	}
	return false
}

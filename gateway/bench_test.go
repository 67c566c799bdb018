package gateway

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
		for {
			m, err := r.db.Get(id)
			if err != nil {
				b.Fatal(err)
			}
			if m.Status == store.StatusSent || m.Status == store.StatusDelivered {
				break
			}
			if m.Status.Final() || m.Status == store.StatusUnknown {
				b.Fatalf("message %d ended %s: %s", id, m.Status, m.Error)
			}
			time.Sleep(time.Millisecond)
		}
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

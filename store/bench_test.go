package store

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchClients is how many HTTP submitters the parallel benchmarks model
// per GOMAXPROCS: group commit only pays off with many callers waiting at
// once, as behind a busy API.
const benchClients = 64

func benchMessage(i int) Message {
	return Message{
		To: "+447700900123", Text: "Your order #12345 is ready for collection at the front desk.",
		Kind: KindTransactional, Encoding: "GSM-7",
		Parts:          []Part{{Seq: 1, MR: -1, Status: StatusQueued}},
		IdempotencyKey: fmt.Sprint("bench-", i),
	}
}

func benchEnqueue(b *testing.B, opts ...Option) {
	db := openTest(b, opts...)
	var mu sync.Mutex
	var lat []time.Duration
	var n, seq atomic.Int64
	b.SetParallelism(benchClients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			start := time.Now()
			m, existed, err := db.Enqueue(benchMessage(int(seq.Add(1))))
			if err != nil || existed || m.ID == 0 {
				b.Errorf("Enqueue = %d, %v, %v", m.ID, existed, err)
				return
			}
			local = append(local, time.Since(start))
		}
		n.Add(int64(len(local)))
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "msgs/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkEnqueueParallel is durable ingest: every Enqueue returns after
// its group's fsync.
func BenchmarkEnqueueParallel(b *testing.B) { benchEnqueue(b) }

// BenchmarkEnqueueNoSync is the same without fsync, to separate disk time
// from the store's own cost.
func BenchmarkEnqueueNoSync(b *testing.B) { benchEnqueue(b, WithNoSync()) }

// BenchmarkDue asks for the next 100 due among 100k queued messages, as the
// dispatcher does on every wake-up.
func BenchmarkDue(b *testing.B) {
	c := newClock()
	db := openTest(b, WithNoSync(), WithClock(c.now))
	const queued, chunk = 100_000, 10_000
	for i := 0; i < queued; i += chunk {
		msgs := make([]Message, chunk)
		for j := range msgs {
			m := benchMessage(i + j)
			m.IdempotencyKey = ""
			// Half due already, half in the next day, interleaved.
			m.NextAttemptAt = c.now().Add(time.Duration((i+j)%2*2-1) * time.Duration(i+j) * time.Second)
			msgs[j] = m
		}
		seed(b, db, msgs...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		due, err := db.Due(c.now(), 100)
		if err != nil {
			b.Fatal(err)
		}
		if len(due) != 100 {
			b.Fatalf("%d due, want 100", len(due))
		}
	}
}

// BenchmarkUpdate is one durable read-modify-write, as the dispatcher makes
// before every AT+CMGS (`sending`) and after it (the MR): its time is the
// store's share of the per-part overhead budget.
func BenchmarkUpdate(b *testing.B) {
	db := openTest(b)
	m := seed(b, db, benchMessage(0))[0]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := db.Update(m.ID, func(m *Message) error {
			m.Attempts = i
			if i%2 == 0 {
				m.Status = StatusSending
			} else {
				m.Status = StatusQueued
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

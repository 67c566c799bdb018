package webui

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/shopevents"
	"github.com/simgate/simgate/store"
)

// eventBatchSize is what the benchmark posts per request: the most one
// request may carry.
const eventBatchSize = shopevents.MaxBatch

// BenchmarkEventIngestHTTP posts batches of 1,000 checkout events (two
// items each, money as strings) through the real handler on 127.0.0.1
// into a real, fsync'd store, one request at a time, as a shop backfilling
// its history would. The contacts are created by the first batches (1,000
// numbers), then every event is about a known number. b.N counts events.
//
//	go test -run '^$' -bench EventIngestHTTP -benchtime 100000x ./webui
func BenchmarkEventIngestHTTP(b *testing.B) {
	var opts []store.Option
	if os.Getenv("SIMGATE_BENCH_NOSYNC") != "" {
		opts = append(opts, store.WithNoSync())
	}
	db, err := store.Open(filepath.Join(b.TempDir(), "simgate.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	gw, err := gateway.New(db, gateway.Config{Region: "US"})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := gw.Access().CreateToken("bench")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(Handler(Config{Gateway: gw}))
	b.Cleanup(srv.Close)
	client := srv.Client()

	batches := (b.N + eventBatchSize - 1) / eventBatchSize
	bodies := make([][]byte, batches)
	for i := range bodies {
		var sb strings.Builder
		sb.WriteString("[")
		for j := 0; j < eventBatchSize; j++ {
			n := i*eventBatchSize + j
			if j > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"id":"bench-%d","type":"checkout_started","phone":"+1201555%04d","occurred_at":"2026-12-01T10:00:00Z",`+
				`"properties":{"checkout_id":"c%d","currency":"USD","total":"149.50","resume_url":"https://shop.example/c/%d",`+
				`"items":[{"name":"Linen Shirt","url":"https://shop.example/p/1","price":"49.50","quantity":1},{"name":"Silk Scarf","price":"100.00","quantity":1}]}}`,
				n, n%1000, n, n)
		}
		sb.WriteString("]")
		bodies[i] = []byte(sb.String())
	}
	b.SetBytes(int64(len(bodies[0]) / eventBatchSize))
	b.ResetTimer()
	start := time.Now()
	for _, body := range bodies {
		q, err := http.NewRequest("POST", srv.URL+"/api/v1/events", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		q.Header.Set("Authorization", "Bearer "+tok)
		q.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(q)
		if err != nil {
			b.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("batch: %d %s", resp.StatusCode, answer)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if last, err := db.LastEventSeq(); err != nil || last != uint64(batches*eventBatchSize) {
		b.Fatalf("stored %d events, want %d (%v)", last, batches*eventBatchSize, err)
	}
	b.ReportMetric(float64(batches*eventBatchSize)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(batches), "ms/batch")
}

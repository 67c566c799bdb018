package webui

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// BenchmarkIngestHTTP measures durable ingest through the whole HTTP stack:
// concurrent keep-alive clients POST to a real server on 127.0.0.1, each
// answer comes after the message is fsync'd (commits shared through
// bbolt's Batch). DESIGN.md's budget is ≥ 5,000 msgs/s on a 2-core box.
//
//	go test -run '^$' -bench BenchmarkIngestHTTP -benchtime 20000x ./webui
func BenchmarkIngestHTTP(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "simgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	gw, err := gateway.New(db, gateway.Config{Region: "US"})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := gw.CreateToken("bench")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(Handler(Config{Gateway: gw}))
	defer srv.Close()

	const parallelism = 16 // × GOMAXPROCS client goroutines
	tr := &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024, // the default of 2 would reconnect constantly
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := srv.URL + "/api/v1/messages"
	body := `{"to":"+12015550123","text":"Your order #%d is ready for pickup. Reply STOP to opt out."}`

	var (
		seq       atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
	)
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			n := seq.Add(1)
			req, err := http.NewRequest("POST", url, strings.NewReader(fmt.Sprintf(body, n)))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			local = append(local, time.Since(start))
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if len(latencies) > 0 {
		slices.Sort(latencies)
		p99 := latencies[(len(latencies)*99)/100]
		b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
	}
	// Every acknowledged message is in the store.
	counts, err := db.CountByStatus()
	if err != nil {
		b.Fatal(err)
	}
	if got := counts[store.StatusQueued]; got < b.N {
		b.Fatalf("stored %d queued messages, acknowledged %d", got, b.N)
	}
}

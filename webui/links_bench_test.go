package webui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// BenchmarkShortLinkPaced measures GET /l/{code} at 500 requests per
// second (issue 10: p99 ≤ 5 ms) through a real server on 127.0.0.1, over a
// real, fsync'd store holding 100,000 links, with the gateway running so
// clicks are flushed in the background as in production. Open-loop, as
// BenchmarkIngestHTTPPaced: request i is sent at start + i × 2 ms. Every
// click is checked to be stored once the gateway stops.
//
//	go test -run '^$' -bench 'BenchmarkShortLinkPaced' -benchtime 5000x ./webui
func BenchmarkShortLinkPaced(b *testing.B) {
	const (
		rate  = 500
		links = 100_000
	)
	db, err := store.Open(filepath.Join(b.TempDir(), "simgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	codes := make([]string, 0, links)
	for start := 0; start < links; start += 10_000 {
		var batch []store.Link
		for i := start; i < start+10_000; i++ {
			batch = append(batch, store.Link{URL: fmt.Sprintf("https://shop.example/checkouts/%d/recover?key=k%d", i, i),
				Number: fmt.Sprintf("+1201555%04d", i%10000), Origin: fmt.Sprintf("flow:1:entry:%d:step:1", i), MessageKey: fmt.Sprintf("flow:1:%d:1", i)})
		}
		n := start
		stored, err := db.EnsureLinks(batch, func() (string, error) { n++; return fmt.Sprintf("B%07d", n), nil })
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range stored {
			codes = append(codes, l.Code)
		}
	}
	gw, err := gateway.New(db, gateway.Config{Region: "US"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- gw.Run(ctx) }()
	srv := httptest.NewServer(Handler(Config{Gateway: gw}))
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(i int) (time.Duration, error) {
		req, _ := http.NewRequest("GET", srv.URL+"/l/"+codes[(i*7919)%len(codes)], nil)
		req.Header.Set("User-Agent", iPhone)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != http.StatusFound {
			return d, fmt.Errorf("status %d", resp.StatusCode)
		}
		return d, nil
	}
	interval := time.Second / rate
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		// Pacing the load is what this benchmark is about: it sleeps
		// until request i is due, and synchronises nothing with it.
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := get(i)
			if err != nil {
				b.Error(err)
			}
			lat[i] = d
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
	reportP99(b, lat)
	cancel()
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	st, err := db.LinkStatsOf("flow:1:")
	if err != nil || st.Clicks != b.N {
		b.Errorf("%d clicks stored (%v), want %d", st.Clicks, err, b.N)
	}
}

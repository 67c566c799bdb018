package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/httpout"
	"github.com/simgate/simgate/store"
)

// BenchmarkWebhookThroughput: b.N changes waiting in the feed, one endpoint
// on a local receiver that answers at once; events/s from the service's
// start until every delivery is recorded delivered (real bbolt, fsync on,
// signed requests over loopback HTTP).
func BenchmarkWebhookThroughput(b *testing.B) {
	db, err := store.Open(b.TempDir() + "/simgate.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer srv.Close()
	s := New(Config{DB: db, Sender: httpout.New(DefaultTimeout, nil)})
	if _, err := s.CreateEndpoint(context.Background(), EndpointInput{URL: ptr(srv.URL), AllowPrivate: ptr(true), Kinds: ptr([]string{store.ChangeModemDown})}); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := db.AppendChange(store.ChangeModemDown, "m1", map[string]int{"n": i}); err != nil {
			b.Fatal(err)
		}
	}
	db.OnChange(s.Changed)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.ResetTimer()
	start := time.Now()
	go func() { s.Run(ctx); close(done) }()
	for {
		n, err := db.CountPendingDeliveries()
		if err != nil {
			b.Fatal(err)
		}
		if last, _ := db.ChangeCursor(store.WebhookCursor); n == 0 && last == uint64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	if got.Load() < int64(b.N) {
		b.Fatalf("the receiver got %d of %d", got.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

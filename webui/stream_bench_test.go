package webui

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem/sim"
)

// reportClock records when the simulator hands each status report to its
// modem (its "sim: status report" log line), keyed by MR.
type reportClock struct {
	mu sync.Mutex
	at map[int64]time.Time
}

func (c *reportClock) Enabled(context.Context, slog.Level) bool { return true }
func (c *reportClock) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *reportClock) WithGroup(string) slog.Handler            { return c }
func (c *reportClock) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sim: status report" {
		return nil
	}
	now := time.Now()
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "mr" {
			c.mu.Lock()
			c.at[a.Value.Int64()] = now
			c.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

// BenchmarkStatusToBrowser measures the time from a status report arriving
// at the (simulated) modem to the "delivered" event reaching a websocket
// client: modem driver, gateway matching and commit, hub and socket. One
// message at a time, so each report is timed alone. Budget in docs/architecture.md:
// ≤ 200 ms.
func BenchmarkStatusToBrowser(b *testing.B) {
	clock := &reportClock{at: map[int64]time.Time{}}
	l := newLiveRigNet(b, sim.NetworkConfig{ReportDelay: 5 * time.Millisecond, Log: slog.New(clock)})
	c, _, err := l.dial(l.srv.URL, true)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	readFrame(b, c) // snapshot
	var lat []time.Duration
	ctx := context.Background()
	for b.Loop() {
		m, _, err := l.gw.Submit(ctx, gateway.SubmitRequest{To: liveCustomer, Text: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			f := readFrame(b, c)
			if f.Type == "message" && f.Message.ID == m.ID && f.Message.Status == gateway.StatusDelivered {
				got := time.Now()
				clock.mu.Lock()
				at, ok := clock.at[int64(*f.Message.Parts[0].MR)]
				clock.mu.Unlock()
				if !ok {
					b.Fatalf("no report time for MR %d", *f.Message.Parts[0].MR)
				}
				lat = append(lat, got.Sub(at))
				break
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "ms-p95")
}

// BenchmarkIdleStreamClients opens 100 websocket clients that say nothing
// and reports the server's memory and goroutines per client. The clients
// are raw sockets (handshake by hand, no read buffer kept), so their own
// share of the heap is a net.Conn each.
func BenchmarkIdleStreamClients(b *testing.B) {
	const clients = 100
	l := newLiveRig(b)
	host := strings.TrimPrefix(l.srv.URL, "http://")
	var perClient, goroutines float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		conns := make([]net.Conn, 0, clients)
		for range clients {
			conns = append(conns, rawStream(b, host, l.cookie.Value))
		}
		l.waitFor("subscribers", func() bool { return l.gw.Hub().Subscribers() == clients })
		runtime.GC()
		runtime.ReadMemStats(&after)
		// Heap and goroutine stacks: both grow with every client.
		perClient = float64(int64(after.HeapInuse+after.StackInuse)-int64(before.HeapInuse+before.StackInuse)) / clients
		goroutines = float64(runtime.NumGoroutine()-g0) / clients
		for _, c := range conns {
			c.Close()
		}
		l.waitFor("clients gone", func() bool { return l.gw.Hub().Subscribers() == 0 })
	}
	b.ReportMetric(perClient, "B/client")
	b.ReportMetric(goroutines, "goroutines/client")
}

// rawStream performs the websocket handshake by hand and reads the
// response headers and the snapshot frame, then leaves the socket idle.
func rawStream(b testing.TB, host, session string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", host)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "GET /api/v1/stream HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://%s\r\nCookie: %s=%s\r\n\r\n",
		host, host, cookieName, session)
	br := bufio.NewReaderSize(c, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	// The snapshot: one unmasked text frame.
	hdr := make([]byte, 2)
	if _, err := br.Read(hdr); err != nil {
		b.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		ext := make([]byte, 2)
		if _, err := ioReadFull(br, ext); err != nil {
			b.Fatal(err)
		}
		n = int(ext[0])<<8 | int(ext[1])
	case 127:
		b.Fatal("snapshot larger than 64 KiB")
	}
	if _, err := br.Discard(n); err != nil {
		b.Fatal(err)
	}
	return c
}

func ioReadFull(r *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

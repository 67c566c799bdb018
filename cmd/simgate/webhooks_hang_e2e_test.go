package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiverHang is how long the hanging receiver keeps each request before
// it answers (issue 12: "a receiver that hangs for 60 s delays no text").
const receiverHang = 60 * time.Second

// TestEndToEndHangingReceiverDelaysNoText: the real daemon, with its
// webhook timeout at the 60 s the config allows, has a webhook endpoint on
// a receiver that takes every request and answers none for 60 s. A batch
// of texts sent while the first request hangs must all reach `delivered`
// before the receiver has answered anything: the hang is still going on,
// so it delayed none of them. A batch sent before the endpoint existed is
// timed for the log, as the comparison a person would make (not asserted:
// timing is never asserted).
func TestEndToEndHangingReceiverDelaysNoText(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	const batch = 20
	var (
		requests atomic.Int64 // requests the receiver took
		answered atomic.Int64 // requests it answered
		hungOnce sync.Once
	)
	hung := make(chan struct{})    // closed when the first request is held
	release := make(chan struct{}) // closed when the test is done with the hang
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		hungOnce.Do(func() { close(hung) })
		timer := time.NewTimer(receiverHang)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-release:
			return // the test has its answer; a late reply proves nothing
		}
		answered.Add(1)
	}))
	// Release before Close: Close waits for the handlers.
	defer recv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, _ := startSim(t, dir, 2, "--latency", "20ms", "--report-delay", "100ms")
	token := createToken(t, data)
	conf := filepath.Join(dir, "simgate.toml")
	if err := os.WriteFile(conf, []byte("webhook_timeout = \"60s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--config", conf, "--data", data, "--listen", "127.0.0.1:0"}
	for i, l := range links {
		args = append(args, "--modem", fmt.Sprintf("%s,name=sim%d,per_minute=0,per_day=0,unique_per_day=0,unique_per_month=0", l, i+1))
	}
	p := startProc(t, args...)
	c := &api{t: t, base: p.expect(t, reListening)[1], token: token, http: &http.Client{Timeout: 10 * time.Second}}

	sendBatch := func(name string) time.Duration {
		start := time.Now()
		ids := make([]string, 0, batch)
		for i := range batch {
			var m apiMessage
			code, err := c.do("POST", "/api/v1/messages", map[string]string{"to": e2eRecipient(i), "text": e2eText(i)}, &m)
			if err != nil || code != http.StatusAccepted {
				t.Fatalf("%s: submit %d: %d %v", name, i, code, err)
			}
			ids = append(ids, m.ID.String())
		}
		for id, st := range waitAll(t, c, ids, func(s string) bool { return s == "delivered" || s == "failed" || s == "unknown" }) {
			if st != "delivered" {
				t.Fatalf("%s: message %s ended %s, want delivered", name, id, st)
			}
		}
		return time.Since(start)
	}

	alone := sendBatch("without a receiver")

	var ep struct {
		ID uint64 `json:"id"`
	}
	code, err := c.do("POST", "/api/v1/webhooks", map[string]any{"url": recv.URL + "/hook", "kinds": []string{"message.status"}, "allow_private": true}, &ep)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create endpoint: %d %v", code, err)
	}
	// One text so that the feed has something for the endpoint, then wait
	// until the receiver holds its first request.
	var first apiMessage
	if code, err := c.do("POST", "/api/v1/messages", map[string]string{"to": e2eCustomer, "text": "Your order is ready"}, &first); err != nil || code != http.StatusAccepted {
		t.Fatalf("submit: %d %v", code, err)
	}
	select {
	case <-hung:
	case <-time.After(time.Minute):
		t.Fatal("the receiver got no request within a minute")
	}
	hangStart := time.Now()

	hanging := sendBatch("while the receiver hangs")

	if n := answered.Load(); n != 0 {
		t.Fatalf("the receiver had answered %d requests by the time the batch was delivered: the batch took longer than the %v hang (%v), so this run shows nothing", n, receiverHang, time.Since(hangStart))
	}
	t.Logf("%d texts delivered in %v without a webhook receiver and in %v while one hung (%d requests held, none answered)",
		batch, alone.Round(time.Millisecond), hanging.Round(time.Millisecond), requests.Load())

	// The daemon's /metrics tells the same story: the texts went, and
	// the events wait for the receiver.
	series := scrapeMetrics(t, c)
	sent := 0.0
	for k, v := range series {
		if strings.HasPrefix(k, "simgate_parts_sent_total{") {
			sent += v
		}
	}
	if sent < 2*batch+1 {
		t.Errorf("simgate_parts_sent_total adds up to %v, want at least %d", sent, 2*batch+1)
	}
	if series["simgate_webhook_backlog"] < 1 {
		t.Errorf("simgate_webhook_backlog = %v while the receiver holds every request", series["simgate_webhook_backlog"])
	}
	if series[`simgate_messages{status="delivered"}`] < 2*batch {
		t.Errorf("simgate_messages{status=\"delivered\"} = %v, want at least %d", series[`simgate_messages{status="delivered"}`], 2*batch)
	}
}

// scrapeMetrics reads the daemon's GET /metrics with the client's token:
// each sample line's series and value.
func scrapeMetrics(t *testing.T, c *api) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
)

// The live rig: a real gateway over two simulated modems joined by
// io.Pipe (the only fake: a byte boundary), served on 127.0.0.1.

const (
	liveSimA     = "+12015550101"
	liveSimB     = "+12015550102"
	liveCustomer = "+12015550123"
)

type liveRig struct {
	*consoleRig
	net *sim.Network
	srv *httptest.Server
}

func newLiveRig(t testing.TB, opts ...rigOption) *liveRig {
	return newLiveRigNet(t, sim.NetworkConfig{ReportDelay: 20 * time.Millisecond}, opts...)
}

// newLiveRigDelay sets how long the simulated network takes to send a
// status report.
func newLiveRigDelay(t testing.TB, reportDelay time.Duration, opts ...rigOption) *liveRig {
	return newLiveRigNet(t, sim.NetworkConfig{ReportDelay: reportDelay}, opts...)
}

func newLiveRigNet(t testing.TB, netCfg sim.NetworkConfig, opts ...rigOption) *liveRig {
	t.Helper()
	done := make(chan struct{})
	opts = append([]rigOption{func(c *Config) { c.PingInterval = time.Second }}, opts...)
	opts = append(opts, func(c *Config) {
		if c.Done == nil {
			c.Done = done
		}
	})
	tt, ok := t.(*testing.T)
	var c *consoleRig
	if ok {
		c = newConsoleRig(tt, opts...)
	} else {
		c = newConsoleRigTB(t, opts...)
	}
	netw := sim.NewNetwork(netCfg)
	mcfg := modem.Config{SubmitTimeout: 5 * time.Second, CommandTimeout: 2 * time.Second, SweepInterval: 500 * time.Millisecond}
	for i, num := range []string{liveSimA, liveSimB} {
		sm, err := netw.AddModem(sim.Config{Number: num})
		if err != nil {
			t.Fatal(err)
		}
		cfg := mcfg
		cfg.Name, cfg.Path = "sim"+string(rune('1'+i)), "pipe:"+num
		open := func(ctx context.Context) (*modem.Modem, error) {
			return modem.New(sm.Connect(context.WithoutCancel(ctx)), cfg, c.h.(*server).log), nil
		}
		if err := c.gw.AddModem(gateway.ModemConfig{Name: cfg.Name, Path: cfg.Path, Open: open}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- c.gw.Run(ctx) }()
	srv := httptest.NewServer(c.h)
	t.Cleanup(func() {
		close(done) // ends the websockets, which Close does not
		srv.Close()
		cancel()
		select {
		case err := <-runDone:
			if err != nil {
				t.Errorf("gateway Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("gateway did not stop")
		}
		netw.Close()
	})
	l := &liveRig{consoleRig: c, net: netw, srv: srv}
	l.waitFor("modems up", func() bool {
		for _, m := range c.gw.Modems() {
			if m.State != "up" {
				return false
			}
		}
		return true
	})
	return l
}

// newConsoleRigTB is newConsoleRig for benchmarks.
func newConsoleRigTB(t testing.TB, opts ...rigOption) *consoleRig {
	t.Helper()
	r := newRig(t, opts...)
	if err := r.gw.Access().AddUser(testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	id, _, err := r.gw.Access().Login(context.Background(), testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &consoleRig{rig: r, cookie: &http.Cookie{Name: cookieName, Value: id}}
}

// waitFor checks cond every 10 ms until it holds. The rig serves real
// HTTP and websockets, so it cannot run in a synctest bubble: this is real
// time, and the limit is a hang guard, not a speed assertion.
func (l *liveRig) waitFor(what string, cond func() bool) {
	l.t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			l.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// dial opens the stream with the session cookie and the given Origin.
func (l *liveRig) dial(origin string, withCookie bool) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if withCookie {
		h.Set("Cookie", cookieName+"="+l.cookie.Value)
	}
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(l.srv.URL, "http")+"/api/v1/stream", h)
}

type frame struct {
	Type    string                `json:"type"`
	Modems  []gateway.ModemStatus `json:"modems"`
	Counts  counts                `json:"counts"`
	Labels  map[string]string     `json:"labels"`
	Message *gateway.Message      `json:"message"`
	Inbound *gateway.Inbound      `json:"inbound"`
}

func readFrame(t testing.TB, c *websocket.Conn) frame {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var f frame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

func TestStream(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)

	// Another site's page must not open the stream with the shop's cookie.
	_, resp, err := l.dial("http://evil.example", true)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong Origin: err %v, resp %v; want 403", err, resp)
	}
	if l.gw.Hub().Subscribers() != 0 {
		t.Error("a refused stream subscribed")
	}
	_, resp, err = l.dial(l.srv.URL, false)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: err %v, resp %v; want 401", err, resp)
	}
	// A bearer token works too (for programs).
	h := http.Header{"Authorization": {"Bearer " + l.token}}
	bc, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(l.srv.URL, "http")+"/api/v1/stream", h)
	if err != nil {
		t.Fatalf("bearer: %v", err)
	}
	if f := readFrame(t, bc); f.Type != "snapshot" {
		t.Errorf("bearer first frame %q", f.Type)
	}
	bc.Close()

	c, _, err := l.dial(l.srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	snap := readFrame(t, c)
	if snap.Type != "snapshot" || len(snap.Modems) != 2 || snap.Labels["delivered"] != "Delivered" {
		t.Fatalf("snapshot %+v", snap)
	}
	m, _, err := l.gw.Submit(context.Background(), gateway.SubmitRequest{To: liveCustomer, Text: "Your order is ready"})
	if err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; {
		f := readFrame(t, c)
		seen = f.Type == "message" && f.Message.ID == m.ID && f.Message.Status == gateway.StatusDelivered
	}
	if err := l.net.Deliver(liveCustomer, liveSimA, "Thanks!"); err != nil {
		t.Fatal(err)
	}
	for {
		f := readFrame(t, c)
		if f.Type == "inbound" {
			if f.Inbound.From != liveCustomer || f.Inbound.Text != "Thanks!" {
				t.Errorf("inbound %+v", f.Inbound)
			}
			break
		}
	}
}

// TestStreamMessageIsTheRESTView: a message event carries the message
// exactly as GET /api/v1/messages/{id} answers it (status names, nulls for
// unknown values), so a page reads both the same way.
func TestStreamMessageIsTheRESTView(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)
	c, _, err := l.dial(l.srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readFrame(t, c) // snapshot
	// Two UCS-2 parts: ucs2_chars, a reference and a modem per part.
	sub := l.submit(`{"to":"`+liveCustomer+`","text":"`+strings.Repeat("Fête 🎉 ", 12)+`"}`, http.StatusAccepted)
	var event json.RawMessage
	for event == nil {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read frame: %v", err)
		}
		var f struct {
			Type    string          `json:"type"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		var m struct {
			ID     uint64 `json:"id"`
			Status any    `json:"status"`
		}
		if f.Type != "message" {
			continue
		}
		if err := json.Unmarshal(f.Message, &m); err != nil {
			t.Fatalf("message %s: %v", f.Message, err)
		}
		if _, ok := m.Status.(string); !ok {
			t.Fatalf("event status %v is not a name: %s", m.Status, f.Message)
		}
		// Delivered is final: nothing changes the message after this event.
		if m.ID == sub.ID && m.Status == "delivered" {
			event = f.Message
		}
	}
	w := l.do("GET", "/api/v1/messages/"+itoa(sub.ID), "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	if rest := bytes.TrimSpace(w.Body.Bytes()); !bytes.Equal(event, rest) {
		t.Errorf("event message differs from the REST answer:\nevent %s\nREST  %s", event, rest)
	}
}

// A client that stops reading is dropped by the hub and its socket closed:
// memory does not grow with a stuck browser.
func TestStreamSlowClientDropped(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)
	c, _, err := l.dial("", true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hub := l.gw.Hub()
	l.waitFor("subscription", func() bool { return hub.Subscribers() >= 1 })
	big := strings.Repeat("x", 16<<10)
	for i := 0; hub.Subscribers() > 0 && i < 100000; i++ {
		hub.Publish(gateway.Event{Type: "message", Message: &gateway.Message{ID: uint64(i), Text: big}})
	}
	l.waitFor("slow client dropped", func() bool { return hub.Subscribers() == 0 })
	// The socket ends: reading runs into the close (after the buffered frames).
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		if _, _, err := c.NextReader(); err != nil {
			break
		}
	}
}

// A client that never answers pings (a laptop closed mid-session) is
// dropped after two ping intervals.
func TestStreamSilentClientDropped(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t, func(c *Config) { c.PingInterval = 50 * time.Millisecond })
	c := rawStream(t, strings.TrimPrefix(l.srv.URL, "http://"), l.cookie.Value)
	defer c.Close()
	if n := l.gw.Hub().Subscribers(); n != 1 {
		t.Fatalf("subscribers %d", n)
	}
	l.waitFor("silent client dropped", func() bool { return l.gw.Hub().Subscribers() == 0 })
}

// Closing Config.Done ends every stream (http.Server.Shutdown would not).
func TestStreamEndsOnDone(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	l := newLiveRig(t, func(c *Config) { c.Done = done })
	c, _, err := l.dial("", true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readFrame(t, c)
	close(done)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, _, err := c.NextReader()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("ended with %v, want close 1001", err)
		}
		break
	}
}

func TestModemsPageLive(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)
	w0 := l.get("/modems")
	wantBody(t, w0, http.StatusOK, "sim1", "sim2", "IMEI", "Working", "Ask the network")
	if strings.Contains(w0.Body.String(), `class="notice" role="status"`) {
		t.Error("a USSD result box shows before any code was sent")
	}
	wantBody(t, l.get("/"), http.StatusOK, `data-modem="sim1"`, "Working", "dBm")
	wantBody(t, l.post("/modems/sim1/ussd", map[string][]string{"code": {"x"}}), http.StatusBadRequest)
	w := l.post("/modems/sim1/ussd", map[string][]string{"code": {"*100#"}})
	if w.Code != http.StatusOK && w.Code != http.StatusBadGateway {
		t.Fatalf("USSD: %d %s", w.Code, w.Body)
	}
	wantBody(t, w, w.Code, "*100#")
}

func gatewayFilterAll() gateway.ListFilter { return gateway.ListFilter{Limit: 500} }

func gatewaySubmit(to, text string) gateway.SubmitRequest {
	return gateway.SubmitRequest{To: to, Text: text}
}

package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests run the real simgate binary against `simgate
// modemsim` on real ptys, talking HTTP on loopback, exactly as a user would.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// TestMain removes the binary built for the end-to-end tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// simgateBinary builds the real binary (with the race detector) once, on
// first use, so that tests which never start it don't pay for the build.
func simgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "simgate-e2e-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "simgate")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building simgate: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running simgate process whose stdout lines are scanned.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	out   bytes.Buffer // everything it printed, for failure reports
	done  chan struct{}
}

// startProc starts the binary; it is killed when the test ends, and dies
// with the test process (Pdeathsig) so nothing outlives a crashed test.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(simgateBinary(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "SIMGATE_LOG_LEVEL=info")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.kill(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	// Keep the tail only: a long run logs a lot.
	if w.p.out.Len() > 1<<20 {
		tail := append([]byte(nil), w.p.out.Bytes()[w.p.out.Len()-1<<19:]...)
		w.p.out.Reset()
		w.p.out.Write(tail)
	}
	return w.p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) kill(sig syscall.Signal) {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}

// expect waits for a stdout line matching re and returns its submatches.
func (p *proc) expect(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line := <-p.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-p.done:
			t.Fatalf("process exited before printing %v:\n%s", re, p.output())
		case <-timeout:
			t.Fatalf("no line matching %v:\n%s", re, p.output())
		}
	}
}

var (
	reControl   = regexp.MustCompile(`control (http://127\.0\.0\.1:\d+)`)
	reListening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
)

// startSim runs `simgate modemsim` with n modems and returns the link
// paths and the control URL.
func startSim(t *testing.T, dir string, n int, extra ...string) ([]string, string) {
	t.Helper()
	prefix := filepath.Join(dir, "modem")
	args := append([]string{"modemsim", "--count", fmt.Sprint(n), "--link", prefix, "--control", "127.0.0.1:0"}, extra...)
	p := startProc(t, args...)
	control := p.expect(t, reControl)[1]
	links := make([]string, n)
	for i := range links {
		links[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return links, control
}

func createToken(t *testing.T, data string) string {
	t.Helper()
	out, err := exec.Command(simgateBinary(t), "token", "create", "--data", data, "--name", fmt.Sprintf("e2e-%d", rand.Int())).CombinedOutput()
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func startServe(t *testing.T, data string, links []string) (*proc, string) {
	t.Helper()
	args := []string{"serve", "--data", data, "--listen", "127.0.0.1:0"}
	for i, l := range links {
		// Limits off: these tests measure correctness, not a SIM's pace.
		args = append(args, "--modem", fmt.Sprintf("%s,name=sim%d,per_minute=0,per_day=0,unique_per_day=0,unique_per_month=0", l, i+1))
	}
	p := startProc(t, args...)
	return p, p.expect(t, reListening)[1]
}

// api is a small client for the JSON API.
type api struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func (a *api) do(method, path string, body any, out any) (int, error) {
	return a.doKey(method, path, body, out, "")
}

// doKey is do with an Idempotency-Key header when key is not empty.
func (a *api) doKey(method, path string, body any, out any, key string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, nil
}

type apiMessage struct {
	ID     json.Number `json:"id"`
	Status string      `json:"status"`
	Text   string      `json:"text"`
	Parts  json.RawMessage
}

// simMessage is the simulator's record of a reassembled submitted text.
type simMessage struct {
	Modem    string `json:"modem"`
	To       string `json:"to"`
	Text     string `json:"text"`
	Complete bool   `json:"complete"`
}

func simMessages(t *testing.T, control string) []simMessage {
	t.Helper()
	resp, err := http.Get(control + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []simMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func postJSON(t *testing.T, url string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s: %s", url, resp.Status, msg)
	}
}

// e2eText makes the i-th test text: a mix of GSM-7, UCS-2 with emoji and
// multipart, each unique so the simulator's record can be checked per text.
func e2eText(i int) string {
	switch i % 4 {
	case 0:
		return fmt.Sprintf("Order %d is ready for pickup.", i)
	case 1:
		return fmt.Sprintf("Danke für Ihren Einkauf 🛍️ #%d", i)
	case 2:
		return fmt.Sprintf("#%d ", i) + strings.Repeat("A long GSM-7 text with [brackets] and ^carets^. ", 5)
	default:
		return fmt.Sprintf("#%d ", i) + strings.Repeat("Длинный текст с эмодзи 😀 ", 5)
	}
}

const e2eCustomer = "+12015550123"

// e2eRecipient spreads the kill harness over 50 customers, as a shop's
// traffic is. (With every text to one phone, concatenation references,
// which are 8 bits, repeat every 256 long texts, and a phone - or the
// simulator - cannot tell two paused long texts with one reference apart.)
func e2eRecipient(i int) string { return fmt.Sprintf("+1201555%04d", 1000+i%50) }

func TestEndToEndSendDeliverReceive(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, control := startSim(t, dir, 2, "--report-delay", "50ms")
	token := createToken(t, data)
	_, base := startServe(t, data, links)
	c := &api{t: t, base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}

	const n = 100
	ids := make([]string, n)
	texts := map[string]bool{}
	for i := 0; i < n; i++ {
		var m apiMessage
		code, err := c.do("POST", "/api/v1/messages", map[string]string{"to": e2eCustomer, "text": e2eText(i)}, &m)
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("submit %d: %d %v", i, code, err)
		}
		ids[i] = m.ID.String()
		texts[e2eText(i)] = true
	}
	waitAll(t, c, ids, func(s string) bool { return s == "delivered" })

	counts := map[string]int{}
	for _, sm := range simMessages(t, control) {
		if !sm.Complete {
			t.Errorf("simulator holds an incomplete text: %+v", sm)
		}
		counts[sm.Text]++
	}
	for txt := range texts {
		if counts[txt] != 1 {
			t.Errorf("simulator received %q %d times, want exactly 1", txt, counts[txt])
		}
	}

	// Inbound: a short and a multipart text from a customer.
	long := strings.Repeat("Is the blue jacket still in stock in size M? ", 6)
	postJSON(t, control+"/inbound", map[string]any{"to": 0, "from": e2eCustomer, "text": "Thanks!"})
	postJSON(t, control+"/inbound", map[string]any{"to": 1, "from": e2eCustomer, "text": long})
	waitFor(t, 60*time.Second, "the inbox to show both texts", func() error {
		var inbox struct {
			Messages []struct {
				From, Text string
			} `json:"messages"`
		}
		if _, err := c.do("GET", "/api/v1/inbox", nil, &inbox); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, m := range inbox.Messages {
			if m.From == e2eCustomer {
				got[m.Text] = true
			}
		}
		if !got["Thanks!"] || !got[long] {
			return fmt.Errorf("it holds %+v", inbox)
		}
		return nil
	})
}

// waitAll polls every message until done(status) holds for all of them.
func waitAll(t *testing.T, c *api, ids []string, done func(string) bool) map[string]string {
	t.Helper()
	status := map[string]string{}
	waitFor(t, 3*time.Minute, fmt.Sprintf("%d messages to settle", len(ids)), func() error {
		stuck := map[string]string{}
		for _, id := range ids {
			if done(status[id]) {
				continue
			}
			var m apiMessage
			code, err := c.do("GET", "/api/v1/messages/"+id, nil, &m)
			if err != nil {
				t.Fatal(err)
			}
			if code == http.StatusNotFound {
				t.Fatalf("accepted message %s is lost (404)", id)
			}
			status[id] = m.Status
			if !done(m.Status) {
				stuck[id] = m.Status
			}
		}
		if len(stuck) > 0 {
			return fmt.Errorf("%d messages still pending: %v", len(stuck), stuck)
		}
		return nil
	})
	return status
}

// TestEndToEndKillRestart is the crash-safety harness: the real daemon
// sends through simulated modems with latency while it is killed with
// SIGKILL at random moments and restarted. No accepted message may be lost,
// and the simulator may see a text twice only if the gateway marked that
// message unknown. Clients retry with an Idempotency-Key, as the API asks.
func TestEndToEndKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	messages, kills := 2000, 20
	if os.Getenv("SIMGATE_E2E_QUICK") != "" {
		messages, kills = 200, 3
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, control := startSim(t, dir, 4, "--latency", "20ms", "--report-delay", "100ms")
	token := createToken(t, data)

	var mu sync.Mutex
	var base string
	accepted := map[string]string{} // id → text
	setBase := func(b string) { mu.Lock(); base = b; mu.Unlock() }
	getBase := func() string { mu.Lock(); defer mu.Unlock(); return base }

	// The client: submits every text until the daemon accepts it, reusing
	// the idempotency key across the daemon's deaths.
	done := make(chan struct{})
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < messages; i++ {
			txt := e2eText(i)
			for {
				c := &api{t: t, base: getBase(), token: token, http: client}
				var m apiMessage
				code, err := c.doKey("POST", "/api/v1/messages", map[string]string{"to": e2eRecipient(i), "text": txt}, &m, fmt.Sprintf("e2e-%d", i))
				if err == nil && (code == http.StatusAccepted || code == http.StatusOK) {
					mu.Lock()
					accepted[m.ID.String()] = txt
					mu.Unlock()
					break
				}
				// The daemon is down (killed on purpose): a client's pause
				// before it retries, part of the scenario under test.
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()

	for k := 0; k <= kills; k++ {
		p, b := startServe(t, data, links)
		setBase(b)
		if k == kills {
			<-done
			c := &api{t: t, base: b, token: token, http: &http.Client{Timeout: 10 * time.Second}}
			mu.Lock()
			ids := make([]string, 0, len(accepted))
			for id := range accepted {
				ids = append(ids, id)
			}
			mu.Unlock()
			final := waitAll(t, c, ids, func(s string) bool {
				return s == "delivered" || s == "unknown" || s == "failed"
			})
			checkNoLossNoSilentDuplicateVia(t, c, control, accepted, final)
			p.kill(syscall.SIGKILL)
			<-p.done
			checkCountersRecount(t, data)
			return
		}
		// Kill at a random moment of the run: the pause is the scenario
		// under test, not a wait for some state.
		select {
		case <-time.After(time.Duration(300+rand.IntN(1200)) * time.Millisecond):
		case <-done:
		}
		p.kill(syscall.SIGKILL)
		<-p.done
		checkCountersRecount(t, data)
	}
}

// checkCountersRecount runs `simgate stats --recount` on a stopped (here:
// killed) daemon's data: the store's counters must equal a full recount,
// whatever moment the kill came at.
func checkCountersRecount(t *testing.T, data string) {
	t.Helper()
	out, err := exec.Command(simgateBinary(t), "stats", "--data", data, "--recount").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "counters: equal to a full recount") ||
		!strings.Contains(string(out), "results of campaigns and flows: equal to a recount of the texts") {
		t.Errorf("simgate stats --recount after SIGKILL: %v\n%s", err, out)
	}
}

func checkNoLossNoSilentDuplicate(t *testing.T, control string, accepted map[string]string, final map[string]string) {
	checkNoLossNoSilentDuplicateVia(t, nil, control, accepted, final)
}

// checkNoLossNoSilentDuplicateVia is checkNoLossNoSilentDuplicate that, with
// a client, also prints the gateway's record of a message that went wrong.
func checkNoLossNoSilentDuplicateVia(t *testing.T, c *api, control string, accepted map[string]string, final map[string]string) {
	t.Helper()
	counts := map[string]int{}
	all := simMessages(t, control)
	for _, sm := range all {
		counts[sm.Text]++
	}
	unknown := 0
	for id, txt := range accepted {
		st := final[id]
		switch {
		case st == "unknown":
			unknown++
		case st != "delivered":
			t.Errorf("message %s ended %q, want delivered (or unknown after a crash)", id, st)
		case counts[txt] != 1:
			t.Errorf("message %s delivered but the simulator received it %d times", id, counts[txt])
			if c != nil {
				var raw json.RawMessage
				c.do("GET", "/api/v1/messages/"+id, nil, &raw)
				t.Logf("  gateway record: %s", raw)
			}
			for _, sm := range all {
				if len(txt) > 6 && strings.HasPrefix(sm.Text, txt[:6]) {
					t.Logf("  simulator holds from %s: complete=%v %q", sm.Modem, sm.Complete, sm.Text)
				}
			}
		}
	}
	t.Logf("%d accepted, %d unknown after kills", len(accepted), unknown)
}

// TestEndToEndUnplugReplug pulls a modem off "USB" mid-run: its pty closes
// and its link disappears, then it comes back on a new /dev/pts/N behind
// the same link. The daemon reconnects by itself and nothing is lost.
func TestEndToEndUnplugReplug(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, control := startSim(t, dir, 1, "--latency", "20ms", "--report-delay", "50ms")
	token := createToken(t, data)
	_, base := startServe(t, data, links)
	c := &api{t: t, base: base, token: token, http: &http.Client{Timeout: 10 * time.Second}}

	send := func(from, n int) []string {
		var ids []string
		for i := from; i < from+n; i++ {
			var m apiMessage
			code, err := c.do("POST", "/api/v1/messages", map[string]string{"to": e2eCustomer, "text": e2eText(i)}, &m)
			if err != nil || code != http.StatusAccepted {
				t.Fatalf("submit: %d %v", code, err)
			}
			ids = append(ids, m.ID.String())
		}
		return ids
	}
	ids := send(0, 10)
	waitAll(t, c, ids, func(s string) bool { return s == "delivered" })
	before, err := os.Readlink(links[0])
	if err != nil {
		t.Fatal(err)
	}
	postJSON(t, control+"/faults", map[string]any{"modem": 0, "unplug": true, "replug_after": "1s"})
	ids = append(ids, send(10, 10)...) // queued while the modem is away
	final := waitAll(t, c, ids, func(s string) bool { return s == "delivered" || s == "unknown" })
	after, err := os.Readlink(links[0])
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Errorf("the modem came back on the same pty %s; the test wanted a new one", after)
	}
	accepted := map[string]string{}
	for i, id := range ids {
		accepted[id] = e2eText(i)
	}
	checkNoLossNoSilentDuplicate(t, control, accepted, final)
}

// TestEndToEndGracefulStop stops the daemon with SIGTERM while a submit is
// in flight: the submit finishes before the process exits, so after a
// restart the text is sent or delivered, never unknown.
func TestEndToEndGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, control := startSim(t, dir, 1, "--latency", "1500ms", "--report-delay", "50ms")
	token := createToken(t, data)
	p, base := startServe(t, data, links)
	c := &api{t: t, base: base, token: token, http: &http.Client{Timeout: 10 * time.Second}}
	var m apiMessage
	if code, err := c.do("POST", "/api/v1/messages", map[string]string{"to": e2eCustomer, "text": "in flight at shutdown"}, &m); err != nil || code != http.StatusAccepted {
		t.Fatalf("submit: %d %v", code, err)
	}
	waitAll(t, c, []string{m.ID.String()}, func(s string) bool { return s == "sending" || s == "sent" || s == "delivered" })
	p.kill(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop within 30 s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	_, base = startServe(t, data, links)
	c.base = base
	final := waitAll(t, c, []string{m.ID.String()}, func(s string) bool { return s == "delivered" || s == "unknown" || s == "failed" })
	if final[m.ID.String()] != "delivered" {
		t.Errorf("after a graceful stop: got %s, want delivered", final[m.ID.String()])
	}
	checkNoLossNoSilentDuplicate(t, control, map[string]string{m.ID.String(): "in flight at shutdown"}, final)
}

// TestEndToEndTLS serves HTTPS with a self-signed certificate made on first
// start; a client that trusts that certificate (as a browser does once the
// owner accepts it) talks to the daemon.
func TestEndToEndTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	data := filepath.Join(t.TempDir(), "data")
	p := startProc(t, "serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-self-signed")
	base := p.expect(t, regexp.MustCompile(`listening on (https://127\.0\.0\.1:\d+)`))[1]
	pemBytes, err := os.ReadFile(filepath.Join(data, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("cert.pem holds no certificate")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz over TLS: %s", resp.Status)
	}
}

package sim

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// waitFor bounds every wait in the tests; nothing legitimate takes long.
const waitFor = 5 * time.Second

// pipeRW joins the two halves of a connection.
type pipeRW struct {
	io.Reader
	io.Writer
}

// client is the test's side of an AT conversation over io.Pipe.
type client struct {
	t     testing.TB
	w     *io.PipeWriter
	mu    sync.Mutex
	buf   []byte
	pos   int
	more  chan struct{}
	rdone chan struct{}
	// served yields Serve's result; only tests that end Serve from the
	// modem's side (unplug) read it, and then hand it on to stop.
	served chan error
}

// newNet creates a network with fast status reports, closed at cleanup.
func newNet(t *testing.T) *Network {
	t.Helper()
	n := NewNetwork(NetworkConfig{ReportDelay: 10 * time.Millisecond, Seed: 1})
	t.Cleanup(n.Close)
	return n
}

func addModem(t *testing.T, n *Network, cfg Config) *Modem {
	t.Helper()
	m, err := n.AddModem(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// connect serves m over a pipe pair and returns the client side; cleanup
// stops Serve, closes the pipes and waits for everything to exit.
func connect(t *testing.T, m *Modem) *client {
	t.Helper()
	c, stop := connectStop(t, m)
	t.Cleanup(stop)
	return c
}

func connectStop(t testing.TB, m *Modem) (*client, func()) {
	t.Helper()
	return connectWith(t, m, func(err error) {
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// connectWith is connectStop with a check of Serve's result, which stop
// hands to check.
func connectWith(t testing.TB, m *Modem, check func(error)) (*client, func()) {
	t.Helper()
	toModemR, toModemW := io.Pipe()
	fromModemR, fromModemW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx, pipeRW{toModemR, fromModemW}) }()
	c := &client{t: t, w: toModemW, more: make(chan struct{}, 1), rdone: make(chan struct{}), served: served}
	go func() {
		defer close(c.rdone)
		b := make([]byte, 4096)
		for {
			n, err := fromModemR.Read(b)
			c.mu.Lock()
			c.buf = append(c.buf, b[:n]...)
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			check(<-served)
			toModemR.Close()
			toModemW.Close()
			fromModemR.Close()
			fromModemW.Close()
			<-c.rdone
		})
	}
	return c, stop
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := c.w.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// expect waits until the unread output contains sub and returns everything
// up to and including it.
func (c *client) expect(sub string) string {
	c.t.Helper()
	deadline := time.After(waitFor)
	for {
		c.mu.Lock()
		rest := string(c.buf[c.pos:])
		if i := strings.Index(rest, sub); i >= 0 {
			c.pos += i + len(sub)
			c.mu.Unlock()
			return rest[:i+len(sub)]
		}
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-deadline:
			c.t.Fatalf("timed out waiting for %q; unread output %q", sub, rest)
		}
	}
}

// expectRe waits for a regexp match and returns the match.
func (c *client) expectRe(re string) []string {
	c.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(waitFor)
	for {
		c.mu.Lock()
		rest := string(c.buf[c.pos:])
		if loc := rx.FindStringSubmatchIndex(rest); loc != nil {
			c.pos += loc[1]
			c.mu.Unlock()
			m := rx.FindStringSubmatch(rest)
			return m
		}
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-deadline:
			c.t.Fatalf("timed out waiting for /%s/; unread output %q", re, rest)
		}
	}
}

// unread returns output not consumed yet, without waiting.
func (c *client) unread() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf[c.pos:])
}

// replyRe matches everything up to and including a final result code.
const replyRe = `(?s)^(.*?)\r\n(OK|ERROR|\+CMS ERROR: [^\r\n]*|\+CME ERROR: [^\r\n]*|COMMAND NOT SUPPORT)\r\n`

var mrRe = regexp.MustCompile(`\+CMGS: (\d+)`)

// cmd sends a command line and returns its non-empty lines (echo included
// when on) and the final result code.
func (c *client) cmd(line string) (lines []string, final string) {
	c.t.Helper()
	c.write(line + "\r")
	m := c.expectRe(replyRe)
	for l := range strings.FieldsFuncSeq(m[1], func(r rune) bool { return r == '\r' || r == '\n' }) {
		lines = append(lines, l)
	}
	return lines, m[2]
}

// ok sends a command that must succeed and returns its info lines.
func (c *client) ok(line string) []string {
	c.t.Helper()
	lines, final := c.cmd(line)
	if final != "OK" {
		c.t.Fatalf("%s: got final %q (lines %q), want OK", line, final, lines)
	}
	return lines
}

// init puts the modem in the state the driver will use.
func (c *client) init() {
	c.t.Helper()
	c.ok("ATE0")
	c.ok("AT+CMEE=1")
	c.ok("AT+CMGF=0")
	c.ok("AT+CNMI=2,1,0,2,0")
}

// submitPDUs encodes text to a recipient as SUBMIT TPDUs (SRR optional).
func submitPDUs(t testing.TB, to, text string, srr bool) [][]byte {
	t.Helper()
	tps, err := sms.Encode([]byte(text), sms.To(to), sms.AsSubmit)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := range tps {
		if srr {
			tps[i].FirstOctet |= tpdu.FoSRR
		}
		b, err := tps[i].MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// send runs one +CMGS exchange and returns the final result code and MR
// (-1 when none).
func (c *client) send(tp []byte) (final string, mr int) {
	c.t.Helper()
	c.write(fmt.Sprintf("AT+CMGS=%d\r", len(tp)))
	c.expect("> ")
	c.write("00" + strings.ToUpper(hex.EncodeToString(tp)) + "\x1a")
	m := c.expectRe(replyRe)
	mr = -1
	if x := mrRe.FindStringSubmatch(m[1]); x != nil {
		mr, _ = strconv.Atoi(x[1])
	}
	return m[2], mr
}

// decodeStored decodes a PDU line from +CMGR/+CMGL/+CMT/+CDS, choosing the
// direction by MTI.
func decodeStored(t *testing.T, pduHex string) *tpdu.TPDU {
	t.Helper()
	p, err := pdumode.UnmarshalHexString(strings.TrimSpace(pduHex))
	if err != nil {
		t.Fatalf("pdu %q: %v", pduHex, err)
	}
	var opts []sms.UnmarshalOption
	if tpdu.FirstOctet(p.TPDU[0]).MTI() == tpdu.MtSubmit {
		opts = append(opts, sms.AsMO)
	}
	tp, err := sms.Unmarshal(p.TPDU, opts...)
	if err != nil {
		t.Fatalf("tpdu %X: %v", p.TPDU, err)
	}
	return tp
}

func textOf(t *testing.T, tps ...*tpdu.TPDU) string {
	t.Helper()
	b, err := sms.Decode(tps)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// eventually polls cond until it holds or the test times out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// syncWriter makes a writer safe for the session's writer goroutine and the
// test reading it.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// serveResult waits for Serve to return and leaves the result for stop.
func (c *client) serveResult() error {
	c.t.Helper()
	select {
	case err := <-c.served:
		c.served <- err
		return err
	case <-time.After(waitFor):
		c.t.Fatal("Serve did not return")
		return nil
	}
}

// mark returns the read position, for since.
func (c *client) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos
}

// since returns what was consumed after mark.
func (c *client) since(mark int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf[mark:c.pos])
}

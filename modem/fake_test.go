package modem

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeEnd is one side of a pair of io.Pipes: what New gets.
type pipeEnd struct {
	io.Reader
	io.Writer
	closers []io.Closer
}

func (p *pipeEnd) Close() error {
	for _, c := range p.closers {
		c.Close()
	}
	return nil
}

// pipePair returns the host end (for New) and the modem end.
func pipePair() (host, dev *pipeEnd) {
	hr, dw := io.Pipe() // device writes, host reads
	dr, hw := io.Pipe() // host writes, device reads
	host = &pipeEnd{Reader: hr, Writer: hw, closers: []io.Closer{hr, hw}}
	dev = &pipeEnd{Reader: dr, Writer: dw, closers: []io.Closer{dr, dw}}
	return host, dev
}

// testLog logs at debug level through t.Log when -v is given.
func testLog(t testing.TB) *slog.Logger {
	if !testing.Verbose() || os.Getenv("MODEM_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tbWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// fakeModem is a scripted modem at the io.Pipe boundary, for byte
// sequences the simulator does not produce (split echo, Wavecom finals,
// a prompt that never comes). handle answers one command line; it returns
// false for commands it doesn't know, which get ERROR.
type fakeModem struct {
	t      testing.TB
	host   *pipeEnd
	dev    *pipeEnd
	r      *bufio.Reader
	handle func(fm *fakeModem, cmd string) bool

	mu   sync.Mutex
	cmds []string
	pdus []string
	escs int // ESC bytes seen outside PDU entry
	done chan struct{}
}

func newFake(t testing.TB, handle func(fm *fakeModem, cmd string) bool) *fakeModem {
	host, dev := pipePair()
	// Like a UART's receive buffer, take what the host writes at once,
	// even while the script is busy (sleeping before a late reply).
	br, bw := io.Pipe()
	fm := &fakeModem{t: t, host: host, dev: dev, r: bufio.NewReader(br), handle: handle, done: make(chan struct{})}
	buf := make(chan []byte, 1024)
	go func() {
		defer close(buf)
		for {
			b := make([]byte, 256)
			n, err := dev.Read(b)
			if n > 0 {
				buf <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		for b := range buf {
			if _, err := bw.Write(b); err != nil {
				break
			}
		}
		bw.Close()
		for range buf {
		}
	}()
	go fm.loop()
	t.Cleanup(fm.stop)
	return fm
}

func (fm *fakeModem) stop() {
	fm.dev.Close()
	fm.host.Close()
	<-fm.done
}

func (fm *fakeModem) loop() {
	defer close(fm.done)
	for {
		cmd, err := fm.readCmd()
		if err != nil {
			return
		}
		fm.mu.Lock()
		fm.cmds = append(fm.cmds, cmd)
		fm.mu.Unlock()
		if !fm.handle(fm, cmd) {
			fm.send("ERROR")
		}
	}
}

// readCmd returns the next command line, without ESC, CR, LF, Ctrl-Z.
func (fm *fakeModem) readCmd() (string, error) {
	var b []byte
	for {
		c, err := fm.r.ReadByte()
		if err != nil {
			return "", err
		}
		switch c {
		case '\r':
			if s := strings.TrimSpace(string(b)); s != "" {
				return s, nil
			}
			b = b[:0]
		case 0x1b:
			fm.mu.Lock()
			fm.escs++
			fm.mu.Unlock()
		case '\n', 0x1a:
		default:
			b = append(b, c)
		}
	}
}

// readPDU returns the PDU typed after the prompt ("" if ESC cancelled it).
func (fm *fakeModem) readPDU() string {
	var b []byte
	for {
		c, err := fm.r.ReadByte()
		if err != nil || c == 0x1b {
			return ""
		}
		if c == 0x1a {
			fm.mu.Lock()
			fm.pdus = append(fm.pdus, string(b))
			fm.mu.Unlock()
			return string(b)
		}
		b = append(b, c)
	}
}

// raw writes bytes to the host.
func (fm *fakeModem) raw(s string) { fm.dev.Write([]byte(s)) }

// send writes each line framed as "\r\n<line>\r\n".
func (fm *fakeModem) send(lines ...string) {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString("\r\n" + l + "\r\n")
	}
	fm.dev.Write(b.Bytes())
}

func (fm *fakeModem) ok(info ...string) { fm.send(append(info, "OK")...) }

func (fm *fakeModem) commands() []string {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return append([]string(nil), fm.cmds...)
}

func (fm *fakeModem) count(cmd string) int {
	n := 0
	for _, c := range fm.commands() {
		if c == cmd {
			n++
		}
	}
	return n
}

// basic answers what a plain, healthy modem answers; tests wrap it.
func basic(fm *fakeModem, cmd string) bool {
	switch cmd {
	case "AT", "ATE0", "ATV1", "AT+CMEE=1", "AT+CMGF=0", `AT+CPMS="SM","SM","SM"`, `AT+CPMS="SM"`, `AT+CPMS="SR"`,
		"AT+CNMI=2,1,0,2,0", "AT+CMGL=4", "AT+CNMA", "AT+CFUN=1":
		fm.ok()
	case "AT+CGMI":
		fm.ok("ACME")
	case "AT+CGMM":
		fm.ok("M1")
	case "AT+CGMR":
		fm.ok("R1.0")
	case "AT+CGSN":
		fm.ok("490154203237518")
	case "AT+CIMI":
		fm.ok("310150123456789")
	case "AT+CCID":
		fm.ok("+CCID: 89310410106543789301")
	case "AT+CFUN?":
		fm.ok("+CFUN: 1")
	case "AT+CPIN?":
		fm.ok("+CPIN: READY")
	case "AT+CSCA?":
		fm.ok(`+CSCA: "+15559990000",145`)
	case "AT+CPMS=?":
		fm.ok(`+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")`)
	case "AT+CPMS?":
		fm.ok(`+CPMS: "SM",1,30,"SM",1,30,"SM",1,30`)
	case "AT+CSMS?":
		fm.ok("+CSMS: 0,1,1,1")
	case "AT+CSQ":
		fm.ok("+CSQ: 20,99")
	case "AT+CREG?":
		fm.ok("+CREG: 0,1")
	case "AT+CEREG?":
		fm.ok("+CEREG: 0,1")
	case "AT+COPS?":
		fm.ok(`+COPS: 0,0,"Simnet",7`)
	case "AT+CNMI?":
		fm.ok("+CNMI: 2,1,0,2,0")
	default:
		if strings.HasPrefix(cmd, "AT+CMGD=") {
			fm.ok()
			return true
		}
		if strings.HasPrefix(cmd, "AT+CMGS=") {
			fm.raw("\r\n> ")
			if fm.readPDU() != "" {
				fm.ok("+CMGS: 7")
			}
			return true
		}
		return false
	}
	return true
}

// fastConfig keeps the driver's waits short for tests.
func fastConfig() Config {
	return Config{
		CommandTimeout: 2 * time.Second,
		SubmitTimeout:  2 * time.Second,
		PromptTimeout:  time.Second,
		SweepInterval:  time.Hour,
		ResyncGrace:    time.Second,
		QuietPeriod:    20 * time.Millisecond,
		RetryDelay:     10 * time.Millisecond,
	}
}

// newTestModem connects a Modem to the host end and closes it at cleanup.
func newTestModem(t testing.TB, rw io.ReadWriteCloser, cfg Config) *Modem {
	m := New(rw, cfg, testLog(t))
	t.Cleanup(func() { m.Close() })
	return m
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder is a Handler that stores what it gets.
type recorder struct {
	mu      sync.Mutex
	inbound []InboundPart
	reports []StatusReport
	fail    error
	got     chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 100)} }

func (r *recorder) Inbound(ctx context.Context, p InboundPart) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.inbound = append(r.inbound, p)
	r.got <- struct{}{}
	return nil
}

func (r *recorder) StatusReport(ctx context.Context, s StatusReport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.reports = append(r.reports, s)
	r.got <- struct{}{}
	return nil
}

func (r *recorder) snapshot() ([]InboundPart, []StatusReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]InboundPart(nil), r.inbound...), append([]StatusReport(nil), r.reports...)
}

// wait blocks until n items have arrived in total or the deadline (a hang
// guard, not a speed assertion) passes.
func (r *recorder) wait(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		in, rep := r.snapshot()
		if len(in)+len(rep) >= n {
			return
		}
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("timed out waiting for %d items, have %d inbound %d reports", n, len(in), len(rep))
		}
	}
}

// serve runs m.Serve in the background until the test ends.
func serve(t testing.TB, m *Modem, h Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !strings.Contains(err.Error(), "closed") {
			t.Errorf("Serve: %v", err)
		}
	})
}

// waitUntil polls cond; the deadline is a hang guard, not a speed assertion.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

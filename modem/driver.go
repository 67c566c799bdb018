package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"
	"go.bug.st/serial"
)

// atBackstop is added to at.AT's own timer: the driver enforces the real
// bounds and aborts through the line filter, so at's timer fires only if
// that machinery itself got stuck.
const atBackstop = 30 * time.Second

// settleWait bounds the wait for at.AT to return after an abort.
const settleWait = 2 * time.Second

// Modem is one GSM modem behind a byte stream. Its methods may be called
// from several goroutines: commands are issued one at a time.
type Modem struct {
	cfg   Config
	log   *slog.Logger
	port  io.ReadWriteCloser
	f     *lineFilter
	at    *at.AT
	wmu   sync.Mutex    // serialises writes to the port
	wrote atomic.Uint64 // bytes written to the port so far
	sem   chan struct{} // one command (or command sequence) at a time

	// Guarded by sem.
	needResync bool          // a command timed out: the stream may hold its late reply
	atBusy     chan struct{} // closed when an at.AT call that outlived its abort returns
	readMem    string        // the +CPMS read memory we left selected, "" if unknown
	srMem      bool          // "SR" can be selected: sweep it for status reports
	csms       int           // +CSMS service: 1 means routed messages need +CNMA
	cnmi       string        // the +CNMI setting that was accepted
	reported   map[string]bool
	quirk      quirk  // vendor overrides chosen by identity at Init
	ussdPlain  bool   // ^USSDMODE=0 made this Huawei take plain +CUSD text
	bootsDone  uint64 // boot banners up to this one are covered by the settings in place

	mu        sync.Mutex
	id        Identity
	closeOnce sync.Once
	closeErr  error
}

// Open opens the serial port cfg.Path (115200 8N1 by default, no flow
// control, no read timeout) and wraps it with New. It never touches the
// modem control lines: ptys don't implement them (docs/modems.md §3.2).
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Modem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p, err := serial.Open(cfg.Path, &serial.Mode{BaudRate: cfg.Baud})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.Path, err)
	}
	return New(p, cfg, log), nil
}

// New drives the modem on rw, which can be any byte stream (a serial port,
// one end of an io.Pipe pair in tests). Call Init before anything else.
func New(rw io.ReadWriteCloser, cfg Config, log *slog.Logger) *Modem {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	m := &Modem{
		cfg:      cfg,
		log:      log,
		port:     rw,
		sem:      make(chan struct{}, 1),
		reported: map[string]bool{},
		quirk:    quirk{name: "generic"},
	}
	pr, pw := io.Pipe()
	m.f = newLineFilter(loopingReader{r: rw}, pw, log, max(2*cfg.QuietPeriod, 100*time.Millisecond))
	m.at = at.New(struct {
		io.Reader
		io.Writer
	}{pr, atWriter{m}}, at.WithTimeout(cfg.CommandTimeout))
	go m.f.run()
	return m
}

// atWriter is the write side handed to at.AT: the port, serialised with the
// driver's own writes (ESC).
type atWriter struct{ m *Modem }

func (w atWriter) Write(b []byte) (int, error) { return w.m.write(b) }

func (m *Modem) write(b []byte) (int, error) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	n, err := m.port.Write(b)
	m.wrote.Add(uint64(max(n, 0)))
	return n, err
}

// Close closes the port. The reader goroutines end with it.
func (m *Modem) Close() error {
	m.closeOnce.Do(func() {
		m.closeErr = m.port.Close()
		t := time.NewTimer(settleWait)
		defer t.Stop()
		for _, c := range []<-chan struct{}{m.f.done, m.f.emitDone, m.at.Closed()} {
			select {
			case <-c:
			case <-t.C:
				m.log.Warn("modem reader did not stop after close")
				return
			}
		}
	})
	return m.closeErr
}

// Closed is closed when the port is gone (closed, unplugged, or failed).
func (m *Modem) Closed() <-chan struct{} { return m.f.done }

// Identity returns what Init learnt about the modem.
func (m *Modem) Identity() Identity {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

func (m *Modem) closedErr() error {
	if err := m.f.failure(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return ErrClosed
}

// lock takes the command slot.
func (m *Modem) lock(ctx context.Context) (func(), error) {
	select {
	case m.sem <- struct{}{}:
		return func() { <-m.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.f.done:
		return nil, m.closedErr()
	}
}

// fatal says whether err ends a command sequence: the port is gone or the
// caller gave up.
func fatal(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

type atResult struct {
	info []string
	err  error
}

// ready checks that a command can be issued. Called with sem held.
func (m *Modem) ready() error {
	select {
	case <-m.f.done:
		return m.closedErr()
	default:
	}
	if m.atBusy != nil {
		select {
		case <-m.atBusy:
			m.atBusy = nil
		default:
			return fmt.Errorf("%w: an earlier command is still stuck in the AT engine", ErrTimeout)
		}
	}
	return nil
}

// exec issues one command and waits at most timeout for its final result.
// Called with sem held. On timeout or cancellation it aborts the command
// in the filter, so at.AT returns and a late reply can't reach the next
// command, and marks the stream for a resync.
func (m *Modem) exec(ctx context.Context, spec cmdSpec, timeout time.Duration) ([]string, error) {
	if err := m.ready(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := m.f.begin(spec)
	m.log.Debug("at command", "cmd", redact(spec.cmd))
	res := make(chan atResult, 1)
	go func() {
		info, err := m.at.Command(spec.cmd, at.WithTimeout(timeout+atBackstop))
		res <- atResult{info, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var cause error
	select {
	case r := <-res:
		m.f.end(st)
		return m.result(spec, r)
	case <-t.C:
		cause = ErrTimeout
	case <-ctx.Done():
		cause = ctx.Err()
	}
	if !m.f.abort(st, false) {
		// The final result won the race: take it.
		if r, ok := m.settle(res); ok {
			m.f.end(st)
			return m.result(spec, r)
		}
	} else {
		m.settle(res)
	}
	m.needResync = true
	m.log.Debug("at command aborted", "cmd", redact(spec.cmd), "cause", cause)
	return nil, cmdError(spec.cmd, cause)
}

func (m *Modem) result(spec cmdSpec, r atResult) ([]string, error) {
	if r.err != nil {
		err := fromAT(r.err)
		if errors.Is(err, ErrTimeout) {
			m.needResync = true
		}
		return r.info, cmdError(spec.cmd, err)
	}
	return r.info, nil
}

// settle waits for at.AT to return after an abort. If it doesn't (it is
// blocked writing to a port nobody reads), later commands fail fast until
// it does.
func (m *Modem) settle(res chan atResult) (atResult, bool) {
	t := time.NewTimer(settleWait)
	defer t.Stop()
	select {
	case r := <-res:
		return r, true
	case <-t.C:
	}
	busy := make(chan struct{})
	m.atBusy = busy
	go func() {
		<-res
		close(busy)
	}()
	return atResult{}, false
}

// do runs a command with the default timeout, resyncing first if an
// earlier command timed out. Called with sem held.
func (m *Modem) do(ctx context.Context, cmd string) ([]string, error) {
	return m.doSpec(ctx, cmdSpec{cmd: cmd}, m.cfg.CommandTimeout)
}

func (m *Modem) doSpec(ctx context.Context, spec cmdSpec, timeout time.Duration) ([]string, error) {
	if m.needResync {
		if err := m.resync(ctx); err != nil {
			return nil, err
		}
	}
	return m.exec(ctx, spec, timeout)
}

// waitQuiet waits until no reply line has arrived for QuietPeriod, or at
// most limit.
func (m *Modem) waitQuiet(ctx context.Context, limit time.Duration) error {
	q := m.cfg.QuietPeriod
	deadline := time.Now().Add(limit)
	for {
		idle := m.f.idleFor()
		if idle >= q || time.Now().After(deadline) {
			return nil
		}
		if err := sleep(ctx, q-idle); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resync brings command and reply back in step after a timeout (defect 2):
// wait for the line to go quiet, then probe with AT and AT+CSQ until the
// CSQ probe gets exactly its own reply. A stray final result from the
// timed-out command makes a probe inconsistent, and the loop goes again.
// Called with sem held.
func (m *Modem) resync(ctx context.Context) error {
	pt := m.cfg.probeTimeout()
	var last error
	silent := 0
	for attempt := 0; attempt < 4 && silent < 2; attempt++ {
		if err := m.waitQuiet(ctx, 10*m.cfg.QuietPeriod); err != nil {
			return err
		}
		if _, err := m.exec(ctx, cmdSpec{cmd: ""}, pt); err != nil {
			if fatal(err) {
				return err
			}
			if errors.Is(err, ErrTimeout) {
				silent++ // twice no answer at all: hung, stop early
			}
			last = err
			continue
		}
		silent = 0
		info, err := m.exec(ctx, cmdSpec{cmd: "+CSQ"}, pt)
		if fatal(err) {
			return err
		}
		if err == nil && len(info) == 1 && strings.HasPrefix(info[0], "+CSQ:") {
			m.needResync = false
			return nil
		}
		last = fmt.Errorf("inconsistent probe reply %q: %v", info, err)
		m.log.Debug("resync probe inconsistent", "info", info, "error", err)
	}
	m.needResync = true
	return fmt.Errorf("%w: modem did not resync (%v)", ErrTimeout, last)
}

// Probe checks that the modem answers AT within a short bound (3s or
// CommandTimeout): a failed Probe after a timeout means the modem is hung.
func (m *Modem) Probe(ctx context.Context) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if m.needResync {
		return m.resync(ctx)
	}
	_, err = m.exec(ctx, cmdSpec{cmd: ""}, m.cfg.probeTimeout())
	return err
}

// writeRaw writes bytes of the driver's own (ESC, the sync sequence),
// giving up after the probe timeout: a port nobody drains must not block
// the caller forever. The write itself finishes or fails in the background.
func (m *Modem) writeRaw(b []byte) error {
	done := make(chan error, 1)
	go func() {
		_, err := m.write(b)
		done <- err
	}()
	t := time.NewTimer(m.cfg.probeTimeout())
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w: %v", ErrClosed, err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%w: write blocked", ErrTimeout)
	}
}

// writeEsc cancels a pending prompt or PDU entry.
func (m *Modem) writeEsc() {
	if err := m.writeRaw([]byte{0x1b}); err != nil {
		m.log.Debug("write ESC", "error", err)
	}
}

// Send submits one part with AT+CMGS and returns the message reference the
// modem assigned. Any error except ErrMaybeSent means the modem did not
// accept the PDU: the prompt never came, or the modem answered +CMS ERROR.
// ErrMaybeSent means the PDU went out but no outcome came back, even after
// a resync: the message may have been sent.
func (m *Modem) Send(ctx context.Context, s Submit) (int, error) {
	if len(s.TPDU) == 0 || len(s.TPDU) > 175 {
		return 0, CMSError{Code: 304, Text: "TPDU length " + strconv.Itoa(len(s.TPDU))}
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if m.needResync {
		if err := m.resync(ctx); err != nil {
			return 0, fmt.Errorf("before submit: %w", err)
		}
	}
	if err := m.ready(); err != nil {
		return 0, err
	}
	spec := cmdSpec{
		cmd:    "+CMGS=" + strconv.Itoa(len(s.TPDU)),
		submit: true,
		pdu:    "00" + strings.ToUpper(hex.EncodeToString(s.TPDU)),
	}
	mark := m.f.cmgsMark()
	st := m.f.begin(spec)
	m.log.Debug("submit", "part", s.Seq, "of", s.Of, "octets", len(s.TPDU))
	res := make(chan atResult, 1)
	go func() {
		info, err := m.at.SMSCommand(spec.cmd, spec.pdu, at.WithTimeout(m.cfg.PromptTimeout+m.cfg.SubmitTimeout+atBackstop))
		res <- atResult{info, err}
	}()

	// Phase 1: the prompt. Until it went to at.AT, the PDU is not written.
	pt := time.NewTimer(m.cfg.PromptTimeout)
	defer pt.Stop()
	select {
	case r := <-res:
		m.f.end(st)
		return m.submitResult(spec, st, r)
	case <-st.prompted:
	case <-pt.C:
		if m.abortBeforePrompt(st, res) {
			return 0, cmdError(spec.cmd, fmt.Errorf("no prompt within %v: %w", m.cfg.PromptTimeout, ErrTimeout))
		}
	case <-ctx.Done():
		if m.abortBeforePrompt(st, res) {
			return 0, cmdError(spec.cmd, ctx.Err())
		}
	}

	// Phase 2: the PDU is on its way; wait for +CMGS or an error.
	stt := time.NewTimer(m.cfg.SubmitTimeout)
	defer stt.Stop()
	var cause error
	select {
	case r := <-res:
		m.f.end(st)
		return m.submitResult(spec, st, r)
	case <-stt.C:
		cause = fmt.Errorf("no +CMGS within %v", m.cfg.SubmitTimeout)
	case <-ctx.Done():
		cause = ctx.Err()
	}
	if !m.f.abort(st, false) {
		if r, ok := m.settle(res); ok {
			m.f.end(st)
			return m.submitResult(spec, st, r)
		}
	} else {
		m.settle(res)
	}
	// Recovery must finish even if the caller gave up: it decides between
	// "sent" and "unknown", and leaves the stream in step for the next one.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ResyncGrace+20*m.cfg.probeTimeout())
	defer cancel()
	return m.recoverSubmit(rctx, spec, st, mark, cause)
}

// abortBeforePrompt gives up on a submit whose prompt has not come. It
// reports false if the prompt won the race (the PDU is then being written).
func (m *Modem) abortBeforePrompt(st *cmdState, res chan atResult) bool {
	if !m.f.abort(st, true) {
		return false
	}
	m.settle(res)
	m.writeEsc() // the modem may still be about to prompt
	m.needResync = true
	return true
}

// submitResult interprets at.AT's answer to a completed +CMGS.
func (m *Modem) submitResult(spec cmdSpec, st *cmdState, r atResult) (int, error) {
	written := m.f.promptPassed(st) // at.AT writes the PDU when it sees the prompt
	if r.err != nil {
		err := fromAT(r.err)
		if errors.Is(err, ErrClosed) && written {
			return 0, fmt.Errorf("%w: port closed after the PDU was written: %w", ErrMaybeSent, err)
		}
		if errors.Is(err, ErrTimeout) { // at's backstop: treat as unknown
			m.needResync = true
			if written {
				return 0, fmt.Errorf("%w: %w", ErrMaybeSent, err)
			}
		}
		return 0, cmdError(spec.cmd, err)
	}
	if !written {
		return 0, cmdError(spec.cmd, fmt.Errorf("%w: final result without a prompt", ErrError))
	}
	for _, l := range r.info {
		if mr, ok := parseCMGS(l); ok {
			return mr, nil
		}
	}
	return 0, fmt.Errorf("%w: OK without +CMGS", ErrMaybeSent)
}

// recoverSubmit runs after a submit timed out with the PDU written. It
// waits ResyncGrace for a late +CMGS (or error), resyncs, and harvests: a
// late +CMGS means sent with that MR, a late +CMS ERROR means not sent,
// nothing means ErrMaybeSent. Called with sem held.
func (m *Modem) recoverSubmit(ctx context.Context, spec cmdSpec, st *cmdState, mark uint64, cause error) (int, error) {
	m.needResync = true
	m.writeEsc() // in case the modem still waits for the end of the PDU
	deadline := time.Now().Add(m.cfg.ResyncGrace)
	for time.Now().Before(deadline) {
		if _, ok := m.f.cmgsSince(mark); ok || m.f.lateFinal(st) != "" {
			break
		}
		if err := sleep(ctx, min(50*time.Millisecond, time.Until(deadline))); err != nil {
			break
		}
	}
	rerr := m.resync(ctx)
	if mr, ok := m.f.cmgsSince(mark); ok {
		m.log.Warn("late +CMGS harvested after a submit timeout", "mr", mr, "cause", cause)
		return mr, nil
	}
	if late := m.f.lateFinal(st); late != "" && late != "OK" {
		if _, err := finalError(late); err != nil {
			m.log.Warn("late error after a submit timeout", "result", late)
			return 0, cmdError(spec.cmd, err)
		}
	}
	if rerr != nil {
		return 0, fmt.Errorf("%w: %v; resync failed: %w", ErrMaybeSent, cause, rerr)
	}
	return 0, fmt.Errorf("%w: %v", ErrMaybeSent, cause)
}

// finalError converts a final result line into this package's error.
func finalError(line string) (bool, error) {
	switch {
	case strings.HasPrefix(line, "+CMS ERROR:"):
		return true, parseCMS(line[len("+CMS ERROR:"):])
	case strings.HasPrefix(line, "+CME ERROR:"):
		return true, parseCME(line[len("+CME ERROR:"):])
	case line == "ERROR":
		return true, ErrError
	}
	return false, nil
}

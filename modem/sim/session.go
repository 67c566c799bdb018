package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Input limits keep a garbage stream from growing buffers without bound.
const (
	maxLine   = 2048 // a command line longer than this is discarded
	maxPDUHex = 1024 // 2*(12 SCA + 176 TPDU) plus slack
	maxOutBuf = 256 << 10
	readChunk = 1024
)

// session is one connection's AT state: line assembly, prompt mode, the
// pending delayed reply and queued URCs. Everything but the channels is
// guarded by the modem's lock.
type session struct {
	m      *Modem
	notify chan struct{}

	urcq    []string // URCs waiting to be written
	out     []byte   // output composed by the current step
	in      []byte   // input not yet processed
	prompt  bool     // between "> " and Ctrl-Z/ESC
	cmgsLen int
	pdu     []byte
	pduBad  bool
	delayed *delayedReply

	// inter holds URCs to be written inside the next reply, until
	// interUntil (InterleaveReportsEvery).
	inter      []string
	interUntil time.Time
	// gone ends the session (ErrUnplugged).
	gone error
}

// delayedReply is a final answer held back by submit latency or LateCMGS;
// until it is written the modem is busy and input waits.
type delayedReply struct {
	at  time.Time
	out []byte
}

func newSession(m *Modem) *session {
	return &session{m: m, notify: make(chan struct{}, 1)}
}

// wake makes the session loop run a step.
func (s *session) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// post queues a URC; the modem lock is held.
func (s *session) post(text string) {
	s.urcq = append(s.urcq, text)
	s.wake()
}

// interleave holds a URC for the next reply; if no command comes within
// interleaveHold it goes out on its own.
func (s *session) interleave(text string, now time.Time) {
	if len(s.inter) == 0 {
		s.interUntil = now.Add(interleaveHold)
	}
	s.inter = append(s.inter, text)
	s.wake()
}

// interleaveHold bounds how long a URC waits for a reply to land in.
const interleaveHold = time.Second

// resetLocked forgets everything in flight, as a rebooting modem does.
func (s *session) resetLocked() {
	s.in = nil
	s.prompt, s.pdu, s.pduBad, s.delayed = false, nil, false, nil
	s.urcq, s.inter = nil, nil
	s.wake()
}

// busy reports whether a command is in progress (for +CNMI mode 2).
func (s *session) busy() bool { return s.prompt || s.delayed != nil }

// Serve speaks AT over rw until ctx is done or rw fails. It returns nil when
// ctx ended it, else the read or write error (io.EOF when the peer closed).
// Serve may be called again after it returns, as a reconnect: the modem
// keeps its settings, storage and MR counter like a real one does when its
// port is reopened. Only one Serve or ServePTY may run at a time per modem.
// Serve returns ErrUnplugged when the modem is or gets unplugged; after the
// replug a new Serve finds it rebooted.
//
// When ctx ends, a Read or Write blocked in rw is left behind and its
// goroutine exits when the caller closes rw; anything it reads after that is
// discarded.
func (m *Modem) Serve(ctx context.Context, rw io.ReadWriter) error {
	_, err := m.serve(ctx, rw)
	return err
}

// errBusy is returned when a modem is already being served.
var errBusy = errors.New("sim: modem is already being served")

// serve runs a session; wait blocks until its reader and writer goroutines
// have exited (which needs rw closed or failed).
func (m *Modem) serve(ctx context.Context, rw io.ReadWriter) (wait func(), err error) {
	s := newSession(m)
	if err := m.attach(s); err != nil {
		return func() {}, err
	}
	defer m.detach(s)

	done := make(chan struct{})
	defer close(done)
	var wg sync.WaitGroup
	in := make(chan []byte)
	readErr := make(chan error, 1)
	wg.Go(func() { readLoop(rw, in, readErr, done) })
	w := &outQueue{signal: make(chan struct{}, 1), err: make(chan error, 1)}
	wg.Go(func() { w.run(rw, done) })

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var tick <-chan time.Time
	if iv := m.prof.NoiseInterval; iv > 0 && len(m.prof.Noise) > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	debug := m.log.Enabled(ctx, slog.LevelDebug)
	for {
		m.mu.Lock()
		s.stepLocked(time.Now())
		out, gone := s.out, s.gone
		s.out = nil
		var next time.Time
		if s.delayed != nil {
			next = s.delayed.at
		}
		if len(s.inter) > 0 && (next.IsZero() || s.interUntil.Before(next)) {
			next = s.interUntil
		}
		m.mu.Unlock()
		if gone != nil {
			return wg.Wait, gone
		}
		if len(out) > 0 {
			if debug {
				m.log.Debug("sim: tx", "data", string(out))
			}
			w.push(out)
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			return wg.Wait, nil
		case b := <-in:
			if debug {
				m.log.Debug("sim: rx", "data", string(b))
			}
			m.mu.Lock()
			s.in = append(s.in, b...)
			m.mu.Unlock()
		case err := <-readErr:
			// The host stopped talking; let what it was answered go out.
			w.drain(ctx, drainGrace)
			return wg.Wait, serveContextDone(ctx, err)
		case err := <-w.err:
			return wg.Wait, serveContextDone(ctx, err)
		case <-s.notify:
		case <-timer.C:
		case <-tick:
			m.mu.Lock()
			s.periodicNoiseLocked()
			m.mu.Unlock()
		}
	}
}

func (m *Modem) attach(s *session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess != nil {
		return errBusy
	}
	if !m.plugged {
		return ErrUnplugged
	}
	m.sess = s
	// The port was opened again: that ends a hang only a power cycle (or
	// a USB reset by reopening) cures.
	m.fault.HangUntilReboot = false
	for _, u := range m.pendingURCs {
		m.emitLocked(u)
	}
	m.pendingURCs = nil
	// Routed messages held while nobody listened can go now.
	m.retryHeldLocked()
	return nil
}

func (m *Modem) detach(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == s {
		m.sess = nil
	}
}

// readLoop feeds rw's bytes to the session until rw fails or done closes.
func readLoop(rw io.Reader, in chan<- []byte, errc chan<- error, done <-chan struct{}) {
	idle := 0
	for {
		buf := make([]byte, readChunk)
		n, err := rw.Read(buf)
		if n > 0 {
			idle = 0
			select {
			case in <- buf[:n]:
			case <-done:
				return
			}
		}
		if err != nil {
			errc <- err
			return
		}
		if n == 0 {
			// A reader with a timeout returns (0, nil); don't spin on it.
			idle++
			if idle > 3 {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
	}
}

// outQueue decouples the session from a slow or stalled reader on the other
// side, like a UART's transmit buffer: when nobody reads for long, the
// oldest bytes are lost.
type outQueue struct {
	mu      sync.Mutex
	buf     []byte
	writing bool
	signal  chan struct{}
	err     chan error
}

// drainGrace bounds how long a session that lost its input waits for its
// last answers to be written.
const drainGrace = 500 * time.Millisecond

// drain waits until everything queued is written, at most d.
func (q *outQueue) drain(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		q.mu.Lock()
		idle := len(q.buf) == 0 && !q.writing
		q.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (q *outQueue) push(b []byte) {
	q.mu.Lock()
	q.buf = append(q.buf, b...)
	if over := len(q.buf) - maxOutBuf; over > 0 {
		q.buf = append(q.buf[:0:0], q.buf[over:]...)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *outQueue) run(w io.Writer, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-q.signal:
		}
		q.mu.Lock()
		b := q.buf
		q.buf = nil
		q.writing = len(b) > 0
		q.mu.Unlock()
		if len(b) == 0 {
			continue
		}
		_, err := w.Write(b)
		q.mu.Lock()
		q.writing = false
		q.mu.Unlock()
		if err != nil {
			q.err <- err
			return
		}
	}
}

// stepLocked processes whatever input and events are pending, appending the
// modem's answers to s.out. It never blocks.
func (s *session) stepLocked(now time.Time) {
	m := s.m
	if m.silentLocked() || s.gone != nil {
		// A hung modem swallows everything, including a command in flight.
		s.in = s.in[:0]
		s.prompt, s.pdu, s.pduBad, s.delayed, s.urcq, s.inter = false, nil, false, nil, nil, nil
		return
	}
	if len(s.inter) > 0 && !now.Before(s.interUntil) {
		// No reply came to carry them.
		s.urcq = append(s.urcq, s.inter...)
		s.inter = nil
	}
	if s.delayed != nil {
		if now.Before(s.delayed.at) {
			s.flushURCsLocked()
			return
		}
		s.out = append(s.out, s.delayed.out...)
		s.delayed = nil
	}
	// Each iteration consumes input, so this ends; the bound is a guard.
	for guard := 0; s.delayed == nil && len(s.in) > 0 && guard < 1<<16; guard++ {
		if s.prompt {
			if !s.promptInputLocked(now) {
				break
			}
			continue
		}
		i := bytes.IndexAny(s.in, "\r\n")
		if i < 0 {
			if len(s.in) > maxLine {
				s.in = s.in[:0]
			}
			break
		}
		line := string(s.in[:i])
		s.in = s.in[i+1:]
		s.lineLocked(line)
	}
	if len(s.in) == 0 {
		s.in = nil // release a large buffer
	}
	s.flushURCsLocked()
}

// flushURCsLocked writes queued URCs unless +CNMI mode 2 says to keep them
// until the running command has finished.
func (s *session) flushURCsLocked() {
	if len(s.urcq) == 0 {
		return
	}
	if s.busy() && s.m.set.cnmi[0] == 2 {
		return
	}
	for _, u := range s.urcq {
		s.out = s.m.frameLine(s.out, u)
	}
	s.urcq = nil
}

// frameLine frames an information or unsolicited line per ATV.
func (m *Modem) frameLine(dst []byte, text string) []byte {
	if m.set.verbose {
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, text...)
	return append(dst, "\r\n"...)
}

func (m *Modem) noiseOnLocked() bool {
	p := &m.prof
	return len(p.Noise) > 0 && (!p.CURC || m.set.curc)
}

// injectNextLocked reports whether the next reply carries noise.
func (m *Modem) injectNextLocked() bool {
	n := m.prof.MidReplyNoiseEvery
	return n > 0 && (m.replies+1)%n == 0 && m.noiseOnLocked()
}

func (m *Modem) nextNoiseLocked() string {
	n := m.prof.Noise[m.noiseIdx%len(m.prof.Noise)]
	m.noiseIdx++
	return n
}

func (s *session) periodicNoiseLocked() {
	m := s.m
	if m.silentLocked() || !m.noiseOnLocked() {
		return
	}
	s.out = m.frameLine(s.out, m.nextNoiseLocked())
}

// promptInputLocked consumes PDU input after "> "; false means it needs more.
func (s *session) promptInputLocked(now time.Time) bool {
	j := bytes.IndexAny(s.in, "\x1a\x1b")
	chunk := s.in
	if j >= 0 {
		chunk = s.in[:j]
	}
	if s.m.set.echo {
		s.out = append(s.out, chunk...)
	}
	for _, c := range chunk {
		switch {
		case isHex(c):
			if len(s.pdu) < maxPDUHex {
				s.pdu = append(s.pdu, c)
			} else {
				s.pduBad = true
			}
		case c == '\r' || c == '\n' || c == ' ':
		default:
			s.pduBad = true
		}
	}
	if j < 0 {
		s.in = s.in[:0]
		return false
	}
	term := s.in[j]
	s.in = s.in[j+1:]
	s.prompt = false
	hexPDU, bad := string(s.pdu), s.pduBad
	s.pdu, s.pduBad = nil, false
	if term == 0x1b {
		// Cancelled: nothing is sent.
		if r := s.m.prof.EscReply; r != "" {
			s.out = s.m.frameLine(s.out, r)
		}
		return true
	}
	if bad {
		s.replyLocked(&s.out, nil, cmsErr(304))
		return true
	}
	s.submitLocked(hexPDU, now)
	return true
}

// indexAT finds "AT" in any case, byte-wise (strings.ToUpper would change
// the length of invalid UTF-8).
func indexAT(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i]|0x20 == 'a' && s[i+1]|0x20 == 't' {
			return i
		}
	}
	return -1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// lineLocked handles one line typed in command mode.
func (s *session) lineLocked(line string) {
	m := s.m
	if line == "" {
		return
	}
	if m.set.echo {
		echo := line
		if m.prof.SplitEcho && len(echo) > 1 && m.injectNextLocked() {
			s.out = append(s.out, echo[0])
			s.out = m.frameLine(s.out, m.nextNoiseLocked())
			echo = echo[1:]
		}
		s.out = append(s.out, echo...)
		s.out = append(s.out, '\r')
	}
	// Modems hunt for "AT" and ignore anything else (noise, stray Ctrl-Z).
	start := indexAT(line)
	if start < 0 {
		return
	}
	body := line[start+2:]
	var blocks [][]string
	var after []string
	final := ok()
	for {
		body = strings.TrimLeft(body, " ;")
		if body == "" {
			break
		}
		c, rest := nextCommand(body)
		body = rest
		r := s.execLocked(c)
		if len(r.info) > 0 {
			blocks = append(blocks, r.info)
		}
		after = append(after, r.after...)
		if r.kind == resPrompt {
			if m.fault.NoPrompt {
				// Neither "> " nor a result: the host waits in vain.
				return
			}
			// Anything chained after +CMGS is ignored, as on real modems.
			s.writeBlocksLocked(&s.out, blocks)
			s.out = append(s.out, "\r\n> "...)
			s.prompt = true
			return
		}
		if r.kind != resOK || r.stop {
			final = r
			break
		}
	}
	s.replyLocked(&s.out, blocks, final)
	for _, u := range after {
		s.out = m.frameLine(s.out, u)
	}
}

func (s *session) writeBlocksLocked(dst *[]byte, blocks [][]string) {
	for _, b := range blocks {
		*dst = s.m.frameLine(*dst, strings.Join(b, "\r\n"))
	}
}

// replyLocked writes info blocks and the final result code, injecting
// vendor noise inside the reply every MidReplyNoiseEvery-th time.
func (s *session) replyLocked(dst *[]byte, blocks [][]string, final result) {
	m := s.m
	inject := m.injectNextLocked()
	m.replies++
	if inject {
		*dst = m.frameLine(*dst, m.nextNoiseLocked())
	}
	for _, u := range s.inter {
		// ZTE: a held +CDSI lands after the echo, inside the reply.
		*dst = m.frameLine(*dst, u)
	}
	s.inter = nil
	s.writeBlocksLocked(dst, blocks)
	if inject && len(blocks) > 0 {
		*dst = m.frameLine(*dst, m.nextNoiseLocked())
	}
	if m.set.quiet {
		return
	}
	text := m.finalText(final)
	if !m.set.verbose {
		switch final.kind {
		case resOK:
			text = "0"
		case resError:
			text = "4"
		default:
			if text == "ERROR" {
				text = "4"
			}
		}
		*dst = append(*dst, text...)
		*dst = append(*dst, '\r')
		return
	}
	*dst = m.frameLine(*dst, text)
}

// submitLocked handles the PDU typed after +CMGS.
func (s *session) submitLocked(hexPDU string, now time.Time) {
	m := s.m
	d, err := decodeSubmit(hexPDU, s.cmgsLen)
	if err != nil {
		m.log.Info("sim: submit rejected", "err", err)
		s.replyLocked(&s.out, nil, cmsErr(304))
		return
	}
	code := 0
	switch {
	case !m.simReady:
		code = 310 // SIM not inserted
	case m.regStatLocked() != 1:
		code = 331 // no network service
	case d.sca == "" && m.set.csca == "":
		code = 330 // SMSC address unknown
	case m.overLimitLocked(now):
		code = 42 // congestion
	}
	for num, c := range m.fault.CMSErrorTo {
		if code == 0 && sameNumber(num, d.to) {
			code = c
		}
	}
	if code == 0 && m.net.chance(m.fault.CMSErrorRate) {
		code = m.fault.CMSErrorCode
		if code == 0 {
			code = 500
		}
	}
	if code != 0 {
		m.net.reject(Rejection{Modem: m.cfg.Number, To: d.to, Code: code, At: now})
		m.log.Info("sim: submit answered with error", "to", d.to, "code", code)
		s.replyLocked(&s.out, nil, cmsErr(code))
		return
	}
	mr := m.nextMRLocked()
	m.submits = append(m.submits, now)
	sub := submission{
		Submission: Submission{
			Modem: m.cfg.Number, To: d.to, MR: mr,
			ConcatRef: d.concatRef, Seq: d.seq, Total: d.total,
			Text: d.text, SRR: d.srr, At: now,
		},
		pdu: d.pdu,
	}
	m.net.accepted(m, sub, m.cfg.SubmitLatency)
	info := [][]string{{"+CMGS: " + strconv.Itoa(mr)}}
	delay := m.cfg.SubmitLatency + m.fault.LateCMGS
	if delay <= 0 {
		s.replyLocked(&s.out, info, ok())
		return
	}
	var out []byte
	s.replyLocked(&out, info, ok())
	s.delayed = &delayedReply{at: now.Add(delay), out: out}
}

// overLimitLocked reports whether PerMinuteLimit submits were accepted in
// the minute before now.
func (m *Modem) overLimitLocked(now time.Time) bool {
	cut := 0
	for cut < len(m.submits) && now.Sub(m.submits[cut]) >= time.Minute {
		cut++
	}
	m.submits = m.submits[cut:]
	return m.fault.PerMinuteLimit > 0 && len(m.submits) >= m.fault.PerMinuteLimit
}

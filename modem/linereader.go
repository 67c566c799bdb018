package modem

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The line filter sits between the port and at.AT (docs/modems.md §3.1, defects
// 1 and 2, and the framing variants of §2.2). It reads raw bytes, cuts them
// into lines on CR, LF, CRLF and CR CR LF, and decides for every line:
//
//   - a final result (OK, ERROR, +CMS/+CME ERROR, Huawei COMMAND NOT
//     SUPPORT → ERROR) or an info line of the command in flight goes to at;
//   - an unsolicited result code (+CMTI, +CDSI, +CMT and its PDU line, +CDS
//     and its PDU line, ^RSSI, RING, boot banners, ...) never reaches at. It
//     is queued, in order, for the driver (Serve), instead of at's
//     goroutine-per-indication that also leaked it into the reply;
//   - echo (also when a URC splits it: "A" / "^RSSI:20" / "T+CGMI"), the
//     echoed PDU, and replies that belong to no command in flight (a late
//     "+CMGS: 7" / "OK" after a timeout) are dropped, so at never attributes
//     them to the next command. Every "+CMGS: <mr>" is recorded on the way,
//     so Send can harvest a late one.
//
// The submit prompt ("> ", with or without CRLF before it, without a line
// ending after it) is passed on as soon as its '>' byte arrives, and only
// while a +CMGS is waiting for it, at most once per submit (at.AT writes the
// PDU on every prompt it sees).

// maxLine bounds one line. at's bufio.Scanner fails (and closes the AT)
// on tokens over 64 KiB; the longest real line is a PDU of ~360 hex chars.
const maxLine = 8 << 10

// maxQueuedURCs bounds the URC queue when nobody serves it; the periodic
// +CMGL sweep recovers stored messages whose indication was dropped.
const maxQueuedURCs = 1024

// urc is one unsolicited result code taken out of the stream.
type urc struct {
	Line string // e.g. `+CMTI: "SM",3`
	PDU  string // the PDU line after +CMT / +CDS / +CBM
	Boot uint64 // for a boot banner, its sequence number (lineFilter.boots)
}

// lineKind says what the filter did with a line (for tests and debug logs).
type lineKind int

const (
	lineForwarded lineKind = iota // passed to at.AT
	lineURC                       // removed and queued or logged as an indication
	lineDropped                   // echo, stray reply, noise
	linePrompt                    // the submit prompt, passed to at.AT
)

func (k lineKind) String() string {
	return [...]string{"forwarded", "urc", "dropped", "prompt"}[k]
}

// cmdSpec describes the command the driver is about to issue.
type cmdSpec struct {
	cmd    string // without "AT"
	submit bool   // +CMGS: expects a prompt
	pdu    string // the hex PDU written after the prompt (to spot its echo)
	// optionalFinal is an info prefix after which a missing final result is
	// tolerated: Wavecom answers +CPIN? with "+CPIN: READY" and no OK.
	optionalFinal string
	// numeric accepts the ATV0 result codes "0" (OK) and "4" (ERROR), for
	// the sync probes sent before ATV1.
	numeric bool
}

// cmdState is the filter's view of one command.
type cmdState struct {
	spec         cmdSpec
	allowed      []string // info prefixes that belong to this command
	echo         string   // echo still expected, upper case
	echoDone     bool
	promptPassed bool
	prompted     chan struct{} // closed when the prompt went to at
	finished     bool          // a final result went to at (real or injected)
	aborted      bool          // the driver gave up: an ERROR was injected
	lateFinal    string        // after abort: a final result that came late
	finalTimer   *time.Timer
}

type cmgsRecord struct {
	seq uint64
	mr  int
}

// lineFilter implements the filter described above.
type lineFilter struct {
	src io.Reader
	log *slog.Logger
	// optionalFinalWait is how long to wait for the OK after an info line
	// whose final result is optional.
	optionalFinalWait time.Duration
	// tap, when set (tests), sees every non-empty line and its fate.
	tap func(kind lineKind, line string)

	// Line assembly, touched only by the run goroutine.
	line       []byte
	overlong   bool
	lastCR     bool
	skipSpaces bool

	mu         sync.Mutex
	cur        *cmdState
	zombie     *cmdState // an aborted submit, collecting late lines
	pendingURC *urc      // a +CMT/+CDS header waiting for its PDU line
	cmgsSeq    uint64
	cmgs       []cmgsRecord // recent "+CMGS: <mr>" lines, newest last
	lastRx     time.Time    // last non-URC line or prompt
	urcs       []urc
	urcSignal  chan struct{} // one slot: URCs are queued
	boots      uint64        // boot banners seen so far
	bootSignal chan struct{} // one slot: a boot banner arrived
	// USSD replies (+CUSD:) go to Modem.USSD, never to at.AT or Serve:
	// they come before or after the command's OK, or long after it.
	ussdWaiting bool
	ussd        []string
	ussdSignal  chan struct{} // one slot: ussd is not empty
	pendingCUSD []string      // a +CUSD whose quoted text spans lines
	out         [][]byte      // bytes for at.AT, in order
	outSignal   chan struct{} // one slot: out is not empty, or closed
	closed      bool          // the port is gone
	err         error         // why

	done     chan struct{} // run returned
	emitDone chan struct{} // emit returned
}

func newLineFilter(src io.Reader, sink io.WriteCloser, log *slog.Logger, optionalFinalWait time.Duration) *lineFilter {
	f := &lineFilter{
		src:               src,
		log:               log,
		optionalFinalWait: optionalFinalWait,
		urcSignal:         make(chan struct{}, 1),
		bootSignal:        make(chan struct{}, 1),
		ussdSignal:        make(chan struct{}, 1),
		outSignal:         make(chan struct{}, 1),
		done:              make(chan struct{}),
		emitDone:          make(chan struct{}),
		lastRx:            time.Now(),
	}
	go f.emit(sink)
	return f
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run reads the port until it fails. Start it once, in its own goroutine.
func (f *lineFilter) run() {
	defer close(f.done)
	buf := make([]byte, 1024)
	for {
		n, err := f.src.Read(buf)
		if n > 0 {
			f.feed(buf[:n])
		}
		if err != nil {
			f.mu.Lock()
			f.closed = true
			f.err = err
			f.mu.Unlock()
			signal(f.outSignal)
			signal(f.urcSignal)
			return
		}
	}
}

// emit writes the filtered stream to at.AT. Writes never happen under mu,
// so a slow reader on the other side can't stall the filter.
func (f *lineFilter) emit(sink io.WriteCloser) {
	defer close(f.emitDone)
	defer sink.Close() // at.AT sees EOF and closes itself
	for range f.outSignal {
		f.mu.Lock()
		out := f.out
		f.out = nil
		closed := f.closed
		f.mu.Unlock()
		for _, b := range out {
			if _, err := sink.Write(b); err != nil {
				return
			}
		}
		if closed {
			return
		}
	}
}

// feed assembles lines from raw bytes.
func (f *lineFilter) feed(b []byte) {
	for _, c := range b {
		switch c {
		case '\r':
			f.endLine()
			f.lastCR = true
			continue
		case '\n':
			if f.lastCR {
				f.lastCR = false
				continue
			}
			f.endLine()
			continue
		}
		f.lastCR = false
		if f.skipSpaces {
			if c == ' ' {
				continue
			}
			f.skipSpaces = false
		}
		if c == '>' && len(f.line) == 0 && !f.overlong && f.promptExpected() {
			f.prompt()
			f.skipSpaces = true
			continue
		}
		if len(f.line) >= maxLine {
			f.overlong = true
			continue
		}
		f.line = append(f.line, c)
	}
}

func (f *lineFilter) endLine() {
	s := string(f.line)
	over := f.overlong
	f.line = f.line[:0]
	f.overlong = false
	f.skipSpaces = false
	f.mu.Lock()
	defer f.mu.Unlock()
	if over {
		f.record(lineDropped, s[:32]+"...", "overlong line")
		return
	}
	f.handleLine(s)
}

func (f *lineFilter) promptExpected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur != nil && f.cur.spec.submit && !f.cur.finished
}

// prompt passes the first prompt of a submit to at.AT.
func (f *lineFilter) prompt() {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.cur
	if st == nil || !st.spec.submit || st.finished || st.promptPassed {
		f.record(lineDropped, ">", "repeated prompt")
		return
	}
	f.lastRx = time.Now()
	st.promptPassed = true
	close(st.prompted)
	f.forwardLocked(linePrompt, ">")
}

func (f *lineFilter) record(kind lineKind, line, why string) {
	if f.tap != nil {
		f.tap(kind, line)
	}
	if kind != lineForwarded && kind != linePrompt && f.log.Enabled(context.Background(), slog.LevelDebug) {
		f.log.Debug("at line", "fate", kind.String(), "line", redactLine(line), "why", why)
	}
}

func (f *lineFilter) forwardLocked(kind lineKind, line string) {
	f.record(kind, line, "")
	f.out = append(f.out, []byte(line+"\r\n"))
	signal(f.outSignal)
}

// handleLine classifies one complete line. Called with mu held.
func (f *lineFilter) handleLine(raw string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return
	}
	if u := f.pendingURC; u != nil {
		f.pendingURC = nil
		if isHex(s) {
			u.PDU = s
			f.record(lineURC, s, "PDU of "+u.Line)
			f.queueURC(*u)
			return
		}
		f.log.Warn("indication without its PDU line", "urc", u.Line, "next", s)
		f.queueURC(*u)
	}
	if p := f.pendingCUSD; p != nil {
		if _, final := finalResult(s); !final {
			p = append(p, s)
			f.pendingCUSD = p
			if strings.Contains(s, `"`) || len(p) >= ussdMaxLines {
				f.pendingCUSD = nil
				f.deliverUSSD(strings.Join(p, "\n"))
			}
			return
		}
		// The modem never closed the quote: take what came.
		f.pendingCUSD = nil
		f.deliverUSSD(strings.Join(p, "\n"))
	}
	if len(s) >= 6 && strings.EqualFold(s[:6], "+CUSD:") {
		if strings.Count(s, `"`)%2 == 1 {
			f.pendingCUSD = []string{s} // the text goes on on the next lines
			return
		}
		f.deliverUSSD(s)
		return
	}
	if mr, ok := parseCMGS(s); ok {
		f.cmgsSeq++
		f.cmgs = append(f.cmgs, cmgsRecord{seq: f.cmgsSeq, mr: mr})
		if len(f.cmgs) > 16 {
			f.cmgs = f.cmgs[1:]
		}
	}
	st := f.cur
	if st != nil && st.finished {
		st = nil // its final result went already: whatever follows is stray
	}
	final, isFinal := finalResult(s)
	if st != nil && st.spec.numeric && (s == "0" || s == "4") {
		final, isFinal = map[string]string{"0": "OK", "4": "ERROR"}[s], true
	}
	prefix, hasPrefix := infoPrefix(s)
	if st != nil {
		if isFinal {
			f.lastRx = time.Now()
			st.finished = true
			if st.finalTimer != nil {
				st.finalTimer.Stop()
			}
			f.forwardLocked(lineForwarded, final)
			return
		}
		if hasPrefix && st.allows(prefix) {
			f.lastRx = time.Now()
			f.forwardLocked(lineForwarded, s)
			if st.spec.optionalFinal != "" && prefix == st.spec.optionalFinal && st.finalTimer == nil {
				st.finalTimer = time.AfterFunc(f.optionalFinalWait, func() { f.completeOptional(st) })
			}
			return
		}
	}
	if isURC(s) {
		if hasTrailingPDU(s) {
			f.pendingURC = &urc{Line: s}
			f.record(lineURC, s, "indication header")
			return
		}
		f.record(lineURC, s, "indication")
		if interestingURC(s) {
			u := urc{Line: s}
			if isBootURC(s) {
				f.boots++
				u.Boot = f.boots
				signal(f.bootSignal)
			}
			f.queueURC(u)
		}
		return
	}
	f.lastRx = time.Now()
	if st == nil {
		if z := f.zombie; z != nil && isFinal && z.lateFinal == "" {
			z.lateFinal = s
		}
		f.record(lineDropped, s, "no command in flight")
		return
	}
	if !st.echoDone {
		u := strings.ToUpper(s)
		if strings.HasPrefix(st.echo, u) {
			st.echo = st.echo[len(u):]
			st.echoDone = st.echo == ""
			f.record(lineDropped, s, "echo")
			return
		}
		st.echoDone = true
	}
	if st.spec.submit && st.promptPassed && isPDUEcho(s) {
		f.record(lineDropped, s, "PDU echo")
		return
	}
	if hasPrefix {
		f.record(lineDropped, s, "reply of another command")
		return
	}
	f.forwardLocked(lineForwarded, s)
}

// completeOptional injects the OK a Wavecom never sends after +CPIN:.
func (f *lineFilter) completeOptional(st *cmdState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur != st || st.finished {
		return
	}
	st.finished = true
	f.log.Debug("no final result after info line, assuming OK", "cmd", redact(st.spec.cmd))
	f.forwardLocked(lineForwarded, "OK")
}

func (f *lineFilter) queueURC(u urc) {
	if len(f.urcs) >= maxQueuedURCs {
		f.log.Warn("indication queue full, dropping the oldest", "dropped", f.urcs[0].Line)
		f.urcs = f.urcs[1:]
	}
	f.urcs = append(f.urcs, u)
	signal(f.urcSignal)
}

// deliverUSSD hands a complete +CUSD line to a waiting Modem.USSD. With
// nobody waiting it is a network-initiated message: logged, dropped.
// Called with mu held.
func (f *lineFilter) deliverUSSD(line string) {
	f.record(lineURC, line, "USSD")
	if !f.ussdWaiting {
		f.log.Info("USSD message with no request waiting, dropped", "line", line)
		return
	}
	if len(f.ussd) >= 8 {
		f.ussd = f.ussd[1:]
	}
	f.ussd = append(f.ussd, line)
	signal(f.ussdSignal)
}

// expectUSSD starts or ends a wait for +CUSD, dropping stale replies.
func (f *lineFilter) expectUSSD(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ussdWaiting = on
	f.ussd = nil
	select {
	case <-f.ussdSignal:
	default:
	}
}

// takeUSSD returns the +CUSD lines received, oldest first.
func (f *lineFilter) takeUSSD() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.ussd
	f.ussd = nil
	return u
}

// bootMark returns how many boot banners have arrived.
func (f *lineFilter) bootMark() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.boots
}

// takeURCs returns the queued indications, oldest first.
func (f *lineFilter) takeURCs() []urc {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.urcs
	f.urcs = nil
	return u
}

// begin makes spec the command in flight. The driver calls it before at.AT
// writes the command, so every line of the reply finds it.
func (f *lineFilter) begin(spec cmdSpec) *cmdState {
	id := strings.ToUpper(cmdID(spec.cmd))
	st := &cmdState{
		spec:     spec,
		allowed:  allowedPrefixes(id),
		echo:     strings.ToUpper("AT" + spec.cmd),
		prompted: make(chan struct{}),
	}
	if spec.optionalFinal != "" {
		st.spec.optionalFinal = strings.ToUpper(spec.optionalFinal)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur = st
	f.zombie = nil
	return st
}

// end clears the command in flight after at.AT returned.
func (f *lineFilter) end(st *cmdState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.finalTimer != nil {
		st.finalTimer.Stop()
	}
	if f.cur == st {
		f.cur = nil
	}
}

// abort ends st by injecting ERROR into at.AT, unless its final result (or
// with beforePrompt, its prompt) already went. It reports whether it did;
// if not, the caller must take at's real result. An aborted submit becomes
// the zombie that collects a late final result.
func (f *lineFilter) abort(st *cmdState, beforePrompt bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur != st || st.finished || (beforePrompt && st.promptPassed) {
		return false
	}
	st.finished = true
	st.aborted = true
	if st.finalTimer != nil {
		st.finalTimer.Stop()
	}
	f.forwardLocked(lineForwarded, "ERROR")
	f.cur = nil
	if st.spec.submit {
		f.zombie = st
	}
	return true
}

// cmgsMark returns a mark for cmgsSince.
func (f *lineFilter) cmgsMark() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cmgsSeq
}

// cmgsSince returns the first "+CMGS: <mr>" seen after mark.
func (f *lineFilter) cmgsSince(mark uint64) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.cmgs {
		if r.seq > mark {
			return r.mr, true
		}
	}
	return 0, false
}

// promptPassed reports whether st's prompt went to at.AT.
func (f *lineFilter) promptPassed(st *cmdState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return st.promptPassed
}

// lateFinal returns the final result that came after st was aborted.
func (f *lineFilter) lateFinal(st *cmdState) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return st.lateFinal
}

// idleFor returns how long no reply line has arrived.
func (f *lineFilter) idleFor() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Since(f.lastRx)
}

// failure returns why the port is gone, or nil.
func (f *lineFilter) failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (st *cmdState) allows(prefix string) bool {
	for _, p := range st.allowed {
		if p == prefix {
			return true
		}
	}
	return false
}

// cmdID is the part of a command before '=' or '?', as at.AT computes it.
func cmdID(cmd string) string {
	if i := strings.IndexAny(cmd, "=?"); i >= 0 {
		return cmd[:i]
	}
	return cmd
}

// allowedPrefixes lists the info prefixes a command answers with.
func allowedPrefixes(id string) []string {
	switch id {
	case "":
		return nil
	case "+CCID", "+ICCID", "^ICCID", "+QCCID":
		// The ICCID query comes in several dialects and each firmware
		// answers with its own prefix (docs/modems.md §1.2).
		return []string{"+CCID", "+ICCID", "^ICCID", "+QCCID"}
	case "+CGSN", "+GSN":
		return []string{"+CGSN", "+GSN"}
	}
	return []string{id}
}

// finalResult recognises final result codes, translating the ones at.AT
// doesn't know: Huawei's COMMAND NOT SUPPORT and TOO MANY PARAMETERS are
// plain ERRORs (python-gsmmodem modem.py l.498).
func finalResult(s string) (string, bool) {
	switch {
	case s == "OK":
		return s, true
	case s == "ERROR":
		return s, true
	case strings.HasPrefix(s, "+CMS ERROR:"), strings.HasPrefix(s, "+CME ERROR:"):
		return s, true
	case s == "COMMAND NOT SUPPORT", s == "TOO MANY PARAMETERS":
		return "ERROR", true
	}
	return "", false
}

// infoPrefix returns the "+XXX" of a "+XXX: ..." line, upper case.
func infoPrefix(s string) (string, bool) {
	if s == "" || !strings.ContainsRune("+^*#$%", rune(s[0])) {
		return "", false
	}
	i := strings.IndexByte(s, ':')
	if i < 2 {
		return "", false
	}
	for _, c := range s[1:i] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "", false
		}
	}
	return strings.ToUpper(s[:i]), true
}

// urcPrefixes are indications seen in practice (gammu's ignore table,
// ModemManager's Huawei regexes, SIMCom/Quectel boot URCs; docs/modems.md §1.1,
// §2.1, §6.4). Every "^XXX" Huawei line counts as one too.
var urcPrefixes = [...]string{
	"+CMTI:", "+CDSI:", "+CMT:", "+CDS:", "+CBM:",
	"+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CIEV:", "+CUSD:",
	"+CLIP:", "+CRING:", "+CCWA:", "+CLCC:", "+CPIN:", "+CFUN:", "+CSQ:",
	"+CIND:", "+CTZV:", "+CTZE:", "+CTZU:", "+CGEV:", "+QIND:", "+QUSIM:",
	"+ZUSIMR:", "+ZPAS:", "+ZEND", "+SPNWNAME:", "+PSBEARER:", "+WIND:",
	"+STIN:", "+PBREADY", "#STN:", "#QSS:", "*RADIOPOWER:", "^",
}

// urcLines are bare indications (upper-cased for comparison).
var urcLines = [...]string{
	"RING", "RDY", "SMS READY", "CALL READY", "SMS DONE", "PB DONE",
	"NO CARRIER", "NORMAL POWER DOWN", "POWERED DOWN", "UNDER-VOLTAGE WARNNING",
	"OVER-VOLTAGE WARNNING", "UNDER-VOLTAGE POWER DOWN", "OVER-VOLTAGE POWER DOWN",
}

func isURC(s string) bool {
	u := strings.ToUpper(s)
	for _, p := range urcPrefixes {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	for _, l := range urcLines {
		if u == l {
			return true
		}
	}
	return false
}

func hasTrailingPDU(s string) bool {
	return strings.HasPrefix(s, "+CMT:") || strings.HasPrefix(s, "+CDS:") || strings.HasPrefix(s, "+CBM:")
}

// interestingURC says which indications the driver acts on: new messages
// and reports, full storage, and boot banners (a rebooted modem has lost
// its +CNMI routing). The rest (signal, registration, ...) is only logged.
func interestingURC(s string) bool {
	u := strings.ToUpper(s)
	for _, p := range [...]string{"+CMTI:", "+CDSI:", "^SMMEMFULL"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return isBootURC(u)
}

func isHex(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// isPDUEcho recognises the PDU a modem echoes after the prompt, with or
// without the Ctrl-Z.
func isPDUEcho(s string) bool {
	t := strings.TrimRight(s, "\x1a")
	return t == "" || isHex(t)
}

// parseCMGS returns <mr> of a "+CMGS: <mr>[,<scts>]" line.
func parseCMGS(s string) (int, bool) {
	if !strings.HasPrefix(s, "+CMGS:") {
		return 0, false
	}
	v := strings.TrimSpace(s[len("+CMGS:"):])
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	mr, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || mr < 0 || mr > 255 {
		return 0, false
	}
	return mr, true
}

// redactLine hides a PIN in an echoed command line ("AT+CPIN=...").
func redactLine(l string) string {
	u := strings.ToUpper(l)
	for _, p := range [...]string{"+CPIN=", "+CPIN2=", "+CLCK="} {
		if i := strings.Index(u, p); i >= 0 {
			return l[:i+len(p)] + "***"
		}
	}
	return l
}

// redact hides the PIN in logged commands.
func redact(cmd string) string {
	if u := strings.ToUpper(cmd); strings.HasPrefix(u, "+CPIN=") || strings.HasPrefix(u, "+CPIN2=") || strings.HasPrefix(u, "+CLCK=") {
		return cmd[:strings.IndexByte(cmd, '=')+1] + "***"
	}
	return cmd
}

// isBootURC recognises the banners of a modem that just (re)booted and so
// forgot its +CMGF/+CPMS/+CNMI settings (SIMCom, Quectel; docs/modems.md §2.1).
func isBootURC(s string) bool {
	switch u := strings.ToUpper(s); u {
	case "RDY", "SMS READY", "SMS DONE", "+QIND: SMS DONE":
		return true
	}
	return false
}

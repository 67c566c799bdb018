package modem

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// filterRig drives a lineFilter directly: feed bytes, see fates and the
// bytes at.AT would read.
type filterRig struct {
	f    *lineFilter
	seen []string // "<kind> <line>", guarded by f.mu (tap runs under it)
	sink *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) Close() error { return nil }
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newFilterRig(t testing.TB) *filterRig {
	r := &filterRig{sink: &lockedBuffer{}}
	r.f = newLineFilter(strings.NewReader(""), r.sink, slog.New(slog.DiscardHandler), 50*time.Millisecond)
	r.f.tap = func(k lineKind, l string) { r.seen = append(r.seen, k.String()+" "+l) } // under f.mu
	t.Cleanup(func() {
		r.f.mu.Lock()
		r.f.closed = true
		r.f.mu.Unlock()
		signal(r.f.outSignal)
		<-r.f.emitDone
	})
	return r
}

func (r *filterRig) fates() []string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return slices.Clone(r.seen)
}

func (r *filterRig) feedChunks(chunks ...string) {
	for _, c := range chunks {
		r.f.feed([]byte(c))
	}
}

func TestLineFilterFraming(t *testing.T) {
	reply := "\r\n+CSQ: 20,99\r\r\n\r\nOK\r\n"
	splits := map[string][]string{
		"whole":       {reply},
		"bytewise":    strings.Split(reply, ""),
		"split line":  {"\r\n+CS", "Q: 20", ",99\r", "\r\n\r\nO", "K\r", "\n"},
		"bare CR":     {"\r+CSQ: 20,99\r\rOK\r"},
		"LF only":     {"\n+CSQ: 20,99\n\nOK\n"},
		"with URCs":   {"\r\n^RSSI:20\r\n+CSQ: 20,99\r\n+CMTI: \"SM\",3\r\n\r\nOK\r\n"},
		"echo":        {"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
		"split echo":  {"A\r\n^RSSI:20\r\n\r\n^HCSQ:\"LTE\",49,39,121,20\r\nT+CSQ\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
		"late reply":  {"\r\n+CMGS: 7\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
		"noise words": {"\r\nRING\r\n+CSQ: 20,99\r\nSMS Ready\r\nOK\r\n"},
	}
	for name, chunks := range splits {
		t.Run(name, func(t *testing.T) {
			r := newFilterRig(t)
			r.f.begin(cmdSpec{cmd: "+CSQ"})
			r.feedChunks(chunks...)
			var fwd []string
			for _, s := range r.fates() {
				if l, ok := strings.CutPrefix(s, "forwarded "); ok {
					fwd = append(fwd, l)
				}
			}
			if want := []string{"+CSQ: 20,99", "OK"}; !slices.Equal(fwd, want) {
				t.Errorf("forwarded %q, want %q (all: %q)", fwd, want, r.fates())
			}
		})
	}
}

// The prompt has no line ending: it must reach at.AT on its own byte.
func TestLineFilterPromptNotDelayed(t *testing.T) {
	for _, lead := range []string{"\r\n", "", "AT+CMGS=10\r\r\n", "AT+CMGS=10\r"} {
		r := newFilterRig(t)
		st := r.f.begin(cmdSpec{cmd: "+CMGS=10", submit: true})
		r.feedChunks(lead, ">")
		select {
		case <-st.prompted:
		default:
			t.Fatalf("lead %q: prompt not passed on its own byte (fates %q)", lead, r.fates())
		}
		// A second prompt (the echo variant "> <pdu>" then "> ") is dropped,
		// or at.AT would write the PDU twice.
		r.feedChunks(" 0011000B91\x1a\r\n> ", "\r\n+CMGS: 9\r\n\r\nOK\r\n")
		n := 0
		for _, s := range r.fates() {
			if strings.HasPrefix(s, "prompt") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("lead %q: %d prompts passed, want 1: %q", lead, n, r.fates())
		}
		if mr, ok := r.f.cmgsSince(0); !ok || mr != 9 {
			t.Errorf("lead %q: +CMGS not recorded: %d %v", lead, mr, ok)
		}
	}
}

// A '>' outside a submit is just text.
func TestLineFilterNoPromptOutsideSubmit(t *testing.T) {
	r := newFilterRig(t)
	r.f.begin(cmdSpec{cmd: "+CMGR=1"})
	r.feedChunks("\r\n> odd\r\nOK\r\n")
	if got := r.fates(); !slices.Contains(got, "forwarded > odd") {
		t.Errorf("fates %q", got)
	}
}

func TestLineFilterURCsQueuedInOrder(t *testing.T) {
	r := newFilterRig(t)
	r.feedChunks(
		"\r\n+CMTI: \"SM\",3\r\n",
		"\r\n+CMT: ,24\r\n00040B911234567890F000000250100173832305C8329BFD06\r\n",
		"\r\n^RSSI:20\r\n",
		"\r\n+CDS: 25\r", "\n079124603050020006E80C91666666666666909070618422809090706184628000\r\n",
		"\r\n+CDSI: \"SR\",8\r\n",
		"\r\nRDY\r\n",
	)
	got := r.f.takeURCs()
	want := []urc{
		{Line: `+CMTI: "SM",3`},
		{Line: "+CMT: ,24", PDU: "00040B911234567890F000000250100173832305C8329BFD06"},
		{Line: "+CDS: 25", PDU: "079124603050020006E80C91666666666666909070618422809090706184628000"},
		{Line: `+CDSI: "SR",8`},
		{Line: "RDY", Boot: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestLineFilterTranslatesFinals(t *testing.T) {
	r := newFilterRig(t)
	r.f.begin(cmdSpec{cmd: "^FOO"})
	r.feedChunks("\r\nCOMMAND NOT SUPPORT\r\n")
	if got := r.fates(); !slices.Equal(got, []string{"forwarded ERROR"}) {
		t.Errorf("got %q", got)
	}
	// After the final result, further lines are stray.
	r.feedChunks("\r\nOK\r\n")
	if got := r.fates(); !slices.Equal(got[1:], []string{"dropped OK"}) {
		t.Errorf("got %q", got)
	}
}

func TestLineFilterWavecomCPIN(t *testing.T) {
	r := newFilterRig(t)
	st := r.f.begin(cmdSpec{cmd: "+CPIN?", optionalFinal: "+CPIN"})
	r.feedChunks("\r\n+CPIN: READY\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.f.mu.Lock()
		done := st.finished
		r.f.mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.fates(); !slices.Equal(got, []string{"forwarded +CPIN: READY", "forwarded OK"}) {
		t.Errorf("got %q", got)
	}
}

func TestParseCMGS(t *testing.T) {
	for in, want := range map[string]int{"+CMGS: 7": 7, "+CMGS:255": 255, `+CMGS: 12,"24/01/01,10:00:00+04"`: 12} {
		if got, ok := parseCMGS(in); !ok || got != want {
			t.Errorf("%q: got %d %v", in, got, ok)
		}
	}
	for _, in := range []string{"+CMGS: x", "+CMGS: 256", "+CMGL: 1", "+CMGS: -1"} {
		if _, ok := parseCMGS(in); ok {
			t.Errorf("%q: accepted", in)
		}
	}
}

// splitLines is an independent reference for the filter's line cutting:
// CR, LF and CRLF end a line; blank lines don't count.
func splitLines(b []byte) (lines int) {
	var cur []byte
	lastCR := false
	end := func() {
		if len(bytes.TrimSpace(cur)) > 0 || len(cur) > maxLine {
			lines++
		}
		cur = cur[:0]
	}
	for _, c := range b {
		switch {
		case c == '\r':
			end()
			lastCR = true
		case c == '\n' && lastCR:
			lastCR = false
		case c == '\n':
			end()
		default:
			lastCR = false
			cur = append(cur, c)
		}
	}
	return lines
}

// FuzzLineFilter feeds arbitrary chunks: no panic, no hang, and every input
// line is accounted for (forwarded, taken as a URC, or dropped).
func FuzzLineFilter(f *testing.F) {
	f.Add([]byte("\r\n+CSQ: 20,99\r\r\n\r\nOK\r\n"), uint8(3), false)
	f.Add([]byte("A\r\n^RSSI:20\r\n\r\nT+CGMI\r\nhuawei\r\n\r\nOK\r\n"), uint8(1), false)
	f.Add([]byte("\r\n+CMT: ,24\r\n00040B911234567890F000000250100173832305C8329BFD06\r\n"), uint8(7), false)
	f.Add([]byte("AT+CMGS=10\r\r\n> 0011\x1a\r\n> \r\n+CMGS: 7\r\n\r\nOK\r\n"), uint8(2), true)
	f.Add([]byte("\r\n+CMS ERROR: 500\r\nCOMMAND NOT SUPPORT\r+CDS: 25\r\rRING\n\n"), uint8(5), true)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, submit bool) {
		r := newFilterRig(t)
		var st *cmdState
		if submit {
			st = r.f.begin(cmdSpec{cmd: "+CMGS=10", submit: true})
		}
		n := int(chunk)%16 + 1
		for i := 0; i < len(data); i += n {
			r.f.feed(data[min(i, len(data)):min(i+n, len(data))])
		}
		_ = r.f.takeURCs()
		if st != nil {
			r.f.abort(st, false)
			return // prompts split lines in ways the reference doesn't model
		}
		if got, want := len(r.fates()), splitLines(data); got != want {
			t.Fatalf("%d lines accounted for, input has %d: %q", got, want, r.fates())
		}
	})
}

// Defect 7 reproduced on the raw engine: a reader that returns (0, nil)
// (a serial port with a read timeout, idle) makes at.AT close itself.
type zeroReader struct {
	mu    sync.Mutex
	zeros int
	r     io.Reader
}

func (z *zeroReader) Read(p []byte) (int, error) {
	z.mu.Lock()
	if z.zeros > 0 {
		z.zeros--
		z.mu.Unlock()
		return 0, nil
	}
	z.mu.Unlock()
	return z.r.Read(p)
}

// +CUSD never reaches at.AT: before the OK of the +CUSD command, after it,
// or spread over lines by a quoted text with line breaks; with nobody
// waiting it is dropped.
func TestLineFilterCUSD(t *testing.T) {
	r := newFilterRig(t)
	r.feedChunks("\r\n+CUSD: 0,\"dropped, nobody waits\",15\r\n")
	r.f.expectUSSD(true)
	r.f.begin(cmdSpec{cmd: `+CUSD=1,"*100#",15`})
	r.feedChunks(
		"\r\n+CUSD: 0,\"before OK\",15\r\n\r\nOK\r\n",
		"\r\n+CUSD: 1,\"Menu:\r\n1. Balance\r\n\r\n2. Bundles\",15\r\n",
		"\r\n+CUSD: 1,\"never closed\r\nOK\r\n",
	)
	want := []string{`+CUSD: 0,"before OK",15`, "+CUSD: 1,\"Menu:\n1. Balance\n2. Bundles\",15", `+CUSD: 1,"never closed`}
	if got := r.f.takeUSSD(); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, f := range r.fates() {
		if strings.HasPrefix(f, "forwarded +CUSD") {
			t.Errorf("+CUSD went to at: %q", r.fates())
		}
	}
	waitUntil(t, "OK to at", func() bool { return r.sink.String() != "" })
	if got := r.sink.String(); got != "OK\r\n" {
		t.Errorf("at got %q", got)
	}
	r.f.expectUSSD(false)
	r.feedChunks("\r\n+CUSD: 2\r\n")
	if got := r.f.takeUSSD(); len(got) != 0 {
		t.Errorf("kept %q with nobody waiting", got)
	}
}

// Boot banners are numbered and signalled for Init's readiness wait.
func TestLineFilterBootBanners(t *testing.T) {
	r := newFilterRig(t)
	r.feedChunks("\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\n^BOOT:35323129,0,0,0,26\r\n")
	if r.f.bootMark() != 2 {
		t.Errorf("boot mark %d, want 2 (^BOOT is Huawei noise, not a reboot)", r.f.bootMark())
	}
	select {
	case <-r.f.bootSignal:
	default:
		t.Error("no boot signal")
	}
	if got := r.f.takeURCs(); !slices.Equal(got, []urc{{Line: "RDY", Boot: 1}, {Line: "SMS DONE", Boot: 2}}) {
		t.Errorf("got %+v", got)
	}
}

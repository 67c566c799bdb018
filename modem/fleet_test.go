package modem

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cnmiFake is a scripted modem (io.Pipe boundary) whose +CNMI setting the
// test can reset, as a missed +CNMA or a banner-less reboot does.
type cnmiFake struct {
	mu   sync.Mutex
	cnmi string
}

func (c *cnmiFake) handle(fm *fakeModem, cmd string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case strings.HasPrefix(cmd, "AT+CNMI="):
		c.cnmi = cmd[len("AT+CNMI="):]
		fm.ok()
	case cmd == "AT+CNMI?":
		fm.ok("+CNMI: " + strings.ReplaceAll(c.cnmi, ",", ", ")) // spaces, as some firmware prints
	default:
		return basic(fm, cmd)
	}
	return true
}

func (c *cnmiFake) set(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cnmi = v
}

func (c *cnmiFake) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cnmi
}

func TestCheckReception(t *testing.T) {
	c := &cnmiFake{}
	fm := newFake(t, c.handle)
	m := newTestModem(t, fm.host, fastConfig())
	if _, err := m.Init(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.CheckReception(ctxT(t)); !ok || err != nil {
		t.Fatalf("intact reception: %v, %v", ok, err)
	}
	before := fm.count("AT+CMGF=0")
	c.set("0,0,0,0,0") // routing switched off by the modem
	if ok, err := m.CheckReception(ctxT(t)); ok || err != nil {
		t.Fatalf("switched-off reception: %v, %v", ok, err)
	}
	if c.get() != "2,1,0,2,0" || fm.count("AT+CMGF=0") != before+1 {
		t.Errorf("settings not re-applied: cnmi %q, %q", c.get(), fm.commands())
	}
	if ok, err := m.CheckReception(ctxT(t)); !ok || err != nil {
		t.Errorf("after the repair: %v, %v", ok, err)
	}
}

// Serve's periodic round checks reception too.
func TestServeChecksReception(t *testing.T) {
	c := &cnmiFake{}
	fm := newFake(t, c.handle)
	cfg := fastConfig()
	cfg.SweepInterval = 20 * time.Millisecond
	m := newTestModem(t, fm.host, cfg)
	if _, err := m.Init(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	serve(t, m, newRecorder())
	waitUntil(t, "a periodic check", func() bool { return fm.count("AT+CNMI?") >= 1 })
	c.set("2,0,0,0,0")
	waitUntil(t, "reception restored", func() bool { return c.get() == "2,1,0,2,0" })
}

func TestSameCNMI(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		same      bool
	}{
		{"2,1,0,2,0", "2,1,0,2,0", true},
		{"2, 1, 0, 2, 0", "2,1,0,2,0", true},
		{"2,1,0,2", "2,1,0,2,0", true}, // bfr omitted
		{"2,1,0,0,0", "2,1,0,2,0", false},
		{"0,0,0,0,0", "2,1,0,1,0", false},
		{"2,1", "2,1,0,2,0", false},
		{"x", "2,1,0,2,0", false},
	} {
		if got := sameCNMI(tc.got, tc.want); got != tc.same {
			t.Errorf("sameCNMI(%q, %q) = %v", tc.got, tc.want, got)
		}
	}
}

// rawRecorder is a Handler that also takes undecodable messages.
type rawRecorder struct {
	*recorder
	mu   sync.Mutex
	raw  map[int]string
	fail bool
}

func (r *rawRecorder) Undecodable(ctx context.Context, index int, pdu string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("disk full")
	}
	r.raw[index] = pdu
	return nil
}

func (r *rawRecorder) snapshotRaw() map[int]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]string{}
	for k, v := range r.raw {
		out[k] = v
	}
	return out
}

// storageFake is a scripted SIM store (io.Pipe boundary) for what the
// simulator can't hold: undecodable PDUs and stored SUBMITs.
type storageFake struct {
	mu     sync.Mutex
	slots  map[int]string
	total  int
	listed int
}

func (s *storageFake) handle(fm *fakeModem, cmd string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case cmd == "AT+CPMS=?":
		fm.ok(`+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")`)
	case cmd == "AT+CPMS?":
		n := strconv.Itoa(len(s.slots))
		fm.ok(`+CPMS: "SM",` + n + `,` + strconv.Itoa(s.total) + `,"SM",` + n + `,` + strconv.Itoa(s.total) + `,"SM",0,` + strconv.Itoa(s.total))
	case cmd == "AT+CMGL=4":
		s.listed++
		var lines []string
		for idx, p := range s.slots {
			lines = append(lines, "+CMGL: "+strconv.Itoa(idx)+",1,,"+strconv.Itoa(len(p)/2), p)
		}
		fm.ok(lines...)
	case strings.HasPrefix(cmd, "AT+CMGD="):
		idx, _ := strconv.Atoi(cmd[len("AT+CMGD="):])
		delete(s.slots, idx)
		fm.ok()
	default:
		return basic(fm, cmd)
	}
	return true
}

func (s *storageFake) left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.slots)
}

const (
	garbagePDU       = "0791FFFFFFFFFFFF"                                                           // SMSC, then no TPDU
	storedSubmitPDU  = "0791361907001003B17A0C913619397750320000AD11CD701E340FB3C3F23CC81D0689C3BF" // gammu at-sms 02
	deliverVectorPDU = "06917228195339040B917228214365F700003130805120618005D4F29C2E03"
)

// With a RawHandler, undecodable messages and stored SUBMITs are handed
// over and deleted; a failing RawHandler leaves them.
func TestServeRawHandler(t *testing.T) {
	for _, fail := range []bool{false, true} {
		s := &storageFake{total: 10, slots: map[int]string{1: garbagePDU, 2: storedSubmitPDU, 3: deliverVectorPDU}}
		fm := newFake(t, s.handle)
		m := newTestModem(t, fm.host, fastConfig())
		if _, err := m.Init(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		h := &rawRecorder{recorder: newRecorder(), raw: map[int]string{}, fail: fail}
		left, err := m.sweepCount(ctxT(t), h)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := h.snapshot()
		raw := h.snapshotRaw()
		if len(in) != 1 || in[0].Text != "Test2" {
			t.Errorf("fail %v: inbound %+v", fail, in)
		}
		if fail {
			if left != 2 || s.left() != 2 {
				t.Errorf("failing raw handler: %d left by the sweep, %d on the modem", left, s.left())
			}
			continue
		}
		if left != 0 || s.left() != 0 || raw[1] != garbagePDU || raw[2] != storedSubmitPDU {
			t.Errorf("%d left by the sweep, %d on the modem, raw %v", left, s.left(), raw)
		}
	}
}

// A full storage is reported; ^SMMEMFULL (Huawei E1750) sweeps at once.
func TestServeStorageFull(t *testing.T) {
	s := &storageFake{total: 5, slots: map[int]string{1: garbagePDU, 2: garbagePDU, 3: garbagePDU, 4: garbagePDU, 5: deliverVectorPDU}}
	fm := newFake(t, s.handle)
	var logs lockedBuffer
	m := New(fm.host, fastConfig(), slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { m.Close() })
	if _, err := m.Init(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	if err := m.housekeeping(ctxT(t), rec); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); rec.count() != 1 || !strings.Contains(got, "modem storage nearly full") || !strings.Contains(got, "left_by_sweep=4") {
		t.Errorf("%d handed over, log:\n%s", rec.count(), got)
	}
	s.mu.Lock()
	s.slots[5] = garbagePDU
	s.mu.Unlock()
	if err := m.housekeeping(ctxT(t), rec); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); !strings.Contains(got, "modem storage full") || !strings.Contains(got, "left_by_sweep=5") {
		t.Errorf("log:\n%s", got)
	}
	serve(t, m, rec)
	waitUntil(t, "first sweep", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.listed == 3
	})
	s.mu.Lock()
	s.slots[6] = deliverVectorPDU
	s.mu.Unlock()
	fm.send(`^SMMEMFULL: "SM"`) // instead of +CMTI: the storage is full
	waitUntil(t, "sweep on ^SMMEMFULL", func() bool { return rec.count() == 2 && s.left() == 5 })
}

func (r *recorder) count() int {
	in, rep := r.snapshot()
	return len(in) + len(rep)
}

func TestReset(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(fm *fakeModem)
		ok    bool
	}{
		{"OK", func(fm *fakeModem) { fm.ok() }, true},
		{"port vanishes (USB re-enumeration)", func(fm *fakeModem) { fm.dev.Close() }, true},
		{"refused", func(fm *fakeModem) { fm.send("+CME ERROR: 4") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fm := newFake(t, func(fm *fakeModem, cmd string) bool {
				if cmd == "AT+CFUN=1,1" {
					tc.reply(fm)
					return true
				}
				return basic(fm, cmd)
			})
			m := newTestModem(t, fm.host, fastConfig())
			err := m.Reset(ctxT(t))
			if (err == nil) != tc.ok || fm.count("AT+CFUN=1,1") != 1 {
				t.Errorf("got %v, commands %q", err, fm.commands())
			}
		})
	}
	// Nothing can be written to a closed port: that is an error.
	fm := newFake(t, basic)
	m := newTestModem(t, fm.host, fastConfig())
	m.Close()
	if err := m.Reset(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("closed port: %v", err)
	}
}

func TestEscape(t *testing.T) {
	var mu sync.Mutex
	hung := true
	fm := newFake(t, func(fm *fakeModem, cmd string) bool {
		mu.Lock()
		defer mu.Unlock()
		if hung {
			return true // swallowed
		}
		return basic(fm, cmd)
	})
	cfg := fastConfig()
	cfg.CommandTimeout = 100 * time.Millisecond
	m := newTestModem(t, fm.host, cfg)
	if err := m.Escape(ctxT(t)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("hung modem: %v", err)
	}
	mu.Lock()
	hung = false
	mu.Unlock()
	if err := m.Escape(ctxT(t)); err != nil {
		t.Fatalf("answering modem: %v", err)
	}
	fm.mu.Lock()
	escs := fm.escs
	fm.mu.Unlock()
	if escs != 2 {
		t.Errorf("%d ESC written, want one per Escape", escs)
	}
	if _, err := m.Health(ctxT(t)); err != nil {
		t.Errorf("after Escape: %v", err)
	}
}

package modem

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// simcomBooting is a scripted SIMCom that just powered on (a fake at the
// io.Pipe boundary: the simulator has no boot phase): SMS commands answer
// ERROR until readyAfter has passed since the first +CMGF, when it prints
// "SMS Ready"; the first +CPMS after that still says SIM busy.
type simcomBooting struct {
	mu         sync.Mutex
	readyAfter time.Duration
	first      time.Time
	ready      bool
	cpmsBusy   bool
}

func (s *simcomBooting) handle(fm *fakeModem, cmd string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case cmd == "AT+CGMI":
		fm.ok("SIMCOM_Ltd")
	case cmd == "AT+CGMM":
		fm.ok("SIMCOM_SIM800L")
	case cmd == "AT+CMGF=0" && !s.ready:
		if s.first.IsZero() {
			s.first = time.Now()
			if s.readyAfter > 0 {
				time.AfterFunc(s.readyAfter, func() {
					s.mu.Lock()
					s.ready, s.cpmsBusy = true, true
					s.mu.Unlock()
					fm.send("Call Ready", "SMS Ready")
				})
			}
		}
		fm.send("ERROR")
	case strings.HasPrefix(cmd, "AT+CPMS=\"") && s.cpmsBusy:
		s.cpmsBusy = false
		fm.send("+CMS ERROR: 314")
	default:
		return basic(fm, cmd)
	}
	return true
}

// Init waits for "SMS Ready" instead of failing (docs/modems.md §2.1), backing
// off rather than hammering, and the banner it waited for does not make
// Serve restore the settings again. Production timings, virtual time.
func TestInitWaitsForSMSReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &simcomBooting{readyAfter: 8 * time.Second}
		fm := newFake(t, s.handle)
		m := newTestModem(t, fm.host, Config{SweepInterval: time.Hour})
		start := time.Now()
		if _, err := m.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 8*time.Second || took > 10*time.Second {
			t.Errorf("Init took %v (virtual), want just over the 8s boot", took)
		}
		tries := fm.count("AT+CMGF=0")
		if tries < 3 || tries > 6 {
			t.Errorf("%d +CMGF tries in 8s: want backoff, not a tight loop", tries)
		}
		if n := fm.count(`AT+CPMS="SM","SM","SM"`); n != 2 {
			t.Errorf("+CPMS sent %d times, want 2 (busy once)", n)
		}
		if m.cnmi != "2,1,0,2,0" || m.readMem != "SM" {
			t.Errorf("cnmi %q mem %q", m.cnmi, m.readMem)
		}
		serve(t, m, newRecorder())
		time.Sleep(time.Second)
		synctest.Wait()
		if n := fm.count("AT+CMGF=0"); n != tries {
			t.Errorf("Serve restored the settings again for the banner Init waited for (%d +CMGF)", n)
		}
	})
}

// A modem whose SMS side never comes up fails Init after ReadyTimeout.
func TestInitSMSNeverReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fm := newFake(t, (&simcomBooting{}).handle)
		m := newTestModem(t, fm.host, Config{SweepInterval: time.Hour})
		start := time.Now()
		_, err := m.Init(context.Background())
		if err == nil || !strings.Contains(err.Error(), "PDU mode") {
			t.Fatalf("got %v", err)
		}
		if took := time.Since(start); took < 30*time.Second || took > 40*time.Second {
			t.Errorf("gave up after %v (virtual), want ReadyTimeout (30s)", took)
		}
		if n := fm.count("AT+CMGF=0"); n > 12 {
			t.Errorf("%d tries", n)
		}
	})
}

// A refused +CPMS or +CNMI on a modem that is ready is not retried: it
// falls back at once (no 30s wait on modems without "SM").
func TestInitNoRetryWhenReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fm := newFake(t, func(fm *fakeModem, cmd string) bool {
			if cmd == `AT+CPMS="SM","SM","SM"` || strings.HasPrefix(cmd, "AT+CNMI=") {
				fm.send("+CMS ERROR: 302")
				return true
			}
			return basic(fm, cmd)
		})
		m := newTestModem(t, fm.host, Config{SweepInterval: time.Hour})
		start := time.Now()
		if _, err := m.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Init took %v (virtual)", took)
		}
		if fm.count(`AT+CPMS="SM","SM","SM"`) != 1 || fm.count("AT+CNMI=2,1,0,2,0") != 1 || m.cnmi != "" {
			t.Errorf("commands %q, cnmi %q", fm.commands(), m.cnmi)
		}
	})
}

func TestQuirksFor(t *testing.T) {
	for _, tc := range []struct {
		id   Identity
		want string
	}{
		{Identity{Manufacturer: "huawei", Model: "E3372"}, "huawei"},
		{Identity{Manufacturer: "HUAWEI TECHNOLOGIES", Model: "E1752"}, "huawei"},
		{Identity{Manufacturer: "Quectel", Model: "EC25"}, "quectel-ec25"},
		{Identity{Manufacturer: "Quectel_Ltd", Model: "Quectel_EG25-G"}, "quectel-ec25"},
		{Identity{Manufacturer: "Quectel", Model: "M26"}, "generic"},
		{Identity{Manufacturer: "SIMCOM_Ltd", Model: "SIMCOM_SIM800L"}, "generic"},
		{Identity{}, "generic"},
	} {
		if got := quirksFor(tc.id).name; got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.id, got, tc.want)
		}
	}
}

// Vendor quirks by identity: Quectel EC25 gets routed reports (ds=1)
// first, Huawei gets ^CURC=0 (refused by old firmware: tolerated).
func TestInitVendorQuirks(t *testing.T) {
	for _, tc := range []struct {
		maker, model string
		curc         string // ^CURC=0 answer, "" if it must not be sent
		cnmi         string
		notSent      []string
	}{
		{"Quectel", "EC25", "", "2,1,0,1,0", []string{"AT+CNMI=2,1,0,2,0", "AT^CURC=0"}},
		{"huawei", "E1752", "COMMAND NOT SUPPORT", "2,1,0,2,0", nil},
		{"huawei", "E3372", "OK", "2,1,0,2,0", nil},
		{"ACME", "M1", "", "2,1,0,2,0", []string{"AT^CURC=0"}},
	} {
		t.Run(tc.maker+" "+tc.model, func(t *testing.T) {
			fm := newFake(t, func(fm *fakeModem, cmd string) bool {
				switch cmd {
				case "AT+CGMI":
					fm.ok(tc.maker)
				case "AT+CGMM":
					fm.ok(tc.model)
				case "AT^CURC=0":
					fm.send(tc.curc)
				case "AT+CNMI=2,1,0,1,0":
					fm.ok()
				default:
					return basic(fm, cmd)
				}
				return true
			})
			m := newTestModem(t, fm.host, fastConfig())
			if _, err := m.Init(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if m.cnmi != tc.cnmi {
				t.Errorf("cnmi %q, want %q", m.cnmi, tc.cnmi)
			}
			cmds := fm.commands()
			if tc.curc != "" && !slices.Contains(cmds, "AT^CURC=0") {
				t.Errorf("^CURC=0 not sent: %q", cmds)
			}
			for _, c := range tc.notSent {
				if slices.Contains(cmds, c) {
					t.Errorf("%s sent: %q", c, cmds)
				}
			}
		})
	}
}

// +CFUN: 4 (D-Link DWM-157) is raised to 1 and checked until it took; a
// modem that refuses still initialises (it can read stored messages).
func TestInitRadio(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		var mu sync.Mutex
		cfun, reads := "4", 0
		fm := newFake(t, func(fm *fakeModem, cmd string) bool {
			mu.Lock()
			defer mu.Unlock()
			switch cmd {
			case "AT+CFUN?":
				reads++
				fm.ok("+CFUN: " + cfun)
				if cfun == "1/" {
					cfun = "1"
				}
			case "AT+CFUN=1":
				if refuse {
					fm.send("+CME ERROR: 3")
					return true
				}
				cfun = "1/" // reads 1 only on the second look: slow to switch
				fm.ok()
			default:
				return basic(fm, cmd)
			}
			return true
		})
		m := newTestModem(t, fm.host, fastConfig())
		if _, err := m.Init(ctxT(t)); err != nil {
			t.Fatalf("refuse %v: %v", refuse, err)
		}
		mu.Lock()
		if fm.count("AT+CFUN=1") != 1 || !refuse && (reads != 3 || cfun != "1") || refuse && reads != 1 {
			t.Errorf("refuse %v: %d reads, cfun %q, %q", refuse, reads, cfun, fm.commands())
		}
		mu.Unlock()
	}
}

// An empty SMSC (or a refused +CSCA?, ZTE) is set from the configuration.
func TestInitSMSC(t *testing.T) {
	for _, reply := range []string{`+CSCA: "",129`, "ERROR", `+CSCA: ,145`} {
		fm := newFake(t, func(fm *fakeModem, cmd string) bool {
			switch cmd {
			case "AT+CSCA?":
				if reply == "ERROR" {
					fm.send("ERROR")
				} else {
					fm.ok(reply)
				}
			case `AT+CSCA="+15559990000",145`:
				fm.ok()
			default:
				return basic(fm, cmd)
			}
			return true
		})
		cfg := fastConfig()
		cfg.SMSC = "+15559990000"
		m := newTestModem(t, fm.host, cfg)
		if _, err := m.Init(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if fm.count(`AT+CSCA="+15559990000",145`) != 1 {
			t.Errorf("%s: SMSC not set: %q", reply, fm.commands())
		}
	}
	// A SIM with an SMSC keeps it.
	fm := newFake(t, basic)
	cfg := fastConfig()
	cfg.SMSC = "+15559990000"
	if _, err := newTestModem(t, fm.host, cfg).Init(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(fm.commands(), func(c string) bool { return strings.HasPrefix(c, "AT+CSCA=") }) {
		t.Errorf("SMSC overwritten: %q", fm.commands())
	}
}

package modem

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem/sim"
)

// USSD against the simulator's three encodings: plain text (generic),
// packed 7-bit hex both ways (huawei), UCS-2 hex with dcs 15 (quectel-ec25).
func TestSimUSSD(t *testing.T) {
	want := sim.DefaultUSSDReplies()["*100#"]
	for _, tc := range []struct {
		profile string
		special string // a reply beyond ASCII that the encoding can carry
	}{
		{"generic", "Guthaben: 5,00 € (gültig)"},
		{"huawei", "Guthaben: 5,00 € (gültig)"},
		{"quectel-ec25", "Баланс: 12,34 ₽ — спасибо"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			r := newSimRig(t, sim.Config{Profile: tc.profile, USSDDelay: 20 * time.Millisecond, BootDelay: -1}, fastConfig())
			r.init(t)
			got, err := r.m.USSD(ctxT(t), "*100#")
			if err != nil || got.Status != 0 || got.Text != want {
				t.Fatalf("got %+v, %v; want %q", got, err, want)
			}
			if got, err := r.m.USSD(ctxT(t), "*999#"); err != nil || got.Status != 4 {
				t.Errorf("unknown code: %+v, %v", got, err)
			}
			r.sm.SetUSSDReplies(map[string]string{"*101#": tc.special})
			if got, err := r.m.USSD(ctxT(t), "*101#"); err != nil || got.Text != tc.special {
				t.Errorf("got %+v, %v; want %q", got, err, tc.special)
			}
			// Sending still works, and the port is in step.
			if mrs := r.send(t, "+15557654321", "after USSD", 0); len(mrs) != 1 {
				t.Errorf("MRs %v", mrs)
			}
		})
	}
}

// SIM800 boot: SMS commands fail until "SMS Ready" (2 s after power-on);
// Init right after power-on waits for it. A reboot later in the session
// (its banner) makes Serve restore the settings. Virtual time.
func TestSimBootSIM800(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSimRig(t, sim.Config{Profile: "simcom-sim800"}, Config{SweepInterval: time.Hour})
		start := time.Now()
		r.init(t)
		if time.Since(start) < 2*time.Second {
			t.Errorf("Init done after %v, before the boot ended", time.Since(start))
		}
		rec := newRecorder()
		serve(t, r.m, rec)
		if err := r.net.Deliver("+15551112222", simNumber, "after boot"); err != nil {
			t.Fatal(err)
		}
		rec.wait(t, 1)
		r.sm.SetFault(sim.Fault{Reboot: true})
		time.Sleep(3 * time.Second) // the boot, then the banner
		synctest.Wait()
		h, err := r.m.Health(context.Background())
		if err != nil || h.ReceptionMode != "2,1,0,2,0" || !h.Registered() {
			t.Fatalf("after the reboot: %+v, %v", h, err)
		}
		if err := r.net.Deliver("+15551112222", simNumber, "after reboot"); err != nil {
			t.Fatal(err)
		}
		rec.wait(t, 2)
	})
}

// ZTE boots with the radio off: Init switches it on.
func TestSimZTERadioOff(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "zte", BootDelay: -1}, fastConfig())
	r.init(t)
	if info := r.sm.Info(); info.CFUN != 1 {
		t.Fatalf("CFUN %d", info.CFUN)
	}
	if mrs := r.send(t, "+15557654321", "radio on", 0); len(mrs) != 1 {
		t.Errorf("MRs %v", mrs)
	}
}

// Quectel EC25: reports are routed (+CDS, ds=1) instead of the bogus
// +CDSI: "SM",0, and arrive.
func TestSimQuectelEC25Reports(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "quectel-ec25", BootDelay: -1}, fastConfig())
	r.init(t)
	if r.m.cnmi != "2,1,0,1,0" {
		t.Fatalf("cnmi %q", r.m.cnmi)
	}
	rec := newRecorder()
	serve(t, r.m, rec)
	mrs := r.send(t, "+15557654321", "report me", 0)
	rec.wait(t, 1)
	if _, reps := rec.snapshot(); len(reps) != 1 || reps[0].MR != mrs[0] || reps[0].Outcome() != OutcomeDelivered {
		t.Errorf("reports %+v for MR %d", reps, mrs[0])
	}
}

// A reboot without a banner (generic) resets +CNMI silently; the reception
// check notices and repairs it, and indications flow again.
func TestSimSilentRebootReception(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "generic", BootDelay: -1}, fastConfig())
	r.init(t)
	if ok, err := r.m.CheckReception(ctxT(t)); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	r.sm.SetFault(sim.Fault{Reboot: true})
	if ok, err := r.m.CheckReception(ctxT(t)); ok || err != nil {
		t.Fatalf("after a silent reboot: %v %v", ok, err)
	}
	if h, err := r.m.Health(ctxT(t)); err != nil || h.ReceptionMode != "2,1,0,2,0" {
		t.Fatalf("health %+v, %v", h, err)
	}
	rec := newRecorder()
	serve(t, r.m, rec)
	if err := r.net.Deliver("+15551112222", simNumber, "after the repair"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 1)
}

// Reset reboots the simulated module (AT+CFUN=1,1); the reception check
// then restores the settings the reboot dropped.
func TestSimReset(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "huawei", BootDelay: -1}, fastConfig())
	r.init(t)
	if err := r.m.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.m.CheckReception(ctxT(t)); ok || err != nil {
		t.Fatalf("after Reset: %v %v (the reboot should have reset +CNMI)", ok, err)
	}
	if mrs := r.send(t, "+15557654321", "after reset", 0); len(mrs) != 1 {
		t.Errorf("MRs %v", mrs)
	}
}

// The ladder against a modem hung until a power cycle: Escape fails; after
// the reboot, Escape brings it back.
func TestSimEscapeLadder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSimRig(t, sim.Config{Profile: "generic", BootDelay: -1}, fastConfig())
		r.init(t)
		r.sm.SetFault(sim.Fault{HangUntilReboot: true})
		if err := r.m.Escape(context.Background()); !errors.Is(err, ErrTimeout) {
			t.Fatalf("hung: %v", err)
		}
		r.sm.Reboot()
		if err := r.m.Escape(context.Background()); err != nil {
			t.Fatalf("after the power cycle: %v", err)
		}
		if ok, err := r.m.CheckReception(context.Background()); ok || err != nil {
			t.Errorf("reception after the power cycle: %v %v", ok, err)
		}
	})
}

// Network loss: Health says searching, a send fails transient (CMS 331);
// service back, sending works. SIM pulled: Health says NOT INSERTED, a send
// fails for the SIM (CMS 310).
func TestSimNetworkAndSIMLoss(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "generic", BootDelay: -1}, fastConfig())
	r.init(t)
	parts, _ := EncodeSubmit("+15557654321", "x", 0)

	r.sm.SetFault(sim.Fault{NetworkLoss: true})
	h, err := r.m.Health(ctxT(t))
	if err != nil || h.Registered() || h.Registration != "searching" {
		t.Errorf("network lost: %+v, %v", h, err)
	}
	if _, err := r.m.Send(ctxT(t), parts[0]); !isCMS(err, 331) || Classify(err) != ClassTransient {
		t.Errorf("send without network: %v (%v)", err, Classify(err))
	}
	r.sm.SetFault(sim.Fault{})
	if _, err := r.m.Send(ctxT(t), parts[0]); err != nil {
		t.Errorf("network back: %v", err)
	}

	r.sm.SetFault(sim.Fault{SIMRemoved: true})
	if h, err := r.m.Health(ctxT(t)); err != nil || h.SIM != "NOT INSERTED" {
		t.Errorf("SIM removed: %+v, %v", h, err)
	}
	if _, err := r.m.Send(ctxT(t), parts[0]); !isCMS(err, 310) || Classify(err) != ClassPermanentSIM {
		t.Errorf("send without SIM: %v (%v)", err, Classify(err))
	}
}

// A full SIM (Huawei: ^SMMEMFULL instead of +CMTI) is emptied by the sweep
// the indication triggers, and the message the network held arrives.
func TestSimStorageFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newSimRig(t, sim.Config{Profile: "huawei", BootDelay: -1, StorageSize: 5}, fastConfig())
		r.init(t)
		rec := newRecorder()
		serve(t, r.m, rec)
		synctest.Wait() // the first sweep is over
		r.sm.SetFault(sim.Fault{StorageFull: true})
		if err := r.net.Deliver("+15551112222", simNumber, "held back"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		in, _ := rec.snapshot()
		if len(in) == 0 || in[len(in)-1].Text != "held back" || r.sm.Stored("SM") != 0 {
			t.Errorf("%d messages handed over, %d left on the SIM", len(in), r.sm.Stored("SM"))
		}
	})
}

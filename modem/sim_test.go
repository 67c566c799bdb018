package modem

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem/sim"
)

const simNumber = "+15550000001"

type simRig struct {
	net *sim.Network
	sm  *sim.Modem
	m   *Modem
}

// newSimRig connects a driver to a simulated modem over io.Pipe.
func newSimRig(t testing.TB, scfg sim.Config, cfg Config) *simRig {
	t.Helper()
	net := sim.NewNetwork(sim.NetworkConfig{ReportDelay: 20 * time.Millisecond, Seed: 1, Log: testLog(t).With("side", "sim")})
	t.Cleanup(net.Close)
	if scfg.Number == "" {
		scfg.Number = simNumber
	}
	sm, err := net.AddModem(scfg)
	if err != nil {
		t.Fatal(err)
	}
	host, dev := pipePair()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		sm.Serve(ctx, dev)
	}()
	t.Cleanup(func() {
		cancel()
		dev.Close()
		<-served
	})
	return &simRig{net: net, sm: sm, m: newTestModem(t, host, cfg)}
}

func (r *simRig) init(t testing.TB) Identity {
	t.Helper()
	id, err := r.m.Init(ctxT(t))
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return id
}

// send encodes and submits every part, returning the MRs.
func (r *simRig) send(t testing.TB, to, text string, ref uint8) []int {
	t.Helper()
	parts, err := EncodeSubmit(to, text, ref)
	if err != nil {
		t.Fatal(err)
	}
	var mrs []int
	for _, p := range parts {
		mr, err := r.m.Send(ctxT(t), p)
		if err != nil {
			t.Fatalf("Send part %d/%d: %v", p.Seq, p.Of, err)
		}
		mrs = append(mrs, mr)
	}
	return mrs
}

func TestSimInit(t *testing.T) {
	noisy, _ := sim.LookupProfile("huawei")
	noisy.MidReplyNoiseEvery = 1 // noise inside every reply
	noisy.NoiseInterval = 5 * time.Millisecond
	for _, tc := range []struct {
		name string
		scfg sim.Config
		want string
	}{
		{"generic", sim.Config{Profile: "generic"}, "SIMULATOR"},
		{"huawei", sim.Config{Profile: "huawei"}, "huawei"},
		{"huawei noise in every reply", sim.Config{ProfileData: &noisy}, "huawei"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSimRig(t, tc.scfg, fastConfig())
			id := r.init(t)
			info := r.sm.Info()
			if id.Manufacturer != tc.want || id.Model == "" || id.Revision == "" || id.IMEI != info.IMEI || id.IMSI != info.IMSI || id.ICCID != info.ICCID {
				t.Errorf("got %+v, sim says %+v", id, info)
			}
			h, err := r.m.Health(ctxT(t))
			if err != nil || !h.Registered() || h.SignalRSSI > 31 || h.SIM != "READY" || h.StorageTotal == 0 || h.ReceptionMode != "2,1,0,2,0" {
				t.Errorf("health %+v, %v", h, err)
			}
			// And it can still send through the noise.
			if mrs := r.send(t, "+15557654321", "hello", 0); len(mrs) != 1 {
				t.Errorf("got MRs %v", mrs)
			}
		})
	}
}

func TestSimSendAndReports(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "huawei"}, fastConfig())
	r.init(t)
	rec := newRecorder()
	serve(t, r.m, rec)

	texts := map[string]string{
		"+15557654321": "single part",
		"+15557654322": strings.Repeat("multipart GSM-7 text with € and {braces}. ", 8),
		"+15557654323": "UCS-2 with emoji 😀🎉 " + strings.Repeat("Привет, мир! ", 10),
	}
	r.net.SetOutcome("+15557654323", sim.OutcomeFailed)
	sent := map[int]string{} // MR → recipient
	total := 0
	ref := uint8(10)
	for _, to := range []string{"+15557654321", "+15557654322", "+15557654323"} {
		ref++
		mrs := r.send(t, to, texts[to], ref)
		if want := PlanText(texts[to]).Parts; len(mrs) != want {
			t.Fatalf("%s: %d MRs, want %d", to, len(mrs), want)
		}
		for _, mr := range mrs {
			if _, dup := sent[mr]; dup {
				t.Fatalf("MR %d returned twice", mr)
			}
			sent[mr] = to
		}
		total += len(mrs)
	}
	subs := r.net.Submissions()
	if len(subs) != total {
		t.Fatalf("network got %d parts, want %d", len(subs), total)
	}
	for _, s := range subs {
		if sent[s.MR] != s.To || !s.SRR {
			t.Errorf("submission %+v does not match what Send returned", s)
		}
	}
	for _, msg := range r.net.Messages() {
		if !msg.Complete || msg.Text != texts[msg.To] {
			t.Errorf("network reassembled %q for %s, want %q", msg.Text, msg.To, texts[msg.To])
		}
	}
	rec.wait(t, total)
	_, reps := rec.snapshot()
	for _, rep := range reps {
		to, ok := sent[rep.MR]
		if !ok || rep.Recipient != to {
			t.Errorf("report %+v matches no submission", rep)
			continue
		}
		want := OutcomeDelivered
		if to == "+15557654323" {
			want = OutcomeFailed
		}
		if rep.Outcome() != want {
			t.Errorf("report for %s: outcome %v, want %v", to, rep.Outcome(), want)
		}
	}
	waitUntil(t, "report storage drained", func() bool { return r.sm.Stored("SR")+r.sm.Stored("SM") == 0 })
}

func TestSimInbound(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "generic"}, fastConfig())
	r.init(t)
	rec := newRecorder()
	serve(t, r.m, rec)
	long := "Long inbound 😀 " + strings.Repeat("ожидание ", 20)
	if err := r.net.Deliver("+15551112222", simNumber, "short one"); err != nil {
		t.Fatal(err)
	}
	if err := r.net.Deliver("+15553334444", simNumber, long); err != nil {
		t.Fatal(err)
	}
	want := 1 + PlanText(long).Parts
	rec.wait(t, want)
	in, _ := rec.snapshot()
	groups := map[string][]InboundPart{}
	for _, p := range in {
		groups[p.From] = append(groups[p.From], p)
	}
	if g := groups["+15551112222"]; len(g) != 1 || g[0].Text != "short one" || g[0].Total != 1 {
		t.Errorf("single: %+v", g)
	}
	g := groups["+15553334444"]
	sort.Slice(g, func(i, j int) bool { return g[i].Seq < g[j].Seq })
	var tpdus [][]byte
	for i, p := range g {
		if p.Seq != i+1 || p.Total != len(g) || p.ConcatRef != g[0].ConcatRef {
			t.Errorf("part %d: %+v", i+1, p)
		}
		tpdus = append(tpdus, p.TPDU)
	}
	text, err := DecodeParts(tpdus)
	if err != nil || text != long {
		t.Errorf("reassembled %q, %v; want %q", text, err, long)
	}
	waitUntil(t, "storage drained", func() bool { return r.sm.Stored("SM") == 0 })
}

// Messages that arrived while nobody listened are found by the first sweep.
func TestSimSweepAtStart(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "generic"}, fastConfig())
	r.init(t)
	if err := r.net.Deliver("+15551112222", simNumber, "waiting"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "stored", func() bool { return r.sm.Stored("SM") == 1 })
	r.m.f.takeURCs() // the +CMTI is lost
	rec := newRecorder()
	serve(t, r.m, rec)
	rec.wait(t, 1)
	waitUntil(t, "deleted", func() bool { return r.sm.Stored("SM") == 0 })
}

// The simulator answers +CMGS after the driver's submit timeout (a fault
// of real modems): Send must return that MR, not ErrMaybeSent, and the next
// command must get its own reply. Under synctest the production defaults
// (90 s submit timeout, 5 s grace) cost no wall time.
func TestSimLateCMGS(t *testing.T) {
	short := fastConfig()
	short.SubmitTimeout = 150 * time.Millisecond
	short.ResyncGrace = 2 * time.Second
	for _, tc := range []struct {
		name string
		cfg  Config
		late time.Duration
	}{
		{"short timeouts", short, 500 * time.Millisecond},
		{"production defaults", Config{SweepInterval: time.Hour}, 93 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newSimRig(t, sim.Config{Profile: "generic"}, tc.cfg)
				r.init(t)
				r.sm.SetFault(sim.Fault{LateCMGS: tc.late})
				parts, _ := EncodeSubmit("+15557654321", "late", 0)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				defer cancel()
				mr, err := r.m.Send(ctx, parts[0])
				if err != nil {
					t.Fatalf("Send: %v (class %v), want the late MR", err, Classify(err))
				}
				subs := r.net.Submissions()
				if len(subs) != 1 || subs[0].MR != mr {
					t.Fatalf("got MR %d, network has %+v", mr, subs)
				}
				r.sm.SetFault(sim.Fault{})
				// The next command gets its own reply, and the next submit its own MR.
				h, err := r.m.Health(ctx)
				if err != nil || h.SignalRSSI > 31 || !h.Registered() {
					t.Fatalf("health after late +CMGS: %+v, %v", h, err)
				}
				mr2, err := r.m.Send(ctx, parts[0])
				if err != nil || mr2 != (mr+1)%256 {
					t.Fatalf("next send: MR %d, %v; want %d", mr2, err, (mr+1)%256)
				}
				if n := len(r.net.Submissions()); n != 2 {
					t.Errorf("network got %d submissions, want 2 (no duplicate)", n)
				}
			})
		})
	}
}

func TestSimCMSErrors(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "huawei"}, fastConfig())
	r.init(t)
	r.sm.SetFault(sim.Fault{CMSErrorTo: map[string]int{"+15550000404": 1, "+15550000042": 42, "+15550000021": 21}})
	for to, want := range map[string]ErrorClass{
		"+15550000404": ClassPermanentMessage,
		"+15550000042": ClassTransient,
		"+15550000021": ClassPermanentSIM,
	} {
		parts, _ := EncodeSubmit(to, "x", 0)
		_, err := r.m.Send(ctxT(t), parts[0])
		var cms CMSError
		if !errors.As(err, &cms) || Classify(err) != want || errors.Is(err, ErrMaybeSent) {
			t.Errorf("%s: got %v (%v), want %v", to, err, Classify(err), want)
		}
	}
	r.sm.SetFault(sim.Fault{CMSErrorRate: 1})
	parts, _ := EncodeSubmit("+15557654321", "x", 0)
	if _, err := r.m.Send(ctxT(t), parts[0]); !isCMS(err, 500) || Classify(err) != ClassAmbiguous {
		t.Errorf("rate fault: got %v", err)
	}
	if n := len(r.net.Submissions()); n != 0 {
		t.Errorf("%d submissions accepted", n)
	}
}

func TestSimHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.CommandTimeout = 300 * time.Millisecond
		cfg.PromptTimeout = 200 * time.Millisecond
		cfg.SubmitTimeout = 200 * time.Millisecond
		cfg.ResyncGrace = 100 * time.Millisecond
		r := newSimRig(t, sim.Config{Profile: "generic"}, cfg)
		r.init(t)
		r.sm.SetFault(sim.Fault{Hang: true})
		parts, _ := EncodeSubmit("+15557654321", "into the void", 0)
		_, err := r.m.Send(ctxT(t), parts[0])
		if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrMaybeSent) {
			t.Fatalf("Send to a hung modem: %v", err)
		}
		if err := r.m.Probe(ctxT(t)); !errors.Is(err, ErrTimeout) {
			t.Fatalf("Probe of a hung modem: %v", err)
		}
		if _, err := r.m.Health(ctxT(t)); err == nil {
			t.Fatal("Health of a hung modem succeeded")
		}
		r.sm.SetFault(sim.Fault{})
		if err := r.m.Probe(ctxT(t)); err != nil {
			t.Fatalf("Probe after the hang cleared: %v", err)
		}
		if mrs := r.send(t, "+15557654321", "back", 0); len(mrs) != 1 {
			t.Fatalf("send after recovery: %v", mrs)
		}
	})
}

func TestSimOpenPTY(t *testing.T) {
	net := sim.NewNetwork(sim.NetworkConfig{ReportDelay: 20 * time.Millisecond, Seed: 1})
	t.Cleanup(net.Close)
	sm, err := net.AddModem(sim.Config{Number: simNumber, Profile: "huawei"})
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "usb-huawei-if02-port0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sm.ServePTY(ctx, link) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServePTY: %v", err)
		}
	})
	var m *Modem
	waitUntil(t, "pty link", func() bool {
		m, err = Open(ctxT(t), Config{Path: link, CommandTimeout: 2 * time.Second, QuietPeriod: 20 * time.Millisecond, SweepInterval: time.Hour}, testLog(t))
		return err == nil
	})
	defer m.Close()
	if _, err := m.Init(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	parts, _ := EncodeSubmit("+15557654321", "over a pty", 0)
	mr, err := m.Send(ctxT(t), parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if subs := net.Submissions(); len(subs) != 1 || subs[0].MR != mr {
		t.Errorf("got MR %d, network %+v", mr, subs)
	}
	if _, err := Open(ctxT(t), Config{Path: filepath.Join(t.TempDir(), "missing")}, nil); err == nil {
		t.Error("Open of a missing path succeeded")
	}
}

// BenchmarkSendPart measures the driver's per-part overhead against a
// zero-latency simulator over io.Pipe.
func BenchmarkSendPart(b *testing.B) {
	r := newSimRig(b, sim.Config{Profile: "generic"}, fastConfig())
	r.init(b)
	parts, _ := EncodeSubmit("+15557654321", "benchmark", 0)
	r.net.SetOutcome("+15557654321", sim.OutcomeNone)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := r.m.Send(context.Background(), parts[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "parts/s")
}

func TestSimReconnect(t *testing.T) {
	// A second driver on the same simulated modem (a reopened port) sees
	// the same SIM and continues the MR sequence.
	r := newSimRig(t, sim.Config{Profile: "generic"}, fastConfig())
	r.init(t)
	first := r.send(t, "+15557654321", "one", 0)
	r.m.Close()
	host, dev := pipePair()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		// Wait for the first session to detach.
		for r.sm.Serve(ctx, dev) != nil && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		dev.Close()
		<-served
	})
	m2 := newTestModem(t, host, fastConfig())
	if _, err := m2.Init(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	parts, _ := EncodeSubmit("+15557654321", "two", 0)
	mr, err := m2.Send(ctxT(t), parts[0])
	if err != nil || mr != (first[0]+1)%256 {
		t.Fatalf("got %d, %v", mr, err)
	}
	if !slices.Equal([]int{first[0], mr}, []int{r.net.Submissions()[0].MR, r.net.Submissions()[1].MR}) {
		t.Errorf("network MRs differ")
	}
}

// Send, Health and Serve's reception run concurrently; commands are
// serialised by the driver.
func TestSimConcurrent(t *testing.T) {
	r := newSimRig(t, sim.Config{Profile: "huawei"}, fastConfig())
	r.init(t)
	rec := newRecorder()
	serve(t, r.m, rec)
	var wg sync.WaitGroup
	mrs := make(chan int, 100)
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			parts, _ := EncodeSubmit("+15557654321", "concurrent", 0)
			for i := 0; i < 5; i++ {
				mr, err := r.m.Send(context.Background(), parts[0])
				if err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				mrs <- mr
			}
		})
	}
	wg.Go(func() {
		for i := 0; i < 5; i++ {
			if _, err := r.m.Health(context.Background()); err != nil {
				t.Errorf("Health: %v", err)
			}
		}
	})
	for i := 0; i < 3; i++ {
		if err := r.net.Deliver("+15551112222", simNumber, "inbound"); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(mrs)
	seen := map[int]bool{}
	for mr := range mrs {
		if seen[mr] {
			t.Errorf("MR %d twice", mr)
		}
		seen[mr] = true
	}
	if len(seen) != 20 || len(r.net.Submissions()) != 20 {
		t.Errorf("%d MRs, %d submissions", len(seen), len(r.net.Submissions()))
	}
	rec.wait(t, 3+20) // inbound plus one report per part
}

// A caller that gives up while the PDU is out still gets the late MR: the
// recovery finishes, so the gateway never resends a sent message blindly.
func TestSimSendCancelledAfterPDU(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fastConfig()
		cfg.ResyncGrace = 2 * time.Second
		r := newSimRig(t, sim.Config{Profile: "generic"}, cfg)
		r.init(t)
		r.sm.SetFault(sim.Fault{LateCMGS: 300 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		parts, _ := EncodeSubmit("+15557654321", "cancelled", 0)
		mr, err := r.m.Send(ctx, parts[0])
		if subs := r.net.Submissions(); len(subs) != 1 || err != nil || subs[0].MR != mr {
			t.Fatalf("got %d, %v; network %+v", mr, err, subs)
		}
	})
}

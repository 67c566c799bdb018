package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/modem/sim"
)

// maxSimModems keeps a typo in --count from creating thousands of ptys.
const maxSimModems = 64

// runModemsim runs simulated GSM modems on ptys, with the simulator's JSON
// control API on a loopback address, until ctx is done. Modem i's pty is
// linked at PREFIX<i> and has number base+i. An unplugged modem (POST
// /faults {"unplug": true}) comes back on a new pty behind the same link.
func runModemsim(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("modemsim", flag.ContinueOnError)
	count := fs.Int("count", 2, "number of simulated modems")
	link := fs.String("link", "/tmp/simgate-modem", "symlink prefix: modem i is at PREFIXi")
	control := fs.String("control", "127.0.0.1:0", "loopback listen address of the HTTP control API")
	numberBase := fs.String("number-base", "+15550000001", "E.164 number of modem 0; the others count up")
	profiles := fs.String("profile", "generic", "modem profile ("+strings.Join(sim.ProfileNames(), ", ")+"); a comma list is cycled through the modems")
	latency := fs.Duration("latency", 0, "time from PDU received to +CMGS reply")
	reportDelay := fs.Duration("report-delay", 200*time.Millisecond, "time from +CMGS reply to status report")
	bootDelay := fs.Duration("boot-delay", 0, "time from power-on, reboot or replug to registered and ready (default: the profile's, e.g. 2s for simcom-sim800)")
	cnmaTimeout := fs.Duration("cnma-timeout", 10*time.Second, "how long a routed message waits for +CNMA with +CSMS=1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("modemsim: unexpected arguments %q", fs.Args())
	}
	if *count < 1 || *count > maxSimModems {
		return fmt.Errorf("modemsim: --count must be 1..%d", maxSimModems)
	}
	numbers, err := simNumbers(*numberBase, *count)
	if err != nil {
		return err
	}
	profs := strings.Split(*profiles, ",")
	for _, p := range profs {
		if _, ok := sim.LookupProfile(strings.TrimSpace(p)); !ok {
			return fmt.Errorf("modemsim: unknown --profile %q (known: %s)", p, strings.Join(sim.ProfileNames(), ", "))
		}
	}
	if *latency < 0 || *reportDelay < 0 || *bootDelay < 0 || *cnmaTimeout <= 0 {
		return errors.New("modemsim: --latency, --report-delay and --boot-delay must not be negative, --cnma-timeout must be positive")
	}
	bd := time.Duration(0) // the profile's
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "boot-delay" {
			bd = *bootDelay
			if bd == 0 {
				bd = -1 // Config: negative means at once
			}
		}
	})
	if err := checkLoopback(*control); err != nil {
		return err
	}
	rd := *reportDelay
	if rd == 0 {
		rd = -1 // NetworkConfig: negative means immediately, 0 means default
	}
	network := sim.NewNetwork(sim.NetworkConfig{ReportDelay: rd, Log: log.With("component", "sim")})
	defer network.Close()

	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopSim() // runs before wg.Wait
	failed := make(chan error, *count)

	var modems []*sim.Modem
	for i, num := range numbers {
		m, err := network.AddModem(sim.Config{
			Number:        num,
			Profile:       strings.TrimSpace(profs[i%len(profs)]),
			SubmitLatency: *latency,
			BootDelay:     bd,
			CNMATimeout:   *cnmaTimeout,
		})
		if err != nil {
			return fmt.Errorf("modemsim: %w", err)
		}
		path := fmt.Sprintf("%s%d", *link, i)
		wg.Go(func() {
			if err := m.ServePTY(simCtx, path); err != nil {
				failed <- fmt.Errorf("modemsim: modem %d: %w", i, err)
			}
		})
		modems = append(modems, m)
	}
	// ServePTY publishes its link asynchronously; report only ready modems.
	for i, m := range modems {
		path := fmt.Sprintf("%s%d", *link, i)
		if err := waitForLink(ctx, m, path, failed); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", *control)
	if err != nil {
		return fmt.Errorf("modemsim: control listen: %w", err)
	}
	srv := &http.Server{Handler: sim.ControlHandler(network), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	for i, m := range modems {
		info := m.Info()
		fmt.Fprintf(stdout, "modem %d %s %s\n", i, info.Number, info.Link)
	}
	fmt.Fprintf(stdout, "control http://%s\n", ln.Addr())
	log.Info("modemsim running", "modems", len(modems), "control", ln.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-failed:
	case err := <-served:
		runErr = fmt.Errorf("modemsim: control server: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	srv.Shutdown(shutCtx)
	return runErr
}

// simNumbers counts up from an E.164 base number, keeping its width.
func simNumbers(base string, n int) ([]string, error) {
	digits, ok := strings.CutPrefix(strings.TrimSpace(base), "+")
	v, err := strconv.ParseUint(digits, 10, 64)
	if !ok || err != nil || len(digits) < 4 || len(digits) > 15 {
		return nil, fmt.Errorf("modemsim: --number-base %q: want E.164 like +15550000001", base)
	}
	out := make([]string, n)
	for i := range out {
		s := strconv.FormatUint(v+uint64(i), 10)
		if len(s) > 15 {
			return nil, fmt.Errorf("modemsim: --number-base %q: numbers run past 15 digits", base)
		}
		out[i] = "+" + strings.Repeat("0", max(0, len(digits)-len(s))) + s
	}
	return out, nil
}

// checkLoopback refuses a control address other than loopback: the control
// API has no authentication and can fake any inbound message.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("modemsim: --control %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("modemsim: --control %q: must be a loopback address (the control API has no authentication)", addr)
}

// waitForLink waits until m serves on path, or its ServePTY failed.
func waitForLink(ctx context.Context, m *sim.Modem, path string, failed <-chan error) error {
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for m.Info().Link != path {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return err
		case <-deadline.C:
			return fmt.Errorf("modemsim: modem did not appear at %s", path)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

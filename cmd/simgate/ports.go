package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// defaultProbeTimeout is how long a port gets to answer each probe command.
// A modem answers a bare AT within milliseconds (ModemManager allows 3 s for
// its first probe only because it sends several); a second is plenty and
// keeps `simgate ports` quick on a box with a dozen ttys.
const defaultProbeTimeout = time.Second

// preferredATInterface is the USB interface picked when a modem answers AT
// on several ports; see resolveIMEIs.
const preferredATInterface = "02"

// probeBaud is the speed used to probe: USB modems ignore it (the line is
// virtual) and 115200 is the default of UART modules such as the SIM800.
const probeBaud = 115200

// portsEnv says where the system's device information lives; tests point it
// at a fixture tree.
type portsEnv struct {
	sysfs string // "/sys"
	byID  string // "/dev/serial/by-id": udev's stable names
	proc  string // "/proc": to tell whether ModemManager runs
}

// systemPorts is the real system's portsEnv.
func systemPorts() portsEnv {
	return portsEnv{sysfs: "/sys", byID: "/dev/serial/by-id", proc: "/proc"}
}

// portInfo is one row of `simgate ports`.
type portInfo struct {
	Path      string // /dev/ttyUSB2, or a path given on the command line
	ByID      string // /dev/serial/by-id/... link to it, if udev made one
	USB       bool
	VID, PID  string // upper-case hex, as go.bug.st/serial reports them
	Serial    string
	Product   string
	Interface string // USB bInterfaceNumber ("02"): tells a modem's ttys apart
	Probe     *probeResult
}

// probeResult is what a port said to AT.
type probeResult struct {
	Answers bool   // replied OK to AT: something that speaks AT is there
	IMEI    string // from AT+CGSN, when it answered one
	Status  string // for people: "answers AT", "busy (...)", "no answer"
}

// runPorts is `simgate ports [--probe=false] [--timeout 1s] [PATH...]`: it
// lists serial ports with their USB identity and stable by-id name, and
// probes each USB port with AT to show which ones are modems. With paths, it
// probes just those (a simulator's /dev/pts link works too). Non-USB ports
// (ttyS, ttyAMA) are listed but only probed when named, because on a
// Raspberry Pi they are the serial console or the Bluetooth chip.
func runPorts(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ports", flag.ContinueOnError)
	probe := fs.Bool("probe", true, "send AT to each USB port (and to each PATH) to see which answer")
	timeout := fs.Duration("timeout", defaultProbeTimeout, "how long a port gets to answer")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: simgate ports [--probe=false] [--timeout 1s] [PATH...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	ports, err := listPorts(ctx, systemPorts(), fs.Args(), *probe, *timeout)
	if err != nil {
		return err
	}
	if len(ports) == 0 {
		fmt.Fprintln(stdout, "no serial ports found (is the modem plugged in and its driver loaded? try lsusb and dmesg)")
		return nil
	}
	writePortTable(stdout, ports)
	return nil
}

// listPorts enumerates the system's serial ports (or takes paths), fills in
// by-id names and interface numbers, and probes the ports in parallel: each
// is a separate device, and probing one at a time would take a second per
// silent port.
func listPorts(ctx context.Context, env portsEnv, paths []string, probe bool, timeout time.Duration) ([]portInfo, error) {
	detailed, err := enumerator.GetDetailedPortsList()
	if err != nil && len(paths) == 0 {
		return nil, fmt.Errorf("listing serial ports: %w", err)
	}
	links := byIDLinks(env.byID)
	known := map[string]portInfo{}
	var ports []portInfo
	for _, d := range detailed {
		p := portInfo{
			Path: d.Name, ByID: links[d.Name], USB: d.IsUSB,
			VID: d.VID, PID: d.PID, Serial: d.SerialNumber, Product: d.Product,
		}
		if d.IsUSB {
			p.Interface = interfaceNumber(env.sysfs, filepath.Base(d.Name))
		}
		known[d.Name] = p
		ports = append(ports, p)
	}
	explicit := len(paths) > 0
	if explicit {
		ports = ports[:0]
		for _, path := range paths {
			p := portInfo{Path: path}
			if real, err := filepath.EvalSymlinks(path); err == nil {
				if k, ok := known[real]; ok {
					p = k
					p.Path = path
				}
			}
			ports = append(ports, p)
		}
	}
	if !probe {
		return ports, nil
	}
	var wg sync.WaitGroup
	for i := range ports {
		p := &ports[i]
		if !explicit && !p.USB {
			p.Probe = &probeResult{Status: "not probed (not USB; name the path to probe it)"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := probePort(ctx, p.Path, timeout, env.proc)
			p.Probe = &r
		}()
	}
	wg.Wait()
	return ports, ctx.Err()
}

// byIDLinks maps device paths (/dev/ttyUSB2) to the udev by-id symlink that
// points at them. The by-id name holds vendor, product, serial and
// interface, so it survives the renumbering a USB reset causes
// (docs/modems.md §2.4); it is what simgate.toml should name.
func byIDLinks(dir string) map[string]string {
	links := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return links // no USB serial devices, or no udev (a container)
	}
	for _, e := range entries {
		link := filepath.Join(dir, e.Name())
		target, err := filepath.EvalSymlinks(link)
		if err != nil {
			continue
		}
		if old, ok := links[target]; !ok || link < old {
			links[target] = link // deterministic if several point at one port
		}
	}
	return links
}

// interfaceNumber reads the USB interface number of tty name from sysfs.
// For a usb-serial driver (option, qcserial: ttyUSB) the tty's device is a
// port below the interface; for cdc_acm (ttyACM) it is the interface
// itself. The symlink must be resolved before going up: a lexical
// "device/.." would just cancel out.
func interfaceNumber(sysfs, name string) string {
	dev, err := filepath.EvalSymlinks(filepath.Join(sysfs, "class", "tty", name, "device"))
	if err != nil {
		return ""
	}
	for _, dir := range []string{dev, filepath.Dir(dev)} {
		if b, err := os.ReadFile(filepath.Join(dir, "bInterfaceNumber")); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// probePort opens path as the driver would and sends AT, then AT+CGSN for
// the IMEI if AT was answered. It never returns an error: every outcome is a
// status for the table. Each command gets timeout; ctx ends the probe early.
func probePort(ctx context.Context, path string, timeout time.Duration, proc string) probeResult {
	port, err := serial.Open(path, &serial.Mode{BaudRate: probeBaud})
	if err != nil {
		return probeResult{Status: openProblem(err, proc)}
	}
	// Closing the port is how a blocked Read is interrupted (serial's Read
	// has no context). Either the AfterFunc closes it (ctx ended) and we
	// wait for that, or we stop the AfterFunc and close it ourselves: once,
	// and no goroutine outlives the probe.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	closed := make(chan struct{})
	stop := context.AfterFunc(pctx, func() {
		port.Close()
		close(closed)
	})
	defer func() {
		if stop() {
			port.Close()
		} else {
			<-closed
		}
	}()
	// Anything the device sent before we came is not an answer to us.
	_ = port.ResetInputBuffer()

	rd := &atReader{port: port}
	final, _, err := rd.command(pctx, "AT", timeout)
	switch {
	case err != nil && ctx.Err() != nil:
		return probeResult{Status: "probe cancelled"}
	case errors.Is(err, errProbeTimeout):
		return probeResult{Status: "no answer to AT (not a modem's AT port, or the modem is hung)"}
	case err != nil:
		return probeResult{Status: "error: " + err.Error()}
	case final != "OK":
		return probeResult{Status: fmt.Sprintf("replied %q to AT", final)}
	}
	r := probeResult{Answers: true, Status: "answers AT"}
	final, lines, err := rd.command(pctx, "AT+CGSN", timeout)
	if err == nil && final == "OK" {
		for _, l := range lines {
			l = strings.Trim(strings.TrimSpace(strings.TrimPrefix(l, "+CGSN:")), `"`)
			if len(l) == imeiDigits && allDigits(l) {
				r.IMEI = l
				r.Status = "answers AT, IMEI " + l
				break
			}
		}
	}
	return r
}

// openProblem turns an open error into advice.
func openProblem(err error, proc string) string {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortBusy:
			if modemManagerRunning(proc) {
				return "busy (held by another process; ModemManager is running: install systemd/99-simgate-modems.rules or stop it)"
			}
			return "busy (held by another process, e.g. ModemManager or a running simgate)"
		case serial.PermissionDenied:
			return "permission denied (add the user to dialout: sudo usermod -aG dialout $USER, then log in again)"
		case serial.InvalidSerialPort:
			return "not a serial port"
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "not found (unplugged?)"
	}
	if errors.Is(err, fs.ErrPermission) {
		return "permission denied (add the user to dialout)"
	}
	return "cannot open: " + err.Error()
}

// modemManagerRunning looks for a ModemManager process in proc. A process's
// comm is readable by everyone, so this works without privileges.
func modemManagerRunning(proc string) bool {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(proc, e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "ModemManager" {
			return true
		}
	}
	return false
}

var errProbeTimeout = errors.New("no answer")

// atReader sends a command and collects reply lines up to a final result.
// It is deliberately simpler than the driver's: one command at a time, no
// URC routing; a line it does not expect (echo, ^RSSI) is just collected.
type atReader struct {
	port serial.Port
	buf  []byte
}

// isFinal reports whether line ends a reply (3GPP TS 27.007 §5.1, plus
// Huawei's COMMAND NOT SUPPORT, docs/modems.md §2.1).
func isFinal(line string) bool {
	switch line {
	case "OK", "ERROR", "NO CARRIER", "COMMAND NOT SUPPORT":
		return true
	}
	return strings.HasPrefix(line, "+CME ERROR:") || strings.HasPrefix(line, "+CMS ERROR:")
}

// command writes cmd and returns the final result and the lines before it.
// The read timeout bounds each wait for bytes; the deadline bounds the
// whole reply, so a chatty port that never says OK still ends.
func (r *atReader) command(ctx context.Context, cmd string, timeout time.Duration) (final string, lines []string, err error) {
	if _, err := r.port.Write([]byte(cmd + "\r")); err != nil {
		return "", nil, err
	}
	deadline := time.Now().Add(timeout)
	chunk := make([]byte, 256)
	for {
		for {
			i := bytes.IndexAny(r.buf, "\r\n")
			if i < 0 {
				break
			}
			line := strings.TrimSpace(string(r.buf[:i]))
			r.buf = r.buf[i+1:]
			if line == "" || line == cmd { // blank separators, our echo
				continue
			}
			if isFinal(line) {
				return line, lines, nil
			}
			lines = append(lines, line)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", lines, errProbeTimeout
		}
		if err := r.port.SetReadTimeout(left); err != nil {
			return "", lines, err
		}
		n, err := r.port.Read(chunk)
		if ctx.Err() != nil {
			return "", lines, ctx.Err()
		}
		if err != nil {
			return "", lines, err
		}
		r.buf = append(r.buf, chunk[:n]...)
	}
}

// writePortTable prints one row per port; empty cells are "-" so columns
// stay aligned for people and for awk.
func writePortTable(w io.Writer, ports []portInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tUSB ID\tIF\tSERIAL\tPRODUCT\tSTATUS\tBY-ID")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, p := range ports {
		id := ""
		if p.VID != "" {
			id = strings.ToLower(p.VID + ":" + p.PID) // as lsusb and udev rules write it
		}
		status := "not probed"
		if p.Probe != nil {
			status = p.Probe.Status
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Path, dash(id), dash(p.Interface),
			dash(p.Serial), dash(p.Product), status, dash(p.ByID))
	}
	tw.Flush()
}

// resolveIMEIs fills in the path of each modem entry configured by IMEI
// alone, by probing the USB serial ports for AT+CGSN. The by-id link is
// preferred to the ttyUSBn name, so the path stays right across a USB
// reset. Most modems answer AT on two or three of their ports; interface 02
// is preferred because it is the AT port of the Quectel EC25 and SIMCom
// SIM7600 and the one gammu's Huawei fix names (docs/modems.md §2.1, §2.4),
// otherwise the first port in name order. An IMEI that no port reports
// leaves Path empty, which mergeConfig reports. It is meant for start-up,
// before the gateway opens any port: a port already held answers "busy".
func resolveIMEIs(ctx context.Context, entries []modemEntry, timeout time.Duration) error {
	return resolveIMEIsIn(ctx, systemPorts(), nil, entries, timeout)
}

// resolveIMEIsIn is resolveIMEIs over env, probing paths if given (tests)
// or every USB port.
func resolveIMEIsIn(ctx context.Context, env portsEnv, paths []string, entries []modemEntry, timeout time.Duration) error {
	need := false
	for _, m := range entries {
		need = need || (m.Path == "" && m.IMEI != "")
	}
	if !need {
		return nil
	}
	ports, err := listPorts(ctx, env, paths, true, timeout)
	if err != nil {
		return err
	}
	for i, m := range entries {
		if m.Path != "" || m.IMEI == "" {
			continue
		}
		var pick *portInfo
		for j := range ports {
			p := &ports[j]
			if p.Probe == nil || p.Probe.IMEI != m.IMEI {
				continue
			}
			if pick == nil || (p.Interface == preferredATInterface && pick.Interface != preferredATInterface) {
				pick = p
			}
		}
		if pick != nil {
			entries[i].Path = pick.Path
			if pick.ByID != "" {
				entries[i].Path = pick.ByID
			}
		}
	}
	return nil
}

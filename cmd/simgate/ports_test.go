package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/simgate/simgate/modem/sim"
)

// testProbeTimeout is short because every answering pty answers at once;
// the silent cases wait for it in full.
const testProbeTimeout = 300 * time.Millisecond

// pty is a pseudo-terminal pair for tests: the slave is opened here, set
// raw and kept open, as docs/modems.md §3.2 says a simulator must, so the probe
// meets a port like a USB modem's and the master never reads EIO.
type pty struct {
	master *os.File
	slave  *os.File
	link   string // symlink to the slave, like /dev/serial/by-id/...
}

func openTestPTY(t *testing.T) *pty {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	// Control, not Fd: Fd would switch the master to blocking mode, and
	// then Close could not interrupt the responder's Read.
	var n uint32
	var ierr error
	rc, err := master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
		}
	}); err != nil || ierr != nil {
		t.Fatal(err, ierr)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	rc, err = slave.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) {
		var tio *unix.Termios
		if tio, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS); ierr != nil {
			return
		}
		// cfmakeraw(3)
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
		ierr = unix.IoctlSetTermios(int(fd), unix.TCSETS, tio)
	}); err != nil || ierr != nil {
		t.Fatal(err, ierr)
	}
	link := filepath.Join(t.TempDir(), "usb-Test_Modem-if02-port0")
	if err := os.Symlink(slave.Name(), link); err != nil {
		t.Fatal(err)
	}
	return &pty{master: master, slave: slave, link: link}
}

// answer plays a modem on the master side: it echoes each command (as a
// modem does after ATZ, so the probe must skip the echo), interleaves an
// unsolicited Huawei ^RSSI line, and sends the reply from replies. It stops
// when the test ends and the master is closed.
func (p *pty) answer(t *testing.T, replies map[string]string) {
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(func() { p.master.Close(); wg.Wait() })
	go func() {
		defer wg.Done()
		r := bufio.NewReader(p.master)
		for {
			cmd, err := r.ReadString('\r')
			if err != nil {
				return
			}
			cmd = strings.TrimSpace(cmd)
			reply, ok := replies[cmd]
			if !ok {
				reply = "ERROR"
			}
			if reply == "" { // silent
				continue
			}
			fmt.Fprintf(p.master, "%s\r\r\n^RSSI:20\r\n%s\r\n", cmd, strings.ReplaceAll(reply, "\n", "\r\n"))
		}
	}()
}

const testIMEI = "861234567890123"

var modemReplies = map[string]string{"AT": "OK", "AT+CGSN": "\n" + testIMEI + "\n\nOK"}

func TestProbeAnswers(t *testing.T) {
	p := openTestPTY(t)
	p.answer(t, modemReplies)
	r := probePort(t.Context(), p.link, testProbeTimeout, t.TempDir())
	if !r.Answers || r.IMEI != testIMEI || r.Status != "answers AT, IMEI "+testIMEI {
		t.Errorf("got %+v, want it to answer with IMEI %s", r, testIMEI)
	}
}

func TestProbeNoIMEI(t *testing.T) {
	p := openTestPTY(t)
	p.answer(t, map[string]string{"AT": "OK", "AT+CGSN": "+CME ERROR: 3"})
	r := probePort(t.Context(), p.link, testProbeTimeout, t.TempDir())
	if !r.Answers || r.IMEI != "" || r.Status != "answers AT" {
		t.Errorf("got %+v, want an answer without IMEI", r)
	}
}

func TestProbeSilent(t *testing.T) {
	p := openTestPTY(t)
	p.answer(t, map[string]string{"AT": ""})
	r := probePort(t.Context(), p.link, testProbeTimeout, t.TempDir())
	if r.Answers || !strings.HasPrefix(r.Status, "no answer to AT") {
		t.Errorf("got %+v, want no answer", r)
	}
}

func TestProbeError(t *testing.T) {
	p := openTestPTY(t)
	p.answer(t, map[string]string{"AT": "COMMAND NOT SUPPORT"})
	r := probePort(t.Context(), p.link, testProbeTimeout, t.TempDir())
	if r.Answers || r.Status != `replied "COMMAND NOT SUPPORT" to AT` {
		t.Errorf("got %+v", r)
	}
}

func TestProbeNotFound(t *testing.T) {
	r := probePort(t.Context(), filepath.Join(t.TempDir(), "ttyUSB9"), testProbeTimeout, t.TempDir())
	if r.Answers || !strings.HasPrefix(r.Status, "not found") {
		t.Errorf("got %+v, want not found", r)
	}
}

func TestProbeNotASerialPort(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	r := probePort(t.Context(), f, testProbeTimeout, t.TempDir())
	if r.Answers || r.Status != "not a serial port" {
		t.Errorf("got %+v, want not a serial port", r)
	}
}

// TestProbeCancel: the context ends a probe of a silent port at once,
// through closing the port, long before the timeout.
func TestProbeCancel(t *testing.T) {
	p := openTestPTY(t)
	p.answer(t, map[string]string{"AT": ""})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan probeResult)
	go func() { done <- probePort(ctx, p.link, time.Hour, t.TempDir()) }()
	cancel()
	select {
	case r := <-done:
		if r.Status != "probe cancelled" {
			t.Errorf("got %+v, want cancelled", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("probe did not end on cancel")
	}
}

// TestProbeSimulator probes a simulated modem from modem/sim on its pty,
// as `simgate ports /path/to/link` does against `simgate modemsim`.
func TestProbeSimulator(t *testing.T) {
	network := sim.NewNetwork(sim.NetworkConfig{})
	defer network.Close()
	sm, err := network.AddModem(sim.Config{Number: "+12015550101", IMEI: testIMEI})
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "modem0")
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- sm.ServePTY(ctx, link) }()
	defer func() { cancel(); <-served }()
	waitFor(t, 5*time.Second, "the simulator to create its pty link", func() error {
		_, err := os.Lstat(link)
		return err
	})
	var out bytes.Buffer
	if err := runPorts(t.Context(), []string{"--timeout", "2s", link}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "answers AT, IMEI "+testIMEI) {
		t.Errorf("got\n%s\nwant the simulator to answer AT with IMEI %s", out.String(), testIMEI)
	}
}

// TestProbeOpenProblems checks the advice for a port held by another
// process (TIOCEXCL, as ModemManager and simgate hold theirs) and for one
// the user may not open. Root passes both checks, so as root the probe is
// run in a child process as nobody.
func TestProbeOpenProblems(t *testing.T) {
	proc := t.TempDir()
	mm := filepath.Join(proc, "4242")
	os.Mkdir(mm, 0o755)
	os.WriteFile(filepath.Join(mm, "comm"), []byte("ModemManager\n"), 0o644)

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, p *pty)
		proc  string
		want  string
	}{
		{"busy", holdPort, t.TempDir(), "busy (held by another process, e.g. ModemManager"},
		{"busy with ModemManager", holdPort, proc, "busy (held by another process; ModemManager is running"},
		{"permission", func(t *testing.T, p *pty) { os.Chmod(p.slave.Name(), 0) }, t.TempDir(), "permission denied (add the user to dialout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openTestPTY(t)
			p.answer(t, modemReplies)
			tc.setup(t, p)
			var got string
			if os.Geteuid() == 0 {
				got = probeAsNobody(t, p.slave.Name(), tc.proc)
			} else {
				got = probePort(t.Context(), p.slave.Name(), testProbeTimeout, tc.proc).Status
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q...", got, tc.want)
			}
		})
	}
}

// holdPort opens the port as the driver does (serial.Open takes TIOCEXCL)
// and leaves it open for others to find busy. The mode lets nobody past the
// permission check, so the exclusive lock is what stops them.
func holdPort(t *testing.T, p *pty) {
	port, err := serial.Open(p.slave.Name(), &serial.Mode{BaudRate: probeBaud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	os.Chmod(p.slave.Name(), 0o666)
}

// probeAsNobody runs TestProbeChild in a copy of the test binary as user
// nobody and returns the status it printed.
func probeAsNobody(t *testing.T, path, proc string) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "simgate.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// t.TempDir's directories are 0700; nobody must reach the binary and
	// the proc fixture.
	for _, d := range []string{dir, filepath.Dir(dir), proc, filepath.Dir(proc)} {
		os.Chmod(d, 0o755)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestProbeChild$", "-test.v")
	cmd.Dir = "/"
	cmd.Env = []string{"SIMGATE_TEST_PROBE=" + path, "SIMGATE_TEST_PROC=" + proc, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^STATUS: (.*)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("child printed no status:\n%s", out)
	}
	return string(m[1])
}

// TestProbeChild is the child side of probeAsNobody; on its own it skips.
func TestProbeChild(t *testing.T) {
	path := os.Getenv("SIMGATE_TEST_PROBE")
	if path == "" {
		t.Skip("only run by TestProbeOpenProblems")
	}
	r := probePort(t.Context(), path, testProbeTimeout, os.Getenv("SIMGATE_TEST_PROC"))
	fmt.Printf("\nSTATUS: %s\n", r.Status)
}

func TestModemManagerRunning(t *testing.T) {
	proc := t.TempDir()
	for pid, comm := range map[string]string{"1": "systemd", "77": "sshd", "self": "ModemManager"} {
		os.Mkdir(filepath.Join(proc, pid), 0o755)
		os.WriteFile(filepath.Join(proc, pid, "comm"), []byte(comm+"\n"), 0o644)
	}
	if modemManagerRunning(proc) {
		t.Error("got true without a numbered ModemManager process")
	}
	os.Mkdir(filepath.Join(proc, "812"), 0o755)
	os.WriteFile(filepath.Join(proc, "812", "comm"), []byte("ModemManager\n"), 0o644)
	if !modemManagerRunning(proc) {
		t.Error("got false with ModemManager as pid 812")
	}
}

// TestInterfaceNumber builds the two sysfs shapes: a usb-serial port
// (option: ttyUSB, the interface is the parent of the tty's device) and a
// CDC-ACM port (the tty's device is the interface).
func TestInterfaceNumber(t *testing.T) {
	sysfs := t.TempDir()
	usb := filepath.Join(sysfs, "devices", "pci0000:00", "usb1", "1-1")
	mk := func(dir, file, content string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if file != "" {
			os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644)
		}
	}
	link := func(target, name string) {
		t.Helper()
		mk(filepath.Join(sysfs, "class", "tty", name), "", "")
		if err := os.Symlink(target, filepath.Join(sysfs, "class", "tty", name, "device")); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(usb, "1-1:1.2"), "bInterfaceNumber", "02\n")
	mk(filepath.Join(usb, "1-1:1.2", "ttyUSB2"), "", "")
	link(filepath.Join(usb, "1-1:1.2", "ttyUSB2"), "ttyUSB2")
	mk(filepath.Join(usb, "1-1:1.0"), "bInterfaceNumber", "00\n")
	link(filepath.Join(usb, "1-1:1.0"), "ttyACM0")
	mk(filepath.Join(sysfs, "devices", "platform", "serial8250", "tty", "ttyS0"), "", "")
	link(filepath.Join(sysfs, "devices", "platform", "serial8250", "tty", "ttyS0"), "ttyS0")

	for name, want := range map[string]string{"ttyUSB2": "02", "ttyACM0": "00", "ttyS0": "", "ttyUSB9": ""} {
		if got := interfaceNumber(sysfs, name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

func TestByIDLinks(t *testing.T) {
	dev := t.TempDir()
	byID := filepath.Join(dev, "serial", "by-id")
	os.MkdirAll(byID, 0o755)
	for _, n := range []string{"ttyUSB0", "ttyUSB2"} {
		os.WriteFile(filepath.Join(dev, n), nil, 0o600)
	}
	os.Symlink("../../ttyUSB2", filepath.Join(byID, "usb-HUAWEI_Mobile-if02-port0"))
	os.Symlink("../../ttyUSB0", filepath.Join(byID, "usb-HUAWEI_Mobile-if00-port0"))
	os.Symlink("../../gone", filepath.Join(byID, "usb-Dangling-if00-port0"))
	got := byIDLinks(byID)
	want := map[string]string{
		filepath.Join(dev, "ttyUSB2"): filepath.Join(byID, "usb-HUAWEI_Mobile-if02-port0"),
		filepath.Join(dev, "ttyUSB0"): filepath.Join(byID, "usb-HUAWEI_Mobile-if00-port0"),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := byIDLinks(filepath.Join(dev, "none")); len(got) != 0 {
		t.Errorf("missing dir: got %v, want empty", got)
	}
}

func TestRunPortsTable(t *testing.T) {
	answering, silent := openTestPTY(t), openTestPTY(t)
	answering.answer(t, modemReplies)
	silent.answer(t, map[string]string{"AT": ""})
	var out bytes.Buffer
	if err := runPorts(t.Context(), []string{"--timeout", testProbeTimeout.String(), answering.link, silent.link}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want a header and 2 rows:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], "PORT") || !strings.Contains(lines[0], "STATUS") {
		t.Errorf("header: got %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], answering.link) || !strings.Contains(lines[1], "answers AT, IMEI "+testIMEI) {
		t.Errorf("row 1: got %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], silent.link) || !strings.Contains(lines[2], "no answer to AT") {
		t.Errorf("row 2: got %q", lines[2])
	}

	out.Reset()
	if err := runPorts(t.Context(), []string{"--probe=false", answering.link}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "not probed") {
		t.Errorf("--probe=false: got\n%s", out.String())
	}
	if err := runPorts(t.Context(), []string{"--timeout", "0s"}, io.Discard); err == nil {
		t.Error("--timeout 0s: got nil error")
	}
}

func TestResolveIMEIs(t *testing.T) {
	p := openTestPTY(t)
	p.answer(t, modemReplies)
	entries := []modemEntry{
		{Name: "byimei", IMEI: testIMEI},
		{Name: "bypath", Path: "/dev/ttyUSB7"},
		{Name: "absent", IMEI: "869999999999999"},
	}
	env := portsEnv{sysfs: t.TempDir(), byID: t.TempDir(), proc: t.TempDir()}
	if err := resolveIMEIsIn(t.Context(), env, []string{p.link}, entries, testProbeTimeout); err != nil {
		t.Fatal(err)
	}
	if entries[0].Path != p.link || entries[1].Path != "/dev/ttyUSB7" || entries[2].Path != "" {
		t.Errorf("got %+v, want byimei at %s, bypath unchanged, absent empty", entries, p.link)
	}
}

// TestInstallScriptIdempotent runs install.sh twice into a DESTDIR, once
// with bash and once with the system's sh (dash on Debian, so the script
// stays POSIX), and checks the files, their modes, that the binary is
// replaced and that a config the user edited is kept.
func TestInstallScriptIdempotent(t *testing.T) {
	for _, sh := range []string{"bash", "sh"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Skipf("%s not found", sh)
		}
	}
	dest := t.TempDir()
	bin := filepath.Join(t.TempDir(), "simgate")
	install := func(sh string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), sh, filepath.Join("..", "..", "systemd", "install.sh"), bin)
		cmd.Env = append(os.Environ(), "DESTDIR="+dest)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s install.sh: %v\n%s", sh, err, out)
		}
		return string(out)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dest, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	example, err := os.ReadFile(filepath.Join("..", "..", "systemd", "simgate.toml"))
	if err != nil {
		t.Fatal(err)
	}

	os.WriteFile(bin, []byte("version 1"), 0o755)
	out := install("bash")
	if !strings.Contains(out, "created /etc/simgate/simgate.toml") {
		t.Errorf("first run: got\n%s\nwant it to create the config", out)
	}
	if got := read("etc/simgate/simgate.toml"); got != string(example) {
		t.Error("first run: config is not the example")
	}
	wantModes := map[string]os.FileMode{
		"usr/local/bin/simgate":                    0o755,
		"etc/systemd/system/simgate.service":       0o644,
		"etc/udev/rules.d/99-simgate-modems.rules": 0o644,
		"etc/modules-load.d/simgate.conf":          0o644,
		"etc/simgate":                              0o750 | os.ModeDir,
		"etc/simgate/simgate.toml":                 0o640,
	}
	check := func(run string) {
		t.Helper()
		var files []string
		filepath.Walk(dest, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				rel, _ := filepath.Rel(dest, p)
				files = append(files, rel)
			}
			return nil
		})
		if len(files) != 5 {
			t.Errorf("%s: got files %v, want exactly the 5 installed (no leftovers)", run, files)
		}
		for p, mode := range wantModes {
			fi, err := os.Stat(filepath.Join(dest, p))
			if err != nil {
				t.Errorf("%s: %v", run, err)
				continue
			}
			if fi.Mode() != mode {
				t.Errorf("%s: %s has mode %v, want %v", run, p, fi.Mode(), mode)
			}
		}
	}
	check("first run")

	const mine = "# my own config\nlisten = \"127.0.0.1:9999\"\n"
	os.WriteFile(filepath.Join(dest, "etc/simgate/simgate.toml"), []byte(mine), 0o640)
	os.WriteFile(bin, []byte("version 2"), 0o755)
	out = install("sh")
	if !strings.Contains(out, "kept existing /etc/simgate/simgate.toml") {
		t.Errorf("second run: got\n%s\nwant it to keep the config", out)
	}
	if got := read("etc/simgate/simgate.toml"); got != mine {
		t.Errorf("second run overwrote the config: got %q", got)
	}
	if got := read("usr/local/bin/simgate"); got != "version 2" {
		t.Errorf("second run: binary is %q, want the new one", got)
	}
	check("second run")

	// A missing binary stops it before anything is touched.
	cmd := exec.CommandContext(t.Context(), "sh", filepath.Join("..", "..", "systemd", "install.sh"), filepath.Join(t.TempDir(), "nope"))
	cmd.Env = append(os.Environ(), "DESTDIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no binary") {
		t.Errorf("missing binary: got err %v, output %s", err, out)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify where it exists. It
// warns about unknown keys, bad values and a missing binary, and still
// exits 0 for most of them, so any output at all fails the test. ExecStart
// is pointed at a binary that exists here; nothing else is changed.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "systemd", "simgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(unit), "ExecStart=/usr/local/bin/simgate ", "ExecStart="+self+" ", 1)
	if text == string(unit) {
		t.Fatal("no ExecStart=/usr/local/bin/simgate line in the unit")
	}
	path := filepath.Join(t.TempDir(), "simgate.service")
	os.WriteFile(path, []byte(text), 0o644)
	cmd := exec.CommandContext(t.Context(), analyze, "verify", "--man=no", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitHardening keeps the hardening lines docs/operations.md (Install) relies on, each with a
// comment above it saying why.
func TestUnitHardening(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "systemd", "simgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(unit), "\n")
	for _, want := range []string{
		"Type=notify", "WatchdogSec=60s", "User=simgate", "SupplementaryGroups=dialout", "StateDirectory=simgate",
		"DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyACM rw", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "ProtectKernelTunables=yes",
		"ProtectKernelModules=yes", "ProtectKernelLogs=yes", "ProtectControlGroups=yes",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "RestrictNamespaces=yes", "LockPersonality=yes",
		"MemoryDenyWriteExecute=yes", "RestrictRealtime=yes", "SystemCallArchitectures=native",
		"CapabilityBoundingSet=", "Restart=on-failure", "RestartSec=5s",
	} {
		if !containsLine(lines, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "PrivateDevices=") {
			t.Error("PrivateDevices= hides the modems")
		}
	}
	// Every setting has a comment: the line above it is a comment, or a
	// setting of the same key (DeviceAllow twice under one comment is fine).
	for i, l := range lines {
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[") {
			continue
		}
		prev := lines[i-1]
		key, _, _ := strings.Cut(l, "=")
		if !strings.HasPrefix(prev, "#") && !strings.HasPrefix(prev, key+"=") && !strings.HasPrefix(prev, "[") {
			t.Errorf("line %d %q has no comment above it", i+1, l)
		}
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// TestUdevRules checks what udev itself would not complain about: vendor
// and product ids must be 4 lower-case hex digits (sysfs writes them that
// way, so "12D1" would silently never match), every rule has a
// ModemManager-ignore path, and the GOTO target exists.
func TestUdevRules(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "systemd", "99-simgate-modems.rules"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	ids := regexp.MustCompile(`ATTRS\{id(Vendor|Product)\}=="([^"]*)"`)
	hex4 := regexp.MustCompile(`^[0-9a-f]{4}$`)
	vendors := map[string]bool{}
	for _, m := range ids.FindAllStringSubmatch(text, -1) {
		if !hex4.MatchString(m[2]) {
			t.Errorf("id%s %q is not 4 lower-case hex digits", m[1], m[2])
		}
		if m[1] == "Vendor" {
			vendors[m[2]] = true
		}
	}
	for _, v := range []string{"12d1", "2c7c", "1e0e", "19d2", "1199", "1bc7", "05c6"} {
		if !vendors[v] {
			t.Errorf("vendor %s missing", v)
		}
	}
	for _, want := range []string{`ENV{ID_MM_DEVICE_IGNORE}="1"`, `SUBSYSTEM=="tty", GROUP="dialout", MODE="0660"`, `LABEL="simgate_modems_end"`} {
		if !strings.Contains(text, want) {
			t.Errorf("rules lack %s", want)
		}
	}
	for _, m := range regexp.MustCompile(`GOTO="([^"]+)"`).FindAllStringSubmatch(text, -1) {
		if !strings.Contains(text, `LABEL="`+m[1]+`"`) {
			t.Errorf("GOTO %s has no LABEL", m[1])
		}
	}
	// Each rule line: comma-separated KEY op "value" pairs, nothing else.
	pair := regexp.MustCompile(`^\s*[A-Z_]+(\{[A-Za-z_]+\})?\s*(==|!=|=|\+=)\s*"[^"]*"\s*$`)
	for i, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		for _, p := range strings.Split(l, ",") {
			if !pair.MatchString(p) {
				t.Errorf("line %d: %q is not KEY op \"value\"", i+1, p)
			}
		}
	}
}

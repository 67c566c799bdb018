package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ServePTY serves the modem on a new pseudo-terminal until ctx is done, with
// link as a symlink to its /dev/pts/N (an existing symlink there is
// replaced). Clients open link as a serial port; they may close and reopen
// it at will while the modem keeps running. The symlink is removed on
// return. Returns nil when ctx ended it.
//
// Unplugging the modem (Fault.Unplug, Unplug, Replug) closes the pty, so a
// client's reads and writes fail, and removes the link; when the modem is
// plugged in again ServePTY allocates a new pty, with a different number
// (the way ttyUSB2 comes back as ttyUSB3), behind the same link.
//
// The simulator opens the slave side itself, puts it in raw mode and keeps
// it open (docs/modems.md §3.2): a fresh slave is in cooked mode and would echo
// the simulator's own output back to it, and without an open slave the
// master reads EIO whenever the client closes. A pty has no modem control
// lines: clients must not set DTR/RTS (TIOCMSET fails with ENOTTY).
func (m *Modem) ServePTY(ctx context.Context, link string) error {
	defer func() {
		m.mu.Lock()
		m.link, m.pty = "", ""
		m.mu.Unlock()
	}()
	last := ""
	for {
		plugged, changed := m.plugWait()
		if !plugged {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
			}
			continue
		}
		name, err := m.servePTYOnce(ctx, link, last)
		if !errors.Is(err, ErrUnplugged) {
			return err
		}
		last = name
	}
}

// servePTYOnce serves one pty, not numbered avoid, until ctx ends or the
// modem is unplugged; it returns the pty's name.
func (m *Modem) servePTYOnce(ctx context.Context, link, avoid string) (string, error) {
	master, slave, err := openPTYNot(avoid)
	if err != nil {
		return "", fmt.Errorf("sim: pty: %w", err)
	}
	defer slave.Close()
	// Close before waiting for the session's goroutines: that unblocks them.
	closeMaster := sync1(func() { master.Close() })
	defer closeMaster()

	if err := replaceSymlink(slave.Name(), link); err != nil {
		return slave.Name(), fmt.Errorf("sim: pty link: %w", err)
	}
	defer removeOwnSymlink(link, slave.Name())

	m.mu.Lock()
	m.link, m.pty = link, slave.Name()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.pty = ""
		m.mu.Unlock()
	}()
	m.log.Info("sim: serving on pty", "link", link, "pty", slave.Name())

	wait, err := m.serve(ctx, &ptyMaster{f: master, ctx: ctx})
	closeMaster()
	wait()
	return slave.Name(), err
}

// sync1 wraps f so that only its first call runs.
func sync1(f func()) func() {
	done := false
	return func() {
		if !done {
			done = true
			f()
		}
	}
}

// openPTYNot opens a pty whose slave is not named avoid: Linux hands out
// the lowest free number, so a pty closed a moment ago would come back
// with its old number once the client has let go of it.
func openPTYNot(avoid string) (master, slave *os.File, err error) {
	master, slave, err = openPTY()
	if err != nil || avoid == "" || slave.Name() != avoid {
		return master, slave, err
	}
	// Hold this one while taking the next, then let it go.
	defer master.Close()
	defer slave.Close()
	return openPTY()
}

// openPTY allocates a pty pair: the master (in Go's poller, so Close
// unblocks a pending Read) and the slave, opened here and set raw.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var n uint32
	var ierr error
	rc, err := master.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr != nil {
				return
			}
			n, ierr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
		})
	}
	if err == nil {
		err = ierr
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err = os.OpenFile(name, os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	if err := makeRaw(slave); err != nil {
		slave.Close()
		master.Close()
		return nil, nil, fmt.Errorf("raw mode on %s: %w", name, err)
	}
	return master, slave, nil
}

// makeRaw is cfmakeraw(3) on f.
func makeRaw(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = rc.Control(func(fd uintptr) {
		var t *unix.Termios
		t, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if ierr != nil {
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		ierr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err != nil {
		return err
	}
	return ierr
}

// replaceSymlink points link at target, replacing an existing symlink but
// never a regular file or directory.
func replaceSymlink(target, link string) error {
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("%s exists and is not a symlink", link)
		}
		if err := os.Remove(link); err != nil {
			return err
		}
	}
	return os.Symlink(target, link)
}

// removeOwnSymlink removes link if it still points at target (another
// simulator may have taken the name over meanwhile).
func removeOwnSymlink(link, target string) {
	if t, err := os.Readlink(link); err == nil && t == target {
		os.Remove(link)
	}
}

// ptyMaster reads the pty master, riding out EIO: Linux returns it while
// no slave is open, which cannot last long here because the simulator holds
// the slave, but a client's hangup can still produce it.
type ptyMaster struct {
	f   *os.File
	ctx context.Context
}

func (p *ptyMaster) Read(b []byte) (int, error) {
	for {
		n, err := p.f.Read(b)
		if err == nil || !errors.Is(err, syscall.EIO) {
			return n, err
		}
		select {
		case <-p.ctx.Done():
			return 0, p.ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *ptyMaster) Write(b []byte) (int, error) { return p.f.Write(b) }

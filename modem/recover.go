package modem

import (
	"context"
	"errors"
	"fmt"
)

// Escape is the first rung of the escalation ladder for a modem that
// stopped answering (docs/modems.md §2.4): ESC and CR cancel a half-entered PDU
// or command, the line is drained until quiet, and AT (then AT+CSQ) must
// get their own replies. A nil return means the modem is back in step.
func (m *Modem) Escape(ctx context.Context) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.ready(); err != nil {
		return err
	}
	if err := m.writeRaw([]byte("\x1b\r")); err != nil {
		return fmt.Errorf("escape: %w", err)
	}
	if err := sleep(ctx, m.cfg.QuietPeriod); err != nil {
		return err
	}
	if err := m.resync(ctx); err != nil {
		return fmt.Errorf("escape: %w", err)
	}
	return nil
}

// Reset reboots the module with AT+CFUN=1,1, the rung of the ladder after
// reopening the port. Many USB modems drop off the bus and come back, often
// under another tty (gammu issue #552): Reset returns nil once the command
// was written, even if the port then closes or no OK comes. An ERROR reply
// (the modem can't reset itself) is returned. Afterwards close this Modem
// and open the port again; if it stays, the boot banners and Serve's
// reception check restore the settings anyway.
func (m *Modem) Reset(ctx context.Context) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	before := m.wrote.Load()
	_, err = m.exec(ctx, cmdSpec{cmd: "+CFUN=1,1"}, m.cfg.CommandTimeout)
	written := m.wrote.Load() > before
	m.needResync = true // whatever comes next follows a reboot
	switch {
	case err == nil:
		m.log.Warn("modem reset with AT+CFUN=1,1")
		return nil
	case written && (fatal(err) || errors.Is(err, ErrTimeout)):
		m.log.Warn("modem reset with AT+CFUN=1,1: no OK, the modem is rebooting", "error", err)
		return nil
	}
	return fmt.Errorf("reset: %w", err)
}

package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Serve reads what the modem receives until ctx is done (it then returns
// nil) or the port fails (it returns the error). It handles +CMTI/+CDSI
// (read with +CMGR), routed +CMT/+CDS (acknowledged with +CNMA when
// +CSMS=1), and sweeps the storage with +CMGL=4 at start and every
// SweepInterval, because indications get lost. A stored message is deleted
// (+CMGD) only after the Handler returned nil for it. Every SweepInterval
// it also checks that reception is still switched on (CheckReception) and
// warns when the storage is nearly full; ^SMMEMFULL sweeps at once. A boot
// banner in mid-session (the modem rebooted) restores the settings.
// Handler methods are called from Serve's goroutine, one at a time, and
// must not call the Modem. Run one Serve per Modem.
func (m *Modem) Serve(ctx context.Context, h Handler) error {
	tick := time.NewTicker(m.cfg.SweepInterval)
	defer tick.Stop()
	if err := m.sweep(ctx, h); err != nil {
		if stop, err := m.serveEnd(ctx, "sweep", err); stop {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.f.done:
			return m.closedErr()
		case <-m.f.urcSignal:
			for _, u := range m.f.takeURCs() {
				if err := m.handleURC(ctx, h, u); err != nil {
					if stop, err := m.serveEnd(ctx, u.Line, err); stop {
						return err
					}
				}
			}
		case <-tick.C:
			if err := m.housekeeping(ctx, h); err != nil {
				if stop, err := m.serveEnd(ctx, "sweep", err); stop {
					return err
				}
			}
		}
	}
}

// housekeeping is Serve's periodic round: reception check, sweep, storage
// fill.
func (m *Modem) housekeeping(ctx context.Context, h Handler) error {
	if _, err := m.CheckReception(ctx); err != nil {
		if fatal(err) {
			return err
		}
		m.log.Warn("reception check", "error", err)
	}
	left, err := m.sweepCount(ctx, h)
	if err != nil {
		return err
	}
	return m.checkStorage(ctx, left)
}

// checkStorage warns when the read storage is full or nearly so: a full
// SIM stops +CMTI and the network holds messages back (docs/modems.md §2.5).
// left is how many messages the last sweep had to leave behind.
func (m *Modem) checkStorage(ctx context.Context, left int) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	info, err := m.query(ctx, "+CPMS?")
	if err != nil {
		return err
	}
	used, total := storage(info)
	switch {
	case total <= 0:
	case used >= total:
		m.log.Warn("modem storage full: reception is blocked until messages are deleted", "used", used, "total", total, "left_by_sweep", left)
	case used*10 >= total*8:
		m.log.Warn("modem storage nearly full", "used", used, "total", total, "left_by_sweep", left)
	}
	return nil
}

// serveEnd decides whether an error ends Serve: a lost port does, a
// cancelled ctx ends it quietly, anything else is logged and retried by
// the next sweep.
func (m *Modem) serveEnd(ctx context.Context, what string, err error) (bool, error) {
	if ctx.Err() != nil {
		return true, nil
	}
	if errors.Is(err, ErrClosed) {
		return true, err
	}
	m.log.Warn("reception", "while", what, "error", err)
	return false, nil
}

func (m *Modem) handleURC(ctx context.Context, h Handler, u urc) error {
	up := strings.ToUpper(u.Line)
	switch {
	case strings.HasPrefix(up, "+CMTI:"), strings.HasPrefix(up, "+CDSI:"):
		f := splitFields(u.Line[len("+CMTI:"):])
		mem := ""
		if len(f) > 1 {
			mem = strings.Trim(f[0], `"`)
		}
		idx, err := strconv.Atoi(f[len(f)-1])
		if err != nil || idx < 0 {
			// SIM7000 says "+CMTI: ,-1": no readable slot. Sweep instead.
			return m.sweep(ctx, h)
		}
		return m.readStored(ctx, h, mem, idx)
	case strings.HasPrefix(up, "+CMT:"), strings.HasPrefix(up, "+CDS:"):
		f := splitFields(u.Line[len("+CMT:"):])
		n, _ := strconv.Atoi(f[len(f)-1])
		return m.routed(ctx, h, u.PDU, n)
	case strings.HasPrefix(up, "^SMMEMFULL"):
		m.log.Warn("modem storage full: sweeping")
		left, err := m.sweepCount(ctx, h)
		if err != nil {
			return err
		}
		return m.checkStorage(ctx, left)
	case isBootURC(up):
		restored, err := m.reconfigure(ctx, u)
		if err != nil || !restored {
			return err
		}
		return m.sweep(ctx, h)
	}
	return nil
}

// reconfigure restores the settings a reboot resets, unless the settings
// in place were applied after this banner (Init waited for it, or another
// banner of the same boot already triggered a restore).
func (m *Modem) reconfigure(ctx context.Context, u urc) (bool, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	if u.Boot != 0 && u.Boot <= m.bootsDone {
		m.log.Debug("boot banner already covered by the settings in place", "banner", u.Line)
		return false, nil
	}
	m.log.Warn("modem rebooted: restoring its settings", "banner", u.Line)
	if err := m.configure(ctx, max(u.Boot, m.f.bootMark()), true); err != nil {
		return false, fmt.Errorf("restoring settings after a reboot: %w", err)
	}
	return true, nil
}

// CheckReception reads +CNMI? and compares it with what Init set. A modem
// switches reception off silently: routing is reset to 0 after a missed
// +CNMA in routed mode (27.005 §3.4.4), and a reboot without a banner
// forgets everything. ok is false when the setting had changed; the
// settings are then re-applied and err says whether that worked. A modem
// that doesn't answer +CNMI? counts as ok (nothing to compare).
func (m *Modem) CheckReception(ctx context.Context) (ok bool, err error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	if m.cnmi == "" {
		return true, nil // nothing was accepted: sweeps only
	}
	info, err := m.query(ctx, "+CNMI?")
	if err != nil {
		return false, err
	}
	got := ""
	for _, l := range info {
		if strings.HasPrefix(strings.ToUpper(l), "+CNMI:") {
			got = strings.TrimSpace(l[len("+CNMI:"):])
		}
	}
	if got == "" || sameCNMI(got, m.cnmi) {
		return true, nil
	}
	m.log.Warn("reception was switched off: re-applying the settings", "cnmi", got, "want", m.cnmi)
	if err := m.configure(ctx, m.f.bootMark(), true); err != nil {
		return false, fmt.Errorf("re-applying the settings: %w", err)
	}
	return false, nil
}

// sameCNMI compares a +CNMI? reply with the setting made, field by field
// ("2, 1,0,2,0" equals "2,1,0,2,0"; fields the modem omits are not
// compared, but mt and ds must be there).
func sameCNMI(got, want string) bool {
	g, w := splitFields(got), splitFields(want)
	if len(g) < 2 {
		return false
	}
	for i := range min(len(g), len(w)) {
		a, errA := strconv.Atoi(g[i])
		b, errB := strconv.Atoi(w[i])
		if errA != nil || errB != nil || a != b {
			return false
		}
	}
	return len(g) >= min(len(w), 4)
}

// readStored reads, hands over and deletes one stored message.
func (m *Modem) readStored(ctx context.Context, h Handler, mem string, idx int) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	restore, err := m.selectMem(ctx, mem)
	if err != nil {
		return err
	}
	defer restore()
	info, err := m.do(ctx, "+CMGR="+strconv.Itoa(idx))
	if isCMS(err, 321) {
		return nil // empty slot: a sweep got it first
	}
	if err != nil {
		return err
	}
	pdu, n, ok := parseCMGR(info)
	if !ok {
		m.log.Debug("+CMGR returned nothing", "mem", mem, "index", idx)
		return nil
	}
	_, err = m.process(ctx, h, idx, pdu, n)
	return err
}

// selectMem makes mem the read memory for a moment (SIM7600 stores
// reports in "SR" and answers CMS 321 unless it is selected) and returns
// how to switch back. Called with sem held.
func (m *Modem) selectMem(ctx context.Context, mem string) (func(), error) {
	if mem == "" || m.readMem == "" || strings.EqualFold(mem, m.readMem) {
		return func() {}, nil
	}
	if _, err := m.do(ctx, `+CPMS="`+mem+`"`); err != nil {
		return nil, err
	}
	return func() {
		// Switch back even when the caller is giving up.
		if _, err := m.do(context.WithoutCancel(ctx), `+CPMS="`+m.readMem+`"`); err != nil {
			m.log.Warn("could not switch storage back", "mem", m.readMem, "error", err)
		}
	}, nil
}

// sweep lists and processes every stored message, in the read memory and,
// if the modem has one, in the status report memory.
func (m *Modem) sweep(ctx context.Context, h Handler) error {
	_, err := m.sweepCount(ctx, h)
	return err
}

// sweepCount is sweep, returning how many messages it left on the modem.
func (m *Modem) sweepCount(ctx context.Context, h Handler) (int, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	left, err := m.sweepMem(ctx, h)
	if err != nil {
		return left, err
	}
	if m.srMem && m.readMem != "" && !strings.EqualFold(m.readMem, "SR") {
		restore, err := m.selectMem(ctx, "SR")
		if err != nil {
			if fatal(err) {
				return left, err
			}
			m.log.Debug("no SR storage after all", "error", err)
			m.srMem = false
			return left, nil
		}
		defer restore()
		n, err := m.sweepMem(ctx, h)
		return left + n, err
	}
	return left, nil
}

func (m *Modem) sweepMem(ctx context.Context, h Handler) (int, error) {
	// Listing a full SIM takes a while (smstools3 gives +CMGL 12x its base).
	info, err := m.doSpec(ctx, cmdSpec{cmd: "+CMGL=4"}, 3*m.cfg.CommandTimeout)
	if err != nil {
		return 0, err
	}
	left := 0
	for _, e := range parseCMGL(info) {
		deleted, err := m.process(ctx, h, e.idx, e.pdu, e.n)
		if err != nil {
			return left, err
		}
		if !deleted {
			left++
		}
	}
	return left, nil
}

// process decodes one stored PDU, hands it to h and deletes it on success.
// Undecodable PDUs and stored SUBMITs go to h's Undecodable if it is a
// RawHandler, else they are left alone. It reports whether the message was
// deleted. Called with sem held.
func (m *Modem) process(ctx context.Context, h Handler, idx int, pdu string, n int) (bool, error) {
	d, r, err := ParseStored(pdu, n)
	switch {
	case err != nil:
		err = m.raw(ctx, h, idx, pdu, "undecodable stored message", err)
	case d != nil:
		err = h.Inbound(ctx, *d)
	case r != nil:
		err = h.StatusReport(ctx, *r)
	default:
		err = m.raw(ctx, h, idx, pdu, "stored SMS-SUBMIT", nil)
	}
	if errors.Is(err, errLeft) {
		return false, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		m.log.Warn("handler failed: the message stays on the modem for the next sweep", "index", idx, "error", err)
		return false, nil
	}
	if _, err := m.do(ctx, "+CMGD="+strconv.Itoa(idx)); err != nil && !isCMS(err, 321) {
		return false, err
	}
	return true, nil
}

// errLeft says a message was deliberately left on the modem.
var errLeft = errors.New("left on the modem")

// raw hands a message the driver can't decode (or a stored SUBMIT) to a
// RawHandler. Without one it returns errLeft, logging the message once.
func (m *Modem) raw(ctx context.Context, h Handler, idx int, pdu, what string, cause error) error {
	if rh, ok := h.(RawHandler); ok {
		m.log.Info(what+": handing it over raw", "index", idx, "error", cause)
		return rh.Undecodable(ctx, idx, pdu)
	}
	key := strconv.Itoa(idx) + ":" + pdu
	if !m.reported[key] {
		if len(m.reported) > 1000 {
			clear(m.reported)
		}
		m.reported[key] = true
		m.log.Warn(what+" left on the modem (the handler takes no raw messages)", "index", idx, "error", cause)
		m.log.Debug("left PDU", "index", idx, "pdu", pdu)
	}
	return errLeft
}

// routed hands over a +CMT/+CDS PDU and acknowledges it if +CSMS=1 asks
// for that; an unacknowledged one is redelivered by the network. An
// undecodable one is acknowledged regardless (after going to a RawHandler):
// redelivery can't make it decodable, and a missed +CNMA switches
// reception off.
func (m *Modem) routed(ctx context.Context, h Handler, pdu string, n int) error {
	if pdu == "" {
		return nil
	}
	d, r, err := ParseStored(pdu, n)
	switch {
	case err != nil:
		if rerr := m.raw(ctx, h, -1, pdu, "undecodable routed message", err); rerr != nil && !errors.Is(rerr, errLeft) {
			m.log.Warn("raw handler failed for an undecodable routed message", "error", rerr)
		}
	case d != nil:
		err = h.Inbound(ctx, *d)
	case r != nil:
		err = h.StatusReport(ctx, *r)
	}
	if err != nil && (d != nil || r != nil) {
		m.log.Warn("handler failed for a routed message: not acknowledged", "error", err)
		return nil
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if m.csms == 1 {
		if _, err := m.do(ctx, "+CNMA"); err != nil && !isCMS(err, 340) {
			return err
		}
	}
	return nil
}

// parseCMGR returns the PDU and declared TPDU length of a +CMGR reply:
// "+CMGR: <stat>,[<alpha>],<length>" or "+CMGR: <length>", then the PDU.
func parseCMGR(info []string) (string, int, bool) {
	for i, l := range info {
		if !strings.HasPrefix(l, "+CMGR:") {
			continue
		}
		f := splitFields(l[len("+CMGR:"):])
		n, _ := strconv.Atoi(f[len(f)-1])
		for _, p := range info[i+1:] {
			if p = strings.TrimSpace(p); isHex(p) {
				return p, n, true
			}
		}
		return "", 0, false
	}
	return "", 0, false
}

type listed struct {
	idx int
	n   int
	pdu string
}

// parseCMGL parses "+CMGL: <idx>,<stat>,[<alpha>],<length>" + PDU pairs.
func parseCMGL(info []string) []listed {
	var out []listed
	for i := 0; i < len(info); i++ {
		l := info[i]
		if !strings.HasPrefix(l, "+CMGL:") {
			continue
		}
		f := splitFields(l[len("+CMGL:"):])
		idx, err := strconv.Atoi(f[0])
		if err != nil || i+1 >= len(info) {
			continue
		}
		p := strings.TrimSpace(info[i+1])
		if !isHex(p) {
			continue
		}
		i++
		n, _ := strconv.Atoi(f[len(f)-1])
		out = append(out, listed{idx: idx, n: n, pdu: p})
	}
	return out
}

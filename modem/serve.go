package modem

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Serve reads what the modem receives until ctx is done (it then returns
// nil) or the port fails (it returns the error). It handles +CMTI/+CDSI
// (read with +CMGR), routed +CMT/+CDS (acknowledged with +CNMA when
// +CSMS=1), and sweeps the storage with +CMGL=4 at start and every
// SweepInterval, because indications get lost. A stored message is deleted
// (+CMGD) only after the Handler returned nil for it. Handler methods are
// called from Serve's goroutine, one at a time, and must not call the Modem.
// Run one Serve per Modem.
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
			if err := m.sweep(ctx, h); err != nil {
				if stop, err := m.serveEnd(ctx, "sweep", err); stop {
					return err
				}
			}
		}
	}
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
		return m.sweep(ctx, h)
	case isBootURC(up):
		m.log.Warn("modem rebooted: restoring SMS settings", "banner", u.Line)
		if err := m.reconfigure(ctx); err != nil {
			return err
		}
		return m.sweep(ctx, h)
	}
	return nil
}

// reconfigure restores the settings a reboot resets.
func (m *Modem) reconfigure(ctx context.Context) error {
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for _, cmd := range []string{"E0", "+CMEE=1", "+CMGF=0"} {
		if err := m.tolerate(ctx, cmd); err != nil {
			return err
		}
	}
	if err := m.storageSetup(ctx); err != nil {
		return err
	}
	return m.indications(ctx)
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
	return m.process(ctx, h, idx, pdu, n)
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
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.sweepMem(ctx, h); err != nil {
		return err
	}
	if m.srMem && m.readMem != "" && !strings.EqualFold(m.readMem, "SR") {
		restore, err := m.selectMem(ctx, "SR")
		if err != nil {
			if fatal(err) {
				return err
			}
			m.log.Debug("no SR storage after all", "error", err)
			m.srMem = false
			return nil
		}
		defer restore()
		return m.sweepMem(ctx, h)
	}
	return nil
}

func (m *Modem) sweepMem(ctx context.Context, h Handler) error {
	// Listing a full SIM takes a while (smstools3 gives +CMGL 12x its base).
	info, err := m.doSpec(ctx, cmdSpec{cmd: "+CMGL=4"}, 3*m.cfg.CommandTimeout)
	if err != nil {
		return err
	}
	for _, e := range parseCMGL(info) {
		if err := m.process(ctx, h, e.idx, e.pdu, e.n); err != nil {
			return err
		}
	}
	return nil
}

// process decodes one stored PDU, hands it to h and deletes it on success.
// Undecodable PDUs and stored SUBMITs are left alone. Called with sem held.
func (m *Modem) process(ctx context.Context, h Handler, idx int, pdu string, n int) error {
	d, r, err := ParseStored(pdu, n)
	if err != nil {
		key := strconv.Itoa(idx) + ":" + pdu
		if !m.reported[key] {
			if len(m.reported) > 1000 {
				clear(m.reported)
			}
			m.reported[key] = true
			m.log.Warn("undecodable stored message left on the modem", "index", idx, "error", err)
			m.log.Debug("undecodable PDU", "index", idx, "pdu", pdu)
		}
		return nil
	}
	switch {
	case d != nil:
		err = h.Inbound(ctx, *d)
	case r != nil:
		err = h.StatusReport(ctx, *r)
	default:
		m.log.Debug("stored SMS-SUBMIT left alone", "index", idx)
		return nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.log.Warn("handler failed: the message stays on the modem for the next sweep", "index", idx, "error", err)
		return nil
	}
	if _, err := m.do(ctx, "+CMGD="+strconv.Itoa(idx)); err != nil && !isCMS(err, 321) {
		return err
	}
	return nil
}

// routed hands over a +CMT/+CDS PDU and acknowledges it if +CSMS=1 asks
// for that; an unacknowledged one is redelivered by the network.
func (m *Modem) routed(ctx context.Context, h Handler, pdu string, n int) error {
	if pdu == "" {
		return nil
	}
	d, r, err := ParseStored(pdu, n)
	if err != nil {
		m.log.Warn("undecodable routed message", "error", err)
		m.log.Debug("undecodable PDU", "pdu", pdu)
		return nil
	}
	switch {
	case d != nil:
		err = h.Inbound(ctx, *d)
	case r != nil:
		err = h.StatusReport(ctx, *r)
	}
	if err != nil {
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

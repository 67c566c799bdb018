package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cnmiChoices are tried in order (docs/modems.md §1.2): stored messages with
// +CMTI and stored reports with +CDSI first; then routed reports (+CDS) for
// modems without ds=2; then no reports; then mode 1 for old firmware.
var cnmiChoices = [...]string{"2,1,0,2,0", "2,1,0,1,0", "2,1,0,0,0", "1,1,0,0,0"}

// Init brings the modem into a known state (docs/modems.md §1.2): escape a
// half-entered PDU, sync with AT, echo off, numeric errors, identity, the
// vendor's quirks (quirks.go), radio on, SIM ready (entering cfg.PIN if
// asked), PDU mode, SMSC, SIM storage and stored-message indications. SMS
// commands a booting modem refuses (SIMCom until "SMS Ready") are retried
// for up to ReadyTimeout. It skips ATZ (ZTE answers ERROR) and the +GCAP
// gate (some modems answer CME 58).
func (m *Modem) Init(ctx context.Context) (Identity, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return Identity{}, err
	}
	defer unlock()
	mark := m.f.bootMark()
	if err := m.syncLine(ctx); err != nil {
		return Identity{}, fmt.Errorf("sync: %w", err)
	}
	if err := m.base(ctx); err != nil {
		return Identity{}, err
	}
	id, err := m.identify(ctx)
	if err != nil {
		return Identity{}, err
	}
	m.mu.Lock()
	m.id = id
	m.mu.Unlock()
	m.quirk = quirksFor(id)
	m.ussdPlain = false
	if err := m.configure(ctx, mark, false); err != nil {
		return id, err
	}
	m.log.Debug("modem initialised", "quirks", m.quirk.name, "cnmi", m.cnmi, "mem", m.readMem, "csms", m.csms)
	return id, nil
}

// base sets echo off and numeric error codes.
func (m *Modem) base(ctx context.Context) error {
	for _, cmd := range []string{"E0", "+CMEE=1"} {
		if err := m.tolerate(ctx, cmd); err != nil {
			return err
		}
	}
	return nil
}

// configure applies every setting a reboot loses: the vendor setup, radio,
// SIM, and SMS settings. Boot banners up to mark (and those it waited for)
// are covered by it. Called with sem held.
func (m *Modem) configure(ctx context.Context, mark uint64, withBase bool) error {
	if withBase {
		if err := m.base(ctx); err != nil {
			return err
		}
	}
	for _, cmd := range m.quirk.setup {
		if err := m.tolerate(ctx, cmd); err != nil {
			return err
		}
	}
	if err := m.radioOn(ctx); err != nil {
		return err
	}
	if err := m.simReady(ctx); err != nil {
		return err
	}
	w := &bootWait{mark: mark}
	if err := m.smsSetup(ctx, w); err != nil {
		return err
	}
	m.bootsDone = max(m.bootsDone, w.mark)
	return nil
}

// bootWait follows the SMS commands a modem refuses right after a boot.
type bootWait struct {
	mark     uint64    // boot banners covered so far
	deadline time.Time // zero until the first refusal
	delay    time.Duration
	notReady bool // +CMGF=0 was refused: the modem is still booting
}

// busy reports an error that means "not yet": SIM busy, init in progress.
func busy(err error) bool {
	return isCME(err, 14) || isCME(err, 515) || isCMS(err, 314) || isCMS(err, 515)
}

// again decides whether an SMS command refused with err is worth another
// try, and waits before it: with backoff from RetryDelay (at most 5s), or
// until a boot banner ("SMS Ready", "SMS DONE") says the modem is ready.
// It gives up ReadyTimeout after the first refusal. Called with sem held.
func (m *Modem) again(ctx context.Context, w *bootWait, err error) (bool, error) {
	if fatal(err) || errors.Is(err, ErrTimeout) {
		return false, err
	}
	if !busy(err) && !w.notReady {
		return false, nil
	}
	if w.deadline.IsZero() {
		w.deadline = time.Now().Add(m.cfg.ReadyTimeout)
		w.delay = m.cfg.RetryDelay
	}
	left := time.Until(w.deadline)
	if left <= 0 {
		return false, nil
	}
	m.log.Debug("SMS not ready yet, waiting", "error", err, "delay", w.delay)
	t := time.NewTimer(min(w.delay, left))
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.f.bootSignal:
		// The banner we waited for: what follows covers it. Echo and
		// error format are back at their defaults after a reboot.
		w.mark = m.f.bootMark()
		if err := m.base(ctx); err != nil {
			return false, err
		}
		// Ready now: whatever is still busy is busy briefly.
		w.delay = m.cfg.RetryDelay
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	case <-m.f.done:
		return false, m.closedErr()
	}
	w.delay = min(2*w.delay, 5*time.Second)
	return true, nil
}

// syncLine escapes whatever the modem was doing and waits for it to
// answer AT (gammu: ESC CR, drain; smstools3: AT up to 10 times).
// Numeric result codes (ATV0) are understood until ATV1 is through.
func (m *Modem) syncLine(ctx context.Context) error {
	if err := m.writeRaw([]byte("\x1b\r")); err != nil {
		return err
	}
	if err := sleep(ctx, m.cfg.QuietPeriod); err != nil {
		return err
	}
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		if err := m.waitQuiet(ctx, 10*m.cfg.QuietPeriod); err != nil {
			return err
		}
		_, err := m.exec(ctx, cmdSpec{cmd: "", numeric: true}, m.cfg.probeTimeout())
		if err == nil {
			m.needResync = false
			_, err = m.exec(ctx, cmdSpec{cmd: "V1", numeric: true}, m.cfg.probeTimeout())
			if err == nil || !fatal(err) && !errors.Is(err, ErrTimeout) {
				return nil
			}
		}
		if fatal(err) {
			return err
		}
		last = err
	}
	return fmt.Errorf("no answer to AT after 5 tries: %w", last)
}

// tolerate runs a command whose failure is not fatal, only timeouts and a
// lost port are.
func (m *Modem) tolerate(ctx context.Context, cmd string) error {
	_, err := m.do(ctx, cmd)
	if err != nil {
		if fatal(err) || errors.Is(err, ErrTimeout) {
			return err
		}
		m.log.Debug("command refused, continuing", "cmd", redact(cmd), "error", err)
	}
	return nil
}

// query runs a command whose failure only costs its answer.
func (m *Modem) query(ctx context.Context, cmd string) ([]string, error) {
	info, err := m.do(ctx, cmd)
	if err != nil && (fatal(err) || errors.Is(err, ErrTimeout)) {
		return nil, err
	}
	if err != nil {
		m.log.Debug("query refused", "cmd", cmd, "error", err)
		return nil, nil
	}
	return info, nil
}

func (m *Modem) identify(ctx context.Context) (Identity, error) {
	var id Identity
	for _, q := range []struct {
		cmd string
		dst *string
		fn  func(string) string
	}{
		{"+CGMI", &id.Manufacturer, nil},
		{"+CGMM", &id.Model, nil},
		{"+CGMR", &id.Revision, nil},
		{"+CGSN", &id.IMEI, digits},
		{"+CIMI", &id.IMSI, digits},
	} {
		info, err := m.query(ctx, q.cmd)
		if err != nil {
			return id, err
		}
		v := cleanValue(info, q.cmd)
		if q.fn != nil {
			v = q.fn(v)
		}
		*q.dst = v
	}
	// The ICCID query differs per vendor (docs/modems.md §1.2).
	for _, cmd := range []string{"+CCID", "+ICCID", "^ICCID?", "+QCCID"} {
		info, err := m.query(ctx, cmd)
		if err != nil {
			return id, err
		}
		if v := iccid(cleanValue(info, cmd)); v != "" {
			id.ICCID = v
			break
		}
	}
	return id, nil
}

// cleanValue returns the first meaningful line of an identity reply: no
// echo fragments (the E3372 splits the echo around URCs: "A" / "T+CGMI"),
// no "+CGMI:"-style prefix, no quotes.
func cleanValue(info []string, cmd string) string {
	echo := strings.ToUpper("AT" + cmd)
	for _, l := range info {
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(echo, strings.ToUpper(l)) {
			continue
		}
		if p, ok := infoPrefix(l); ok {
			l = strings.TrimSpace(l[len(p)+1:])
		}
		for _, p := range []string{"Revision:", "Manufacturer:", "Model:"} {
			if len(l) > len(p) && strings.EqualFold(l[:len(p)], p) {
				l = strings.TrimSpace(l[len(p):])
			}
		}
		l = strings.Trim(l, "\"")
		if l != "" {
			return l
		}
	}
	return ""
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// iccid extracts an ICCID: 18-22 digits, possibly with a trailing F.
func iccid(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		if c >= '0' && c <= '9' || c == 'F' {
			b.WriteRune(c)
		}
	}
	v := strings.TrimRight(b.String(), "F")
	if len(v) < 18 || len(v) > 22 {
		return ""
	}
	return v
}

// radioOn turns the radio on if the modem booted without it (D-Link
// DWM-157 boots at +CFUN: 4, ZTE at 0) and checks that it took. A modem
// that keeps its radio off is reported, not failed: it can still read
// stored messages, and Health shows it unregistered.
func (m *Modem) radioOn(ctx context.Context) error {
	info, err := m.query(ctx, "+CFUN?")
	if err != nil {
		return err
	}
	v, ok := field(info, "+CFUN", 0)
	if !ok || v == "1" {
		return nil
	}
	m.log.Info("radio off, switching it on", "cfun", v)
	if _, err := m.doSpec(ctx, cmdSpec{cmd: "+CFUN=1"}, 3*m.cfg.CommandTimeout); err != nil {
		if fatal(err) || errors.Is(err, ErrTimeout) {
			return fmt.Errorf("radio on: %w", err)
		}
		m.log.Warn("modem refused to switch the radio on", "error", err)
		return nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		info, err := m.query(ctx, "+CFUN?")
		if err != nil {
			return err
		}
		if v, ok := field(info, "+CFUN", 0); !ok || v == "1" {
			return nil
		}
		if err := sleep(ctx, m.cfg.RetryDelay); err != nil {
			return err
		}
	}
	m.log.Warn("radio still off after AT+CFUN=1")
	return nil
}

// simReady waits for the SIM, entering the PIN once if asked. It never
// retries a PIN: three wrong ones lock the SIM.
func (m *Modem) simReady(ctx context.Context) error {
	pinSent := false
	for attempt := 1; ; attempt++ {
		state, err := m.cpin(ctx)
		switch {
		case err == nil && state == "READY":
			return nil
		case err == nil && state == "SIM PIN" && !pinSent:
			if m.cfg.PIN == "" {
				return fmt.Errorf("SIM asks for a PIN and none is configured: %w", CMEError{Code: 11, Text: "SIM PIN required"})
			}
			pinSent = true
			if _, err := m.do(ctx, `+CPIN="`+m.cfg.PIN+`"`); err != nil {
				return fmt.Errorf("enter PIN: %w", err)
			}
			m.log.Info("SIM PIN entered")
			continue
		case err == nil && (state == "SIM PIN" || strings.Contains(state, "PUK") || state == "PH-SIM PIN"):
			return fmt.Errorf("SIM locked (%s): %w", state, CMEError{Code: 12, Text: state})
		case err == nil && strings.Contains(state, "NOT INSERTED"):
			return fmt.Errorf("no SIM: %w", CMEError{Code: 10, Text: state})
		case err != nil && (isCME(err, 10) || isCMS(err, 310)):
			return fmt.Errorf("no SIM: %w", err)
		case err != nil && !(isCME(err, 14) || isCME(err, 515) || isCMS(err, 314) || isCMS(err, 515) || errors.Is(err, ErrError)):
			return fmt.Errorf("SIM: %w", err)
		}
		// Busy (CME 14 right after boot, or "NOT READY"): back off.
		if attempt >= 6 {
			if err == nil {
				err = fmt.Errorf("SIM state %q", state)
			}
			return fmt.Errorf("SIM not ready after %d tries: %w", attempt, err)
		}
		m.log.Debug("SIM busy, waiting", "state", state, "error", err)
		if err := sleep(ctx, m.cfg.RetryDelay*(1<<(attempt-1))); err != nil {
			return err
		}
	}
}

// cpin reads the SIM state. Wavecom answers without OK, hence optionalFinal.
func (m *Modem) cpin(ctx context.Context) (string, error) {
	info, err := m.doSpec(ctx, cmdSpec{cmd: "+CPIN?", optionalFinal: "+CPIN"}, m.cfg.CommandTimeout)
	if err != nil {
		return "", err
	}
	v, _ := field(info, "+CPIN", 0)
	return strings.ToUpper(v), nil
}

// smsSetup selects PDU mode, the SMSC, the storage and the indications.
// A booting modem refuses them for a while (SIMCom answers ERROR to +CMGF
// until "SMS Ready", docs/modems.md §2.1): see again.
func (m *Modem) smsSetup(ctx context.Context, w *bootWait) error {
	for {
		_, err := m.do(ctx, "+CMGF=0")
		if err == nil {
			break
		}
		w.notReady = true
		if retry, werr := m.again(ctx, w, err); werr != nil {
			return werr
		} else if !retry {
			return fmt.Errorf("PDU mode: %w", err)
		}
	}
	info, err := m.query(ctx, "+CSCA?")
	if err != nil {
		return err
	}
	if smsc, _ := field(info, "+CSCA", 0); strings.Trim(smsc, "\"") == "" {
		if m.cfg.SMSC == "" {
			m.log.Warn("the SIM has no SMSC number and none is configured: sending will fail with CMS 330")
		} else {
			toa := "129"
			if strings.HasPrefix(m.cfg.SMSC, "+") {
				toa = "145"
			}
			m.log.Info("the SIM has no SMSC number: setting the configured one", "smsc", m.cfg.SMSC)
			if err := m.tolerate(ctx, `+CSCA="`+m.cfg.SMSC+`",`+toa); err != nil {
				return err
			}
		}
	}
	if err := m.storageSetup(ctx, w); err != nil {
		return err
	}
	info, err = m.query(ctx, "+CSMS?")
	if err != nil {
		return err
	}
	if v, ok := field(info, "+CSMS", 0); ok {
		m.csms, _ = strconv.Atoi(v)
	}
	return m.indications(ctx, w)
}

// storageSetup selects SIM storage for reading, writing and receiving, and
// learns whether "SR" (status report storage) exists, to sweep it too.
func (m *Modem) storageSetup(ctx context.Context, w *bootWait) error {
	info, err := m.query(ctx, "+CPMS=?")
	if err != nil {
		return err
	}
	if len(info) > 0 {
		if first, _, ok := strings.Cut(strings.TrimPrefix(info[0], "+CPMS:"), ")"); ok {
			m.srMem = strings.Contains(strings.ToUpper(first), `"SR"`)
		}
	}
	m.readMem = ""
	for {
		_, err := m.do(ctx, `+CPMS="SM","SM","SM"`)
		if err == nil {
			m.readMem = "SM"
			return nil
		}
		retry, werr := m.again(ctx, w, err)
		if werr != nil {
			return werr
		}
		if !retry {
			m.log.Debug("keeping the default storage", "error", err)
			break
		}
	}
	if info, err := m.query(ctx, "+CPMS?"); err != nil {
		return err
	} else if v, ok := field(info, "+CPMS", 0); ok && strings.HasPrefix(v, `"`) {
		m.readMem = strings.Trim(v, `"`)
	}
	return nil
}

// indications sets +CNMI, falling back through the vendor's choices or
// cnmiChoices. A modem still booting refuses them all: then the list is
// tried again (see again).
func (m *Modem) indications(ctx context.Context, w *bootWait) error {
	choices := m.quirk.cnmi
	if choices == nil {
		choices = cnmiChoices[:]
	}
	m.cnmi = ""
	for {
		var last error
		for _, c := range choices {
			_, err := m.do(ctx, "+CNMI="+c)
			if err == nil {
				m.cnmi = c
				return nil
			}
			if fatal(err) || errors.Is(err, ErrTimeout) {
				return err
			}
			last = err
		}
		retry, werr := m.again(ctx, w, last)
		if werr != nil {
			return werr
		}
		if !retry {
			break
		}
	}
	m.log.Warn("modem refused every +CNMI setting: relying on +CMGL sweeps only")
	return nil
}

// field returns the i-th comma-separated value of the first info line with
// the prefix ("+CSQ" for "+CSQ: 20,99"), honouring quotes.
func field(info []string, prefix string, i int) (string, bool) {
	for _, l := range info {
		if !strings.HasPrefix(strings.ToUpper(l), prefix+":") {
			continue
		}
		f := splitFields(l[len(prefix)+1:])
		if i < len(f) {
			return f[i], true
		}
		return "", false
	}
	return "", false
}

// splitFields splits "a, "b,c" ,d" on commas outside quotes, trimming
// spaces but keeping the quotes.
func splitFields(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	for _, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
			b.WriteRune(c)
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteRune(c)
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}

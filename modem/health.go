package modem

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Health reads signal (+CSQ), registration (+CREG?, then +CEREG? for LTE
// modules that register only there), operator (+COPS?), SIM (+CPIN?),
// storage (+CPMS?) and the indication routing (+CNMI?, which a modem resets
// silently when it misses a +CNMA or reboots). A refused query leaves its
// fields at their zero value; a timeout or a lost port is returned.
func (m *Modem) Health(ctx context.Context) (Health, error) {
	h := Health{At: time.Now(), SignalRSSI: 99, Registration: "unknown"}
	unlock, err := m.lock(ctx)
	if err != nil {
		return h, err
	}
	defer unlock()
	info, err := m.query(ctx, "+CSQ")
	if err != nil {
		return h, err
	}
	if v, ok := field(info, "+CSQ", 0); ok {
		if rssi, err := strconv.Atoi(v); err == nil {
			h.SignalRSSI = rssi
			if rssi >= 0 && rssi <= 31 {
				h.SignalDBm = -113 + 2*rssi
			}
		}
	}
	for _, cmd := range []string{"+CREG", "+CEREG"} {
		info, err := m.query(ctx, cmd+"?")
		if err != nil {
			return h, err
		}
		if reg, ok := registration(info, cmd); ok {
			if h.Registration == "unknown" || reg == "home" || reg == "roaming" {
				h.Registration = reg
			}
		}
		if h.Registered() {
			break
		}
	}
	if info, err = m.query(ctx, "+COPS?"); err != nil {
		return h, err
	}
	if v, ok := field(info, "+COPS", 2); ok {
		h.Operator = strings.Trim(v, `"`)
	}
	switch state, err := m.cpin(ctx); {
	case err == nil:
		h.SIM = state
	case isCME(err, 10) || isCMS(err, 310):
		h.SIM = "NOT INSERTED"
	case fatal(err):
		return h, err
	}
	if info, err = m.query(ctx, "+CPMS?"); err != nil {
		return h, err
	}
	h.StorageUsed, h.StorageTotal = storage(info)
	if info, err = m.query(ctx, "+CNMI?"); err != nil {
		return h, err
	}
	for _, l := range info {
		if strings.HasPrefix(l, "+CNMI:") {
			h.ReceptionMode = strings.TrimSpace(l[len("+CNMI:"):])
		}
	}
	return h, nil
}

// registration parses "+CREG: <n>,<stat>[,<lac>,<ci>[,<AcT>]]", as Huawei
// (unquoted hex), Sierra (quoted, with AcT) and Telit print it, and the
// unsolicited form "+CREG: <stat>".
func registration(info []string, prefix string) (string, bool) {
	f0, ok := field(info, prefix, 0)
	if !ok {
		return "", false
	}
	stat := f0
	if f1, ok := field(info, prefix, 1); ok && !strings.HasPrefix(f1, `"`) && len(f1) <= 2 {
		stat = f1
	}
	switch stat {
	case "1", "6", "9": // home; 6/9: SMS only / CSFB not preferred, home
		return "home", true
	case "5", "7", "10": // roaming variants of the same
		return "roaming", true
	case "2":
		return "searching", true
	case "3":
		return "denied", true
	case "0":
		return "unregistered", true
	}
	return "unknown", true
}

// storage parses "+CPMS: "SM",3,20,..." or "+CPMS: 3,20,...".
func storage(info []string) (used, total int) {
	for _, l := range info {
		if !strings.HasPrefix(l, "+CPMS:") {
			continue
		}
		f := splitFields(l[len("+CPMS:"):])
		if len(f) > 0 && strings.HasPrefix(f[0], `"`) {
			f = f[1:]
		}
		if len(f) >= 2 {
			used, _ = strconv.Atoi(f[0])
			total, _ = strconv.Atoi(f[1])
		}
		return used, total
	}
	return 0, 0
}

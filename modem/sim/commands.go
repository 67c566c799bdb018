package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

type resKind int

const (
	resOK resKind = iota
	resError
	resCME
	resCMS
	resUnknown // the profile's answer to an unknown command
	resPrompt  // +CMGS: the "> " prompt follows
)

// result is one command's outcome: info lines (one block) and the final
// result code; after lines follow the final code (boot URCs after a reset).
type result struct {
	kind  resKind
	code  int
	info  []string
	after []string
	stop  bool // the rest of a chained line is lost (the modem rebooted)
}

func ok(info ...string) result { return result{kind: resOK, info: info} }
func errResult() result        { return result{kind: resError} }
func cmeErr(code int) result   { return result{kind: resCME, code: code} }
func cmsErr(code int) result   { return result{kind: resCMS, code: code} }
func unknown() result          { return result{kind: resUnknown} }

// finalText renders a final result code per +CMEE and the profile.
func (m *Modem) finalText(r result) string {
	switch r.kind {
	case resOK:
		return "OK"
	case resUnknown:
		return m.prof.UnknownReply
	case resCME:
		switch m.set.cmee {
		case 0:
			return "ERROR"
		case 2:
			return "+CME ERROR: " + cmeText(r.code)
		}
		return "+CME ERROR: " + strconv.Itoa(r.code)
	case resCMS:
		// 27.005 reports SMS failures as +CMS ERROR whatever +CMEE says;
		// +CMEE=2 only makes the code textual.
		if m.set.cmee == 2 {
			return "+CMS ERROR: " + cmsText(r.code)
		}
		return "+CMS ERROR: " + strconv.Itoa(r.code)
	}
	return "ERROR"
}

func cmeText(code int) string {
	switch code {
	case 3:
		return "operation not allowed"
	case 4:
		return "operation not supported"
	case 10:
		return "SIM not inserted"
	case 14:
		return "SIM busy"
	case 21:
		return "invalid index"
	case 30:
		return "no network service"
	case 50:
		return "incorrect parameters"
	case 100:
		return "unknown"
	}
	return "unknown error"
}

func cmsText(code int) string {
	switch code {
	case 1:
		return "unassigned number"
	case 8:
		return "operator determined barring"
	case 21:
		return "short message transfer rejected"
	case 28:
		return "unidentified subscriber"
	case 38:
		return "network out of order"
	case 41:
		return "temporary failure"
	case 42:
		return "congestion"
	case 47:
		return "resources unavailable"
	case 50:
		return "requested facility not subscribed"
	case 69:
		return "requested facility not implemented"
	case 96:
		return "invalid mandatory information"
	case 300:
		return "ME failure"
	case 302:
		return "operation not allowed"
	case 303:
		return "operation not supported"
	case 304:
		return "invalid PDU mode parameter"
	case 305:
		return "invalid text mode parameter"
	case 310:
		return "SIM not inserted"
	case 314:
		return "SIM busy"
	case 320:
		return "memory failure"
	case 321:
		return "invalid memory index"
	case 322:
		return "memory full"
	case 330:
		return "SMSC address unknown"
	case 331:
		return "no network service"
	case 332:
		return "network timeout"
	case 340:
		return "no +CNMA acknowledgement expected"
	case 500:
		return "unknown error"
	case 512, 513, 514, 515:
		return "manufacturer specific"
	}
	return "unknown error"
}

type opKind int

const (
	opExec opKind = iota // AT+X
	opRead               // AT+X?
	opTest               // AT+X=?
	opSet                // AT+X=<arg>
	opBad
)

// command is one command out of a (possibly chained) AT line.
type command struct {
	name string // upper case: "+CMGS", "E", "&F", "S3", "^CURC"
	op   opKind
	arg  string
}

// nextCommand splits the first command off the text after "AT".
func nextCommand(body string) (command, string) {
	c0 := body[0]
	switch {
	case strings.IndexByte("+^#$%*", c0) >= 0:
		end := len(body)
		quoted := false
		for i := 1; i < len(body); i++ {
			if body[i] == '"' {
				quoted = !quoted
			}
			if body[i] == ';' && !quoted {
				end = i
				break
			}
		}
		text, rest := body[:end], body[end:]
		i := 1
		for i < len(text) && isAlnum(text[i]) {
			i++
		}
		c := command{name: strings.ToUpper(text[:i])}
		tail := strings.TrimSpace(text[i:])
		switch {
		case tail == "":
			c.op = opExec
		case tail == "?":
			c.op = opRead
		case tail == "=?":
			c.op = opTest
		case tail[0] == '=':
			c.op, c.arg = opSet, strings.TrimSpace(tail[1:])
		default:
			c.op = opBad
		}
		return c, rest
	case c0 == '&':
		if len(body) < 2 || !isLetter(body[1]) {
			return command{name: "&", op: opBad}, ""
		}
		j := 2
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		return command{name: "&" + strings.ToUpper(body[1:2]), arg: body[2:j]}, body[j:]
	case isLetter(c0):
		up := c0 &^ 0x20
		switch up {
		case 'S':
			j := 1
			for j < len(body) && isDigit(body[j]) {
				j++
			}
			c := command{name: "S" + body[1:j]}
			rest := body[j:]
			switch {
			case strings.HasPrefix(rest, "?"):
				c.op, rest = opRead, rest[1:]
			case strings.HasPrefix(rest, "="):
				k := 1
				for k < len(rest) && isDigit(rest[k]) {
					k++
				}
				c.op, c.arg, rest = opSet, rest[1:k], rest[k:]
			}
			return c, rest
		case 'D':
			// Dialling takes the rest of the line.
			return command{name: "D", op: opSet, arg: body[1:]}, ""
		}
		j := 1
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		return command{name: string(up), arg: body[1:j]}, body[j:]
	}
	return command{name: string(c0), op: opBad}, ""
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool  { return isLetter(c) || isDigit(c) || c == '_' }

// splitArgs splits a parameter list on commas outside quotes and unquotes
// each element.
func splitArgs(s string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, unquote(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, unquote(s[start:]))
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// intArg parses a numeric parameter within [lo, hi].
func intArg(s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// execLocked runs one command.
func (s *session) execLocked(c command) result {
	if c.op == opBad || slices.Contains(s.m.prof.Unsupported, c.name) {
		return unknown()
	}
	if isLetter(c.name[0]) || c.name[0] == '&' {
		return s.basicLocked(c)
	}
	return s.extendedLocked(c)
}

// basicLocked runs a V.250 basic command (E, V, Q, Z, I, &F, &W, Sn).
func (s *session) basicLocked(c command) result {
	m := s.m
	flag := func(set *bool) result {
		switch c.arg {
		case "", "0":
			*set = false
		case "1":
			*set = true
		default:
			return errResult()
		}
		return ok()
	}
	switch c.name {
	case "E":
		return flag(&m.set.echo)
	case "V":
		return flag(&m.set.verbose)
	case "Q":
		return flag(&m.set.quiet)
	case "Z":
		m.set = m.saved
		return ok()
	case "&F":
		m.set = factorySettings(m.net.cfg.SMSC)
		return ok()
	case "&W":
		m.saved = m.set
		return ok()
	case "I":
		return ok("Manufacturer: "+m.prof.Manufacturer, "Model: "+m.prof.Model,
			"Revision: "+m.prof.Revision, "IMEI: "+m.cfg.IMEI, m.prof.GCAP)
	case "&C", "&D", "&K", "X", "L", "M", "H":
		return ok()
	case "D":
		return result{kind: resUnknown} // no voice or data calls here
	}
	if c.name[0] == 'S' {
		if c.op == opRead {
			return ok("000")
		}
		return ok()
	}
	return unknown()
}

// extendedHandler answers one extended command; the modem's lock is held.
type extendedHandler func(s *session, c command) result

// extendedCommands holds the extended commands every profile knows, by
// name. What depends on the profile (canned answers, the ICCID commands,
// commands that wait for the boot) is settled in extendedLocked before
// this table is consulted; a handler for a vendor command answers as an
// unknown command on profiles that lack it.
var extendedCommands = map[string]extendedHandler{
	"+CGMI": identity(func(m *Modem) string { return m.prof.Manufacturer }),
	"+GMI":  identity(func(m *Modem) string { return m.prof.Manufacturer }),
	"+CGMM": identity(func(m *Modem) string { return m.prof.Model }),
	"+GMM":  identity(func(m *Modem) string { return m.prof.Model }),
	"+CGMR": identity(func(m *Modem) string { return m.prof.Revision }),
	"+GMR":  identity(func(m *Modem) string { return m.prof.Revision }),
	"+CGSN": identity(func(m *Modem) string { return m.cfg.IMEI }),
	"+GSN":  identity(func(m *Modem) string { return m.cfg.IMEI }),
	"+CIMI": identity(func(m *Modem) string { return m.cfg.IMSI }),
	"+GCAP": identity(func(m *Modem) string { return m.prof.GCAP }),
	"+CNUM": identity(func(m *Modem) string { return fmt.Sprintf(`+CNUM: ,"%s",145`, m.cfg.Number) }),
	"+CPAS": identity(func(*Modem) string { return "+CPAS: 0" }),

	"+CMEE":  (*session).cmeeLocked,
	"+CFUN":  (*session).cfunLocked,
	"+CPIN":  (*session).cpinLocked,
	"+CSQ":   (*session).csqLocked,
	"+CREG":  registration(func(m *Modem) *int { return &m.set.creg }, 2),
	"+CGREG": registration(func(m *Modem) *int { return &m.set.cgreg }, 2),
	"+CEREG": registration(func(m *Modem) *int { return &m.set.cereg }, 5),
	"+COPS":  (*session).copsLocked,

	"+CSCS": (*session).cscsLocked,
	"+CSCA": (*session).cscaLocked,
	"+CMGF": (*session).cmgfLocked,
	"+CSMS": (*session).csmsLocked,
	"+CMMS": (*session).cmmsLocked,
	"+CSMP": (*session).csmpLocked,
	"+CPMS": (*session).cpmsLocked,
	"+CNMI": (*session).cnmiLocked,
	"+CNMA": (*session).cnmaLocked,
	"+CMGS": (*session).cmgsLocked,
	"+CMGR": (*session).cmgrLocked,
	"+CMGL": (*session).cmglLocked,
	"+CMGD": (*session).cmgdLocked,

	// Accepted for clients that set them up (python-gsmmodem does); there
	// are no calls or cell broadcasts here.
	"+CLIP": acceptedOff,
	"+CRC":  acceptedOff,
	"+CVHU": acceptedOff,
	"+CSCB": acceptedOff,
	"+CSDH": acceptedOff,

	"+CUSD":    (*session).cusdLocked,
	"+QURCCFG": (*session).qurccfgLocked,
	"^CURC":    (*session).curcLocked,
}

// extendedLocked runs an extended (+, ^, ...) command.
func (s *session) extendedLocked(c command) result {
	m := s.m
	if lines, found := m.prof.Canned[c.name+opSuffix(c)]; found {
		return ok(lines...)
	}
	if !m.booted && slices.Contains(m.prof.NotReadyCommands, c.name) {
		return errResult() // SIM800 before "SMS Ready"
	}
	if !m.simReady && c.op != opTest {
		if simSMSCommand(c.name) {
			return cmsErr(310)
		}
		if simCommand(c.name) || slices.Contains(m.prof.ICCIDCommands, c.name) {
			return cmeErr(10)
		}
	}
	if slices.Contains(m.prof.ICCIDCommands, c.name) {
		return s.iccidLocked(c)
	}
	if handle, found := extendedCommands[c.name]; found {
		return handle(s, c)
	}
	return unknown()
}

// opSuffix is the text after a command's name as a profile's Canned map
// keys it: "?", "=?", "=<arg>" or nothing.
func opSuffix(c command) string {
	switch c.op {
	case opRead:
		return "?"
	case opTest:
		return "=?"
	case opSet:
		return "=" + c.arg
	}
	return ""
}

// identity makes the handler of an identification command: executing it
// answers value, testing it answers OK.
func identity(value func(m *Modem) string) extendedHandler {
	return func(s *session, c command) result {
		switch c.op {
		case opExec:
			return ok(value(s.m))
		case opTest:
			return ok()
		}
		return errResult()
	}
}

// registration makes the handler of a registration command (+CREG,
// +CGREG, +CEREG) whose URC setting is setting and at most max.
func registration(setting func(m *Modem) *int, max int) extendedHandler {
	return func(s *session, c command) result { return s.regLocked(c, setting(s.m), max) }
}

// acceptedOff handles a setting the simulator accepts and ignores: it
// always reads as 0.
func acceptedOff(_ *session, c command) result {
	switch c.op {
	case opRead:
		return ok(c.name + ": 0")
	case opTest, opSet:
		return ok()
	}
	return errResult()
}

// iccidLocked answers one of the profile's ICCID commands.
func (s *session) iccidLocked(c command) result {
	m := s.m
	switch c.op {
	case opExec, opRead:
		if m.prof.ICCIDBare {
			return ok(m.cfg.ICCID)
		}
		return ok(c.name + ": " + m.cfg.ICCID)
	case opTest:
		return ok()
	}
	return errResult()
}

func (s *session) cmeeLocked(c command) result {
	return s.intSetting(c, "+CMEE", &s.m.set.cmee, 0, 2, "(0-2)", cmeErr(50))
}

func (s *session) cpinLocked(c command) result {
	switch c.op {
	case opRead:
		// Without a SIM simCommand has answered CME 10 already.
		return ok("+CPIN: READY")
	case opTest, opSet:
		return ok()
	}
	return errResult()
}

func (s *session) csqLocked(c command) result {
	m := s.m
	switch c.op {
	case opExec:
		if m.cfun != 1 || !m.booted || m.fault.NetworkLoss {
			return ok("+CSQ: 99,99")
		}
		return ok("+CSQ: 20,99")
	case opTest:
		return ok("+CSQ: (0-31,99),(0-7,99)")
	}
	return errResult()
}

func (s *session) cscsLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		return ok(fmt.Sprintf("+CSCS: %q", m.set.cscs))
	case opTest:
		return ok(`+CSCS: ("GSM","IRA","UCS2","8859-1")`)
	case opSet:
		v := strings.ToUpper(unquote(c.arg))
		if !slices.Contains([]string{"GSM", "IRA", "UCS2", "8859-1"}, v) {
			return cmeErr(50)
		}
		m.set.cscs = v
		return ok()
	}
	return errResult()
}

func (s *session) cscaLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		if m.set.csca == "" {
			return ok(`+CSCA: "",129`)
		}
		return ok(fmt.Sprintf(`+CSCA: "%s",145`, m.set.csca))
	case opTest:
		return ok()
	case opSet:
		a := splitArgs(c.arg)
		num := normalizeNumber(a[0])
		if a[0] != "" && (num == "" || num == "+") {
			return cmsErr(304)
		}
		m.set.csca = num
		return ok()
	}
	return errResult()
}

func (s *session) cmgfLocked(c command) result {
	switch c.op {
	case opRead:
		return ok("+CMGF: 0")
	case opTest:
		return ok("+CMGF: (0)")
	case opSet:
		if strings.TrimSpace(c.arg) == "0" {
			return ok()
		}
		// Text mode is not simulated; PDU mode is what the driver uses.
		return errResult()
	}
	return errResult()
}

func (s *session) csmsLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		return ok(fmt.Sprintf("+CSMS: %d,1,1,1", m.set.csms))
	case opTest:
		return ok("+CSMS: (0,1)")
	case opSet:
		v, good := intArg(c.arg, 0, 1)
		if !good {
			return cmsErr(303)
		}
		m.set.csms = v
		return ok("+CSMS: 1,1,1")
	}
	return errResult()
}

func (s *session) cmmsLocked(c command) result {
	return s.intSetting(c, "+CMMS", &s.m.set.cmms, 0, 2, "(0-2)", cmsErr(302))
}

func (s *session) csmpLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		return ok("+CSMP: 17,167,0,0")
	case opSet:
		if m.prof.CSMPClearsSMSC {
			m.set.csca = "" // ZTE K3565-Z (python-gsmmodem issue #8)
		}
		return ok()
	case opTest:
		return ok()
	}
	return errResult()
}

func (s *session) cnmaLocked(c command) result {
	m := s.m
	switch c.op {
	case opTest:
		return ok("+CNMA: (0-2)")
	case opExec, opSet:
		n := 0
		if c.op == opSet {
			v, good := intArg(c.arg, 0, 2)
			if !good {
				return cmsErr(303)
			}
			n = v
		}
		acked := false
		if n == 2 {
			acked = m.nackLocked()
		} else {
			acked = m.ackLocked()
		}
		if !acked {
			return cmsErr(340)
		}
		return ok()
	}
	return errResult()
}

func (s *session) cmgsLocked(c command) result {
	switch c.op {
	case opTest:
		return ok()
	case opSet:
		n, good := intArg(c.arg, 1, 255)
		if !good {
			return cmsErr(304)
		}
		s.cmgsLen = n
		s.pdu, s.pduBad = nil, false
		return result{kind: resPrompt}
	}
	return errResult()
}

// curcLocked answers ^CURC (Huawei), which switches periodic status URCs.
func (s *session) curcLocked(c command) result {
	m := s.m
	if !m.prof.CURC {
		return unknown()
	}
	switch c.op {
	case opRead:
		return ok(fmt.Sprintf("^CURC: %d", b2i(m.set.curc)))
	case opTest:
		return ok("^CURC: (0-1)")
	case opSet:
		v, good := intArg(c.arg, 0, 1)
		if !good {
			return errResult()
		}
		m.set.curc = v == 1
		return ok()
	}
	return errResult()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// simSMSCommand reports whether a command answers +CMS ERROR: 310 without
// a SIM; simCommand whether it answers +CME ERROR: 10.
func simSMSCommand(name string) bool {
	switch name {
	case "+CMGS", "+CMGR", "+CMGL", "+CMGD", "+CPMS", "+CSCA", "+CMSS", "+CMGW":
		return true
	}
	return false
}

func simCommand(name string) bool {
	switch name {
	case "+CPIN", "+CIMI", "+CNUM", "+CUSD":
		return true
	}
	return false
}

// qurccfgLocked answers +QURCCFG (Quectel), which picks the port URCs go
// to.
func (s *session) qurccfgLocked(c command) result {
	m := s.m
	if len(m.prof.URCPorts) == 0 {
		return unknown()
	}
	switch c.op {
	case opTest:
		return ok(`+QURCCFG: "urcport",("` + strings.Join(m.prof.URCPorts, `","`) + `")`)
	case opSet:
		a := splitArgs(c.arg)
		if !strings.EqualFold(a[0], "urcport") || len(a) > 2 {
			return cmeErr(50)
		}
		if len(a) == 1 {
			return ok(fmt.Sprintf(`+QURCCFG: "urcport","%s"`, m.urcPort))
		}
		v := strings.ToLower(a[1])
		if !slices.Contains(m.prof.URCPorts, v) {
			return cmeErr(50)
		}
		m.urcPort = v
		return ok()
	}
	return errResult()
}

// intSetting handles a plain "<cmd>?/=?/=<n>" integer setting.
func (s *session) intSetting(c command, name string, v *int, lo, hi int, rng string, bad result) result {
	switch c.op {
	case opRead:
		return ok(fmt.Sprintf("%s: %d", name, *v))
	case opTest:
		return ok(name + ": " + rng)
	case opSet:
		arg := strings.TrimSpace(c.arg)
		if arg == "" {
			arg = "0"
		}
		n, good := intArg(arg, lo, hi)
		if !good {
			return bad
		}
		*v = n
		return ok()
	}
	return errResult()
}

func (s *session) cfunLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		return ok(fmt.Sprintf("+CFUN: %d", m.cfun))
	case opTest:
		return ok("+CFUN: (0,1,4),(0-1)")
	case opSet:
		a := splitArgs(c.arg)
		fun, good := intArg(a[0], 0, 4)
		if !good || fun == 2 || fun == 3 {
			return cmeErr(50)
		}
		reset := false
		if len(a) > 1 {
			r, good := intArg(a[1], 0, 1)
			if !good {
				return cmeErr(50)
			}
			reset = r == 1
		}
		if reset {
			// A reboot: what was chained after it is lost, the boot
			// chatter follows the OK.
			r := ok()
			r.after = m.rebootLocked(bootReturn)
			r.stop = true
			return r
		}
		if m.cfun == 0 && fun == 1 {
			// Minimum functionality powered the SIM down; powering it up
			// reads it again (SIM800 RADIO_OFF_ON, docs/modems.md §2.1).
			m.simReady = m.simInserted
		}
		m.cfun = fun
		m.stateChangedLocked()
		return ok()
	}
	return errResult()
}

// regLocked answers +CREG/+CGREG/+CEREG.
func (s *session) regLocked(c command, n *int, max int) result {
	m := s.m
	switch c.op {
	case opRead:
		stat := m.regStatLocked()
		line := fmt.Sprintf("%s: %d,%d", c.name, *n, stat)
		if *n >= 2 && stat == 1 {
			line += `,"1A2B","01C3D4E5"` + m.actSuffix()
		}
		return ok(line)
	case opTest:
		return ok(fmt.Sprintf("%s: (0-%d)", c.name, max))
	case opSet:
		arg := strings.TrimSpace(c.arg)
		if arg == "" {
			arg = "0"
		}
		v, good := intArg(arg, 0, max)
		if !good {
			return cmeErr(50)
		}
		*n = v
		return ok()
	}
	return errResult()
}

func (s *session) copsLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		if m.regStatLocked() != 1 {
			return ok("+COPS: 0")
		}
		name := `"SimNet"`
		if m.set.copsFmt == 2 {
			name = `"00101"`
		}
		return ok(fmt.Sprintf("+COPS: 0,%d,%s%s", m.set.copsFmt, name, m.actSuffix()))
	case opTest:
		return ok(`+COPS: (2,"SimNet","SimNet","00101",7),,(0,1,2,3,4),(0,1,2)`)
	case opSet:
		a := splitArgs(c.arg)
		mode, good := intArg(a[0], 0, 4)
		if !good {
			return cmeErr(50)
		}
		if len(a) > 1 && a[1] != "" {
			f, good := intArg(a[1], 0, 2)
			if !good {
				return cmeErr(50)
			}
			if mode == 3 || mode == 0 || mode == 1 || mode == 4 {
				m.set.copsFmt = f
			}
		}
		return ok()
	case opExec:
		return ok()
	}
	return errResult()
}

func (s *session) cpmsLocked(c command) result {
	m := s.m
	counts := func() string {
		var parts []string
		for _, mem := range m.set.mem {
			st := m.stores[mem]
			parts = append(parts, fmt.Sprintf("%d,%d", st.used(), len(st.slots)))
		}
		return strings.Join(parts, ",")
	}
	switch c.op {
	case opRead:
		var parts []string
		for _, mem := range m.set.mem {
			st := m.stores[mem]
			parts = append(parts, fmt.Sprintf("%q,%d,%d", mem, st.used(), len(st.slots)))
		}
		return ok("+CPMS: " + strings.Join(parts, ","))
	case opTest:
		return ok(`+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")`)
	case opSet:
		a := splitArgs(c.arg)
		if len(a) > 3 {
			return cmsErr(302)
		}
		allowed := [3][]string{{"SM", "ME", "SR"}, {"SM", "ME"}, {"SM", "ME"}}
		mem := m.set.mem
		for i, v := range a {
			v = strings.ToUpper(v)
			if v == "" && i > 0 {
				continue
			}
			if !slices.Contains(allowed[i], v) {
				return cmsErr(302)
			}
			mem[i] = v
		}
		m.set.mem = mem
		m.retryHeldLocked() // a new receive memory may have room
		return ok("+CPMS: " + counts())
	}
	return errResult()
}

func (s *session) cnmiLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		v := m.set.cnmi
		return ok(fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", v[0], v[1], v[2], v[3], v[4]))
	case opTest:
		return ok("+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)")
	case opSet:
		a := splitArgs(c.arg)
		if len(a) > 5 {
			return cmsErr(303)
		}
		limits := [5]int{3, 3, 3, 2, 1}
		v := m.set.cnmi
		for i, x := range a {
			if x == "" {
				continue
			}
			n, good := intArg(x, 0, limits[i])
			if !good {
				return cmsErr(303)
			}
			v[i] = n
		}
		m.set.cnmi = v
		if v[0] != 0 {
			// 27.005: bfr 0 flushes the URCs buffered in mode 0, 1 clears them.
			if v[4] == 0 && m.listeningLocked() {
				for _, u := range m.taBuf {
					m.sess.post(u)
				}
			}
			m.taBuf = nil
		}
		m.retryHeldLocked()
		return ok()
	}
	return errResult()
}

// readStore is the memory +CMGR/+CMGL/+CMGD work on (+CPMS mem1).
func (m *Modem) readStoreLocked() *storage { return m.stores[m.set.mem[0]] }

func (m *Modem) pduHexLocked(t []byte) string {
	smsc := m.set.csca
	if smsc == "" {
		smsc = m.net.cfg.SMSC
	}
	return withSCA(smsc, t)
}

func (s *session) cmgrLocked(c command) result {
	m := s.m
	switch c.op {
	case opTest:
		return ok()
	case opSet:
		st := m.readStoreLocked()
		idx, good := intArg(c.arg, 0, 1<<20)
		if !good {
			return cmsErr(321)
		}
		r := st.get(idx)
		if r == nil {
			if idx == 0 && m.prof.ReadIndex0OK {
				return ok() // EC25 after its own `+CDSI: "SM",0`
			}
			return cmsErr(321)
		}
		line := fmt.Sprintf("+CMGR: %d,,%d", r.stat, len(r.tpdu))
		if r.stat == 0 {
			r.stat = 1
		}
		return ok(line, m.pduHexLocked(r.tpdu))
	}
	return errResult()
}

func (s *session) cmglLocked(c command) result {
	m := s.m
	want := 0 // 27.005 default: REC UNREAD
	switch c.op {
	case opTest:
		return ok("+CMGL: (0-4)")
	case opExec:
	case opSet:
		arg := strings.TrimSpace(c.arg)
		names := map[string]int{"REC UNREAD": 0, "REC READ": 1, "STO UNSENT": 2, "STO SENT": 3, "ALL": 4}
		if n, found := names[strings.ToUpper(unquote(arg))]; found && strings.HasPrefix(arg, `"`) {
			want = n
		} else if n, good := intArg(arg, 0, 4); good {
			want = n
		} else {
			return cmsErr(302)
		}
	default:
		return errResult()
	}
	var lines []string
	for i, r := range m.readStoreLocked().slots {
		if r == nil || (want != 4 && r.stat != want) {
			continue
		}
		lines = append(lines, fmt.Sprintf("+CMGL: %d,%d,,%d", i+1, r.stat, len(r.tpdu)), m.pduHexLocked(r.tpdu))
		if r.stat == 0 {
			r.stat = 1
		}
	}
	return ok(lines...)
}

func (s *session) cmgdLocked(c command) result {
	m := s.m
	st := m.readStoreLocked()
	switch c.op {
	case opTest:
		var used []string
		for i, r := range st.slots {
			if r != nil {
				used = append(used, strconv.Itoa(i+1))
			}
		}
		return ok(fmt.Sprintf("+CMGD: (%s),(0-4)", strings.Join(used, ",")))
	case opSet:
		a := splitArgs(c.arg)
		flag := 0
		if len(a) > 1 && a[1] != "" {
			f, good := intArg(a[1], 0, 4)
			if !good {
				return cmsErr(302)
			}
			flag = f
		}
		if flag == 0 {
			idx, good := intArg(a[0], 1, len(st.slots))
			if !good {
				return cmsErr(321)
			}
			st.slots[idx-1] = nil
		} else {
			del := map[int][]int{1: {1}, 2: {1, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}[flag]
			for i, r := range st.slots {
				if r != nil && slices.Contains(del, r.stat) {
					st.slots[i] = nil
				}
			}
		}
		m.memFullSent = false
		m.retryHeldLocked() // space freed: the network retries
		return ok()
	}
	return errResult()
}

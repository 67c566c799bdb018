package sim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/warthog618/sms/encoding/gsm7"
	"github.com/warthog618/sms/encoding/gsm7/charset"
	"github.com/warthog618/sms/encoding/ucs2"
)

// warthog618/sms builds its GSM-7 tables lazily and without
// synchronisation, so the first concurrent encodes race (the driver found
// this; modem/defects.go, defect 8). Build them before any goroutine runs.
func init() {
	charset.DefaultDecoder()
	charset.DefaultEncoder()
	charset.DefaultExtDecoder()
	charset.DefaultExtEncoder()
	for nli := charset.Start; nli < charset.End; nli++ {
		charset.NewDecoder(nli)
		charset.NewEncoder(nli)
		charset.NewExtDecoder(nli)
		charset.NewExtEncoder(nli)
	}
}

// Random USSD answer delay when Config.USSDDelay is 0 (docs/modems.md §6.5 says
// 1-5 s on real networks; shorter keeps tests quick).
const (
	ussdDelayMin = 100 * time.Millisecond
	ussdDelayMax = time.Second
)

// cusdLocked handles AT+CUSD (27.007 §7.15): the answer to a request comes
// later as an unsolicited "+CUSD: <m>[,<str>,<dcs>]".
func (s *session) cusdLocked(c command) result {
	m := s.m
	switch c.op {
	case opRead:
		return ok(fmt.Sprintf("+CUSD: %d", m.set.cusd))
	case opTest:
		return ok("+CUSD: (0-2)")
	case opExec:
		m.set.cusd = 0
		return ok()
	case opSet:
	default:
		return errResult()
	}
	a := splitArgs(c.arg)
	n := 0
	if a[0] != "" {
		v, good := intArg(a[0], 0, 2)
		if !good {
			return cmeErr(50)
		}
		n = v
	}
	if n == 2 {
		// Cancel the session: a pending answer never comes.
		m.ussdEpoch++
		return ok()
	}
	m.set.cusd = n
	if len(a) < 2 || a[1] == "" {
		return ok()
	}
	if m.regStatLocked() != 1 {
		return cmeErr(30) // no network service
	}
	code, err := m.decodeUSSDLocked(a[1])
	if err != nil {
		m.log.Info("sim: undecodable USSD request", "str", a[1], "err", err)
		return cmeErr(50)
	}
	dcs := m.prof.USSDDCS
	if dcs == 0 {
		dcs = 15
	}
	reply := "+CUSD: 4" // operation not supported
	if text, found := m.ussdReplies[strings.TrimSpace(code)]; found {
		enc, err := m.encodeUSSDLocked(text)
		if err != nil {
			m.log.Warn("sim: cannot encode USSD reply", "err", err)
		} else {
			reply = fmt.Sprintf(`+CUSD: 0,"%s",%d`, enc, dcs)
		}
	}
	m.log.Info("sim: USSD request", "code", code, "reply", reply)
	m.ussdEpoch++
	epoch := m.ussdEpoch
	m.later(m.ussdDelay(), func() {
		if m.ussdEpoch == epoch && m.set.cusd == 1 {
			m.emitLocked(reply)
		}
	})
	return ok()
}

func (m *Modem) ussdDelay() time.Duration {
	if m.cfg.USSDDelay > 0 {
		return m.cfg.USSDDelay
	}
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return ussdDelayMin + time.Duration(m.net.rng.Int64N(int64(ussdDelayMax-ussdDelayMin)))
}

// ussdEncoding is how strings cross the AT interface right now.
func (m *Modem) ussdEncoding(e USSDEncoding) USSDEncoding {
	if e == USSDCharset && m.set.cscs == "UCS2" {
		return USSDUCS2
	}
	return e
}

func (m *Modem) decodeUSSDLocked(str string) (string, error) {
	switch m.ussdEncoding(m.prof.USSDRequest) {
	case USSDPacked7:
		b, err := hex.DecodeString(str)
		if err != nil || len(b) == 0 {
			return "", errors.New("want packed 7-bit hex")
		}
		t, err := gsm7.Decode(gsm7.Unpack7BitUSSD(b, 0))
		return string(t), err
	case USSDUCS2:
		b, err := hex.DecodeString(str)
		if err != nil || len(b)%2 != 0 {
			return "", errors.New("want UCS-2 hex")
		}
		r, err := ucs2.Decode(b)
		return string(r), err
	}
	return str, nil
}

func (m *Modem) encodeUSSDLocked(text string) (string, error) {
	switch m.ussdEncoding(m.prof.USSDReply) {
	case USSDPacked7:
		u, err := gsm7.Encode([]byte(text))
		if err != nil {
			return "", err
		}
		return strings.ToUpper(hex.EncodeToString(gsm7.Pack7BitUSSD(u, 0))), nil
	case USSDUCS2:
		// UTF-16 rather than strict UCS-2, so any reply text encodes.
		u := utf16.Encode([]rune(text))
		b := make([]byte, 0, 2*len(u))
		for _, c := range u {
			b = append(b, byte(c>>8), byte(c))
		}
		return strings.ToUpper(hex.EncodeToString(b)), nil
	}
	return text, nil
}

package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/warthog618/sms/encoding/gsm7"
)

// USSDReply is the network's answer to a USSD request (+CUSD, 3GPP TS
// 27.007 §7.15).
type USSDReply struct {
	// Status is <m>: 0 done, 1 further action required (the driver has
	// closed the session with AT+CUSD=2), 2 terminated by the network,
	// 3 answered by another local client, 4 not supported, 5 network
	// time out.
	Status int `json:"status"`
	// Text is the decoded reply, "" when the network sent none.
	Text string `json:"text"`
	// DCS is the data coding scheme the modem reported, -1 if it gave none.
	DCS int `json:"dcs"`
}

// ussdMaxLines bounds a reply whose quoted text spans several lines.
const ussdMaxLines = 32

// USSD sends a USSD code such as "*100#" and returns the network's reply
// (AT+CUSD=1,"<code>",15, then the +CUSD: indication, which may come before
// or after the command's OK). It holds the port for the whole exchange, so
// it waits for a submit in flight and sends wait for it. A reply asking for
// further input (Status 1) is answered with AT+CUSD=2, closing the session.
// No reply within Config.USSDTimeout gives ErrTimeout (after an
// AT+CUSD=2 to cancel). A reply is returned with a nil error whatever its
// Status; the caller decides what 4 (not supported) or 5 (timeout) mean.
func (m *Modem) USSD(ctx context.Context, code string) (USSDReply, error) {
	if code == "" || len(code) > 160 || strings.ContainsAny(code, "\"\r\n\x1a\x1b") {
		return USSDReply{}, fmt.Errorf("modem: invalid USSD code %q", code)
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return USSDReply{}, err
	}
	defer unlock()
	if m.needResync {
		if err := m.resync(ctx); err != nil {
			return USSDReply{}, fmt.Errorf("before USSD: %w", err)
		}
	}
	m.f.expectUSSD(true)
	defer m.f.expectUSSD(false)
	if err := m.ussdRequest(ctx, code); err != nil {
		return USSDReply{}, err
	}
	t := time.NewTimer(m.cfg.USSDTimeout)
	defer t.Stop()
	for {
		select {
		case <-m.f.ussdSignal:
			for _, l := range m.f.takeUSSD() {
				r, ok := parseCUSD(l, m.quirk.packedUSSD && !m.ussdPlain)
				if !ok {
					m.log.Debug("unparsable +CUSD line", "line", l)
					continue
				}
				if r.Status == 1 {
					// The network waits for an answer we don't have: close
					// the session so the next request starts a new one.
					if err := m.tolerate(context.WithoutCancel(ctx), "+CUSD=2"); err != nil {
						m.log.Debug("closing the USSD session", "error", err)
					}
				}
				return r, nil
			}
		case <-t.C:
			m.cancelUSSD(ctx)
			return USSDReply{}, fmt.Errorf("USSD %s: %w: no +CUSD within %v", code, ErrTimeout, m.cfg.USSDTimeout)
		case <-ctx.Done():
			m.cancelUSSD(ctx)
			return USSDReply{}, ctx.Err()
		case <-m.f.done:
			return USSDReply{}, m.closedErr()
		}
	}
}

// cancelUSSD ends a session whose reply never came. Called with sem held.
func (m *Modem) cancelUSSD(ctx context.Context) {
	if err := m.tolerate(context.WithoutCancel(ctx), "+CUSD=2"); err != nil {
		m.log.Debug("cancelling the USSD session", "error", err)
	}
}

// ussdRequest sends AT+CUSD=1. Huawei wants the code packed 7-bit hex; the
// E1752 refuses +CUSD until AT^USSDMODE=0, after which it may want it in
// plain text (python-gsmmodem). The variant that worked is remembered.
// Called with sem held.
func (m *Modem) ussdRequest(ctx context.Context, code string) error {
	cmd := func(packed bool) string {
		s := code
		if packed {
			s = packUSSD(code)
		}
		return `+CUSD=1,"` + s + `",15`
	}
	packed := m.quirk.packedUSSD && !m.ussdPlain
	_, err := m.do(ctx, cmd(packed))
	if err == nil || fatal(err) || errors.Is(err, ErrTimeout) || !m.quirk.ussdMode {
		return err
	}
	m.log.Info("+CUSD refused, trying AT^USSDMODE=0", "error", err)
	if err := m.tolerate(ctx, "^USSDMODE=0"); err != nil {
		return err
	}
	for _, p := range []bool{packed, !packed} {
		if _, err = m.do(ctx, cmd(p)); err == nil {
			m.ussdPlain = !p
			return nil
		}
		if fatal(err) || errors.Is(err, ErrTimeout) {
			return err
		}
	}
	return err
}

// packUSSD packs a code into GSM 7-bit septets, hex encoded, as Huawei
// modems want it (gammu F_ENCODED_USSD; warthog618 cmd/ussd).
func packUSSD(code string) string {
	septets, err := gsm7.Encode([]byte(code))
	if err != nil {
		septets = []byte(code) // digits, * and # are the same in both
	}
	return strings.ToUpper(hex.EncodeToString(gsm7.Pack7BitUSSD(septets, 0)))
}

// parseCUSD parses "+CUSD: <m>[,<str>[,<dcs>]]" and decodes <str>. packed
// says the modem packs 7-bit text into hex (Huawei).
func parseCUSD(line string, packed bool) (USSDReply, bool) {
	if len(line) < 6 || !strings.EqualFold(line[:6], "+CUSD:") {
		return USSDReply{}, false
	}
	head, body, hasBody := strings.Cut(line[6:], ",")
	st, err := strconv.Atoi(strings.TrimSpace(head))
	if err != nil {
		return USSDReply{}, false
	}
	r := USSDReply{Status: st, DCS: -1}
	if !hasBody {
		return r, true
	}
	body = strings.TrimSpace(body)
	dcs := func(tail string) {
		if d, err := strconv.Atoi(strings.TrimSpace(tail)); err == nil && d >= 0 && d <= 255 {
			r.DCS = d
		}
	}
	var s string
	if strings.HasPrefix(body, `"`) {
		end := strings.LastIndexByte(body, '"')
		if end == 0 {
			end = len(body) // the closing quote never came
		}
		s = body[1:end]
		if _, tail, ok := strings.Cut(body[min(end+1, len(body)):], ","); ok {
			dcs(tail)
		}
	} else {
		// Unquoted (gammu 01-E160): the text may hold commas, the dcs is
		// the last field only when it is a number.
		s = body
		if i := strings.LastIndexByte(body, ','); i >= 0 {
			dcs(body[i+1:])
			if r.DCS >= 0 {
				s = strings.TrimSpace(body[:i])
			}
		}
	}
	r.Text = DecodeUSSD(s, r.DCS, packed)
	return r, true
}

// ussdAlphabet is the character set a USSD DCS announces.
type ussdAlphabet int

const (
	alphaGSM7     ussdAlphabet = iota
	alphaGSM7Lang              // DCS 0x10: the text starts with a language and CR
	alpha8Bit
	alphaUCS2
	alphaUCS2Lang // DCS 0x11: two packed GSM 7-bit language characters first
)

// dcsAlphabet reads a cell broadcast / USSD data coding scheme (3GPP TS
// 23.038 §5). Unknown and reserved values mean the default alphabet.
func dcsAlphabet(dcs int) ussdAlphabet {
	switch {
	case dcs == 0x10:
		return alphaGSM7Lang
	case dcs == 0x11:
		return alphaUCS2Lang
	case dcs >= 0x40 && dcs <= 0x7F, dcs >= 0x90 && dcs <= 0x9F:
		// General data coding (with or without UDH): bits 3-2.
		switch (dcs >> 2) & 3 {
		case 1:
			return alpha8Bit
		case 2:
			return alphaUCS2
		}
	case dcs >= 0xF0 && dcs <= 0xFF:
		if dcs&0x04 != 0 {
			return alpha8Bit
		}
	}
	return alphaGSM7
}

// DecodeUSSD decodes the <str> of a +CUSD reply (without its quotes) as
// modems actually send it (docs/modems.md §1.2 and §4.1):
//
//   - plain text, already decoded by the modem (most modems);
//   - GSM 7-bit packed into hex (Huawei, dcs 15, or no dcs at all);
//   - UCS-2 hex (dcs 72; also with dcs 15 on the Quectel M35, and with a
//     garbage tail after a U+0000 or U+FFFF on the Telit HE910-D);
//   - 8-bit hex with dcs 0.
//
// When the dcs and the text disagree, the text is tried as each of these
// and the first plausible reading wins; packed says the modem is known to
// pack (Huawei), which makes that reading the first tried.
func DecodeUSSD(s string, dcs int, packed bool) string {
	hexLike := len(s) >= 2 && len(s)%2 == 0 && isHex(s)
	switch dcsAlphabet(dcs) {
	case alphaUCS2, alphaUCS2Lang:
		if hexLike {
			b, _ := hex.DecodeString(s)
			if dcsAlphabet(dcs) == alphaUCS2Lang && len(b) >= 2 {
				b = b[2:] // the language, packed GSM 7-bit
			}
			if t, ok := decodeUCS2(b); ok {
				return t
			}
		}
		return plainUSSD(s)
	case alpha8Bit:
		if hexLike {
			b, _ := hex.DecodeString(s)
			return decode8Bit(b)
		}
		return plainUSSD(s)
	}
	text := s
	if hexLike {
		text = guessHexUSSD(s, packed)
	} else {
		text = plainUSSD(s)
	}
	if dcsAlphabet(dcs) == alphaGSM7Lang && len(text) > 3 {
		if i := strings.IndexAny(text, "\r\n"); i >= 0 && i <= 3 {
			text = text[i+1:]
		}
	}
	return text
}

// guessHexUSSD decodes a hex string that came with a 7-bit dcs (or none),
// trying the specific readings first: UCS-2 needs printable characters and
// some ASCII (00xx) units, 8-bit needs valid printable text; packed 7-bit
// decodes to something from any input, so it comes last, and from a modem
// not known to pack only when the result looks like a sentence.
func guessHexUSSD(s string, packed bool) string {
	b, _ := hex.DecodeString(s)
	if len(s)%4 == 0 {
		if t, ok := decodeUCS2(b); ok && hasASCIIUnit(b) {
			return t
		}
	}
	if t := string(b); utf8.ValidString(t) && plausible(t, true) {
		return t
	}
	if packed || len(b) >= 4 {
		if t, err := gsm7.Decode(gsm7.Unpack7BitUSSD(b, 0)); err == nil && plausible(string(t), !packed) {
			return string(t)
		}
	}
	return plainUSSD(s)
}

// decodeUCS2 decodes big-endian UTF-16 and cuts the garbage some modems
// append after a U+0000 or U+FFFF (Telit HE910-D, gammu issue 377). It
// fails on unpaired surrogates and on unprintable characters.
func decodeUCS2(b []byte) (string, bool) {
	if len(b) < 2 || len(b)%2 != 0 {
		return "", false
	}
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u := uint16(b[i])<<8 | uint16(b[i+1])
		if u == 0 || u == 0xFFFF {
			break
		}
		units = append(units, u)
	}
	var sb strings.Builder
	for _, r := range utf16.Decode(units) {
		if r == utf8.RuneError || !(unicode.IsPrint(r) || r == '\n' || r == '\r') {
			return "", false
		}
		sb.WriteRune(r)
	}
	return sb.String(), true
}

// hasASCIIUnit reports whether some UCS-2 unit is printable ASCII: real
// text has spaces, digits or punctuation, random hex rarely has 00xx.
func hasASCIIUnit(b []byte) bool {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && (b[i+1] >= 0x20 && b[i+1] < 0x7F || b[i+1] == '\n') {
			return true
		}
	}
	return false
}

// decode8Bit reads 8-bit data as UTF-8 when valid, else as Latin-1.
func decode8Bit(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// plausible says whether t reads like a human message: no control
// characters but line breaks, and (strict) at least 85% ASCII letters,
// digits, spaces and common punctuation, which random bytes decoded as
// GSM 7-bit reach only about two thirds of the time.
func plausible(t string, strict bool) bool {
	if t == "" {
		return false
	}
	n, good := 0, 0
	for _, r := range t {
		n++
		switch {
		case r == '\n' || r == '\r':
			good++
		case r < 0x20 || r == 0x7F || r == utf8.RuneError:
			return false
		case r < 0x7F && (r == ' ' || unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".,:;!?*#()-+/%'\"=@&$", r)):
			good++
		case !strict && unicode.IsPrint(r):
			good++
		}
	}
	return good*100 >= n*85
}

// plainUSSD decodes a text the modem passed through. Modems in the "GSM"
// character set give the GSM 7-bit code points as bytes: "w{hlen" is
// "wählen" (gammu tests/at-ussd/03), '@' arrives as 0x00 and '$' as 0x02.
// The bytes only GSM uses ([\]^{|}~`, controls) are mapped so; '$', '@' and
// '_' stay ASCII because modems in IRA send them that way.
func plainUSSD(s string) string {
	raw := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\r' || strings.IndexByte("[\\]^{|}~`", c) >= 0 {
			raw = true
			break
		}
	}
	if !raw || !utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			// Multi-byte UTF-8 from a modem in another charset: keep it.
			r, n := utf8.DecodeRuneInString(s[i:])
			sb.WriteRune(r)
			i += n - 1
		case c == 0x1B && i+1 < len(s):
			if t, err := gsm7.Decode([]byte{c, s[i+1]}); err == nil {
				sb.Write(t)
				i++
				continue
			}
			sb.WriteByte(c)
		case c < 0x20 && c != '\n' && c != '\r' || strings.IndexByte("[\\]^{|}~`", c) >= 0:
			if t, err := gsm7.Decode([]byte{c}); err == nil {
				sb.Write(t)
				continue
			}
			sb.WriteByte(c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

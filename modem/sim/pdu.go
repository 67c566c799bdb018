package sim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// decodedSubmit is a parsed +CMGS PDU.
type decodedSubmit struct {
	pdu       *tpdu.TPDU
	tpduLen   int
	sca       string // the SMSC typed before the TPDU, "" for the SIM's
	to        string
	text      string
	srr       bool
	concatRef int
	seq       int
	total     int
}

var errBadPDU = errors.New("invalid PDU")

// decodeSubmit parses "SCA + SMS-SUBMIT" hex as typed after the +CMGS prompt
// and checks it against the announced TPDU length.
func decodeSubmit(hexPDU string, wantLen int) (*decodedSubmit, error) {
	raw, err := hex.DecodeString(hexPDU)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadPDU, err)
	}
	p, err := pdumode.UnmarshalBinary(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: sca: %v", errBadPDU, err)
	}
	if len(p.TPDU) != wantLen {
		return nil, fmt.Errorf("%w: +CMGS length %d, TPDU has %d octets", errBadPDU, wantLen, len(p.TPDU))
	}
	if len(p.TPDU) == 0 || tpdu.FirstOctet(p.TPDU[0]).MTI() != tpdu.MtSubmit {
		return nil, fmt.Errorf("%w: not an SMS-SUBMIT", errBadPDU)
	}
	t, err := sms.Unmarshal(p.TPDU, sms.AsMO)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadPDU, err)
	}
	d := &decodedSubmit{
		pdu:     t,
		tpduLen: len(p.TPDU),
		sca:     p.SMSC.Addr,
		to:      t.DA.Number(),
		srr:     t.FirstOctet.SRR(),
		seq:     1,
		total:   1,
	}
	if segs, seq, ref, ok := t.ConcatInfo(); ok {
		d.concatRef, d.seq, d.total = ref, seq, segs
	}
	d.text = partText(t)
	return d, nil
}

// partText decodes one part's user data as far as it goes: a UCS-2
// surrogate pair split across parts leaves a dangling half, which is
// dropped here and recovered when the whole message is decoded.
func partText(t *tpdu.TPDU) string {
	if b, err := sms.Decode([]*tpdu.TPDU{t}); err == nil {
		return string(b)
	}
	a, _ := t.Alphabet()
	b, _ := tpdu.DecodeUserData(t.UD, t.UDH, a, tpdu.WithAllCharsets)
	return string(b)
}

// submitToDeliver turns an accepted SUBMIT into the DELIVER the recipient
// sees when it is another simulated modem.
func submitToDeliver(s *tpdu.TPDU, from string, scts time.Time) ([]byte, error) {
	d := tpdu.TPDU{
		Direction: tpdu.MT,
		OA:        senderAddress(from),
		PID:       s.PID,
		DCS:       s.DCS,
		SCTS:      tpdu.Timestamp{Time: scts.Truncate(time.Second)},
		UDH:       s.UDH,
		UD:        s.UD,
	}
	if err := d.SetSmsType(tpdu.SmsDeliver); err != nil {
		return nil, err
	}
	if len(s.UDH) > 0 {
		d.FirstOctet |= tpdu.FoUDHI
	}
	return d.MarshalBinary()
}

// statusReport builds an SMS-STATUS-REPORT TPDU.
func statusReport(mr int, ra tpdu.Address, scts, dt time.Time, st byte) ([]byte, error) {
	r := tpdu.TPDU{
		Direction: tpdu.MT,
		MR:        byte(mr),
		RA:        ra,
		SCTS:      tpdu.Timestamp{Time: scts.Truncate(time.Second)},
		DT:        tpdu.Timestamp{Time: dt.Truncate(time.Second)},
		ST:        st,
	}
	if err := r.SetSmsType(tpdu.SmsStatusReport); err != nil {
		return nil, err
	}
	// TP-MMS set: no more messages waiting, as real SMSCs send it.
	r.FirstOctet |= tpdu.FoMMS
	return r.MarshalBinary()
}

// withSCA prefixes a TPDU with the service centre address, as +CMGR, +CMGL,
// +CMT and +CDS present it.
func withSCA(smsc string, t []byte) string {
	p := pdumode.PDU{SMSC: pdumode.SMSCAddress{Address: tpdu.NewAddress(tpdu.FromNumber(smsc))}, TPDU: t}
	s, err := p.MarshalHexString()
	if err != nil {
		// An unencodable SMSC: present "use default" instead.
		return "00" + strings.ToUpper(hex.EncodeToString(t))
	}
	return strings.ToUpper(s)
}

// senderAddress encodes an originator: "+digits" international, digits
// unknown type, anything else alphanumeric ("MyBank").
func senderAddress(from string) tpdu.Address {
	from = strings.TrimSpace(from)
	if n := normalizeNumber(from); n != "" && n != "+" && len(n) == len(strings.ReplaceAll(from, " ", "")) {
		if strings.HasPrefix(n, "+") {
			return tpdu.NewAddress(tpdu.FromNumber(n))
		}
		a := tpdu.NewAddress()
		a.SetTypeOfNumber(tpdu.TonUnknown)
		a.SetNumberingPlan(tpdu.NpISDN)
		a.Addr = n
		return a
	}
	if len(from) > 11 {
		from = from[:11] // alphanumeric senders are at most 11 characters
	}
	a := tpdu.NewAddress()
	a.SetTypeOfNumber(tpdu.TonAlphanumeric)
	a.SetNumberingPlan(tpdu.NpUnknown)
	a.Addr = from
	return a
}

// normalizeNumber keeps a leading '+' and the digits; it returns "" when s
// contains anything else besides spaces, dashes and parentheses.
func normalizeNumber(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	return b.String()
}

// sameNumber compares two numbers by digits, so "+1555…" matches a national
// "1555…" DA.
func sameNumber(a, b string) bool {
	a, b = normalizeNumber(a), normalizeNumber(b)
	if a == "" || b == "" {
		return false
	}
	return strings.TrimPrefix(a, "+") == strings.TrimPrefix(b, "+")
}

// padDigits cuts or zero-pads (on the left) a digit string to n digits.
func padDigits(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return strings.Repeat("0", n-len(s)) + s
}

func lastDigits(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// luhnComplete appends the Luhn check digit (IMEI, ICCID).
func luhnComplete(s string) string {
	sum := 0
	double := true
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return s + string(rune('0'+(10-sum%10)%10))
}

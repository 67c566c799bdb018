package modem

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/gsm7"
	"github.com/warthog618/sms/encoding/gsm7/charset"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
	"github.com/warthog618/sms/encoding/ucs2"
)

// Plan says how a text will be sent: alphabet, parts and length.
type Plan struct {
	Encoding  string   `json:"encoding"`   // "GSM-7" or "UCS-2"
	Parts     int      `json:"parts"`      // number of SMS-SUBMIT TPDUs
	Units     int      `json:"units"`      // septets (GSM-7) or UTF-16 code units (UCS-2)
	PerPart   int      `json:"per_part"`   // 160/153 (GSM-7) or 70/67 (UCS-2)
	UCS2Chars []string `json:"ucs2_chars"` // distinct characters that forced UCS-2, in order of appearance
}

// Encodings named in Plan.Encoding.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Sizes per 3GPP TS 23.040: 140 octets of user data; a concatenation
// header (6 octets with its length) leaves 153 septets or 134 octets.
const (
	gsm7Single = 160
	gsm7Multi  = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

type gsmTables struct {
	basic charset.Encoder
	ext   charset.Encoder
}

// gsmAlphabet is built once; the maps are never written after that.
var gsmAlphabet = sync.OnceValue(func() gsmTables {
	return gsmTables{basic: charset.DefaultEncoder(), ext: charset.DefaultExtEncoder()}
})

// septets returns how many septets r takes in the GSM-7 default alphabet
// (2 for the extension table), or 0 when it needs UCS-2. U+001B is the
// escape code itself, not a character, so it forces UCS-2.
func septets(r rune) int {
	if r == 0x1b {
		return 0
	}
	t := gsmAlphabet()
	if _, ok := t.basic[r]; ok {
		return 1
	}
	if _, ok := t.ext[r]; ok {
		return 2
	}
	return 0
}

// PlanText computes the encoding and part count of text. GSM-7 (default
// alphabet plus extension table, where extension characters count as two
// septets) is used when every character fits, otherwise UCS-2. Parts are
// filled greedily and never split an escape pair or a surrogate pair, the
// same way EncodeSubmit (and warthog618/sms) cut them.
func PlanText(text string) Plan {
	var ucs []string
	seen := map[rune]bool{}
	units := 0
	var costs []int
	for _, r := range text {
		n := septets(r)
		if n == 0 && !seen[r] {
			seen[r] = true
			ucs = append(ucs, string(r))
		}
		units += n
		costs = append(costs, n)
	}
	if len(ucs) == 0 {
		return Plan{Encoding: EncodingGSM7, Units: units, Parts: countParts(costs, units, gsm7Single, gsm7Multi), PerPart: perPart(units, gsm7Single, gsm7Multi)}
	}
	units = 0
	costs = costs[:0]
	for _, r := range text {
		n := utf16.RuneLen(r)
		if n < 0 { // invalid rune: encoded as U+FFFD
			n = 1
		}
		units += n
		costs = append(costs, n)
	}
	return Plan{Encoding: EncodingUCS2, Units: units, Parts: countParts(costs, units, ucs2Single, ucs2Multi), PerPart: perPart(units, ucs2Single, ucs2Multi), UCS2Chars: ucs}
}

func perPart(units, single, multi int) int {
	if units <= single {
		return single
	}
	return multi
}

// countParts fills parts greedily with indivisible items of the given costs.
func countParts(costs []int, units, single, multi int) int {
	if units <= single {
		return 1
	}
	parts, cur := 1, 0
	for _, c := range costs {
		if cur+c > multi {
			parts++
			cur = 0
		}
		cur += c
	}
	return parts
}

// fixedCounter is a tpdu.Counter that always returns the same value. It
// replaces the per-call counters of sms.Encode, which made every
// concatenation reference 1 (docs/modems.md §3.1, defect 3).
type fixedCounter int

func (c fixedCounter) Count() int { return int(c) }

// EncodeSubmit builds the SMS-SUBMIT TPDUs for text to the number to: one
// per part, with TP-SRR set (a status report is requested for each part),
// TP-MR 0 (the modem assigns the real one and returns it in +CMGS) and, for
// multipart texts, an 8-bit concatenation header carrying concatRef. The
// caller picks concatRef per message so that two long texts to the same
// phone are not merged (defect 3). The part count equals PlanText(text).Parts.
func EncodeSubmit(to string, text string, concatRef uint8) ([]Submit, error) {
	da, err := destination(to)
	if err != nil {
		return nil, err
	}
	plan := PlanText(text)
	var ud []byte
	var dcs tpdu.DCS
	if plan.Encoding == EncodingGSM7 {
		ud, err = gsm7.Encode([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("encode GSM-7: %w", err)
		}
		dcs = 0x00 // GSM-7 default alphabet, no class
	} else {
		ud = ucs2.Encode([]rune(text))
		dcs = tpdu.DcsUCS2Data
	}
	t, err := tpdu.NewSubmit(tpdu.WithDA(da))
	if err != nil {
		return nil, err
	}
	t.FirstOctet |= tpdu.FoSRR
	t.SetDCS(byte(dcs))
	var pdus []tpdu.TPDU
	if len(ud) == 0 {
		pdus = []tpdu.TPDU{*t} // an empty text is one empty part
	} else {
		pdus = t.Segment(ud, tpdu.WithConcatRef(fixedCounter(concatRef)), tpdu.WithMR(fixedCounter(0)))
	}
	if len(pdus) != plan.Parts {
		// Guards the promise that the gateway's plan is what goes out.
		return nil, fmt.Errorf("encode: %d parts, plan said %d", len(pdus), plan.Parts)
	}
	out := make([]Submit, len(pdus))
	for i := range pdus {
		b, err := pdus[i].MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal part %d: %w", i+1, err)
		}
		out[i] = Submit{TPDU: b, Seq: i + 1, Of: len(pdus)}
	}
	return out, nil
}

// destination builds TP-DA: "+" means international, anything else is sent
// as dialled (type unknown, ISDN plan) so national and short codes work.
func destination(to string) (tpdu.Address, error) {
	num := strings.TrimSpace(to)
	intl := strings.HasPrefix(num, "+")
	num = strings.TrimPrefix(num, "+")
	if num == "" || len(num) > 20 {
		return tpdu.Address{}, fmt.Errorf("invalid destination %q", to)
	}
	for _, c := range num {
		if !(c >= '0' && c <= '9' || c == '*' || c == '#') {
			return tpdu.Address{}, fmt.Errorf("invalid destination %q: only digits, * and # are allowed", to)
		}
	}
	a := tpdu.NewAddress(tpdu.FromNumber(num))
	if !intl {
		a.SetTypeOfNumber(tpdu.TonUnknown)
	}
	return a, nil
}

// DecodeParts decodes the text of a received message from its SMS-DELIVER
// TPDUs (InboundPart.TPDU), which the caller passes sorted by Seq.
func DecodeParts(tpdus [][]byte) (string, error) {
	if len(tpdus) == 0 {
		return "", errors.New("no parts")
	}
	segs := make([]*tpdu.TPDU, len(tpdus))
	for i, b := range tpdus {
		t, err := unmarshalDeliver(b)
		if err != nil {
			return "", fmt.Errorf("part %d: %w", i+1, err)
		}
		segs[i] = t
	}
	b, err := sms.Decode(segs)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func unmarshalDeliver(b []byte) (*tpdu.TPDU, error) {
	if len(b) == 0 || b[0]&0x03 != 0x00 {
		return nil, errors.New("not an SMS-DELIVER")
	}
	t, err := sms.Unmarshal(b)
	if err != nil {
		// A padded SIM record (defect 6) is overlength: retry without it.
		if trimmed := bytes.TrimRight(b, "\xff"); len(trimmed) < len(b) {
			if t2, err2 := sms.Unmarshal(trimmed); err2 == nil {
				return t2, nil
			}
		}
		return nil, err
	}
	return t, nil
}

// ParseStored decodes a PDU as +CMGR, +CMGL, +CMT or +CDS return it: hex,
// with the SMSC address in front, and declaredLen the TPDU length the modem
// announced (0 when unknown). The direction comes from the TP-MTI bits of
// the first TPDU octet, not from <stat>, because status reports are also
// stored with stat 3 (gammu tests/at-sms/32, 34, 36):
// 00 → SMS-DELIVER (deliver), 10 → SMS-STATUS-REPORT (report), 01 → a
// stored SMS-SUBMIT (both nil, no error). SIM record padding (trailing 0xFF,
// bytes past the declared length) is removed when the codec rejects the
// padded form (defect 6).
func ParseStored(hexPDU string, declaredLen int) (deliver *InboundPart, report *StatusReport, err error) {
	raw, err := decodeHex(hexPDU)
	if err != nil {
		return nil, nil, err
	}
	var p pdumode.PDU
	if err := p.UnmarshalBinary(raw); err != nil {
		return nil, nil, fmt.Errorf("SMSC address: %w", err)
	}
	t := p.TPDU
	if len(t) == 0 {
		return nil, nil, errors.New("empty TPDU")
	}
	switch t[0] & 0x03 {
	case 0x00:
		var firstErr error
		for _, c := range storedCandidates(t, declaredLen) {
			d, err := parseDeliver(c)
			if err == nil {
				return d, nil, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, nil, firstErr
	case 0x02:
		var firstErr error
		for _, c := range storedCandidates(t, declaredLen) {
			r, err := parseStatusReport(c)
			if err == nil {
				return nil, r, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		// The optional tail (PI, PID, DCS, UD) is the usual culprit; the
		// mandatory part is all the gateway needs. This also keeps MR and
		// times of the ZTE report whose RA is garbage.
		if r, ok := statusReportHead(t); ok {
			return nil, r, nil
		}
		return nil, nil, firstErr
	case 0x01:
		// A stored SMS-SUBMIT (MO). Decoding it needs sms.AsMO; without
		// it the codec reads it as a SUBMIT-REPORT and returns garbage.
		var firstErr error
		for _, c := range storedCandidates(t, declaredLen) {
			_, err := sms.Unmarshal(c, sms.AsMO)
			if err == nil {
				return nil, nil, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, nil, fmt.Errorf("stored SMS-SUBMIT: %w", firstErr)
	}
	return nil, nil, fmt.Errorf("reserved TP-MTI in first octet %#02x", t[0])
}

// decodeHex accepts the PDU line as modems print it: upper or lower case,
// surrounding spaces or quotes.
func decodeHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "\"")
	if len(s)%2 == 1 {
		s = s[:len(s)-1] // a truncated nibble can't be decoded
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("PDU hex: %w", err)
	}
	return b, nil
}

// storedCandidates lists the readings of a stored TPDU to try, in order
// (defect 6). SIM records are padded with 0xFF (EF_SMSR is 30 bytes, EF_SMS
// 176, 3GPP TS 31.102 §4.2.25/4.2.32) and some phones return the whole
// record from +CMGR (gammu tests/at-sms/32); the codec then reads the first
// 0xFF as TP-PI and underflows. Status reports are tried without trailing
// 0xFF first (gammu ignores 0xFF for this reason, gsmsms.c:672). The
// declared length is not trusted blindly either: gammu 22 declares 78 for a
// 159-octet DELIVER.
func storedCandidates(t []byte, declaredLen int) [][]byte {
	var out [][]byte
	add := func(b []byte) {
		if len(b) == 0 {
			return
		}
		for _, o := range out {
			if bytes.Equal(o, b) {
				return
			}
		}
		out = append(out, b)
	}
	trimmed := bytes.TrimRight(t, "\xff")
	if t[0]&0x03 == 0x02 {
		add(trimmed)
	}
	add(t)
	add(trimmed)
	if declaredLen > 0 && declaredLen < len(t) {
		add(t[:declaredLen])
		add(bytes.TrimRight(t[:declaredLen], "\xff"))
	}
	return out
}

func parseDeliver(t []byte) (*InboundPart, error) {
	d, err := sms.Unmarshal(t)
	if err != nil {
		return nil, fmt.Errorf("SMS-DELIVER: %w", err)
	}
	p := &InboundPart{
		From:  d.OA.Number(),
		SCTS:  d.SCTS.Time,
		Seq:   1,
		Total: 1,
		TPDU:  append([]byte(nil), t...),
	}
	if segs, seq, ref, ok := d.ConcatInfo(); ok && segs > 1 {
		p.ConcatRef, p.Seq, p.Total = ref, seq, segs
	}
	// Best effort: a segment may end in half a surrogate pair.
	if b, err := sms.Decode([]*tpdu.TPDU{d}); err == nil {
		p.Text = string(b)
	}
	return p, nil
}

func parseStatusReport(t []byte) (*StatusReport, error) {
	d, err := sms.Unmarshal(t)
	if err != nil {
		return nil, fmt.Errorf("SMS-STATUS-REPORT: %w", err)
	}
	return &StatusReport{
		MR:        int(d.MR),
		Recipient: d.RA.Number(),
		SCTS:      d.SCTS.Time,
		Discharge: d.DT.Time,
		Status:    d.ST,
	}, nil
}

// statusReportHead decodes the mandatory fields of an SMS-STATUS-REPORT by
// hand: MR, RA, SCTS, DT, ST. It keeps MR and the times even when RA is
// garbage, as in the ZTE capture of python-gsmmodem's test_pdu.py.
func statusReportHead(t []byte) (*StatusReport, bool) {
	if len(t) < 4 {
		return nil, false
	}
	mr := t[1]
	digits := int(t[2])
	ri := 4 + (digits+1)/2
	if len(t) < ri+15 {
		return nil, false
	}
	var ra tpdu.Address
	recipient := strings.ToUpper(hex.EncodeToString(t[4:ri]))
	if _, err := ra.UnmarshalBinary(t[2:ri]); err == nil {
		recipient = ra.Number()
	}
	var scts, dt tpdu.Timestamp
	if scts.UnmarshalBinary(t[ri:ri+7]) != nil || dt.UnmarshalBinary(t[ri+7:ri+14]) != nil {
		return nil, false
	}
	return &StatusReport{MR: int(mr), Recipient: recipient, SCTS: scts.Time, Discharge: dt.Time, Status: t[ri+14]}, true
}

// Outcome classifies TP-ST per 3GPP TS 23.040 §9.2.3.15: 0x00-0x1F
// delivered, 0x20-0x3F the SC is still trying, anything from 0x40 on is
// final (0x40-0x5F permanent, 0x60-0x7F the SC gave up).
func (r StatusReport) Outcome() Outcome {
	switch {
	case r.Status < 0x20:
		return OutcomeDelivered
	case r.Status < 0x40:
		return OutcomePending
	}
	return OutcomeFailed
}

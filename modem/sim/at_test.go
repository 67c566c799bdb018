package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/sms/encoding/tpdu"
)

func TestIdentityAndStatus(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)

	// Echo is on after boot: the command comes back, terminated by CR.
	lines, final := c.cmd("AT")
	if final != "OK" || !slices.Equal(lines, []string{"AT"}) {
		t.Fatalf("AT: got %q %q, want echo and OK", lines, final)
	}
	c.ok("ATE0")
	info := m.Info()
	tests := []struct {
		cmd  string
		want []string
	}{
		{"AT", nil},
		{"at+cgmi", []string{"SIMULATOR"}},
		{"AT+CGMM", []string{"GSM-1"}},
		{"AT+CGMR", []string{"1.0.0"}},
		{"AT+CGSN", []string{info.IMEI}},
		{"AT+GSN", []string{info.IMEI}},
		{"AT+CIMI", []string{info.IMSI}},
		{"AT+CCID", []string{"+CCID: " + info.ICCID}},
		{"AT+GCAP", []string{"+GCAP: +CGSM,+FCLASS,+DS"}},
		{"AT+CPIN?", []string{"+CPIN: READY"}},
		{"AT+CSQ", []string{"+CSQ: 20,99"}},
		{"AT+CREG?", []string{"+CREG: 0,1"}},
		{"AT+CGREG?", []string{"+CGREG: 0,1"}},
		{"AT+CEREG?", []string{"+CEREG: 0,1"}},
		{"AT+COPS?", []string{`+COPS: 0,0,"SimNet",7`}},
		{"AT+COPS=3,2", nil},
		{"AT+COPS?", []string{`+COPS: 0,2,"00101",7`}},
		{"AT+CFUN?", []string{"+CFUN: 1"}},
		{"AT+CFUN=1", nil},
		{"AT+CSCS?", []string{`+CSCS: "GSM"`}},
		{`AT+CSCS="UCS2"`, nil},
		{"AT+CSCA?", []string{`+CSCA: "+15559990000",145`}},
		{"AT+CMGF?", []string{"+CMGF: 0"}},
		{"AT+CMGF=0", nil},
		{"AT+CSMS?", []string{"+CSMS: 0,1,1,1"}},
		{"AT+CSMS=0", []string{"+CSMS: 1,1,1"}},
		{"AT+CMMS=2", nil},
		{"AT+CMMS?", []string{"+CMMS: 2"}},
		{"AT+CMEE?", []string{"+CMEE: 0"}},
		{"AT+CMEE=1;+CREG=2", nil},
		{"AT+CREG?", []string{`+CREG: 2,1,"1A2B","01C3D4E5",7`}},
		{"AT+CMEE?", []string{"+CMEE: 1"}},
		{"AT+CSQ;+CPIN?", []string{"+CSQ: 20,99", "+CPIN: READY"}},
		{"ATI", []string{"Manufacturer: SIMULATOR", "Model: GSM-1", "Revision: 1.0.0", "IMEI: " + info.IMEI, "+GCAP: +CGSM,+FCLASS,+DS"}},
		{"AT&F", nil},
	}
	for _, tt := range tests {
		got := c.ok(tt.cmd)
		if tt.cmd == "AT&F" {
			// Factory reset turns echo back on.
			break
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.cmd, got, tt.want)
		}
	}
	if lines := c.ok("AT"); !slices.Equal(lines, []string{"AT"}) {
		t.Errorf("after AT&F: got %q, want echo back on", lines)
	}
	c.ok("ATE0")
	for _, bad := range []string{"AT+FOO", "AT+CGMI=5", "AT+CREG=9", "AT+CMGF=1", "ATE7"} {
		if _, final := c.cmd(bad); final != "ERROR" {
			t.Errorf("%s: got final %q, want ERROR", bad, final)
		}
	}
	// Garbage without "AT" is ignored; the next command still works.
	c.write("hello\r")
	if got := c.ok("AT+CSQ"); !slices.Equal(got, []string{"+CSQ: 20,99"}) {
		t.Errorf("after garbage: got %q", got)
	}
	// Bare LF terminators work too.
	c.write("AT+CSQ\n")
	c.expect("+CSQ: 20,99\r\n\r\nOK\r\n")
}

func TestErrorFormats(t *testing.T) {
	n := newNet(t)
	c := connect(t, addModem(t, n, Config{Number: "+15550000001"}))
	c.ok("ATE0")
	if _, final := c.cmd("AT+CMGR=1"); final != "+CMS ERROR: 321" {
		t.Errorf("CMEE=0 CMGR empty: got %q", final)
	}
	if _, final := c.cmd("AT+CREG=7"); final != "ERROR" {
		t.Errorf("CMEE=0 bad param: got %q, want ERROR", final)
	}
	c.ok("AT+CMEE=1")
	if _, final := c.cmd("AT+CREG=7"); final != "+CME ERROR: 50" {
		t.Errorf("CMEE=1 bad param: got %q", final)
	}
	c.ok("AT+CMEE=2")
	if _, final := c.cmd("AT+CMGR=1"); final != "+CMS ERROR: invalid memory index" {
		t.Errorf("CMEE=2: got %q", final)
	}
	// ATV0: numeric result codes.
	c.write("ATV0\r")
	c.expect("0\r")
	c.write("AT+FOO\r")
	c.expect("4\r")
	c.write("ATV1\r")
	c.expect("\r\nOK\r\n")
}

func TestStorageAndNotificationSettings(t *testing.T) {
	n := newNet(t)
	c := connect(t, addModem(t, n, Config{Number: "+15550000001", StorageSize: 20}))
	c.ok("ATE0")
	c.ok("AT+CMEE=1")
	checks := []struct{ cmd, want string }{
		{"AT+CPMS?", `+CPMS: "SM",0,20,"SM",0,20,"SM",0,20`},
		{"AT+CPMS=?", `+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")`},
		{`AT+CPMS="SM","SM","SM"`, "+CPMS: 0,20,0,20,0,20"},
		{`AT+CPMS="SR"`, "+CPMS: 0,20,0,20,0,20"},
		{"AT+CPMS?", `+CPMS: "SR",0,20,"SM",0,20,"SM",0,20`},
		{"AT+CNMI?", "+CNMI: 0,0,0,0,0"},
		{"AT+CNMI=?", "+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)"},
		{"AT+CNMI=2,1,0,2,0", ""},
		{"AT+CNMI?", "+CNMI: 2,1,0,2,0"},
		{"AT+CMGD=?", "+CMGD: (),(0-4)"},
		{"AT+CMGL=4", ""},
	}
	for _, ck := range checks {
		got := strings.Join(c.ok(ck.cmd), "\n")
		if got != ck.want {
			t.Errorf("%s: got %q, want %q", ck.cmd, got, ck.want)
		}
	}
	for _, bad := range []string{`AT+CPMS="XX"`, "AT+CNMI=2,1,0,3,0", "AT+CNMI=4"} {
		if _, final := c.cmd(bad); !strings.HasPrefix(final, "+CMS ERROR: 30") {
			t.Errorf("%s: got %q, want +CMS ERROR: 30x", bad, final)
		}
	}
	if got := c.ok("AT+CNMI?"); got[0] != "+CNMI: 2,1,0,2,0" {
		t.Errorf("failed set changed CNMI: %q", got)
	}
}

func TestSubmitHappyPath(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	tps := submitPDUs(t, "+15551234567", "Hello from the gateway", false)
	final, mr := c.send(tps[0])
	if final != "OK" || mr != 1 {
		t.Fatalf("got final %q mr %d, want OK 1", final, mr)
	}
	final, mr = c.send(tps[0])
	if final != "OK" || mr != 2 {
		t.Fatalf("second: got final %q mr %d, want OK 2", final, mr)
	}
	subs := n.Submissions()
	if len(subs) != 2 {
		t.Fatalf("got %d submissions, want 2", len(subs))
	}
	s := subs[0]
	if s.Modem != "+15550000001" || s.To != "+15551234567" || s.MR != 1 || s.Text != "Hello from the gateway" ||
		s.SRR || s.Seq != 1 || s.Total != 1 || s.ConcatRef != 0 {
		t.Errorf("submission: got %+v", s)
	}
	msgs := n.Messages()
	if len(msgs) != 2 || msgs[0].Text != "Hello from the gateway" || !msgs[0].Complete || msgs[1].MRs[0] != 2 {
		t.Errorf("messages: got %+v", msgs)
	}
}

func TestSubmitMultipartAndUCS2(t *testing.T) {
	n := newNet(t)
	c := connect(t, addModem(t, n, Config{Number: "+15550000001"}))
	c.init()
	text := strings.Repeat("Ünïcödé 😀 text ", 12) // UCS-2 with surrogate pairs, 3+ parts
	tps := submitPDUs(t, "+15551234567", text, true)
	if len(tps) < 3 {
		t.Fatalf("test text encodes to %d parts, want >= 3", len(tps))
	}
	for _, tp := range tps {
		if final, _ := c.send(tp); final != "OK" {
			t.Fatalf("got %q", final)
		}
	}
	subs := n.Submissions()
	for i, s := range subs {
		if s.Seq != i+1 || s.Total != len(tps) || s.ConcatRef != subs[0].ConcatRef || !s.SRR {
			t.Errorf("part %d: got %+v", i, s)
		}
	}
	msgs := n.Messages()
	if len(msgs) != 1 || !msgs[0].Complete || msgs[0].Text != text || msgs[0].Parts != len(tps) {
		t.Fatalf("got %+v, want one complete message with the text", msgs)
	}
	// Resending the first part (a driver retry) opens a second message.
	c.send(tps[0])
	if msgs := n.Messages(); len(msgs) != 2 || msgs[1].Complete {
		t.Errorf("after resend: got %+v, want a second, incomplete message", msgs)
	}
}

func TestSubmitLengthMismatchAndGarbage(t *testing.T) {
	n := newNet(t)
	c := connect(t, addModem(t, n, Config{Number: "+15550000001"}))
	c.init()
	tp := submitPDUs(t, "+15551234567", "hi", false)[0]
	pduHex := "00" + fmt.Sprintf("%X", tp)
	for _, tc := range []struct {
		name   string
		length int
		pdu    string
	}{
		{"length includes SCA", len(tp) + 1, pduHex},
		{"length short", len(tp) - 1, pduHex},
		{"not hex", len(tp), "00ZZ"},
		{"odd hex", len(tp), pduHex + "1"},
		{"deliver not submit", 3, "00040000"},
	} {
		c.write(fmt.Sprintf("AT+CMGS=%d\r", tc.length))
		c.expect("> ")
		c.write(tc.pdu + "\x1a")
		if _, final := c.cmd(""); final != "+CMS ERROR: 304" {
			t.Errorf("%s: got %q, want +CMS ERROR: 304", tc.name, final)
		}
	}
	if got := len(n.Submissions()); got != 0 {
		t.Errorf("got %d submissions, want 0", got)
	}
	if _, final := c.cmd("AT+CMGS=0"); final != "+CMS ERROR: 304" {
		t.Errorf("CMGS=0: got %q", final)
	}
}

func TestSubmitEscCancels(t *testing.T) {
	n := newNet(t)
	c := connect(t, addModem(t, n, Config{Number: "+15550000001"}))
	c.init()
	tp := submitPDUs(t, "+15551234567", "never sent", false)[0]
	c.write(fmt.Sprintf("AT+CMGS=%d\r", len(tp)))
	c.expect("> ")
	c.write(fmt.Sprintf("00%X\x1b", tp))
	// Silence after ESC, then the modem is back in command mode.
	if got := c.ok("AT+CSQ"); !slices.Equal(got, []string{"+CSQ: 20,99"}) {
		t.Errorf("after ESC: got %q", got)
	}
	if got := len(n.Submissions()); got != 0 {
		t.Errorf("got %d submissions after ESC, want 0", got)
	}
	// The next submit still gets MR 1: nothing was used.
	if _, mr := c.send(tp); mr != 1 {
		t.Errorf("got MR %d, want 1", mr)
	}
}

func TestMRWraps(t *testing.T) {
	n := newNet(t)
	c := connect(t, addModem(t, n, Config{Number: "+15550000001", LastMR: 253}))
	c.init()
	tp := submitPDUs(t, "+15551234567", "x", false)[0]
	var got []int
	for range 4 {
		_, mr := c.send(tp)
		got = append(got, mr)
	}
	if want := []int{254, 255, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("got MRs %v, want %v", got, want)
	}
}

func TestMRWrapsAfter256Submits(t *testing.T) {
	n := newNet(t)
	c := connect(t, addModem(t, n, Config{Number: "+15550000001"}))
	c.init()
	tp := submitPDUs(t, "+15551234567", "x", false)[0]
	var last int
	for i := 1; i <= 257; i++ {
		_, last = c.send(tp)
		if i == 255 && last != 255 {
			t.Fatalf("submit 255: MR %d", last)
		}
	}
	if last != 1 {
		t.Errorf("submit 257: got MR %d, want 1 (wrapped through 0)", last)
	}
}

func TestStatusReportStored(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	tp := submitPDUs(t, "+15551234567", "report me", true)[0]
	before := time.Now().Add(-time.Second)
	_, mr := c.send(tp)
	idx := c.expectRe(`\+CDSI: "SR",(\d+)\r\n`)[1]
	if idx != "1" {
		t.Errorf("got index %s, want 1", idx)
	}
	// The report lives in SR: reading SM index 1 fails.
	if _, final := c.cmd("AT+CMGR=1"); final != "+CMS ERROR: 321" {
		t.Errorf("CMGR in SM: got %q, want 321", final)
	}
	c.ok(`AT+CPMS="SR"`)
	lines := c.ok("AT+CMGR=1")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "+CMGR: 0,,") {
		t.Fatalf("CMGR: got %q", lines)
	}
	rep := decodeStored(t, lines[1])
	if rep.SmsType() != tpdu.SmsStatusReport {
		t.Fatalf("got %v, want status report", rep.SmsType())
	}
	if int(rep.MR) != mr || rep.RA.Number() != "+15551234567" || rep.ST != 0 {
		t.Errorf("report: MR %d RA %s ST %#x, want MR %d RA +15551234567 ST 0", rep.MR, rep.RA.Number(), rep.ST, mr)
	}
	if rep.SCTS.Before(before) || rep.DT.Before(rep.SCTS.Time) {
		t.Errorf("report times: SCTS %v DT %v", rep.SCTS, rep.DT)
	}
	var wantLen int
	fmt.Sscanf(lines[0], "+CMGR: 0,,%d", &wantLen)
	if p := decodeStoredLen(t, lines[1]); p != wantLen {
		t.Errorf("+CMGR length %d, TPDU has %d octets", wantLen, p)
	}
	if lines := c.ok("AT+CMGR=1"); !strings.HasPrefix(lines[0], "+CMGR: 1,,") {
		t.Errorf("second read: got %q, want stat 1", lines[0])
	}
	c.ok("AT+CMGD=1")
	if got := m.Stored("SR"); got != 0 {
		t.Errorf("after CMGD: %d stored in SR", got)
	}
}

func TestStatusReportOutcomes(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.ok("ATE0")
	c.ok("AT+CNMI=2,1,0,1,0") // routed reports
	n.SetOutcome("+15551111111", OutcomeFailed)
	n.SetOutcome("+15552222222", OutcomeNone)

	c.send(submitPDUs(t, "+15552222222", "no report", true)[0])
	_, mr := c.send(submitPDUs(t, "+15551111111", "will fail", true)[0])
	got := c.expectRe(`\+CDS: (\d+)\r\n([0-9A-F]+)\r\n`)
	rep := decodeStored(t, got[2])
	if int(rep.MR) != mr || rep.ST != 0x41 || rep.RA.Number() != "+15551111111" {
		t.Errorf("got MR %d ST %#x RA %s, want MR %d ST 0x41", rep.MR, rep.ST, rep.RA.Number(), mr)
	}
	if fmt.Sprint(decodeStoredLen(t, got[2])) != got[1] {
		t.Errorf("+CDS length %s does not match PDU", got[1])
	}
	// Only one report came: the "none" recipient's never does. The SRR-less
	// part of the check: a submit without SRR gets none either.
	c.send(submitPDUs(t, "+15553333333", "no srr", false)[0])
	_, mr = c.send(submitPDUs(t, "+15554444444", "marker", true)[0])
	got = c.expectRe(`\+CDS: (\d+)\r\n([0-9A-F]+)\r\n`)
	if rep := decodeStored(t, got[2]); int(rep.MR) != mr {
		t.Errorf("next report has MR %d, want %d (an unexpected report came first)", rep.MR, mr)
	}
	if m.Stored("SR") != 0 {
		t.Errorf("routed reports must not be stored")
	}
}

func decodeStoredLen(t *testing.T, pduHex string) int {
	t.Helper()
	// SCA length octet + SCA, then the TPDU.
	var scaLen int
	fmt.Sscanf(pduHex[:2], "%X", &scaLen)
	return len(pduHex)/2 - 1 - scaLen
}

func TestInboundStoredReadDelete(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	if err := n.Deliver("+15556660000", "+15550000001", "Hi there"); err != nil {
		t.Fatal(err)
	}
	if idx := c.expectRe(`\+CMTI: "SM",(\d+)\r\n`)[1]; idx != "1" {
		t.Errorf("got index %s, want 1", idx)
	}
	lines := c.ok("AT+CMGR=1")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "+CMGR: 0,,") {
		t.Fatalf("got %q", lines)
	}
	d := decodeStored(t, lines[1])
	if d.SmsType() != tpdu.SmsDeliver || d.OA.Number() != "+15556660000" || textOf(t, d) != "Hi there" {
		t.Errorf("got %v from %s %q", d.SmsType(), d.OA.Number(), textOf(t, d))
	}
	if err := n.Deliver("Bank", "+15550000001", "Your code is 1234"); err != nil {
		t.Fatal(err)
	}
	c.expect(`+CMTI: "SM",2`)
	lines = c.ok("AT+CMGL=4")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "+CMGL: 1,1,,") || !strings.HasPrefix(lines[2], "+CMGL: 2,0,,") {
		t.Fatalf("CMGL=4: got %q", lines)
	}
	if d := decodeStored(t, lines[3]); d.OA.Number() != "Bank" {
		t.Errorf("alphanumeric sender: got %q", d.OA.Number())
	}
	// Listing marked message 2 read; REC UNREAD is empty now.
	if lines := c.ok("AT+CMGL=0"); len(lines) != 0 {
		t.Errorf("CMGL=0 after listing: got %q", lines)
	}
	if lines := c.ok("AT+CMGD=?"); lines[0] != "+CMGD: (1,2),(0-4)" {
		t.Errorf("CMGD=?: got %q", lines)
	}
	c.ok("AT+CMGD=1")
	if _, final := c.cmd("AT+CMGR=1"); final != "+CMS ERROR: 321" {
		t.Errorf("read deleted: got %q", final)
	}
	if _, final := c.cmd("AT+CMGD=99"); final != "+CMS ERROR: 321" {
		t.Errorf("delete out of range: got %q", final)
	}
	c.ok("AT+CMGD=1,4")
	if m.Stored("SM") != 0 {
		t.Errorf("CMGD=1,4 left %d", m.Stored("SM"))
	}
	if err := n.Deliver("+1", "+19999999999", "x"); err == nil {
		t.Error("Deliver to an unknown number succeeded")
	}
}

func TestInboundRoutedAndSilent(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.ok("ATE0")
	// Default after boot: mt=0, stored without a URC.
	n.Deliver("+15556660000", m.Number(), "silent")
	if m.Stored("SM") != 1 {
		t.Fatalf("mt=0: stored %d, want 1", m.Stored("SM"))
	}
	c.ok("AT+CNMI=2,2,0,0,0")
	n.Deliver("+15556660000", m.Number(), "routed")
	got := c.expectRe(`\+CMT: ,(\d+)\r\n([0-9A-F]+)\r\n`)
	if d := decodeStored(t, got[2]); textOf(t, d) != "routed" {
		t.Errorf("got %q", textOf(t, d))
	}
	if fmt.Sprint(decodeStoredLen(t, got[2])) != got[1] {
		t.Errorf("+CMT length %s does not match", got[1])
	}
	if m.Stored("SM") != 1 {
		t.Errorf("routed message was stored")
	}
	if strings.Contains(c.unread(), "CMTI") {
		t.Errorf("unexpected +CMTI: %q", c.unread())
	}
	// +CNMA with nothing to acknowledge, then with +CSMS=1.
	if _, final := c.cmd("AT+CNMA"); final != "+CMS ERROR: 340" {
		t.Errorf("CNMA without CSMS=1: got %q", final)
	}
	c.ok("AT+CSMS=1")
	n.Deliver("+15556660000", m.Number(), "ack me")
	c.expect("+CMT: ")
	c.ok("AT+CNMA")
}

func TestInboundMultipart(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"gsm7", strings.Repeat("long message in seven bit. ", 10)},
		{"ucs2", strings.Repeat("Привет 😀 ", 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t)
			m := addModem(t, n, Config{Number: "+15550000001"})
			c := connect(t, m)
			c.init()
			if err := n.Deliver("+15556660000", m.Number(), tc.text); err != nil {
				t.Fatal(err)
			}
			lines := withoutURCs(c.ok("AT+CMGL=4"))
			if len(lines) < 4 {
				t.Fatalf("got %q, want 2+ parts", lines)
			}
			var parts []*tpdu.TPDU
			ref := -1
			for i := 1; i < len(lines); i += 2 {
				p := decodeStored(t, lines[i])
				segs, seq, r, ok := p.ConcatInfo()
				if !ok || seq != len(parts)+1 || segs != len(lines)/2 || (ref >= 0 && r != ref) {
					t.Fatalf("part %d: concat %d/%d ref %d ok %v", i/2, seq, segs, r, ok)
				}
				ref = r
				parts = append(parts, p)
			}
			if got := textOf(t, parts...); got != tc.text {
				t.Errorf("got %q, want %q", got, tc.text)
			}
			// A second long message gets another concatenation reference.
			n.Deliver("+15556660000", m.Number(), tc.text)
			lines = withoutURCs(c.ok("AT+CMGL=0"))
			_, _, r2, _ := decodeStored(t, lines[1]).ConcatInfo()
			if r2 == ref {
				t.Errorf("second message reused concat ref %d", ref)
			}
		})
	}
}

func TestModemToModem(t *testing.T) {
	n := newNet(t)
	a := addModem(t, n, Config{Number: "+15550000001"})
	b := addModem(t, n, Config{Number: "+15550000002"})
	ca, cb := connect(t, a), connect(t, b)
	ca.init()
	cb.init()
	_, mr := ca.send(submitPDUs(t, b.Number(), "hello b", true)[0])
	idx := cb.expectRe(`\+CMTI: "SM",(\d+)\r\n`)[1]
	lines := cb.ok("AT+CMGR=" + idx)
	d := decodeStored(t, lines[1])
	if d.OA.Number() != a.Number() || textOf(t, d) != "hello b" {
		t.Errorf("b got %q from %s", textOf(t, d), d.OA.Number())
	}
	ca.expect(`+CDSI: "SR",1`)
	ca.ok(`AT+CPMS="SR"`)
	if rep := decodeStored(t, ca.ok("AT+CMGR=1")[1]); int(rep.MR) != mr || rep.RA.Number() != b.Number() {
		t.Errorf("report MR %d RA %s", rep.MR, rep.RA.Number())
	}
	if subs := n.Submissions(); len(subs) != 1 || subs[0].To != b.Number() {
		t.Errorf("submissions: %+v", subs)
	}
	// Multipart between modems keeps the concatenation.
	long := strings.Repeat("abcdefghij", 20)
	for _, tp := range submitPDUs(t, b.Number(), long, false) {
		ca.send(tp)
	}
	cb.expect(`+CMTI: "SM",2`)
	cb.expect(`+CMTI: "SM",3`)
	lines = cb.ok("AT+CMGL=0")
	if got := textOf(t, decodeStored(t, lines[1]), decodeStored(t, lines[3])); got != long {
		t.Errorf("multipart between modems: got %q", got)
	}
}

func TestHuaweiNoise(t *testing.T) {
	n := newNet(t)
	p, _ := LookupProfile("huawei")
	p.MidReplyNoiseEvery = 1
	p.NoiseInterval = 0
	m := addModem(t, n, Config{Number: "+15550000001", ProfileData: &p})
	c := connect(t, m)
	c.write("AT+CGMI\r")
	got := c.expect("\r\nOK\r\n")
	// Echo, noise, info, noise, final.
	re := `^AT\+CGMI\r\r\n\^[A-Z]+:[^\r]*\r\n\r\nhuawei\r\n\r\n\^[A-Z]+:[^\r]*\r\n\r\nOK\r\n$`
	if !regexpMatch(re, got) {
		t.Errorf("got %q, want noise around the info line", got)
	}
	c.write("AT+FOO\r")
	if got := c.expect("COMMAND NOT SUPPORT\r\n"); !strings.Contains(got, "^") {
		t.Errorf("got %q, want noise before the final code", got)
	}
	if got := c.ok("AT^ICCID?"); !strings.Contains(strings.Join(got, " "), "^ICCID: "+m.Info().ICCID) {
		t.Errorf("^ICCID?: got %q", got)
	}
	c.ok("AT^CURC=0")
	c.ok("ATE0")
	if got := c.ok("AT+CGMI"); !slices.Equal(got, []string{"huawei"}) {
		t.Errorf("after ^CURC=0: got %q, want no noise", got)
	}
}

func TestHuaweiSplitEcho(t *testing.T) {
	n := newNet(t)
	p, _ := LookupProfile("huawei")
	p.MidReplyNoiseEvery, p.NoiseInterval, p.SplitEcho = 2, 0, true
	c := connect(t, addModem(t, n, Config{Number: "+15550000001", ProfileData: &p}))
	c.write("AT\r")
	if got := c.expect("\r\nOK\r\n"); got != "AT\r\r\nOK\r\n" {
		t.Errorf("first reply: got %q, want a clean one", got)
	}
	c.write("AT+CGMI\r")
	got := c.expect("\r\nOK\r\n")
	re := `^A\r\n\^RSSI:20\r\nT\+CGMI\r\r\n\^MODE:5,4\r\n\r\nhuawei\r\n\r\n\^HCSQ:[^\r]*\r\n\r\nOK\r\n$`
	if !regexpMatch(re, got) {
		t.Errorf("got %q, want the echo split by noise (E3372)", got)
	}
}

func TestHuaweiPeriodicNoise(t *testing.T) {
	n := newNet(t)
	p, _ := LookupProfile("huawei")
	p.NoiseInterval = 5 * time.Millisecond
	c := connect(t, addModem(t, n, Config{Number: "+15550000001", ProfileData: &p}))
	c.expect("\r\n^RSSI:20\r\n")
	c.expect("\r\n^MODE:5,4\r\n")
}

func TestFaultCMSErrorTo(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	m.SetFault(Fault{CMSErrorTo: map[string]int{"+15551111111": 500, "+15552222222": 38}})
	if final, mr := c.send(submitPDUs(t, "+15551111111", "x", true)[0]); final != "+CMS ERROR: 500" || mr != -1 {
		t.Errorf("got %q mr %d", final, mr)
	}
	if final, _ := c.send(submitPDUs(t, "+15552222222", "x", true)[0]); final != "+CMS ERROR: 38" {
		t.Errorf("got %q", final)
	}
	if final, mr := c.send(submitPDUs(t, "+15553333333", "x", true)[0]); final != "OK" || mr != 1 {
		t.Errorf("other recipient: got %q mr %d, want OK 1", final, mr)
	}
	if got := len(n.Rejections()); got != 2 {
		t.Errorf("got %d rejections, want 2", got)
	}
	m.SetFault(Fault{CMSErrorRate: 1, CMSErrorCode: 42})
	if final, _ := c.send(submitPDUs(t, "+15553333333", "x", true)[0]); final != "+CMS ERROR: 42" {
		t.Errorf("rate 1: got %q", final)
	}
	m.SetFault(Fault{CMSErrorRate: 1})
	if final, _ := c.send(submitPDUs(t, "+15553333333", "x", true)[0]); final != "+CMS ERROR: 500" {
		t.Errorf("rate 1, default code: got %q", final)
	}
	m.SetFault(Fault{})
	if final, _ := c.send(submitPDUs(t, "+15551111111", "x", true)[0]); final != "OK" {
		t.Errorf("cleared: got %q", final)
	}
	if got := len(n.Submissions()); got != 2 {
		t.Errorf("got %d submissions, want 2", got)
	}
}

func TestFaultHang(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	m.SetFault(Fault{Hang: true})
	c.write("AT\r")
	n.Deliver("+15556660000", m.Number(), "while hung")
	c.write("AT+CSQ\r")
	// The reader hands one write at a time to the session, so once this
	// third write is taken the first two have reached the hung modem.
	c.write("AT+CIMI\r")
	time.Sleep(50 * time.Millisecond)
	if got := c.unread(); got != "" {
		t.Fatalf("hung modem answered %q", got)
	}
	m.SetFault(Fault{})
	c.write("AT+CGMI\r")
	got := c.expect("SIMULATOR\r\n\r\nOK\r\n")
	if strings.Contains(got, "CSQ") {
		t.Errorf("a command sent while hung was answered: %q", got)
	}
	// The message that came in meanwhile is stored (no URC was seen).
	if got := c.ok("AT+CMGL=4"); len(got) != 2 {
		t.Errorf("CMGL after hang: %q", got)
	}
}

func TestFaultLateCMGS(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	m.SetFault(Fault{LateCMGS: 300 * time.Millisecond})
	tp := submitPDUs(t, "+15551234567", "late", true)[0]
	c.write(fmt.Sprintf("AT+CMGS=%d\r", len(tp)))
	c.expect("> ")
	c.write(fmt.Sprintf("00%X\x1a", tp))
	// Accepted before the reply is written.
	eventually(t, "the submission to be recorded", func() bool { return len(n.Submissions()) == 1 })
	if strings.Contains(c.unread(), "+CMGS") {
		t.Fatalf("reply came early: %q", c.unread())
	}
	// A probe typed meanwhile (the driver's resync) is answered after the
	// late reply; the status report (mode 2) waits for the final OK too.
	c.write("AT+CSQ\r")
	got := c.expect("+CSQ: 20,99\r\n\r\nOK\r\n")
	iCMGS, iCSQ := strings.Index(got, "+CMGS: 1"), strings.Index(got, "+CSQ")
	if iCMGS < 0 || iCMGS > iCSQ {
		t.Errorf("got %q, want +CMGS: 1 before the +CSQ answer", got)
	}
	c.expect(`+CDSI: "SR",1`)
}

func TestSubmitLatency(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", SubmitLatency: 20 * time.Millisecond})
	c := connect(t, m)
	c.init()
	if final, mr := c.send(submitPDUs(t, "+15551234567", "x", false)[0]); final != "OK" || mr != 1 {
		t.Errorf("got %q %d", final, mr)
	}
}

func TestMode2BuffersURCsDuringCommand(t *testing.T) {
	for _, mode := range []int{2, 3} {
		t.Run(fmt.Sprint("mode", mode), func(t *testing.T) {
			n := newNet(t)
			m := addModem(t, n, Config{Number: "+15550000001"})
			c := connect(t, m)
			c.ok("ATE0")
			c.ok(fmt.Sprintf("AT+CNMI=%d,1,0,2,0", mode))
			tp := submitPDUs(t, "+15551234567", "x", false)[0]
			c.write(fmt.Sprintf("AT+CMGS=%d\r", len(tp)))
			c.expect("> ")
			// A message arrives while the prompt is open.
			n.Deliver("+15556660000", m.Number(), "during prompt")
			if mode == 3 {
				c.expect(`+CMTI: "SM",1`) // inline, before the command ends
			}
			c.write(fmt.Sprintf("00%X\x1a", tp))
			got := c.expect("\r\nOK\r\n")
			if mode == 2 {
				if strings.Contains(got, "CMTI") {
					t.Errorf("mode 2 emitted a URC inside the command: %q", got)
				}
				c.expect(`+CMTI: "SM",1`)
			}
		})
	}
}

func TestMode0BuffersUntilModeChange(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.ok("ATE0")
	c.ok("AT+CNMI=0,1,0,0,0")
	n.Deliver("+15556660000", m.Number(), "buffered")
	c.ok("AT") // nothing emitted yet
	if strings.Contains(c.unread(), "CMTI") {
		t.Fatal("mode 0 emitted a URC")
	}
	c.ok("AT+CNMI=2,1,0,0,0")
	c.expect(`+CMTI: "SM",1`)
}

func TestStorageFullHoldsMessages(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", StorageSize: 2})
	c := connect(t, m)
	c.init()
	for i := range 3 {
		n.Deliver("+15556660000", m.Number(), fmt.Sprint("msg ", i))
	}
	c.expect(`+CMTI: "SM",1`)
	c.expect(`+CMTI: "SM",2`)
	if m.Held() != 1 {
		t.Fatalf("held %d, want 1", m.Held())
	}
	if got := c.ok("AT+CPMS?"); got[0] != `+CPMS: "SM",2,2,"SM",2,2,"SM",2,2` {
		t.Errorf("got %q", got)
	}
	c.ok("AT+CMGD=1")
	c.expect(`+CMTI: "SM",1`)
	if d := decodeStored(t, c.ok("AT+CMGR=1")[1]); textOf(t, d) != "msg 2" {
		t.Errorf("got %q, want the held message", textOf(t, d))
	}
	if m.Held() != 0 {
		t.Errorf("still holding %d", m.Held())
	}
}

func TestRoutedHeldWhileDisconnected(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c, stop := connectStop(t, m)
	c.ok("ATE0")
	c.ok("AT+CNMI=2,2,0,0,0")
	stop()
	n.Deliver("+15556660000", m.Number(), "while away")
	if m.Held() != 1 {
		t.Fatalf("held %d, want 1", m.Held())
	}
	// Reconnect: settings survived (echo still off), the routed message
	// comes now.
	c2 := connect(t, m)
	got := c2.expectRe(`\+CMT: ,\d+\r\n([0-9A-F]+)\r\n`)
	if d := decodeStored(t, got[1]); textOf(t, d) != "while away" {
		t.Errorf("got %q", textOf(t, d))
	}
	if lines := c2.ok("AT"); len(lines) != 0 {
		t.Errorf("echo came back after reconnect: %q", lines)
	}
}

func TestServeTwiceRejected(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	connect(t, m)
	eventually(t, "the session to attach", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.sess != nil
	})
	if err := m.Serve(t.Context(), pipeRW{strings.NewReader(""), nil}); err == nil {
		t.Error("second Serve succeeded")
	}
}

func TestServeReturnsOnEOF(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	var out strings.Builder
	err := m.Serve(t.Context(), pipeRW{strings.NewReader("ATE0\rAT+CGMI\r"), &syncWriter{w: &out}})
	if err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("got %v, want EOF", err)
	}
	// The answers to the last input still went out.
	if got := out.String(); !strings.HasSuffix(got, "\r\nSIMULATOR\r\n\r\nOK\r\n") {
		t.Errorf("output %q lacks the +CGMI answer", got)
	}
}

func TestRebootAndReset(t *testing.T) {
	n := newNet(t)
	p, _ := LookupProfile("huawei")
	p.MidReplyNoiseEvery, p.NoiseInterval = 0, 0
	m := addModem(t, n, Config{Number: "+15550000001", ProfileData: &p})
	c := connect(t, m)
	c.ok("ATE0")
	c.ok("AT+CNMI=2,1,0,2,0")
	c.ok("AT+CFUN=1,1")
	c.expect("^MODE:5,4\r\n")
	if got := c.ok("AT+CNMI?"); !slices.Equal(got, []string{"AT+CNMI?", "+CNMI: 0,0,0,0,0"}) {
		t.Errorf("after reboot: got %q, want echo on and CNMI reset", got)
	}
	c.ok("ATE0")
	c.ok("AT+CMEE=1")
	c.ok("AT&W")
	c.ok("ATE1")
	c.ok("ATZ")
	if got := c.ok("AT+CMEE?"); !slices.Equal(got, []string{"+CMEE: 1"}) {
		t.Errorf("ATZ after &W: got %q", got)
	}
	c.ok("AT+CFUN=0")
	if got := c.ok("AT+CREG?"); got[0] != "+CREG: 0,0" {
		t.Errorf("radio off: got %q", got)
	}
	if final, _ := c.send(submitPDUs(t, "+15551234567", "x", false)[0]); final != "+CMS ERROR: 331" {
		t.Errorf("submit with radio off: got %q", final)
	}
}

// withoutURCs drops +CMTI/+CDSI lines that arrived before a reply.
func withoutURCs(lines []string) []string {
	return slices.DeleteFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "+CMTI:") || strings.HasPrefix(l, "+CDSI:")
	})
}

func TestDerivedIdentity(t *testing.T) {
	n := newNet(t)
	a := addModem(t, n, Config{Number: "+15550000001"}).Info()
	b := addModem(t, n, Config{Number: "+15550000002"}).Info()
	luhnOK := func(s string) bool { return luhnComplete(s[:len(s)-1]) == s }
	for _, in := range []Info{a, b} {
		if len(in.IMEI) != 15 || !luhnOK(in.IMEI) || !strings.HasPrefix(in.IMEI, "35") {
			t.Errorf("IMEI %q", in.IMEI)
		}
		if len(in.IMSI) != 15 || !strings.HasPrefix(in.IMSI, "00101") {
			t.Errorf("IMSI %q", in.IMSI)
		}
		if len(in.ICCID) != 19 || !luhnOK(in.ICCID) || !strings.HasPrefix(in.ICCID, "89") {
			t.Errorf("ICCID %q", in.ICCID)
		}
	}
	if a.IMEI == b.IMEI || a.IMSI == b.IMSI || a.ICCID == b.ICCID {
		t.Errorf("identities collide: %+v %+v", a, b)
	}
	if _, err := n.AddModem(Config{Number: "15550000001"}); err == nil {
		t.Error("duplicate number accepted")
	}
	if _, err := n.AddModem(Config{Number: "+15550000003", Profile: "nokia"}); err == nil {
		t.Error("unknown profile accepted")
	}
	if got := luhnComplete("7992739871"); got != "79927398713" {
		t.Errorf("luhn: got %s", got)
	}
}

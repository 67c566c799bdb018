package sim

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/sms/encoding/gsm7"
)

// Tests for the modem-fleet profiles and faults (docs/modems.md §2.1, §6.6).

func TestProfileSIM800(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", Profile: "simcom-sim800", BootDelay: 300 * time.Millisecond})
	c := connect(t, m)
	c.ok("ATE0")
	// Still booting: SMS commands fail and the network is being searched.
	if _, final := c.cmd("AT+CMGF=0"); final != "ERROR" {
		t.Errorf("+CMGF before SMS Ready: got %q, want ERROR", final)
	}
	if got := c.ok("AT+CREG?"); !slices.Equal(got, []string{"+CREG: 0,2"}) {
		t.Errorf("+CREG? while booting: %q", got)
	}
	if st := m.Info().State; st != "rebooting" {
		t.Errorf("state %q while booting", st)
	}
	c.expect("\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n")
	c.ok("AT+CMGF=0")
	info := m.Info()
	for _, tt := range []struct {
		cmd  string
		want []string
	}{
		{"AT+CGMI", []string{"SIMCOM_Ltd"}},
		{"AT+CGMM", []string{"SIMCOM_SIM800L"}},
		{"AT+CGMR", []string{"Revision:1418B04SIM800L24"}},
		{"AT+CCID", []string{info.ICCID}}, // bare digits
		{"AT+CREG=2;+CREG?", []string{`+CREG: 2,1,"1A2B","01C3D4E5"`}},
		{"AT+COPS?", []string{`+COPS: 0,0,"SimNet"`}},
	} {
		if got := c.ok(tt.cmd); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.cmd, got, tt.want)
		}
	}
	if _, final := c.cmd("AT+CEREG?"); final != "ERROR" {
		t.Errorf("+CEREG on a 2G module: got %q", final)
	}
	if final, mr := c.send(submitPDUs(t, "+15551234567", "hi", false)[0]); final != "OK" || mr != 1 {
		t.Fatalf("send: %q %d", final, mr)
	}
	// A reboot starts over: SMS commands fail again until SMS Ready.
	c.ok("AT+CFUN=1,1")
	if lines, final := c.cmd("AT+CMGF=0"); final != "ERROR" || !slices.Equal(lines, []string{"AT+CMGF=0"}) {
		t.Errorf("+CMGF after reboot: %q %q, want echo and ERROR", lines, final)
	}
	c.expect("SMS Ready\r\n")
	c.ok("ATE0")
	if final, mr := c.send(submitPDUs(t, "+15551234567", "hi", false)[0]); final != "OK" || mr != 2 {
		t.Errorf("send after reboot: %q MR %d, want MR 2", final, mr)
	}
}

func TestProfileEC25(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", Profile: "quectel-ec25", BootDelay: -1, USSDDelay: 5 * time.Millisecond})
	c := connect(t, m)
	c.init() // ds=2
	for _, tt := range []struct{ cmd, want string }{
		{"AT+CGMI", "Quectel"}, {"AT+CGMM", "EC25"}, {"AT+CGMR", "EC25EFAR06A10M4G"},
	} {
		if got := c.ok(tt.cmd); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("%s: got %q", tt.cmd, got)
		}
	}

	// The bug: the report is announced in SM at index 0 but stored in SR.
	_, mr := c.send(submitPDUs(t, "+15551234567", "report me", true)[0])
	c.expect(`+CDSI: "SM",0`)
	if got := c.ok("AT+CMGR=0"); len(got) != 0 {
		t.Errorf("+CMGR=0: got %q, want a bare OK", got)
	}
	if _, final := c.cmd("AT+CMGR=1"); final != "+CMS ERROR: 321" {
		t.Errorf("SM is empty: got %q", final)
	}
	c.ok(`AT+CPMS="SR"`)
	if rep := decodeStored(t, c.ok("AT+CMGR=1")[1]); int(rep.MR) != mr {
		t.Errorf("report in SR has MR %d, want %d", rep.MR, mr)
	}
	c.ok(`AT+CPMS="SM"`)

	// The workaround: ds=1.
	c.ok("AT+CNMI=2,1,0,1,0")
	_, mr = c.send(submitPDUs(t, "+15551234567", "route me", true)[0])
	got := c.expectRe(`\+CDS: \d+\r\n([0-9A-F]+)\r\n`)
	if rep := decodeStored(t, got[1]); int(rep.MR) != mr {
		t.Errorf("+CDS MR %d, want %d", rep.MR, mr)
	}

	// URCs follow +QURCCFG: on another port the client sees none.
	if got := c.ok(`AT+QURCCFG="urcport"`); !slices.Equal(got, []string{`+QURCCFG: "urcport","usbat"`}) {
		t.Errorf("urcport: %q", got)
	}
	c.ok(`AT+QURCCFG="urcport","usbmodem"`)
	if err := n.Deliver("+15556660000", m.Number(), "elsewhere"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message to be stored", func() bool { return m.Stored("SM") == 1 })
	// A URC posted before the first AT is out by the end of its reply.
	if got := append(c.ok("AT"), c.ok("AT")...); len(got) != 0 {
		t.Errorf("URCs on the wrong port: %q", got)
	}
	if _, final := c.cmd(`AT+QURCCFG="urcport","ttyS9"`); final != "+CME ERROR: 50" {
		t.Errorf("bad urcport: %q", final)
	}
	c.ok(`AT+QURCCFG="urcport","usbat"`)

	c.ok("AT+CFUN=1,1")
	c.expect("+QIND: SMS DONE\r\n")
	c.ok("ATE0")

	// USSD answers come as UCS-2 hex with dcs 15 (the Quectel M35 capture).
	c.ok(`AT+CUSD=1,"*100#",15`)
	got = c.expectRe(`\+CUSD: 0,"([0-9A-F]+)",15\r\n`)
	if text := decodeUCS2Hex(t, got[1]); text != DefaultUSSDReplies()["*100#"] {
		t.Errorf("USSD reply %q", text)
	}
}

func decodeUCS2Hex(t *testing.T, s string) string {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b)%2 != 0 {
		t.Fatalf("not UCS-2 hex: %q", s)
	}
	var r []rune
	for i := 0; i < len(b); i += 2 {
		r = append(r, rune(b[i])<<8|rune(b[i+1]))
	}
	return string(r)
}

func TestProfileZTE(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", Profile: "zte"})
	c := connect(t, m)
	c.init()
	if _, final := c.cmd("ATZ"); final != "ERROR" {
		t.Errorf("ATZ: got %q, want ERROR", final)
	}
	if got := c.ok("AT+CFUN?"); !slices.Equal(got, []string{"+CFUN: 0"}) {
		t.Errorf("boots at %q, want +CFUN: 0", got)
	}
	if got := c.ok("AT+CREG?"); !slices.Equal(got, []string{"+CREG: 0,0"}) {
		t.Errorf("radio off: %q", got)
	}
	if final, _ := c.send(submitPDUs(t, "+15551234567", "x", true)[0]); final != "+CMS ERROR: 331" {
		t.Errorf("send with radio off: %q", final)
	}
	c.ok("AT+CFUN=1")
	if got := c.ok("AT+CREG=2;+CREG?"); !slices.Equal(got, []string{`+CREG: 2,1,"1A2B","01C3D4E5",2`}) {
		t.Errorf("after +CFUN=1: %q", got)
	}

	// Every second +CDSI lands inside the next command's reply.
	c.send(submitPDUs(t, "+15551234567", "one", true)[0])
	c.expect(`+CDSI: "SR",1`)
	c.send(submitPDUs(t, "+15551234567", "two", true)[0])
	eventually(t, "the second +CDSI to be held for a reply", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.sess != nil && len(m.sess.inter) == 1
	})
	if strings.Contains(c.unread(), "+CDSI") {
		t.Fatalf("held +CDSI written on its own: %q", c.unread())
	}
	if got := c.ok("AT+CPMS?"); !slices.Equal(got, []string{`+CDSI: "SR",2`, `+CPMS: "SM",0,30,"SM",0,30,"SM",0,30`}) {
		t.Errorf("+CPMS? with a held +CDSI: got %q", got)
	}

	// +CSMP wipes the SMSC; a PDU without one then fails.
	c.ok("AT+CSMP=17,167,0,0")
	if got := c.ok("AT+CSCA?"); !slices.Equal(got, []string{`+CSCA: "",129`}) {
		t.Errorf("SMSC after +CSMP: %q", got)
	}
	if final, _ := c.send(submitPDUs(t, "+15551234567", "x", false)[0]); final != "+CMS ERROR: 330" {
		t.Errorf("send without SMSC: %q", final)
	}
	c.ok(`AT+CSCA="+15559990000",145`)
	if final, _ := c.send(submitPDUs(t, "+15551234567", "x", false)[0]); final != "OK" {
		t.Errorf("send with SMSC set again: %q", final)
	}

	// After a reboot the radio is off again.
	c.ok("AT+CFUN=1,1")
	c.ok("ATE0")
	if got := c.ok("AT+CFUN?"); !slices.Equal(got, []string{"+CFUN: 0"}) {
		t.Errorf("after reboot: %q", got)
	}
}

func TestFaultNetworkLoss(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	c.ok("AT+CREG=1")
	m.SetFault(Fault{NetworkLoss: true})
	c.expect("\r\n+CREG: 2\r\n")
	for _, tt := range []struct{ cmd, want string }{
		{"AT+CREG?", "+CREG: 1,2"}, {"AT+CSQ", "+CSQ: 99,99"}, {"AT+COPS?", "+COPS: 0"},
	} {
		if got := c.ok(tt.cmd); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("%s: got %q, want %q", tt.cmd, got, tt.want)
		}
	}
	if final, mr := c.send(submitPDUs(t, "+15551234567", "x", true)[0]); final != "+CMS ERROR: 331" || mr != -1 {
		t.Errorf("send: %q %d", final, mr)
	}
	if r := n.Rejections(); len(r) != 1 || r[0].Code != 331 {
		t.Errorf("rejections: %+v", r)
	}
	n.Deliver("+15556660000", m.Number(), "while lost")
	info := m.Info()
	if info.Held != 1 || info.Registration != 2 || !slices.Equal(info.Faults, []string{"network_loss"}) {
		t.Errorf("info while lost: %+v", info)
	}

	m.SetFault(Fault{})
	c.expect("\r\n+CREG: 1\r\n")
	c.expect(`+CMTI: "SM",1`)
	if final, mr := c.send(submitPDUs(t, "+15551234567", "x", true)[0]); final != "OK" || mr != 1 {
		t.Errorf("send after recovery: %q %d", final, mr)
	}

	// With network_loss_for the network comes back by itself.
	m.SetFault(Fault{NetworkLoss: true, NetworkLossFor: 30 * time.Millisecond})
	c.expect("\r\n+CREG: 2\r\n")
	c.expect("\r\n+CREG: 1\r\n")
	if f := m.Fault(); f.NetworkLoss {
		t.Errorf("fault still set: %+v", f)
	}
}

func TestFaultSIMRemoved(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	m.SetFault(Fault{SIMRemoved: true})
	for _, tt := range []struct{ cmd, want string }{
		{"AT+CPIN?", "+CME ERROR: 10"},
		{"AT+CIMI", "+CME ERROR: 10"},
		{"AT+CMGL=4", "+CMS ERROR: 310"},
		{"AT+CMGS=20", "+CMS ERROR: 310"}, // no prompt
	} {
		if _, final := c.cmd(tt.cmd); final != tt.want {
			t.Errorf("%s: got %q, want %q", tt.cmd, final, tt.want)
		}
	}
	if got := c.ok("AT+CREG?"); !slices.Equal(got, []string{"+CREG: 0,0"}) {
		t.Errorf("+CREG? without SIM: %q", got)
	}
	n.Deliver("+15556660000", m.Number(), "for the SIM")
	if m.Held() != 1 || m.Info().SIM != "removed" {
		t.Errorf("held %d, info %+v", m.Held(), m.Info())
	}
	// Neither a radio cycle nor a reboot conjures a SIM up.
	c.ok("AT+CFUN=0")
	c.ok("AT+CFUN=1")
	c.ok("AT+CFUN=1,1")
	c.ok("ATE0")
	if _, final := c.cmd("AT+CPIN?"); final != "ERROR" { // +CMEE is 0 after the reboot
		t.Errorf("+CPIN? with no SIM after cycles: %q", final)
	}
	c.init()

	// Put back, the SIM is not seen until the radio is cycled.
	m.SetFault(Fault{})
	if _, final := c.cmd("AT+CPIN?"); final != "+CME ERROR: 10" {
		t.Errorf("+CPIN? after reinsertion, before a CFUN cycle: %q", final)
	}
	if s := m.Info().SIM; s != "not_detected" {
		t.Errorf("SIM %q", s)
	}
	c.ok("AT+CFUN=1") // not a cycle
	if _, final := c.cmd("AT+CPIN?"); final != "+CME ERROR: 10" {
		t.Errorf("+CFUN=1 alone found the SIM: %q", final)
	}
	c.ok("AT+CFUN=0")
	c.ok("AT+CFUN=1")
	c.expect(`+CMTI: "SM",1`)
	if got := c.ok("AT+CPIN?"); !slices.Equal(got, []string{"+CPIN: READY"}) {
		t.Errorf("after the CFUN cycle: %q", got)
	}

	// A reboot also finds it.
	m.SetFault(Fault{SIMRemoved: true})
	m.SetFault(Fault{})
	c.ok("AT+CFUN=1,1")
	if got := c.ok("AT+CPIN?"); !slices.Equal(got, []string{"AT+CPIN?", "+CPIN: READY"}) {
		t.Errorf("after reboot: %q", got)
	}
}

func TestFaultStorageFull(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", StorageSize: 3})
	c := connect(t, m)
	c.init()
	m.SetFault(Fault{StorageFull: true})
	if f := m.Fault(); f.StorageFull {
		t.Error("StorageFull kept as a state")
	}
	if got := c.ok("AT+CPMS?"); !slices.Equal(got, []string{`+CPMS: "SM",3,3,"SM",3,3,"SM",3,3`}) {
		t.Errorf("+CPMS?: %q", got)
	}
	if got := c.ok(`AT+CPMS="SR"`); !slices.Equal(got, []string{"+CPMS: 3,3,3,3,3,3"}) {
		t.Errorf("SR: %q", got)
	}
	c.ok(`AT+CPMS="SM"`)
	n.Deliver("+15556660000", m.Number(), "no room")
	if m.Held() != 1 {
		t.Fatalf("held %d, want 1", m.Held())
	}
	if got := append(c.ok("AT"), c.ok("AT")...); len(got) != 0 {
		t.Errorf("a URC although storage is full: %q", got)
	}
	got := c.ok("AT+CMGL=4")
	if len(got) != 6 || textOf(t, decodeStored(t, got[1])) != "Old message 1 in SM" {
		t.Fatalf("+CMGL=4: %q", got)
	}
	c.ok("AT+CMGD=2")
	c.expect(`+CMTI: "SM",2`)
	if text := textOf(t, decodeStored(t, c.ok("AT+CMGR=2")[1])); text != "no room" {
		t.Errorf("got %q, want the held message", text)
	}

	// Huawei says so.
	p, _ := LookupProfile("huawei")
	p.NoiseInterval, p.MidReplyNoiseEvery = 0, 0
	h := addModem(t, n, Config{Number: "+15550000002", ProfileData: &p, StorageSize: 2})
	ch := connect(t, h)
	ch.init()
	h.SetFault(Fault{StorageFull: true})
	ch.expect("\r\n^SMMEMFULL: \"SM\"\r\n")
	// Filled by messages, it says so too, once.
	ch.ok("AT+CMGD=1,4")
	for i := range 4 {
		n.Deliver("+15556660000", h.Number(), fmt.Sprint(i))
	}
	ch.expect(`+CMTI: "SM",2`)
	ch.expect("\r\n^SMMEMFULL: \"SM\"\r\n")
	if got := append(ch.ok("AT"), ch.ok("AT")...); len(got) != 0 {
		t.Errorf("more after ^SMMEMFULL: %q", got)
	}
}

func TestCNMATimeout(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", CNMATimeout: 50 * time.Millisecond})
	c := connect(t, m)
	c.ok("ATE0")
	c.ok("AT+CSMS=1")
	c.ok("AT+CNMI=2,2,0,1,0")
	routed := func() string {
		t.Helper()
		got := c.expectRe(`\+CMT: ,\d+\r\n([0-9A-F]+)\r\n`)
		return textOf(t, decodeStored(t, got[1]))
	}
	n.Deliver("+15556660000", m.Number(), "one")
	n.Deliver("+15556660000", m.Number(), "two")
	if got := routed(); got != "one" {
		t.Fatalf("first +CMT %q", got)
	}
	// The second waits for the acknowledgement of the first.
	if m.Held() != 1 {
		t.Errorf("held %d before +CNMA, want 1", m.Held())
	}
	c.ok("AT+CNMA")
	if got := routed(); got != "two" {
		t.Fatalf("second +CMT %q", got)
	}
	// No +CNMA: routing is switched off silently and the network delivers
	// the message again, stored this time.
	eventually(t, "the redelivery into SM", func() bool { return m.Stored("SM") == 1 })
	if got := c.ok("AT+CNMI?"); !slices.Equal(got, []string{"+CNMI: 2,0,0,0,0"}) {
		t.Errorf("+CNMI? after the timeout: %q", got)
	}
	if _, final := c.cmd("AT+CNMA"); final != "+CMS ERROR: 340" {
		t.Errorf("late +CNMA: %q", final)
	}

	// +CNMA=2 refuses it: the network tries again later.
	c.ok("AT+CNMI=2,2,0,1,0")
	n.Deliver("+15556660000", m.Number(), "three")
	if got := routed(); got != "three" {
		t.Fatal(got)
	}
	c.ok("AT+CNMA=2")
	if got := routed(); got != "three" {
		t.Errorf("redelivery %q", got)
	}
	c.ok("AT+CNMA=0")
	if m.Held() != 0 {
		t.Errorf("held %d", m.Held())
	}
}

func TestFaultReboot(t *testing.T) {
	n := newNet(t)
	p, _ := LookupProfile("huawei")
	p.NoiseInterval, p.MidReplyNoiseEvery = 0, 0
	m := addModem(t, n, Config{Number: "+15550000001", ProfileData: &p})
	c := connect(t, m)
	c.init()
	if _, mr := c.send(submitPDUs(t, "+15551234567", "x", false)[0]); mr != 1 {
		t.Fatalf("MR %d", mr)
	}
	m.SetFault(Fault{Reboot: true})
	c.expect("^MODE:5,4\r\n")
	if m.Fault().Reboot {
		t.Error("Reboot kept as a state")
	}
	for _, tt := range []struct{ cmd, want string }{
		{"AT+CNMI?", "+CNMI: 0,0,0,0,0"}, {"AT+CMEE?", "+CMEE: 0"},
	} {
		if got := c.ok(tt.cmd); !slices.Equal(got, []string{tt.cmd, tt.want}) {
			t.Errorf("%s after reboot: got %q, want echo and %q", tt.cmd, got, tt.want)
		}
	}
	c.init()
	if _, mr := c.send(submitPDUs(t, "+15551234567", "x", false)[0]); mr != 2 {
		t.Errorf("MR %d after reboot, want 2 (EF_SMSS is on the SIM)", mr)
	}
	// A reboot restores the AT&W profile, except +CNMI.
	c.ok("AT+CNMI=2,1,0,2,0;&W")
	m.Reboot()
	c.expect("^MODE:5,4\r\n")
	if got := c.ok("AT+CNMI?;+CMEE?"); !slices.Equal(got, []string{"+CNMI: 0,0,0,0,0", "+CMEE: 1"}) {
		t.Errorf("after reboot with a saved profile: %q", got)
	}
	c.ok("AT&F")
	c.ok("AT&W")
	// A reboot at the prompt loses the command.
	c.write("AT+CMGS=20\r")
	c.expect("> ")
	m.Reboot()
	c.expect("^MODE:5,4\r\n")
	if got := c.ok("AT"); !slices.Equal(got, []string{"AT"}) {
		t.Errorf("AT after a reboot at the prompt: %q", got)
	}
	if len(n.Submissions()) != 2 {
		t.Errorf("submissions %d", len(n.Submissions()))
	}
}

func TestFaultPerMinuteLimit(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	m.SetFault(Fault{PerMinuteLimit: 2})
	tp := submitPDUs(t, "+15551234567", "x", false)[0]
	for i := range 2 {
		if final, _ := c.send(tp); final != "OK" {
			t.Fatalf("send %d: %q", i, final)
		}
	}
	if final, _ := c.send(tp); final != "+CMS ERROR: 42" {
		t.Errorf("over the limit: %q", final)
	}
	m.SetFault(Fault{})
	if final, _ := c.send(tp); final != "OK" {
		t.Errorf("limit lifted: %q", final)
	}
}

func TestFaultHangUntilReboot(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c, stop := connectStop(t, m)
	c.init()
	m.SetFault(Fault{HangUntilReboot: true})
	// The reader hands one write at a time to the session, so once the
	// third is taken the first two have reached the hung modem.
	c.write("AT+CFUN=1,1\r")
	c.write("AT\r")
	c.write("AT\r")
	if st := m.Info().State; st != "hung" {
		t.Errorf("state %q", st)
	}
	stop()
	if got := c.unread(); got != "" {
		t.Fatalf("hung modem answered %q", got)
	}
	// Reopening the port ends it; +CFUN=1,1 had not been heard (echo is
	// still off).
	c2 := connect(t, m)
	if got := c2.ok("AT"); len(got) != 0 {
		t.Errorf("after reopening: %q", got)
	}
	if f := m.Fault(); f.HangUntilReboot {
		t.Error("still hung")
	}
	// So does a reboot.
	m.SetFault(Fault{HangUntilReboot: true})
	m.Reboot()
	if got := c2.ok("AT"); !slices.Equal(got, []string{"AT"}) {
		t.Errorf("after reboot: %q", got)
	}
}

func TestFaultNoPrompt(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	c := connect(t, m)
	c.init()
	m.SetFault(Fault{NoPrompt: true})
	tp := submitPDUs(t, "+15551234567", "x", false)[0]
	c.write(fmt.Sprintf("AT+CMGS=%d\r", len(tp)))
	c.write(fmt.Sprintf("00%X\x1a", tp))
	// The driver gives up, escapes and probes.
	c.write("\x1bAT\r")
	got := c.expectRe(replyRe)
	if got[2] != "OK" || strings.Contains(got[1], ">") || strings.Contains(got[1], "CMGS") {
		t.Errorf("got %q", got[0])
	}
	if len(n.Submissions()) != 0 {
		t.Error("a submission without a prompt")
	}
}

func TestUSSD(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", USSDDelay: 5 * time.Millisecond})
	c := connect(t, m)
	c.init()
	balance := DefaultUSSDReplies()["*100#"]
	c.ok(`AT+CUSD=1,"*100#",15`)
	c.expect(`+CUSD: 0,"` + balance + `",15` + "\r\n")
	if got := c.ok("AT+CUSD?"); !slices.Equal(got, []string{"+CUSD: 1"}) {
		t.Errorf("+CUSD? %q", got)
	}
	// Cancelled, the answer never comes: a status report due after it
	// comes alone (network events run in the order they are due).
	c.ok(`AT+CUSD=1,"*100#",15;+CUSD=2`)
	mark := c.mark()
	c.send(submitPDUs(t, "+15551234567", "x", true)[0])
	c.expect(`+CDSI: "SR",1`)
	if got := c.since(mark); strings.Contains(got, "+CUSD") {
		t.Errorf("a cancelled USSD answered: %q", got)
	}
	c.ok(`AT+CUSD=1,"*999#",15`)
	c.expect("\r\n+CUSD: 4\r\n")
	// Per +CSCS: UCS-2 hex both ways.
	c.ok(`AT+CSCS="UCS2"`)
	c.ok(`AT+CUSD=1,"002A0031003000300023",15`)
	got := c.expectRe(`\+CUSD: 0,"([0-9A-F]+)",15\r\n`)
	if text := decodeUCS2Hex(t, got[1]); text != balance {
		t.Errorf("UCS2 reply %q", text)
	}
	c.ok(`AT+CSCS="GSM"`)
	m.SetUSSDReplies(map[string]string{"*101#": "Data left: 1 GB"})
	c.ok(`AT+CUSD=1,"*101#",15`)
	c.expect(`+CUSD: 0,"Data left: 1 GB",15`)
	m.SetFault(Fault{NetworkLoss: true})
	if _, final := c.cmd(`AT+CUSD=1,"*101#",15`); final != "+CME ERROR: 30" {
		t.Errorf("USSD without network: %q", final)
	}

	// Huawei: packed 7-bit hex both ways.
	p, _ := LookupProfile("huawei")
	p.NoiseInterval, p.MidReplyNoiseEvery = 0, 0
	h := addModem(t, n, Config{Number: "+15550000002", ProfileData: &p, USSDDelay: 5 * time.Millisecond})
	ch := connect(t, h)
	ch.init()
	req := strings.ToUpper(hex.EncodeToString(gsm7.Pack7BitUSSD(mustGSM7(t, "*100#"), 0)))
	if req != "AA180C3602" {
		t.Fatalf("packed request %s", req) // gammu's E160 trace has this
	}
	ch.ok(`AT+CUSD=1,"` + req + `",15`)
	got = ch.expectRe(`\+CUSD: 0,"([0-9A-F]+)",15\r\n`)
	b, err := hex.DecodeString(got[1])
	if err != nil {
		t.Fatal(err)
	}
	text, err := gsm7.Decode(gsm7.Unpack7BitUSSD(b, 0))
	if err != nil || string(text) != balance {
		t.Errorf("Huawei reply %q %v", text, err)
	}
	if _, final := ch.cmd(`AT+CUSD=1,"*100#",15`); final != "+CME ERROR: 50" {
		t.Errorf("plain request to Huawei: %q", final)
	}
}

func mustGSM7(t *testing.T, s string) []byte {
	t.Helper()
	b, err := gsm7.Encode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnplugServe(t *testing.T) {
	n := newNet(t)
	p, _ := LookupProfile("huawei")
	p.NoiseInterval, p.MidReplyNoiseEvery = 0, 0
	m := addModem(t, n, Config{Number: "+15550000001", ProfileData: &p})
	c, stop := connectWith(t, m, func(err error) {
		if !errors.Is(err, ErrUnplugged) {
			t.Errorf("Serve: got %v, want ErrUnplugged", err)
		}
	})
	c.init()
	if _, mr := c.send(submitPDUs(t, "+15551234567", "x", false)[0]); mr != 1 {
		t.Fatalf("MR %d", mr)
	}
	m.SetFault(Fault{Unplug: true})
	c.serveResult()
	stop()
	if info := m.Info(); info.State != "unplugged" || info.Registration != 0 {
		t.Errorf("info %+v", info)
	}
	n.Deliver("+15556660000", m.Number(), "while unplugged")
	if m.Held() != 1 {
		t.Errorf("held %d", m.Held())
	}
	if err := m.Serve(t.Context(), pipeRW{strings.NewReader(""), io.Discard}); !errors.Is(err, ErrUnplugged) {
		t.Errorf("Serve while unplugged: %v", err)
	}

	m.Replug()
	c2 := connect(t, m)
	c2.expect("^MODE:5,4\r\n") // the boot URCs waited for the port to open
	if got := c2.ok("AT"); !slices.Equal(got, []string{"AT"}) {
		t.Errorf("echo after replug: %q", got)
	}
	c2.init()
	if got := c2.ok("AT+CMGL=4"); len(got) != 2 {
		t.Errorf("the held message: %q", got)
	}
	if _, mr := c2.send(submitPDUs(t, "+15551234567", "x", false)[0]); mr != 2 {
		t.Errorf("MR %d after replug, want 2", mr)
	}
}

func TestUnplugReplugAfter(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	m.SetFault(Fault{Unplug: true, ReplugAfter: 20 * time.Millisecond})
	if st := m.Info().State; st != "unplugged" {
		t.Errorf("state %q", st)
	}
	eventually(t, "the replug", func() bool { return m.Info().State == "up" })
	if f := m.Fault(); f.Unplug || f.ReplugAfter != 0 {
		t.Errorf("fault after replug: %+v", f)
	}
	// Clearing the fault replugs at once.
	m.SetFault(Fault{Unplug: true})
	m.SetFault(Fault{})
	if st := m.Info().State; st != "up" {
		t.Errorf("state %q after clearing", st)
	}
	// Replug on a plugged modem is a power cycle: a new Serve sees boot.
	c, stop := connectWith(t, m, func(err error) {
		if !errors.Is(err, ErrUnplugged) {
			t.Errorf("Serve: %v", err)
		}
	})
	c.ok("ATE0")
	m.Replug()
	c.serveResult()
	stop()
	c2 := connect(t, m)
	if got := c2.ok("AT"); !slices.Equal(got, []string{"AT"}) {
		t.Errorf("after the power cycle: %q", got)
	}
}

func TestServeContextWhileUnplugged(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	m.Unplug(0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Serve(ctx, pipeRW{strings.NewReader(""), io.Discard}); !errors.Is(err, ErrUnplugged) {
		t.Errorf("got %v", err)
	}
}

package sim

import (
	"bytes"
	"testing"
	"time"
)

// FuzzCommandLine feeds arbitrary bytes to a modem's AT state machine, of
// a profile picked by the input's length: it must never panic, never loop,
// keep its buffers bounded, and still answer AT afterwards.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{
		"AT\r",
		"ATE0V1Q0\r",
		"AT+CMEE=1;+CREG=2;+CREG?\r",
		"AT+CMGS=20\r0011000B915155214365F70000AA0568656C6C6F\x1a",
		"AT+CMGS=5\r00\x1b",
		"AT+CMGS=\r",
		"AT+CPMS=\"SR\",\"\",\r",
		"AT+CNMI=2,1,0,2,0;+CMGL=4;+CMGR=1;+CMGD=1,4\r",
		"AT+CSCA=\"+1\",145;+CSCA?\r",
		"AT+CFUN=1,1\r",
		"ATS3=13S3?&W&F&C1Z\r",
		"AT\"unterminated;+CSQ\r",
		"at+cmgs=255\r" + string(bytes.Repeat([]byte("AB"), 600)) + "\x1a",
		"\x00\xff\xfeAT\xc3\r\n\r\r",
		"AT+CUSD=1,\"*100#\",15\r",
		"ATV0\rATQ1\rAT+FOO\r",
		"AT^CURC=0;^ICCID?\r",
		"AT+CUSD=1,\"AA180C3602\",15;+CUSD=2;+CUSD?\r",
		"AT+CSCS=\"UCS2\";+CUSD=1,\"002A0031003000300023\",15\r",
		"AT+CFUN=0;+CFUN=1;+CFUN=1,1;+CMGS=9\r",
		"AT+CSMS=1;+CNMI=2,2,0,1,0;+CNMA=2;+CNMA\r",
		"AT+QURCCFG=\"urcport\",\"usbmodem\";+QURCCFG=\"urcport\"\r",
		"ATZ;+CSMP=17,167,0,0;+CMGR=0\r",
		"AT+CREG=2;+CGREG=1;+CEREG=2;+COPS?\r",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := NewNetwork(NetworkConfig{ReportDelay: time.Hour})
		defer n.Close()
		names := ProfileNames()
		p, _ := LookupProfile(names[len(data)%len(names)])
		p.MidReplyNoiseEvery = 2
		m, err := n.AddModem(Config{Number: "+15550000001", ProfileData: &p, StorageSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		s := newSession(m)
		if err := m.attach(s); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		feed := func(b []byte) []byte {
			m.mu.Lock()
			defer m.mu.Unlock()
			s.in = append(s.in, b...)
			s.stepLocked(now)
			out := s.out
			s.out = nil
			if len(s.in) > maxLine+len(b) || len(s.pdu) > maxPDUHex {
				t.Fatalf("buffers grew: in %d pdu %d", len(s.in), len(s.pdu))
			}
			return out
		}
		// In pieces, as a serial line delivers them.
		for len(data) > 0 {
			k := min(len(data), 1+int(data[0])%7)
			feed(data[:k])
			data = data[k:]
			n.Deliver("+16660000000", m.Number(), "in between") // URCs mixed in
		}
		// Whatever state it is in, CR ends a line, ESC leaves the prompt,
		// AT&F restores defaults and AT answers OK.
		feed([]byte("\r\x1b\rAT&F\r"))
		out := feed([]byte("AT\r"))
		if !bytes.HasSuffix(out, []byte("\r\nOK\r\n")) {
			t.Fatalf("no OK after recovery; output %q", out)
		}
	})
}

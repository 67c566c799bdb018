package modem

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The USSD replies of gammu tests/at-ussd (docs/modems.md §4.1), decoded as a
// Huawei (packed) and as any other modem.
func TestDecodeUSSDVectors(t *testing.T) {
	const (
		e160Packed = "49B41C74ACD3D16171D90D32FBE52072BA0C72CA5DB45CAC76C3CD6CB41B2D060389CB74F9FE4C07D55C371CA85897BF1B"
		m35UCS2    = "00480061007600690020006B0065007200650074003A0020003000460074002E002000460065006C007400F6006C007400F60074007400200065006700790065006E006C00650067003A0020003700370037003700460074002C002800650062006200F6006C0020007600E0007300E00072006C00E000730072006100200069007300200066006F0072006400EC007400680061007400F2003A00200037003700370037004600740029002E0020004400EC006A00630073006F006D00610067003A002000420065006E0063007300F200200041002E00200055006A002000540065006C0065006B006F006D002000F6006E006B00690073007A006F006C006700E0006C00F2003A0020002A0031003100310023"
		e3276UCS2  = "0414043B044F00200441043F044004300432043A04380020043E002004310430043B0430043D044104350020043D04300431043504400438044204350020002A0031003000350023002E002004230441043B0443043304300020043104350441043F043B04300442043D0430002E"
		he910      = "613906310635064A062F06430020003100300037002E003900330020062F002E0644060C06270644063506440627062D064A0629002000200032003000310038002D00310031002D003000390000FFFF60B16260EEEEFFFFFFFFFFFFFFFFFFFF60B16260EEEEFFFFFFFFFFFFFFFFFFFF60B16260EEEEFFFF00A962600000000000000000EE000000000000000000000068B5626058655F60"
		hex8bit    = "536973612070756C73612052702E333030302E416B7469662073642032362F30322F323032302E0A4B6F6E74656E20526961204D6972616E64612026205261696820556D726F682E5270323230302F534D532F32487220736C6D2031383048720A312E59410A322E43656B204B756F74610A333E4E656C706F6E0A342E496E7465726E65740A352E4C61696E6E79610A"
	)
	for _, tc := range []struct {
		name   string
		line   string
		status int
		dcs    int
		text   string
	}{
		{"02-E160 packed, dcs 15", `+CUSD: 0,"` + e160Packed + `",15`, 0, 15,
			"Ihr Guthaben für die Nr.4915783647410 beträgt 5.78 Euro"},
		{"03 plain in the GSM charset, m=1, no dcs", `+CUSD: 1,"Kontostand: 3.00 EUR Bitte w{hlen Sie: 1 Konto aufladen 2 CallNow Transfer"`, 1, -1,
			"Kontostand: 3.00 EUR Bitte wählen Sie: 1 Konto aufladen 2 CallNow Transfer"},
		{"04 plain, m=2, dcs 0", `+CUSD: 2,"Maaf, permintaan Anda tidak dapat kami proses. Silakan coba beberapa saat lagi.",0`, 2, 0,
			"Maaf, permintaan Anda tidak dapat kami proses. Silakan coba beberapa saat lagi."},
		{"8-bit hex with dcs 0", `+CUSD: 1,"` + hex8bit + `",0`, 1, 0,
			"Sisa pulsa Rp.3000.Aktif sd 26/02/2020.\nKonten Ria Miranda & Raih Umroh.Rp2200/SMS/2Hr slm 180Hr\n1.YA\n2.Cek Kuota\n3>Nelpon\n4.Internet\n5.Lainnya\n"},
		{"Quectel M35 UCS-2 with dcs 15", `+CUSD: 2,"` + m35UCS2 + `",15`, 2, 15,
			"Havi keret: 0Ft. Feltöltött egyenleg: 7777Ft,(ebböl vàsàrlàsra is fordìthatò: 7777Ft). Dìjcsomag: Bencsò A. Uj Telekom önkiszolgàlò: *111#"},
		{"E3276 UCS-2 dcs 72", `+CUSD: 0,"` + e3276UCS2 + `",72`, 0, 72,
			"Для справки о балансе наберите *105#. Услуга бесплатна."},
		{"dell plain with dcs 15", `+CUSD: 0,"On DATA Pack u have 3Gb 817Mb 169kb valid until 21/05/2016   upto time of data recharge done by u.",15`, 0, 15,
			"On DATA Pack u have 3Gb 817Mb 169kb valid until 21/05/2016   upto time of data recharge done by u."},
		{"Telit HE910-D UCS-2 with language, garbage tail", `+CUSD: 2,"` + he910 + `",17`, 2, 17,
			"رصيدك 107.93 د.ل،الصلاحية  2018-11-09"},
		{"not supported, no text", "+CUSD: 4", 4, -1, ""},
		{"timeout, no space", "+CUSD:5", 5, -1, ""},
		{"unquoted plain text with commas", "+CUSD: 0,Balance: 5,00 EUR, valid 30 days,15", 0, 15, "Balance: 5,00 EUR, valid 30 days"},
	} {
		for _, packed := range []bool{true, false} {
			r, ok := parseCUSD(tc.line, packed)
			if !ok || r.Status != tc.status || r.DCS != tc.dcs || r.Text != tc.text {
				t.Errorf("%s (packed %v): got %v %+v\nwant status %d dcs %d %q", tc.name, packed, ok, r, tc.status, tc.dcs, tc.text)
			}
		}
	}
	// 01-E160: packed, unquoted, no dcs; the capture was anonymised by
	// overwriting digits in the hex, so only the intact ends are checked.
	r, ok := parseCUSD("+CUSD: 0, 49B41C74ACD3D16171D90D66666666666666666666B45CAC76C3CD6CB41B2D060389CB74F9FE4C07DD5CB91AA85897BF1B", true)
	if !ok || r.DCS != -1 || !strings.HasPrefix(r.Text, "Ihr Guthaben") || !strings.HasSuffix(r.Text, "beträgt 7.95 Euro") {
		t.Errorf("01-E160: %v %+v", ok, r)
	}
	for _, bad := range []string{"+CUSD: x", "+CMTI: 1", "", "+CUSD"} {
		if _, ok := parseCUSD(bad, false); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// Hex-looking plain replies stay as they are unless a reading is plausible.
func TestDecodeUSSDAmbiguous(t *testing.T) {
	for _, tc := range []struct {
		s      string
		dcs    int
		packed bool
		want   string
	}{
		{"1234", 15, false, "1234"},
		{"ABBA", 15, false, "ABBA"},
		{"CAFE", -1, false, "CAFE"},
		{"DEADBEEF", 15, false, "DEADBEEF"},
		{"Balance $5 @ 10% off_now", 15, false, "Balance $5 @ 10% off_now"}, // IRA: $ @ _ kept
		{"Guthaben \x02" + "5 \x00 Ende", 15, false, "Guthaben $5 @ Ende"},  // raw GSM septets
		{"w{hlen \x1b\x65 5", 15, false, "wählen € 5"},                      // GSM escape for €
		{"AA180C3602", 15, true, "*100#"},                                   // our own request, packed
		{"002A0031003000300023", 72, false, "*100#"},
		{"0048006900", 72, false, "0048006900"}, // odd number of units: not UCS-2
		{"D800D800", 72, false, "D800D800"},     // lone surrogates: not UCS-2
		{"48656C6C6F2C20776F726C6421", 0xF4, false, "Hello, world!"},
		{"E9", 0x44, false, "é"}, // 8-bit, not UTF-8: Latin-1
		{"en\rHello there", 0x10, false, "Hello there"},
	} {
		if got := DecodeUSSD(tc.s, tc.dcs, tc.packed); got != tc.want {
			t.Errorf("DecodeUSSD(%q, %d, %v) = %q, want %q", tc.s, tc.dcs, tc.packed, got, tc.want)
		}
	}
}

func TestPackUSSD(t *testing.T) {
	// The widely quoted Huawei form of *100#.
	if got := packUSSD("*100#"); got != "AA180C3602" {
		t.Errorf("got %s", got)
	}
	if got := DecodeUSSD(packUSSD("*123*4567890#"), 15, true); got != "*123*4567890#" {
		t.Errorf("round trip: %q", got)
	}
}

func TestDCSAlphabet(t *testing.T) {
	for dcs, want := range map[int]ussdAlphabet{
		-1: alphaGSM7, 0x00: alphaGSM7, 0x0F: alphaGSM7, 0x10: alphaGSM7Lang, 0x11: alphaUCS2Lang,
		0x40: alphaGSM7, 0x44: alpha8Bit, 0x48: alphaUCS2, 0x4C: alphaGSM7, 0x99: alphaUCS2,
		0xF0: alphaGSM7, 0xF4: alpha8Bit, 0x20: alphaGSM7,
	} {
		if got := dcsAlphabet(dcs); got != want {
			t.Errorf("dcs %#x: got %v, want %v", dcs, got, want)
		}
	}
}

// ussdFake scripts the +CUSD side of a modem at the io.Pipe boundary (a
// scripted fake, not the simulator): reply answers one +CUSD=1 request.
func ussdFake(t *testing.T, manufacturer string, reply func(fm *fakeModem, cmd string) bool) *fakeModem {
	return newFake(t, func(fm *fakeModem, cmd string) bool {
		switch {
		case cmd == "AT+CGMI":
			fm.ok(manufacturer)
		case cmd == "AT^CURC=0", cmd == "AT+CUSD=2":
			fm.ok()
		case strings.HasPrefix(cmd, "AT+CUSD=1,"):
			return reply(fm, cmd)
		default:
			return basic(fm, cmd)
		}
		return true
	})
}

func TestUSSDScripted(t *testing.T) {
	const balance = `+CUSD: 0,"Balance: 5.00 EUR",15`
	for _, tc := range []struct {
		name   string
		maker  string
		reply  func(fm *fakeModem, cmd string) bool
		want   USSDReply
		sends  []string // commands that must have been sent
		closes bool     // AT+CUSD=2 expected
	}{
		{"reply before OK", "ACME", func(fm *fakeModem, cmd string) bool {
			fm.send(balance, "OK")
			return true
		}, USSDReply{0, "Balance: 5.00 EUR", 15}, []string{`AT+CUSD=1,"*100#",15`}, false},
		{"reply after OK", "ACME", func(fm *fakeModem, cmd string) bool {
			fm.ok()
			time.Sleep(30 * time.Millisecond)
			fm.send(balance)
			return true
		}, USSDReply{0, "Balance: 5.00 EUR", 15}, nil, false},
		{"further action closes the session", "ACME", func(fm *fakeModem, cmd string) bool {
			fm.ok()
			fm.send(`+CUSD: 1,"1. Balance 2. Bundles",15`)
			return true
		}, USSDReply{1, "1. Balance 2. Bundles", 15}, nil, true},
		{"huawei packs both ways", "huawei", func(fm *fakeModem, cmd string) bool {
			if cmd != `AT+CUSD=1,"AA180C3602",15` {
				return false
			}
			fm.ok()
			fm.send(`+CUSD: 0,"49B41C74ACD3D16171D90D32FBE52072BA0C72CA5DB45CAC76C3CD6CB41B2D060389CB74F9FE4C07D55C371CA85897BF1B",15`)
			return true
		}, USSDReply{0, "Ihr Guthaben für die Nr.4915783647410 beträgt 5.78 Euro", 15}, []string{"AT^CURC=0"}, false},
		{"network says not supported", "ACME", func(fm *fakeModem, cmd string) bool {
			fm.ok("+CUSD: 4")
			return true
		}, USSDReply{4, "", -1}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fm := ussdFake(t, tc.maker, tc.reply)
			m := newTestModem(t, fm.host, fastConfig())
			if _, err := m.Init(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			got, err := m.USSD(ctxT(t), "*100#")
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			for _, c := range tc.sends {
				if fm.count(c) == 0 {
					t.Errorf("%s not sent: %q", c, fm.commands())
				}
			}
			if n := fm.count("AT+CUSD=2"); (n > 0) != tc.closes {
				t.Errorf("AT+CUSD=2 sent %d times", n)
			}
			// The port is in step afterwards.
			if h, err := m.Health(ctxT(t)); err != nil || h.SignalRSSI != 20 {
				t.Errorf("health after USSD: %+v, %v", h, err)
			}
		})
	}
}

// Huawei E1752: +CUSD answers ERROR until AT^USSDMODE=0, and then wants the
// code in plain text; the working variant is remembered.
func TestUSSDHuaweiUSSDMode(t *testing.T) {
	var mu sync.Mutex
	mode := 1
	fm := newFake(t, func(fm *fakeModem, cmd string) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case cmd == "AT+CGMI":
			fm.ok("huawei")
		case cmd == "AT+CGMM":
			fm.ok("E1752")
		case cmd == "AT^USSDMODE=0":
			mode = 0
			fm.ok()
		case cmd == `AT+CUSD=1,"*100#",15` && mode == 0:
			fm.ok()
			fm.send(`+CUSD: 2,"Your balance is 3.50",15`)
		case strings.HasPrefix(cmd, "AT+CUSD=1,"):
			fm.send("COMMAND NOT SUPPORT")
		default:
			return basic(fm, cmd)
		}
		return true
	})
	m := newTestModem(t, fm.host, fastConfig())
	if _, err := m.Init(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := m.USSD(ctxT(t), "*100#")
		if err != nil || got.Status != 2 || got.Text != "Your balance is 3.50" {
			t.Fatalf("got %+v, %v", got, err)
		}
	}
	if n := fm.count("AT^USSDMODE=0"); n != 1 {
		t.Errorf("^USSDMODE=0 sent %d times", n)
	}
	if n := fm.count(`AT+CUSD=1,"AA180C3602",15`); n != 2 {
		t.Errorf("packed request sent %d times, want 2 (first try, and again after ^USSDMODE=0)", n)
	}
}

func TestUSSDErrors(t *testing.T) {
	var mu sync.Mutex
	answer := "silence"
	fm := ussdFake(t, "ACME", func(fm *fakeModem, cmd string) bool {
		mu.Lock()
		defer mu.Unlock()
		switch answer {
		case "silence":
			fm.ok()
		case "no network":
			fm.send("+CME ERROR: 30")
		}
		return true
	})
	cfg := fastConfig()
	cfg.USSDTimeout = 100 * time.Millisecond
	m := newTestModem(t, fm.host, cfg)
	_, err := m.USSD(ctxT(t), "*100#")
	if !errors.Is(err, ErrTimeout) || Classify(err) != ClassTransient {
		t.Errorf("no reply: got %v", err)
	}
	if fm.count("AT+CUSD=2") != 1 {
		t.Errorf("session not cancelled: %q", fm.commands())
	}
	mu.Lock()
	answer = "no network"
	mu.Unlock()
	if _, err := m.USSD(ctxT(t), "*100#"); !isCME(err, 30) || Classify(err) != ClassTransient {
		t.Errorf("no network: got %v", err)
	}
	for _, bad := range []string{"", `*1"#`, "*1\r#"} {
		if _, err := m.USSD(ctxT(t), bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// A late reply to the timed-out request is not taken for the next one.
	mu.Lock()
	answer = "silence"
	mu.Unlock()
	fm.send(`+CUSD: 0,"stale",15`)
	if err := m.Probe(ctxT(t)); err != nil { // the stale line is read by now
		t.Fatal(err)
	}
	if r, err := m.USSD(ctxT(t), "*100#"); !errors.Is(err, ErrTimeout) {
		t.Errorf("got %+v, %v", r, err)
	}
}

// USSD holds the port: a Send issued while the reply is outstanding is
// written only after it came. synctest.Wait makes "nothing was written
// meanwhile" a fact rather than a timing guess.
func TestUSSDSerialisedWithSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		fm := ussdFake(t, "ACME", func(fm *fakeModem, cmd string) bool {
			fm.ok()
			<-release
			fm.send(`+CUSD: 0,"done",15`)
			return true
		})
		m := newTestModem(t, fm.host, fastConfig())
		done := make(chan error, 1)
		go func() {
			_, err := m.USSD(context.Background(), "*100#")
			done <- err
		}()
		synctest.Wait() // the request is out, the reply outstanding
		written := m.wrote.Load()
		sent := make(chan error, 1)
		go func() {
			parts, _ := EncodeSubmit("+15557654321", "after the USSD", 0)
			_, err := m.Send(context.Background(), parts[0])
			sent <- err
		}()
		time.Sleep(time.Second) // virtual time: Send is as far as it gets
		synctest.Wait()
		if fm.count(`AT+CUSD=1,"*100#",15`) != 1 || m.wrote.Load() != written {
			t.Errorf("wrote %d bytes while the reply was outstanding", m.wrote.Load()-written)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		cmds := fm.commands()
		if iS := slices.IndexFunc(cmds, func(c string) bool { return strings.HasPrefix(c, "AT+CMGS=") }); iS < 0 {
			t.Errorf("no submit: %q", cmds)
		}
	})
}

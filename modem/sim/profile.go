package sim

import (
	"maps"
	"slices"
	"time"
)

// Profile is the vendor personality of a simulated modem, kept as plain data
// so new profiles (docs/modems.md §6.7) can be added, or loaded from a file later,
// without touching the AT state machine.
type Profile struct {
	Name         string
	Manufacturer string // +CGMI
	Model        string // +CGMM
	Revision     string // +CGMR
	GCAP         string // +GCAP info line

	// UnknownReply is the final result code for a command the profile does
	// not know: "ERROR" for spec-conformant modems, "COMMAND NOT SUPPORT"
	// for Huawei (gammu issue #138).
	UnknownReply string

	// ReportMemory is where status reports go with +CNMI ds=2: "SR" on most
	// modems (SIM7600, Huawei), "SM" on some.
	ReportMemory string

	// Noise lines are vendor URCs emitted every NoiseInterval while idle
	// and, every MidReplyNoiseEvery-th reply, injected inside a command
	// reply (after the echo and before the final result code), the way the
	// E3372 does (lede-project/source PR #1323). Zero disables either.
	Noise              []string
	NoiseInterval      time.Duration
	MidReplyNoiseEvery int

	// SplitEcho puts the injected noise inside the echo itself ("A",
	// noise, "T+CGMI"), as the E3372 does; it needs echo on.
	SplitEcho bool

	// CURC makes AT^CURC=0 switch the noise off (Huawei).
	CURC bool

	// EscReply is written when ESC cancels a +CMGS prompt; "" writes
	// nothing, which is the safer reading of 27.005 for a client that sends
	// ESC after a timeout and then resynchronises.
	EscReply string

	// ICCIDCommands are the commands that answer the ICCID, each as
	// "<command>: <iccid>" (with or without "?"): vendors disagree
	// (+CCID, +ICCID, ^ICCID).
	ICCIDCommands []string

	// BootURCs are written when a boot ends: after AT+CFUN=1,1, a
	// spontaneous reboot or a replug (kept for the next client if nobody
	// has the port open yet), and at power-on if someone listens by then.
	BootURCs []string

	// Canned maps a vendor command (upper case, with its suffix: "^SYSINFO",
	// "^ICCID?") to fixed info lines answered with OK.
	Canned map[string][]string

	// ICCIDBare answers the ICCID commands with the digits alone, without
	// the "+CCID: " prefix (SIM800).
	ICCIDBare bool

	// BootDelay is the time from power-on, reboot or replug until the
	// modem has registered and written BootURCs; meanwhile +CREG says 2
	// (searching) and the network holds inbound messages. Config.BootDelay
	// overrides it.
	BootDelay time.Duration

	// NotReadyCommands answer ERROR until the boot is over (SIM800 before
	// "SMS Ready").
	NotReadyCommands []string

	// RadioOffAtBoot makes the modem come up at +CFUN: 0, unregistered and
	// unable to send until AT+CFUN=1 (ZTE, Qualcomm; docs/modems.md §2.1).
	RadioOffAtBoot bool

	// Unsupported names commands (as parsed: "Z", "+CEREG") the profile
	// answers with UnknownReply although the simulator knows them: ZTE
	// answers ATZ with ERROR, a 2G module has no +CEREG.
	Unsupported []string

	// Radio is the access technology shown by +CREG=2 and +COPS?: "lte"
	// (AcT 7, the default), "3g" (AcT 2) or "2g" (no AcT field).
	Radio string

	// ReportURC, when set, replaces the +CDSI announcement of a report
	// stored with +CNMI ds=2, which still goes to ReportMemory: the EC25
	// says `+CDSI: "SM",0` for a report stored in "SR".
	ReportURC string

	// ReadIndex0OK answers +CMGR=0 with a bare OK instead of +CMS ERROR:
	// 321, which is what an EC25 does when the driver follows its bogus
	// `+CDSI: "SM",0`.
	ReadIndex0OK bool

	// InterleaveReportsEvery holds every n-th +CDSI until the next command
	// and writes it inside that command's reply, after the echo, whatever
	// +CNMI mode 2 says (ZTE MF626, gammu issue #209). 0 disables.
	InterleaveReportsEvery int

	// MemFullURC is written, with the memory appended (`^SMMEMFULL: "SM"`),
	// when an inbound message finds its memory full (Huawei E1750).
	MemFullURC string

	// CSMPClearsSMSC makes AT+CSMP=... wipe the SMSC number, so submits
	// without an SCA in the PDU fail with +CMS ERROR: 330 (ZTE K3565-Z).
	CSMPClearsSMSC bool

	// URCPorts enables AT+QURCCFG="urcport",<port> (Quectel): the first
	// entry is the port being served; choosing another one sends every URC
	// elsewhere, i.e. the client never sees them. The choice survives
	// reboots (it is kept in NV memory).
	URCPorts []string

	// USSDRequest and USSDReply are the encodings of the USSD string in
	// AT+CUSD=1,"<str>" and in the +CUSD: reply: USSDCharset (the default:
	// plain text, or UCS-2 hex while +CSCS="UCS2"), USSDPacked7 (GSM 7-bit
	// packed, hex: Huawei) or USSDUCS2 (UCS-2 hex whatever +CSCS says:
	// Quectel). USSDDCS is the <dcs> of replies (default 15).
	USSDRequest USSDEncoding
	USSDReply   USSDEncoding
	USSDDCS     int
}

// USSDEncoding names how a modem encodes USSD strings on the AT interface.
type USSDEncoding string

// USSD encodings (docs/modems.md §1.2, §4.1).
const (
	USSDCharset USSDEncoding = ""        // per +CSCS: text, or UCS-2 hex with "UCS2"
	USSDPacked7 USSDEncoding = "packed7" // GSM 7-bit packed, as hex (Huawei)
	USSDUCS2    USSDEncoding = "ucs2"    // UCS-2 as hex (Quectel)
)

// builtinProfiles returns fresh copies of the known profiles so callers may
// modify what they get.
func builtinProfiles() map[string]Profile {
	return map[string]Profile{
		"generic": {
			Name:          "generic",
			Manufacturer:  "SIMULATOR",
			Model:         "GSM-1",
			Revision:      "1.0.0",
			GCAP:          "+GCAP: +CGSM,+FCLASS,+DS",
			UnknownReply:  "ERROR",
			ReportMemory:  "SR",
			ICCIDCommands: []string{"+CCID", "+ICCID"},
		},
		"huawei": {
			Name:          "huawei",
			Manufacturer:  "huawei",
			Model:         "E3372",
			Revision:      "22.323.01.00.00",
			GCAP:          "+GCAP: +CGSM,+DS,+ES",
			UnknownReply:  "COMMAND NOT SUPPORT",
			ReportMemory:  "SR",
			ICCIDCommands: []string{"+CCID", "^ICCID"},
			// The usual Huawei chatter (gammu atgen.c ignore list, issue #111).
			Noise: []string{
				"^RSSI:20",
				"^MODE:5,4",
				`^HCSQ:"LTE",49,39,121,20`,
				"^BOOT:35323129,0,0,0,26",
				"^SRVST:2",
			},
			NoiseInterval: time.Second,
			// Every 4th reply carries noise inside it: often enough that a
			// short driver init sees it, rare enough to keep traces readable.
			MidReplyNoiseEvery: 4,
			CURC:               true,
			BootURCs:           []string{"^BOOT:35323129,0,0,0,26", "^SIMST:1", "^SRVST:2", "^MODE:5,4"},
			Canned: map[string][]string{
				"^SYSINFO":    {"^SYSINFO:2,3,0,5,1,,4"},
				"^USSDMODE?":  {"^USSDMODE: 0"},
				"^SETPORT?":   {"A1,A2;1,2,3,7,A1,A2"},
				"^HCSQ?":      {`^HCSQ:"LTE",49,39,121,20`},
				"^SYSCFGEX?":  {`^SYSCFGEX: "00",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF`},
				"^USSDMODE=0": nil,
				"^USSDMODE=1": nil,
			},
			MemFullURC:  "^SMMEMFULL",
			USSDRequest: USSDPacked7,
			USSDReply:   USSDPacked7,
		},
		// SIMCom SIM800L, 2G only: SMS commands fail until "SMS Ready"
		// (docs/modems.md §2.1), +CCID answers bare digits.
		"simcom-sim800": {
			Name:             "simcom-sim800",
			Manufacturer:     "SIMCOM_Ltd",
			Model:            "SIMCOM_SIM800L",
			Revision:         "Revision:1418B04SIM800L24",
			GCAP:             "+GCAP: +CGSM",
			UnknownReply:     "ERROR",
			ReportMemory:     "SR",
			ICCIDCommands:    []string{"+CCID"},
			ICCIDBare:        true,
			BootURCs:         []string{"+CPIN: READY", "Call Ready", "SMS Ready"},
			BootDelay:        2 * time.Second,
			NotReadyCommands: []string{"+CMGF", "+CMGS", "+CPMS", "+CNMI", "+CMGR", "+CMGL", "+CMGD", "+CSMS", "+CNMA"},
			Unsupported:      []string{"+CEREG"},
			Radio:            "2g",
		},
		// Quectel EC25: reports announced as +CDSI: "SM",0 but stored in SR
		// with ds=2 (ds=1 works), URCs follow +QURCCFG, USSD replies in
		// UCS-2 hex with dcs 15 as the Quectel M35 capture shows.
		"quectel-ec25": {
			Name:          "quectel-ec25",
			Manufacturer:  "Quectel",
			Model:         "EC25",
			Revision:      "EC25EFAR06A10M4G",
			GCAP:          "+GCAP: +CGSM",
			UnknownReply:  "ERROR",
			ReportMemory:  "SR",
			ICCIDCommands: []string{"+CCID", "+QCCID"},
			BootURCs:      []string{"RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"},
			BootDelay:     time.Second,
			ReportURC:     `+CDSI: "SM",0`,
			ReadIndex0OK:  true,
			URCPorts:      []string{"usbat", "usbmodem", "uart1"},
			USSDReply:     USSDUCS2,
			USSDDCS:       15,
			Canned: map[string][]string{
				`+QINDCFG="all",1`:         nil,
				`+QINDCFG="smsincoming",1`: nil,
			},
		},
		// ZTE MF626: ATZ is an error, the radio is off after boot, a +CDSI
		// lands inside a command reply now and then, +CSMP wipes the SMSC.
		"zte": {
			Name:                   "zte",
			Manufacturer:           "ZTE INCORPORATED",
			Model:                  "MF626",
			Revision:               "BD_P673A2V1.0.0B09",
			GCAP:                   "+GCAP: +CGSM,+DS,+ES",
			UnknownReply:           "ERROR",
			ReportMemory:           "SR",
			ICCIDCommands:          []string{"+CCID", "+ZGETICCID"},
			Unsupported:            []string{"Z"},
			RadioOffAtBoot:         true,
			InterleaveReportsEvery: 2,
			CSMPClearsSMSC:         true,
			Radio:                  "3g",
		},
	}
}

// LookupProfile returns a copy of the named built-in profile ("generic",
// "huawei", "simcom-sim800", "quectel-ec25" or "zte"). Modify the copy and pass it as Config.ProfileData to tune, for
// example, how often noise is injected.
func LookupProfile(name string) (Profile, bool) {
	p, ok := builtinProfiles()[name]
	return p, ok
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	return slices.Sorted(maps.Keys(builtinProfiles()))
}

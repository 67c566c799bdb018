package sim

import (
	"maps"
	"slices"
	"time"
)

// Profile is the vendor personality of a simulated modem, kept as plain data
// so new profiles (MODEMS.md §6.7) can be added, or loaded from a file later,
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

	// BootURCs are written after AT+CFUN=1,1.
	BootURCs []string

	// Canned maps a vendor command (upper case, with its suffix: "^SYSINFO",
	// "^ICCID?") to fixed info lines answered with OK.
	Canned map[string][]string
}

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
		},
	}
}

// LookupProfile returns a copy of the named built-in profile ("generic" or
// "huawei"). Modify the copy and pass it as Config.ProfileData to tune, for
// example, how often noise is injected.
func LookupProfile(name string) (Profile, bool) {
	p, ok := builtinProfiles()[name]
	return p, ok
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	return slices.Sorted(maps.Keys(builtinProfiles()))
}

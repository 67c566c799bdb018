package modem

import "strings"

// quirk is what a family of modems needs beyond the standard sequence
// (docs/modems.md §1.2 "Vendor noise control" and §2.1). Init picks the first
// entry of vendorQuirks whose match accepts the identity; add a family by
// adding an entry.
type quirk struct {
	name  string
	match func(Identity) bool
	// setup commands go right after identification, and again after a
	// reboot; a refusal is tolerated (older firmware lacks them).
	setup []string
	// cnmi replaces cnmiChoices: the +CNMI settings to try, in order.
	cnmi []string
	// packedUSSD: the +CUSD string is GSM 7-bit packed into hex, both
	// ways (gammu F_ENCODED_USSD).
	packedUSSD bool
	// ussdMode: +CUSD may answer ERROR until AT^USSDMODE=0 (Huawei E1752).
	ussdMode bool
}

// vendorQuirks returns the table (a fresh copy: no shared mutable state).
func vendorQuirks() []quirk {
	return []quirk{
		{
			// Huawei sticks chatter (^RSSI, ^HCSQ, ^BOOT, ...) even inside
			// command echoes (lede PR #1323): ^CURC=0 silences it. USSD is
			// packed hex (gammu tests/at-ussd/0[12]-E160).
			name:       "huawei",
			match:      func(id Identity) bool { return contains(id.Manufacturer, "huawei") },
			setup:      []string{"^CURC=0"},
			packedUSSD: true,
			ussdMode:   true,
		},
		{
			// Quectel EC25/EG25 announce status reports as +CDSI: "SM",0
			// but store them in "SR", where +CMGR never finds them
			// (chan_quectel PR #75): have them routed as +CDS (ds=1).
			name: "quectel-ec25",
			match: func(id Identity) bool {
				return contains(id.Manufacturer, "quectel") && (contains(id.Model, "EC25") || contains(id.Model, "EG25"))
			},
			cnmi: []string{"2,1,0,1,0", "2,1,0,0,0", "1,1,0,0,0"},
		},
	}
}

// quirksFor returns the quirk entry for a modem.
func quirksFor(id Identity) quirk {
	for _, q := range vendorQuirks() {
		if q.match(id) {
			return q
		}
	}
	return quirk{name: "generic"}
}

func contains(s, sub string) bool {
	return strings.Contains(strings.ToUpper(s), strings.ToUpper(sub))
}

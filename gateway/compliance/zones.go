package compliance

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // quiet hours need every zone even on a box without the tz database

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/store"
)

// strictAreaCodes are the US area codes of states that allow marketing
// texts only 08:00-20:00 (docs/compliance.md R-QH: FL, OK, MD, WA, CT), with
// overlays, as assigned by NANPA.
var strictAreaCodes = map[string]string{
	// Florida
	"239": "FL", "305": "FL", "321": "FL", "324": "FL", "352": "FL", "386": "FL", "407": "FL",
	"448": "FL", "561": "FL", "645": "FL", "656": "FL", "689": "FL", "727": "FL", "728": "FL",
	"754": "FL", "772": "FL", "786": "FL", "813": "FL", "850": "FL", "863": "FL", "904": "FL",
	"941": "FL", "954": "FL",
	// Oklahoma
	"405": "OK", "539": "OK", "572": "OK", "580": "OK", "918": "OK",
	// Maryland
	"227": "MD", "240": "MD", "301": "MD", "410": "MD", "443": "MD", "667": "MD",
	// Washington
	"206": "WA", "253": "WA", "360": "WA", "425": "WA", "509": "WA", "564": "WA",
	// Connecticut
	"203": "CT", "475": "CT", "860": "CT", "959": "CT",
}

// zoneCache holds loaded locations: LoadLocation reads the tz database.
var zoneCache sync.Map // name → *time.Location

// LoadZone returns the named IANA zone, or nil when there is no such zone.
func LoadZone(name string) *time.Location {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zoneCache.Store(name, loc)
	return loc
}

// RulesFor works out the zones and window for number (E.164). A contact's
// time zone, when a person gave it, wins; otherwise every zone of the
// number's area code counts (a state spanning two zones gets the
// intersection of both windows), then the country's easternmost zone, then
// the box's own (R-QH resolution order).
func RulesFor(number string, contact *store.Contact, s *Settings) Rules {
	var r Rules
	num, err := phonenumbers.Parse(number, "")
	region := ""
	if err == nil {
		region = phonenumbers.GetRegionCodeForNumber(num)
	}
	if contact != nil && contact.TimeZone != "" && !contact.TimeZoneDerived {
		if z := LoadZone(contact.TimeZone); z != nil {
			r.Zones = []*time.Location{z}
		}
	}
	if len(r.Zones) == 0 {
		r.Zones = NumberZones(number)
	}
	if len(r.Zones) == 0 {
		r.Zones = []*time.Location{time.Local}
	}

	r.Window, r.Why = s.QuietDefault, "default window"
	if region == "US" || region == "" && len(number) == 12 && number[:2] == "+1" {
		r.Why = "US federal rule"
		if state, ok := strictAreaCodes[usAreaCode(number)]; ok {
			r.Window, r.Why = s.QuietStrict, "stricter state law ("+state+")"
			if state == "FL" && (contact == nil || contact.TimeZone == "" || contact.TimeZoneDerived) {
				// Florida spans Eastern and Central time and its area codes
				// do not follow the line (850 holds Tallahassee and the
				// western panhandle): both clocks must be in the window.
				r.Zones = floridaZones()
			}
		}
	}
	if w, ok := s.QuietCountries[region]; ok && region != "" {
		r.Window, r.Why = w, "setting for "+region
	}
	return r
}

func floridaZones() []*time.Location {
	var out []*time.Location
	for _, n := range []string{"America/New_York", "America/Chicago"} {
		if z := LoadZone(n); z != nil {
			out = append(out, z)
		}
	}
	return out
}

// usAreaCode returns the three digits after +1, or "".
func usAreaCode(number string) string {
	if len(number) == 12 && number[:2] == "+1" {
		return number[2:5]
	}
	return ""
}

// NumberZones lists the zones a number's prefix may be in (several where
// an area code spans zones), else its country's easternmost zone, else
// none. The guard, a contact's derived zone and the ledger's zone all come
// from here, so they agree.
func NumberZones(e164 string) []*time.Location {
	names, _ := phonenumbers.GetTimezonesForPrefix(e164)
	var zones []*time.Location
	for _, n := range names {
		if z := LoadZone(n); z != nil && n != phonenumbers.UNKNOWN_TIMEZONE {
			zones = append(zones, z)
		}
	}
	if len(zones) > 0 {
		return zones
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil || phonenumbers.GetRegionCodeForNumber(num) == "" {
		return nil
	}
	return easternmostZone(num.GetCountryCode())
}

// easternZones caches each country code's easternmost zone.
var easternZones sync.Map // int32 → []*time.Location

// easternmostZone is the zone of the country whose clock is furthest ahead
// (Klaviyo's fallback, R-QH): marketing then never starts early anywhere
// in the country, though it may stop early in its west.
func easternmostZone(cc int32) []*time.Location {
	if v, ok := easternZones.Load(cc); ok {
		return v.([]*time.Location)
	}
	names, _ := phonenumbers.GetTimezonesForPrefix(fmt.Sprintf("+%d", cc))
	var best *time.Location
	bestOffset := 0
	ref := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, n := range names {
		z := LoadZone(n)
		if z == nil || n == "Etc/Unknown" {
			continue
		}
		if _, off := ref.In(z).Zone(); best == nil || off > bestOffset {
			best, bestOffset = z, off
		}
	}
	var out []*time.Location
	if best != nil {
		out = []*time.Location{best}
	}
	easternZones.Store(cc, out)
	return out
}

package campaigns

import (
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// MemberKey is the idempotency key of a member's text in the campaign's
// scope: the contact, or the number for a pasted number without one.
func MemberKey(contactID uint64, number string) string {
	if contactID != 0 {
		return "contact:" + strconv.FormatUint(contactID, 10)
	}
	return "number:" + number
}

// TextKey is the idempotency key of a member's text (in Scope(id)) and
// the message key of its short links: the campaign's scope and the member
// key, so that it names one text among every campaign's (a link's message
// key is unique across scopes).
func TextKey(id uint64, memberKey string) string { return Scope(id) + ":" + memberKey }

// Scope is the outbox idempotency scope of campaign id's texts.
func Scope(id uint64) string { return "campaign:" + strconv.FormatUint(id, 10) }

// Origin names a campaign text's campaign and variant, on the message and
// its links.
func Origin(id uint64, variant string) string {
	return "campaign:" + strconv.FormatUint(id, 10) + ":variant:" + variant
}

// bucket is a stable number in [0, n) for (salt, campaign, member): the
// same member of the same campaign always lands in the same place,
// whatever the order or the machine, so assignment is reproducible.
func bucket(salt string, campaign uint64, key string, n uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	h.Write([]byte(strconv.FormatUint(campaign, 10)))
	h.Write([]byte{0})
	h.Write([]byte(key))
	// FNV's low bits mix poorly for keys that differ only at the end
	// ("contact:101", "contact:102"): fold the high half in.
	v := h.Sum64()
	v ^= v >> 29
	v *= 0xbf58476d1ce4e5b9
	v ^= v >> 32
	return v % n
}

// Assign returns the variant of a member ("a".."d" or the holdout) from
// the shares, in basis points of a hash of (campaign, member key).
func Assign(campaign uint64, key string, holdout int, variants []Variant) string {
	b := int(bucket("variant", campaign, key, 10000))
	edge := holdout * 100
	if b < edge {
		return store.HoldoutVariant
	}
	for _, v := range variants {
		edge += v.Share * 100
		if b < edge {
			return v.Key
		}
	}
	return variants[len(variants)-1].Key
}

// InTestGroup reports whether a member is in the first, test part of a
// test-first campaign. Independent of Assign: the holdout is as large a
// share of the test group as of everyone.
func InTestGroup(campaign uint64, key string, percent int) bool {
	return int(bucket("test", campaign, key, 100)) < percent
}

// memberZones are the zones whose clock a member's local send time is read
// on: the contact's own zone when a person gave it, else the zones the
// guard reads from the number.
func memberZones(m Member, s *compliance.Settings, rc rulesCache) []*time.Location {
	if m.TimeZone != "" && !m.TimeZoneDerived {
		if z := compliance.LoadZone(m.TimeZone); z != nil {
			return []*time.Location{z}
		}
	}
	return rc.rules(Member{Number: m.Number}, s).Zones
}

// guardRules are the guard's rules for a member, as RulesFor reads them.
func guardRules(m Member, s *compliance.Settings) compliance.Rules {
	c := &store.Contact{Number: m.Number, TimeZone: m.TimeZone, TimeZoneDerived: m.TimeZoneDerived}
	return compliance.RulesFor(m.Number, c, s)
}

// rulesCache keeps the guard's rules of NANP numbers by their first seven
// digits and the zone a person gave: reading them parses the number,
// which is most of a planned text's cost, and every number of a prefix
// has the same region, area code and zones (the time zone map keys NANP
// numbers by at most that many digits). Other numbers are read each time.
type rulesCache map[string]compliance.Rules

func (rc rulesCache) rules(m Member, s *compliance.Settings) compliance.Rules {
	if len(m.Number) != 12 || !strings.HasPrefix(m.Number, "+1") {
		return guardRules(m, s)
	}
	tz := ""
	if !m.TimeZoneDerived {
		tz = m.TimeZone
	}
	key := m.Number[:8] + "|" + tz
	if r, ok := rc[key]; ok {
		return r
	}
	r := guardRules(m, s)
	rc[key] = r
	return r
}

// sendTime is when variant i's text to m is planned, before quiet hours
// and throttle: now; the moment of mode at (its clock time replaced by
// the variant's); or the clock time on the date in the member's own zone.
// A member whose number may be in several zones gets the latest of their
// clocks' times, so that it is never early anywhere. A time already past
// is now.
//
// bestHour is the member's hour of mode best_hour (-1: the schedule's
// time).
func (p *plan) sendTime(m Member, i int, now time.Time, s *compliance.Settings, zone *time.Location, rc rulesCache, bestHour int) time.Time {
	minute := p.minute
	if p.minutes[i] >= 0 {
		minute = p.minutes[i]
	}
	if bestHour >= 0 {
		minute = bestHour * 60
	}
	var at time.Time
	switch p.def.Schedule.Mode {
	case ScheduleAt:
		at = time.Date(p.date.Year(), p.date.Month(), p.date.Day(), minute/60, minute%60, 0, 0, zone)
	case ScheduleLocal, ScheduleBestHour:
		for _, z := range memberZones(m, s, rc) {
			t := time.Date(p.date.Year(), p.date.Month(), p.date.Day(), minute/60, minute%60, 0, 0, z)
			if t.After(at) {
				at = t
			}
		}
		if at.IsZero() {
			at = time.Date(p.date.Year(), p.date.Month(), p.date.Day(), minute/60, minute%60, 0, 0, zone)
		}
	}
	if at.Before(now) {
		return now
	}
	return at
}

// throttleSlot puts a text planned for at into the first hour from at on
// that still has room under perHour, spacing the texts of an hour evenly;
// counts are the texts per Unix hour so far, updated.
func throttleSlot(at time.Time, perHour int, counts map[int64]int) time.Time {
	hour := at.Unix() / 3600
	for {
		n := counts[hour]
		if n < perHour {
			counts[hour] = n + 1
			slot := time.Unix(hour*3600, 0).Add(time.Duration(n) * time.Hour / time.Duration(perHour))
			if slot.Before(at) {
				return at
			}
			return slot
		}
		hour++
	}
}

package segments

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/store"
)

const day = 24 * time.Hour

// evaluator decides rules for store rows at one moment. Its caches live
// for one evaluation.
type evaluator struct {
	now time.Time
	loc *time.Location
	// nanp caches the region of a +1 area code: NANP regions follow the
	// area code, and parsing every number would cost more than the rest
	// of an evaluation.
	nanp map[string]string
}

func newEvaluator(now time.Time, loc *time.Location) *evaluator {
	return &evaluator{now: now, loc: loc, nanp: map[string]string{}}
}

// scanOf picks the store walk for d: from the smallest required tag when
// every rule must hold and some rule requires a tag, else every contact.
func scanOf(d *Definition) store.SegmentScan {
	var s store.SegmentScan
	if d.Match == "all" {
		for _, r := range d.Rules {
			if r.Field == FieldTag && r.Op == "has" {
				s.AllTags = append(s.AllTags, r.Value)
			}
		}
	}
	return s
}

// matchGroup evaluates rules joined by match; no rules match everyone.
func (e *evaluator) matchGroup(row *store.SegmentRow, match string, rules []Rule) (bool, error) {
	if len(rules) == 0 {
		return true, nil
	}
	anyOf := match == "any"
	for i := range rules {
		ok, err := e.matchRule(row, &rules[i])
		if err != nil {
			return false, err
		}
		if ok == anyOf {
			return anyOf, nil
		}
	}
	return !anyOf, nil
}

// within reports whether t lies in the last days days, up to now.
func (e *evaluator) within(t time.Time, days int) bool {
	return !t.IsZero() && !t.Before(e.now.Add(-time.Duration(days)*day)) && !t.After(e.now)
}

func compare(op string, a, b float64) bool {
	switch op {
	case "eq":
		return a == b
	case "ne":
		return a != b
	case "lt":
		return a < b
	case "le":
		return a <= b
	case "gt":
		return a > b
	case "ge":
		return a >= b
	}
	return false
}

// dayStart is the start of a "2006-01-02" date in the shop's zone.
func (e *evaluator) dayStart(date string) time.Time {
	t, _ := time.ParseInLocation(time.DateOnly, date, e.loc)
	return t
}

// dateRule decides before/after/on a date (checked already), and
// within_days.
func (e *evaluator) dateRule(r *Rule, t time.Time) bool {
	if r.Op == "within_days" {
		return e.within(t, r.Days)
	}
	start := e.dayStart(r.Date)
	end := start.AddDate(0, 0, 1)
	switch r.Op {
	case "before":
		return t.Before(start)
	case "after":
		return !t.Before(end)
	case "on":
		return !t.Before(start) && t.Before(end)
	}
	return false
}

// attributeTime reads an attribute as a date ("2006-01-02", in the shop's
// zone) or an RFC 3339 time.
func (e *evaluator) attributeTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if t, err := time.ParseInLocation(time.DateOnly, v, e.loc); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func (e *evaluator) matchAttribute(r *Rule, c *store.Contact) bool {
	v, ok := c.Attributes[r.Key]
	ok = ok && strings.TrimSpace(v) != ""
	switch r.Op {
	case "set":
		return ok
	case "unset":
		return !ok
	}
	switch r.Type {
	case "number":
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return ok && err == nil && compare(r.Op, n, *r.Number)
	case "date":
		t, parsed := e.attributeTime(v)
		return ok && parsed && e.dateRule(r, t)
	}
	switch r.Op {
	case "equals":
		return ok && strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(r.Value))
	case "not_equals":
		return !ok || !strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(r.Value))
	case "contains":
		return ok && strings.Contains(strings.ToLower(v), strings.ToLower(r.Value))
	}
	return false
}

// callingCode splits an E.164 number into its country calling code and
// national number; ok is false for a number that has none.
func callingCode(number string) (cc int, national string, ok bool) {
	digits := strings.TrimPrefix(number, "+")
	for n := 1; n <= 3 && n < len(digits); n++ {
		code, err := strconv.Atoi(digits[:n])
		if err != nil {
			return 0, "", false
		}
		if len(phonenumbers.GetRegionCodesForCountryCode(code)) > 0 {
			return code, digits[n:], true
		}
	}
	return 0, "", false
}

// regionOf is the ISO country of an E.164 number ("" when unknown).
func (e *evaluator) regionOf(number string) string {
	cc, national, ok := callingCode(number)
	if !ok {
		return ""
	}
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	if len(regions) == 1 {
		return regions[0]
	}
	if cc == 1 && len(national) >= 3 {
		if r, ok := e.nanp[national[:3]]; ok {
			return r
		}
		r := parsedRegion(number)
		e.nanp[national[:3]] = r
		return r
	}
	return parsedRegion(number)
}

func parsedRegion(number string) string {
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(n)
}

// consentState names a number's standing as rules and reasons do.
func consentState(c store.SegmentConsent) string {
	if c.OptedOutAll {
		return "opted_out"
	}
	switch c.Marketing {
	case store.MarketingConfirmed:
		return "confirmed"
	case store.MarketingPending:
		return "pending"
	case store.MarketingOptedOut:
		return "opted_out"
	}
	return "none"
}

func (e *evaluator) matchRule(row *store.SegmentRow, r *Rule) (bool, error) {
	if r.Field == "" {
		return e.matchGroup(row, r.Match, r.Rules)
	}
	is := r.Op != "is_not"
	switch r.Field {
	case FieldTag:
		return row.HasTag(r.Value) == (r.Op == "has"), nil
	case FieldCountry:
		return slices.Contains(r.Values, e.regionOf(row.Number)) == is, nil
	case FieldAreaCode:
		_, national, _ := callingCode(row.Number)
		hit := slices.ContainsFunc(r.Values, func(v string) bool { return national != "" && strings.HasPrefix(national, v) })
		return hit == is, nil
	case FieldConsent:
		c, err := row.Consent()
		if err != nil {
			return false, err
		}
		return slices.Contains(r.Values, consentState(c)) == is, nil
	case FieldAttribute, FieldTimeZone, FieldLanguage, FieldCreated:
		c, err := row.Contact()
		if err != nil || c == nil {
			return false, err
		}
		switch r.Field {
		case FieldAttribute:
			return e.matchAttribute(r, c), nil
		case FieldTimeZone:
			return slices.Contains(r.Values, c.TimeZone) == is, nil
		case FieldLanguage:
			lang := strings.ToLower(c.Language)
			hit := slices.ContainsFunc(r.Values, func(v string) bool { return lang == v || strings.HasPrefix(lang, v+"-") })
			return hit == is, nil
		}
		return e.dateRule(r, c.CreatedAt), nil
	}
	a, err := row.Activity()
	if err != nil {
		return false, err
	}
	return e.matchActivity(r, a), nil
}

// matchActivity decides the behaviour rules from a number's summary.
func (e *evaluator) matchActivity(r *Rule, a *store.Activity) bool {
	switch r.Field {
	case FieldOrdered:
		switch r.Op {
		case "ever":
			return a.OlderOrders+len(a.Orders) > 0
		case "never":
			return a.OlderOrders+len(a.Orders) == 0
		}
		hit := slices.ContainsFunc(a.Orders, func(o store.ActivityOrder) bool { return e.within(o.At, r.Days) })
		return hit == (r.Op == "within_days")
	case FieldOrderCount:
		n := 0
		if r.Days == 0 {
			n = a.OlderOrders + len(a.Orders)
		} else {
			for _, o := range a.Orders {
				if e.within(o.At, r.Days) {
					n++
				}
			}
		}
		return compare(r.Op, float64(n), float64(*r.Count))
	case FieldTotalSpent:
		var sum int64
		if r.Days == 0 {
			sum = a.OlderSpent[r.Currency]
		}
		for _, o := range a.Orders {
			if strings.EqualFold(o.Currency, r.Currency) && (r.Days == 0 || e.within(o.At, r.Days)) {
				sum += o.Total
			}
		}
		return compare(r.Op, float64(sum), float64(*r.Amount))
	case FieldViewedProduct:
		return e.viewedWithoutOrder(a, int(*r.Count), r.Days)
	case FieldAbandonedCheckout:
		for _, c := range a.Checkouts {
			if c.ID == "" || !e.within(c.At, r.Days) {
				continue
			}
			if !slices.ContainsFunc(a.Orders, func(o store.ActivityOrder) bool { return o.CheckoutID == c.ID }) {
				return true
			}
		}
		return false
	case FieldClicked:
		return e.within(a.LastClickAt, r.Days) == (r.Op == "within_days")
	case FieldGotMarketing:
		return e.within(a.LastMarketingAt, r.Days) == (r.Op == "within_days")
	}
	return false
}

// viewedWithoutOrder: some product was viewed at least k times in the
// last days days, and no order was placed since the first of those views.
func (e *evaluator) viewedWithoutOrder(a *store.Activity, k, days int) bool {
	type seen struct {
		n     int
		first time.Time
	}
	var byProduct map[string]*seen
	for _, v := range a.Views {
		if !e.within(v.At, days) {
			continue
		}
		if byProduct == nil {
			byProduct = map[string]*seen{}
		}
		s := byProduct[v.Product]
		if s == nil {
			s = &seen{first: v.At}
			byProduct[v.Product] = s
		}
		s.n++
		if v.At.Before(s.first) {
			s.first = v.At
		}
	}
	for _, s := range byProduct {
		if s.n < k {
			continue
		}
		if !slices.ContainsFunc(a.Orders, func(o store.ActivityOrder) bool { return !o.At.Before(s.first) }) {
			return true
		}
	}
	return false
}

// cloneDefinition copies d deeply, so Check's normalising leaves the
// caller's value alone.
func cloneDefinition(d Definition) Definition {
	d.Rules = cloneRules(d.Rules)
	return d
}

func cloneRules(rs []Rule) []Rule {
	if rs == nil {
		return nil
	}
	out := make([]Rule, len(rs))
	for i, r := range rs {
		r.Values = slices.Clone(r.Values)
		r.Rules = cloneRules(r.Rules)
		out[i] = r
	}
	return out
}

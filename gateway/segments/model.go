// Package segments chooses contacts by rules: tags, attributes, where the
// number is, language, consent, and what the contact did in the shop
// (orders, views, checkouts, clicks, marketing received). It keeps the
// shop's saved segments, previews a definition while it is edited, exports
// a segment's members as CSV, and hands campaigns their audience, always
// limited to confirmed subscribers when the texts are marketing.
//
// Evaluation reads indexes, not the event log: the contacts' tag index and
// each number's activity summary (store/segments.go), both kept in the
// transactions that change what they summarise. docs/segments.md describes
// the rules and the strategy.
package segments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/store"
)

// Definition is a segment's rules: every rule must hold ("all") or at
// least one ("any"). A rule may itself be a group with its own match and
// rules, one level deep. No rules at all: every contact.
type Definition struct {
	Match string `json:"match"`
	Rules []Rule `json:"rules"`
}

// Rule is one condition, or (with Match and Rules) a group of them. Which
// of the value fields a rule needs depends on Field and Op (docs/segments.md).
type Rule struct {
	Field string `json:"field,omitempty"`
	Op    string `json:"op,omitempty"`
	// Key is the attribute's name, Type how its value reads: "text",
	// "number" or "date".
	Key  string `json:"key,omitempty"`
	Type string `json:"type,omitempty"`
	// Value: a tag, or an attribute's text.
	Value string `json:"value,omitempty"`
	// Values: any of these countries, area codes, zones, languages or
	// consent states.
	Values []string `json:"values,omitempty"`
	// Number: a number attribute's comparand.
	Number *float64 `json:"number,omitempty"`
	// Date: "2006-01-02", in the shop's zone.
	Date string `json:"date,omitempty"`
	// Days: the window, "in the last N days".
	Days int `json:"days,omitempty"`
	// Count: orders (order_count) or views of one product (viewed_product).
	Count *int64 `json:"count,omitempty"`
	// Amount and Currency: total spent, in minor units (cents).
	Amount   *int64 `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`

	Match string `json:"match,omitempty"`
	Rules []Rule `json:"rules,omitempty"`
}

// The rule fields.
const (
	FieldTag               = "tag"
	FieldAttribute         = "attribute"
	FieldCountry           = "country"
	FieldAreaCode          = "area_code"
	FieldTimeZone          = "time_zone"
	FieldLanguage          = "language"
	FieldCreated           = "created"
	FieldConsent           = "consent"
	FieldOrdered           = "ordered"
	FieldOrderCount        = "order_count"
	FieldTotalSpent        = "total_spent"
	FieldViewedProduct     = "viewed_product"
	FieldAbandonedCheckout = "abandoned_checkout"
	FieldClicked           = "clicked"
	FieldGotMarketing      = "got_marketing"
)

// Fields lists every rule field, in the order the console offers them.
var Fields = []string{FieldTag, FieldAttribute, FieldCountry, FieldAreaCode, FieldTimeZone, FieldLanguage,
	FieldCreated, FieldConsent, FieldOrdered, FieldOrderCount, FieldTotalSpent, FieldViewedProduct,
	FieldAbandonedCheckout, FieldClicked, FieldGotMarketing}

// Consent states a rule may name (the store's, with a STOP to everything
// counting as opted out).
var ConsentStates = []string{"confirmed", "pending", "opted_out", "none"}

var (
	compareOps    = []string{"eq", "ne", "lt", "le", "gt", "ge"}
	listOps       = []string{"is", "is_not"}
	windowOps     = []string{"within_days", "not_within_days"}
	textOps       = []string{"equals", "not_equals", "contains", "set", "unset"}
	numberOps     = append(slices.Clone(compareOps), "set", "unset")
	dateOps       = []string{"before", "after", "on", "within_days", "set", "unset"}
	createdOps    = []string{"before", "after", "within_days"}
	orderedOps    = []string{"within_days", "not_within_days", "ever", "never"}
	attributeKey  = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
	languageValue = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)
	areaCodeValue = regexp.MustCompile(`^[0-9]{1,6}$`)
	currencyValue = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Bounds of a definition.
const (
	MaxRules   = 50   // in the whole definition, groups' rules included
	MaxValues  = 200  // of one rule
	MaxDays    = 3660 // ten years
	maxTextLen = 500
)

// ParseDefinition reads a definition from JSON, refusing unknown settings
// and values of the wrong type with a *store.FieldError that names them
// under prefix ("definition" gives "definition.rules[1].days"), then
// checks it as Check does.
func ParseDefinition(raw []byte, prefix string) (Definition, error) {
	var d Definition
	if err := strictObject(raw, prefix, map[string]any{"match": &d.Match, "rules": (*rulesJSON)(&d.Rules)}); err != nil {
		return Definition{}, err
	}
	if err := d.Check(prefix); err != nil {
		return Definition{}, err
	}
	return d, nil
}

// rulesJSON decodes rules strictly; its path comes from strictObject.
type rulesJSON []Rule

// path joins a field path: path("", "rules") is "rules".
func path(prefix, name string) string {
	if prefix == "" {
		return name
	}
	if strings.HasPrefix(name, "[") {
		return prefix + name
	}
	return prefix + "." + name
}

func fieldErr(field, format string, args ...any) error {
	return &store.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// strictObject decodes the JSON object raw into the targets named by its
// keys; a key with no target, or a value of the wrong type, is a
// FieldError at its path.
func strictObject(raw []byte, prefix string, targets map[string]any) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return fieldErr(orRoot(prefix), "must be a JSON object")
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		target, ok := targets[k]
		field := path(prefix, k)
		if !ok {
			return fieldErr(field, "is not a setting of a segment rule")
		}
		if rs, ok := target.(*rulesJSON); ok {
			var items []json.RawMessage
			if err := json.Unmarshal(obj[k], &items); err != nil {
				return fieldErr(field, "must be a list of rules")
			}
			*rs = make([]Rule, len(items))
			for i, item := range items {
				if err := strictRule(item, fmt.Sprintf("%s[%d]", field, i), &(*rs)[i]); err != nil {
					return err
				}
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(obj[k]))
		dec.UseNumber()
		if err := dec.Decode(target); err != nil {
			return fieldErr(field, "must be %s", kindOf(target))
		}
	}
	return nil
}

func orRoot(prefix string) string {
	if prefix == "" {
		return "definition"
	}
	return prefix
}

func kindOf(target any) string {
	switch target.(type) {
	case *string:
		return "text"
	case *[]string:
		return "a list of texts"
	case *int, **int64:
		return "a whole number"
	case **float64:
		return "a number"
	}
	return "of the right type"
}

func strictRule(raw []byte, prefix string, r *Rule) error {
	return strictObject(raw, prefix, map[string]any{
		"field": &r.Field, "op": &r.Op, "key": &r.Key, "type": &r.Type, "value": &r.Value,
		"values": &r.Values, "number": &r.Number, "date": &r.Date, "days": &r.Days, "count": &r.Count,
		"amount": &r.Amount, "currency": &r.Currency, "match": &r.Match, "rules": (*rulesJSON)(&r.Rules),
	})
}

// Check validates d and normalises its values (tags and languages lower
// case, area codes without a trunk 0, currencies upper case). Errors are
// *store.FieldError naming the rule and setting under prefix:
// "rules[1].op": "must be one of ...".
func (d *Definition) Check(prefix string) error {
	n := 0
	return checkGroup(&d.Match, d.Rules, prefix, 0, &n)
}

func checkGroup(match *string, rules []Rule, prefix string, depth int, n *int) error {
	if *match == "" {
		*match = "all"
	}
	if *match != "all" && *match != "any" {
		return fieldErr(path(prefix, "match"), `must be "all" or "any"`)
	}
	for i := range rules {
		*n++
		if *n > MaxRules {
			return fieldErr(path(prefix, "rules"), "a segment has at most %d rules", MaxRules)
		}
		if err := checkRule(&rules[i], path(prefix, fmt.Sprintf("rules[%d]", i)), depth, n); err != nil {
			return err
		}
	}
	return nil
}

func oneOf(field, op string, ops []string) error {
	if !slices.Contains(ops, op) {
		return fieldErr(field, "must be one of %s", strings.Join(ops, ", "))
	}
	return nil
}

// unused reports a setting given to a rule that does not read it.
func unused(prefix string, r *Rule, keep ...string) error {
	set := map[string]bool{
		"key": r.Key != "", "type": r.Type != "", "value": r.Value != "", "values": r.Values != nil,
		"number": r.Number != nil, "date": r.Date != "", "days": r.Days != 0, "count": r.Count != nil,
		"amount": r.Amount != nil, "currency": r.Currency != "", "match": r.Match != "", "rules": r.Rules != nil,
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] && !slices.Contains(keep, k) {
			return fieldErr(path(prefix, k), "is not used by a %s rule", orGroup(r.Field))
		}
	}
	return nil
}

func orGroup(field string) string {
	if field == "" {
		return "group"
	}
	return field
}

func needDays(prefix string, r *Rule) error {
	if r.Days < 1 || r.Days > MaxDays {
		return fieldErr(path(prefix, "days"), "must be a number of days from 1 to %d", MaxDays)
	}
	return nil
}

// checkDate reads a "2006-01-02" date.
func checkDate(field, s string) error {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return fieldErr(field, "must be a date such as 2026-03-31")
	}
	return nil
}

func checkValues(prefix string, r *Rule, each func(field, v string) (string, error)) error {
	field := path(prefix, "values")
	if len(r.Values) == 0 {
		return fieldErr(field, "must list at least one value")
	}
	if len(r.Values) > MaxValues {
		return fieldErr(field, "lists more than %d values", MaxValues)
	}
	for i, v := range r.Values {
		out, err := each(fmt.Sprintf("%s[%d]", field, i), strings.TrimSpace(v))
		if err != nil {
			return err
		}
		r.Values[i] = out
	}
	return nil
}

func checkRule(r *Rule, prefix string, depth int, n *int) error {
	if r.Match != "" || r.Rules != nil {
		if r.Field != "" {
			return fieldErr(path(prefix, "field"), "a group of rules (match and rules) has no field")
		}
		if depth > 0 {
			return fieldErr(path(prefix, "rules"), "groups nest one level deep")
		}
		if err := unused(prefix, r, "match", "rules"); err != nil {
			return err
		}
		if r.Op != "" {
			return fieldErr(path(prefix, "op"), "is not used by a group")
		}
		return checkGroup(&r.Match, r.Rules, prefix, depth+1, n)
	}
	opField := path(prefix, "op")
	switch r.Field {
	case FieldTag:
		if err := oneOf(opField, r.Op, []string{"has", "has_not"}); err != nil {
			return err
		}
		r.Value = strings.ToLower(strings.TrimSpace(r.Value))
		if r.Value == "" || len(r.Value) > 40 {
			return fieldErr(path(prefix, "value"), "must be a tag of 1 to 40 characters")
		}
		return unused(prefix, r, "value")
	case FieldAttribute:
		return checkAttribute(r, prefix)
	case FieldCountry:
		if err := oneOf(opField, r.Op, listOps); err != nil {
			return err
		}
		if err := checkValues(prefix, r, func(f, v string) (string, error) {
			v = strings.ToUpper(v)
			if phonenumbers.GetCountryCodeForRegion(v) == 0 {
				return "", fieldErr(f, "%q is not a country code such as US, CA or GB", v)
			}
			return v, nil
		}); err != nil {
			return err
		}
		return unused(prefix, r, "values")
	case FieldAreaCode:
		if err := oneOf(opField, r.Op, listOps); err != nil {
			return err
		}
		if err := checkValues(prefix, r, func(f, v string) (string, error) {
			if !areaCodeValue.MatchString(v) || strings.Trim(v, "0") == "" {
				return "", fieldErr(f, "%q is not an area code (digits, such as 212)", v)
			}
			// A national prefix is written with its trunk 0 in many
			// countries ("020" for London); the number does not carry it.
			return strings.TrimPrefix(v, "0"), nil
		}); err != nil {
			return err
		}
		return unused(prefix, r, "values")
	case FieldTimeZone:
		if err := oneOf(opField, r.Op, listOps); err != nil {
			return err
		}
		if err := checkValues(prefix, r, func(f, v string) (string, error) {
			if v == "" || v == "Local" {
				return "", fieldErr(f, "must be a time zone such as America/New_York")
			}
			if _, err := time.LoadLocation(v); err != nil {
				return "", fieldErr(f, "%q is not a time zone such as America/New_York", v)
			}
			return v, nil
		}); err != nil {
			return err
		}
		return unused(prefix, r, "values")
	case FieldLanguage:
		if err := oneOf(opField, r.Op, listOps); err != nil {
			return err
		}
		if err := checkValues(prefix, r, func(f, v string) (string, error) {
			if !languageValue.MatchString(v) {
				return "", fieldErr(f, "%q is not a language such as fr or fr-CA", v)
			}
			return strings.ToLower(v), nil
		}); err != nil {
			return err
		}
		return unused(prefix, r, "values")
	case FieldCreated:
		if err := oneOf(opField, r.Op, createdOps); err != nil {
			return err
		}
		if r.Op == "within_days" {
			if err := needDays(prefix, r); err != nil {
				return err
			}
			return unused(prefix, r, "days")
		}
		if err := checkDate(path(prefix, "date"), r.Date); err != nil {
			return err
		}
		return unused(prefix, r, "date")
	case FieldConsent:
		if err := oneOf(opField, r.Op, listOps); err != nil {
			return err
		}
		if err := checkValues(prefix, r, func(f, v string) (string, error) {
			if !slices.Contains(ConsentStates, v) {
				return "", fieldErr(f, "must be one of %s", strings.Join(ConsentStates, ", "))
			}
			return v, nil
		}); err != nil {
			return err
		}
		return unused(prefix, r, "values")
	case FieldOrdered:
		if err := oneOf(opField, r.Op, orderedOps); err != nil {
			return err
		}
		if r.Op == "ever" || r.Op == "never" {
			return unused(prefix, r)
		}
		if err := needDays(prefix, r); err != nil {
			return err
		}
		return unused(prefix, r, "days")
	case FieldOrderCount:
		if err := oneOf(opField, r.Op, compareOps); err != nil {
			return err
		}
		if r.Count == nil || *r.Count < 0 || *r.Count > math.MaxInt32 {
			return fieldErr(path(prefix, "count"), "must be a number of orders, 0 or more")
		}
		if r.Days != 0 {
			if err := needDays(prefix, r); err != nil {
				return err
			}
		}
		return unused(prefix, r, "count", "days")
	case FieldTotalSpent:
		if err := oneOf(opField, r.Op, compareOps); err != nil {
			return err
		}
		if r.Amount == nil || *r.Amount < 0 {
			return fieldErr(path(prefix, "amount"), "must be an amount in cents, 0 or more")
		}
		r.Currency = strings.ToUpper(strings.TrimSpace(r.Currency))
		if !currencyValue.MatchString(r.Currency) {
			return fieldErr(path(prefix, "currency"), "must be a currency code such as USD")
		}
		if r.Days != 0 {
			if err := needDays(prefix, r); err != nil {
				return err
			}
		}
		return unused(prefix, r, "amount", "currency", "days")
	case FieldViewedProduct:
		if r.Op != "" && r.Op != "at_least" {
			return fieldErr(opField, "must be at_least (or left out)")
		}
		r.Op = "at_least"
		if r.Count == nil || *r.Count < 1 || *r.Count > store.MaxActivityViews {
			return fieldErr(path(prefix, "count"), "must be a number of views from 1 to %d", store.MaxActivityViews)
		}
		if err := needDays(prefix, r); err != nil {
			return err
		}
		return unused(prefix, r, "count", "days")
	case FieldAbandonedCheckout:
		if r.Op != "" && r.Op != "within_days" {
			return fieldErr(opField, "must be within_days (or left out)")
		}
		r.Op = "within_days"
		if err := needDays(prefix, r); err != nil {
			return err
		}
		return unused(prefix, r, "days")
	case FieldClicked, FieldGotMarketing:
		if err := oneOf(opField, r.Op, windowOps); err != nil {
			return err
		}
		if err := needDays(prefix, r); err != nil {
			return err
		}
		return unused(prefix, r, "days")
	}
	return fieldErr(path(prefix, "field"), "must be one of %s", strings.Join(Fields, ", "))
}

func checkAttribute(r *Rule, prefix string) error {
	r.Key = strings.TrimSpace(r.Key)
	if !attributeKey.MatchString(r.Key) {
		return fieldErr(path(prefix, "key"), "must be an attribute name: 1 to 40 of a-z, 0-9 and _")
	}
	if r.Type == "" {
		r.Type = "text"
	}
	opField := path(prefix, "op")
	switch r.Type {
	case "text":
		if err := oneOf(opField, r.Op, textOps); err != nil {
			return err
		}
		if r.Op == "set" || r.Op == "unset" {
			return unused(prefix, r, "key", "type")
		}
		if r.Value == "" || len(r.Value) > maxTextLen {
			return fieldErr(path(prefix, "value"), "must be a text of 1 to %d bytes", maxTextLen)
		}
		return unused(prefix, r, "key", "type", "value")
	case "number":
		if err := oneOf(opField, r.Op, numberOps); err != nil {
			return err
		}
		if r.Op == "set" || r.Op == "unset" {
			return unused(prefix, r, "key", "type")
		}
		if r.Number == nil || math.IsNaN(*r.Number) || math.IsInf(*r.Number, 0) {
			return fieldErr(path(prefix, "number"), "must be a number")
		}
		return unused(prefix, r, "key", "type", "number")
	case "date":
		if err := oneOf(opField, r.Op, dateOps); err != nil {
			return err
		}
		switch r.Op {
		case "set", "unset":
			return unused(prefix, r, "key", "type")
		case "within_days":
			if err := needDays(prefix, r); err != nil {
				return err
			}
			return unused(prefix, r, "key", "type", "days")
		}
		if err := checkDate(path(prefix, "date"), r.Date); err != nil {
			return err
		}
		return unused(prefix, r, "key", "type", "date")
	}
	return fieldErr(path(prefix, "type"), "must be text, number or date")
}

// Package flows runs automated flows: a trigger (a shop event, an opt-in,
// a date attribute such as a birthday) starts an entry for a contact, and
// the entry walks the flow's steps (wait, condition, send) until it is
// done or an exit rule ends it (an order for its checkout, STOP, erasure).
//
// Everything an entry does is in the store before it counts: entries, the
// step each has reached, and the due index a single scheduler reads from
// the front, so waits survive restarts and a crash never sends a step
// twice. Texts go only through the outbox, so the compliance guard judges
// every one of them; an order for the entry's checkout withdraws a queued
// text in the transaction that records the order (store.AppendEvents).
package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/store"
)

// Definition is one version of a flow: what starts an entry, the steps it
// walks and what ends it early.
type Definition struct {
	Trigger Trigger `json:"trigger"`
	Steps   []Step  `json:"steps"`
	Exit    Exit    `json:"exit"`
}

// Trigger kinds.
const (
	TriggerEvent   = "event"    // a shop event of a type, with a filter
	TriggerOptedIn = "opted_in" // marketing consent confirmed
	TriggerDate    = "date"     // a contact attribute holding a date (birthday), on its day every year
)

// Trigger says what starts an entry.
type Trigger struct {
	Kind string `json:"kind"`
	// Event is the shop event type (TriggerEvent).
	Event string `json:"event,omitempty"`
	// Filter must all hold on the event.
	Filter []Match `json:"filter,omitempty"`
	// MinCount: the contact must have had at least this many events of
	// the type within Within, this one included ("viewed a product
	// twice"). 0 or 1: the event alone.
	MinCount int      `json:"min_count,omitempty"`
	Within   Duration `json:"within,omitempty"`
	// Attribute is the contact attribute holding the date (TriggerDate):
	// "YYYY-MM-DD" or "MM-DD".
	Attribute string `json:"attribute,omitempty"`
	// PerContact: a contact holds one entry at a time however many
	// events come, and may enter again after ReenterAfter (0: never).
	// Otherwise each checkout (or order, or event) enters once.
	PerContact   bool     `json:"per_contact,omitempty"`
	ReenterAfter Duration `json:"reenter_after,omitempty"`
}

// Match is one test of a trigger's filter on the event: Field is a
// promoted field (total, currency, source, checkout_id, order_id) or a
// dotted path into the properties ("items.0.name").
type Match struct {
	Field string `json:"field"`
	Op    string `json:"op"` // eq, ne, gte, lte, contains, exists
	Value string `json:"value,omitempty"`
}

// Step is one of wait, condition or send: exactly one is set.
type Step struct {
	Wait      *Wait      `json:"wait,omitempty"`
	Condition *Condition `json:"condition,omitempty"`
	Send      *Send      `json:"send,omitempty"`
}

// Kind names the step's kind.
func (s Step) Kind() string {
	switch {
	case s.Wait != nil:
		return "wait"
	case s.Condition != nil:
		return "condition"
	case s.Send != nil:
		return "send"
	}
	return ""
}

// Wait holds the entry for a duration, or until the next time of day in
// the contact's zone, or both (the duration first, then the time of day).
type Wait struct {
	For   Duration `json:"for,omitempty"`
	Until string   `json:"until,omitempty"` // "HH:MM", the contact's local time
}

// Condition kinds. A condition that does not hold ends the entry.
const (
	CondNoOrder    = "no_order"    // no order_placed for the trigger's checkout (or by the contact, Scope contact) since the trigger
	CondNoEvent    = "no_event"    // no event of Event by the contact since the trigger
	CondCartTotal  = "cart_total"  // the trigger's total ≥ Amount (minor units)
	CondHasTag     = "has_tag"     // the contact has Tag
	CondNotTag     = "not_tag"     // the contact lacks Tag
	CondClicked    = "clicked"     // the previous text's link was followed
	CondNotClicked = "not_clicked" // the previous text's link was not followed
)

// Condition is a test on the entry, its contact and the shop's events.
type Condition struct {
	Kind   string `json:"kind"`
	Scope  string `json:"scope,omitempty"` // no_order: "checkout" (default when the trigger has one) or "contact"
	Event  string `json:"event,omitempty"`
	Amount int64  `json:"amount,omitempty"`
	Tag    string `json:"tag,omitempty"`
}

// Send hands one text to the outbox.
type Send struct {
	Template string `json:"template"`
	Kind     string `json:"kind"` // marketing or transactional
}

// kind is the store's kind of the text.
func (s *Send) kind() store.Kind {
	if s.Kind == "transactional" {
		return store.KindTransactional
	}
	return store.KindMarketing
}

// Exit rules beyond the ones every flow has (STOP and erasure end every
// entry of the number).
type Exit struct {
	// OnOrder: "checkout" ends an entry when an order for the trigger's
	// checkout is placed; "contact" when the contact places any order;
	// "" never.
	OnOrder string `json:"on_order,omitempty"`
}

// Duration is a time.Duration written as in Go ("90m", "1h30m") or in
// days ("30d") in JSON and forms.
type Duration time.Duration

// ParseDuration reads "30d", "24h", "1h30m", "45s".
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 30m, 1h, 24h or 7d", s)
	}
	return Duration(d), nil
}

// String writes whole days as "7d", anything else as Go does.
func (d Duration) String() string {
	if d == 0 {
		return ""
	}
	td := time.Duration(d)
	if td%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", td/(24*time.Hour))
	}
	return td.String()
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"1h\" or \"7d\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Limits of a definition: a flow is a short sequence, not a program.
const (
	MaxSteps       = 20
	MaxFilters     = 10
	MaxTemplateLen = 2000
	MaxWait        = 366 * 24 * time.Hour
)

var (
	eventTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)
	timeOfDayRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// cartEvents are the events whose flows are cart, checkout or browse
// abandonment reminders: R-DOI wants confirmed consent to cart reminders
// for their texts.
var cartEvents = map[string]bool{"checkout_started": true, "checkout_updated": true, "product_viewed": true}

// IsCartReminder reports whether the flow's texts are abandonment
// reminders (R-DOI).
func (d *Definition) IsCartReminder() bool {
	return d.Trigger.Kind == TriggerEvent && cartEvents[d.Trigger.Event]
}

// hasCheckout reports whether entries know a checkout (the trigger is a
// checkout event).
func (d *Definition) hasCheckout() bool {
	return d.Trigger.Kind == TriggerEvent && strings.HasPrefix(d.Trigger.Event, "checkout_")
}

func fieldErr(field, format string, args ...any) error {
	return &store.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks d and returns a *store.FieldError naming the field
// ("steps[2].wait.until"). parse checks a send step's template; nil skips
// that check.
func (d *Definition) Validate(parse func(src string, kind store.Kind) error) error {
	t := &d.Trigger
	switch t.Kind {
	case TriggerEvent:
		if !eventTypeRE.MatchString(t.Event) {
			return fieldErr("trigger.event", "must be an event type such as checkout_started (lower case, digits, _ . : -)")
		}
	case TriggerOptedIn:
		if t.Event != "" || len(t.Filter) > 0 {
			return fieldErr("trigger.event", "an opted_in trigger takes no event or filter")
		}
	case TriggerDate:
		if strings.TrimSpace(t.Attribute) == "" {
			return fieldErr("trigger.attribute", "must name the contact attribute that holds the date, such as birthday")
		}
	default:
		return fieldErr("trigger.kind", "must be event, opted_in or date")
	}
	if len(t.Filter) > MaxFilters {
		return fieldErr("trigger.filter", "at most %d tests", MaxFilters)
	}
	for i, m := range t.Filter {
		f := fmt.Sprintf("trigger.filter[%d]", i)
		if strings.TrimSpace(m.Field) == "" {
			return fieldErr(f+".field", "must name a field such as total or items.0.name")
		}
		switch m.Op {
		case "eq", "ne", "contains":
		case "gte", "lte":
			if _, err := strconv.ParseFloat(m.Value, 64); err != nil {
				return fieldErr(f+".value", "%s compares numbers; %q is not one", m.Op, m.Value)
			}
		case "exists":
		default:
			return fieldErr(f+".op", "must be eq, ne, gte, lte, contains or exists")
		}
	}
	if t.MinCount < 0 || t.MinCount > 100 {
		return fieldErr("trigger.min_count", "must be 0 to 100")
	}
	if t.MinCount > 1 && t.Within <= 0 {
		return fieldErr("trigger.within", "must be set when min_count is more than 1 (how far back to count)")
	}
	if t.ReenterAfter < 0 {
		return fieldErr("trigger.reenter_after", "must not be negative")
	}
	if len(d.Steps) == 0 {
		return fieldErr("steps", "a flow needs at least one step")
	}
	if len(d.Steps) > MaxSteps {
		return fieldErr("steps", "at most %d steps", MaxSteps)
	}
	sends := 0
	for i, s := range d.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		n := 0
		for _, set := range []bool{s.Wait != nil, s.Condition != nil, s.Send != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fieldErr(f, "must be exactly one of wait, condition or send")
		}
		switch {
		case s.Wait != nil:
			w := s.Wait
			if w.For <= 0 && w.Until == "" {
				return fieldErr(f+".wait", "needs a duration (for) or a time of day (until)")
			}
			if time.Duration(w.For) > MaxWait {
				return fieldErr(f+".wait.for", "at most 366 days")
			}
			if w.Until != "" && !timeOfDayRE.MatchString(w.Until) {
				return fieldErr(f+".wait.until", "must be a time of day HH:MM, such as 10:00")
			}
		case s.Condition != nil:
			if err := d.validateCondition(f+".condition", s.Condition, i); err != nil {
				return err
			}
		case s.Send != nil:
			sends++
			switch s.Send.Kind {
			case "marketing":
			case "transactional":
				if d.IsCartReminder() {
					return fieldErr(f+".send.kind", "a cart, checkout or browse reminder is marketing")
				}
			default:
				return fieldErr(f+".send.kind", "must be marketing or transactional")
			}
			if strings.TrimSpace(s.Send.Template) == "" {
				return fieldErr(f+".send.template", "must not be empty")
			}
			if len(s.Send.Template) > MaxTemplateLen {
				return fieldErr(f+".send.template", "at most %d bytes", MaxTemplateLen)
			}
			if parse != nil {
				if err := parse(s.Send.Template, s.Send.kind()); err != nil {
					msg := err.Error()
					var fe *store.FieldError
					if errors.As(err, &fe) {
						msg = fe.Message // the template's own field is this one
					}
					return fieldErr(f+".send.template", "%s", msg)
				}
			}
		}
	}
	if sends == 0 {
		return fieldErr("steps", "a flow needs at least one send step")
	}
	switch d.Exit.OnOrder {
	case "", "contact":
	case "checkout":
		if !d.hasCheckout() {
			return fieldErr("exit.on_order", "\"checkout\" needs a checkout trigger (checkout_started or checkout_updated)")
		}
	default:
		return fieldErr("exit.on_order", "must be checkout, contact or empty")
	}
	return nil
}

func (d *Definition) validateCondition(f string, c *Condition, step int) error {
	switch c.Kind {
	case CondNoOrder:
		switch c.Scope {
		case "", "contact":
		case "checkout":
			if !d.hasCheckout() {
				return fieldErr(f+".scope", "\"checkout\" needs a checkout trigger")
			}
		default:
			return fieldErr(f+".scope", "must be checkout or contact")
		}
	case CondNoEvent:
		if !eventTypeRE.MatchString(c.Event) {
			return fieldErr(f+".event", "must be an event type such as checkout_started")
		}
	case CondCartTotal:
		if c.Amount <= 0 {
			return fieldErr(f+".amount", "must be a positive amount in minor units (cents)")
		}
	case CondHasTag, CondNotTag:
		if strings.TrimSpace(c.Tag) == "" {
			return fieldErr(f+".tag", "must name a tag")
		}
	case CondClicked, CondNotClicked:
		for j := step - 1; j >= 0; j-- {
			if d.Steps[j].Send != nil {
				return nil
			}
		}
		return fieldErr(f+".kind", "%s needs a send step before it", c.Kind)
	default:
		return fieldErr(f+".kind", "must be no_order, no_event, cart_total, has_tag, not_tag, clicked or not_clicked")
	}
	return nil
}

// Decode reads a stored definition.
func Decode(raw json.RawMessage) (Definition, error) {
	var d Definition
	if err := json.Unmarshal(raw, &d); err != nil {
		return Definition{}, fmt.Errorf("flows: decode definition: %w", err)
	}
	return d, nil
}

// eventField reads a filter's field from ev: a promoted field, or a
// dotted path into its properties.
func eventField(ev *store.ShopEvent, path string) (string, bool) {
	switch path {
	case "total":
		return strconv.FormatInt(ev.Total, 10), true
	case "currency":
		return ev.Currency, ev.Currency != ""
	case "source":
		return ev.Source, true
	case "checkout_id":
		return ev.CheckoutID, ev.CheckoutID != ""
	case "order_id":
		return ev.OrderID, ev.OrderID != ""
	}
	var v any
	if len(ev.Properties) == 0 || json.Unmarshal(ev.Properties, &v) != nil {
		return "", false
	}
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return "", false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", false
	}
	raw, _ := json.Marshal(v)
	return string(raw), true
}

// matches reports whether ev passes every test of the filter.
func matches(ev *store.ShopEvent, filter []Match) bool {
	for _, m := range filter {
		got, ok := eventField(ev, m.Field)
		switch m.Op {
		case "exists":
			if !ok {
				return false
			}
		case "eq":
			if !ok || got != m.Value {
				return false
			}
		case "ne":
			if ok && got == m.Value {
				return false
			}
		case "contains":
			if !ok || !strings.Contains(strings.ToLower(got), strings.ToLower(m.Value)) {
				return false
			}
		case "gte", "lte":
			a, err1 := strconv.ParseFloat(got, 64)
			b, err2 := strconv.ParseFloat(m.Value, 64)
			if !ok || err1 != nil || err2 != nil || (m.Op == "gte" && a < b) || (m.Op == "lte" && a > b) {
				return false
			}
		}
	}
	return true
}

// nextTimeOfDay returns the first instant at or after t whose local time in
// loc is hh:mm.
func nextTimeOfDay(t time.Time, hhmm string, loc *time.Location) time.Time {
	h, _ := strconv.Atoi(hhmm[:2])
	m, _ := strconv.Atoi(hhmm[3:])
	lt := t.In(loc)
	at := time.Date(lt.Year(), lt.Month(), lt.Day(), h, m, 0, 0, loc)
	if at.Before(t) {
		at = time.Date(lt.Year(), lt.Month(), lt.Day()+1, h, m, 0, 0, loc)
	}
	return at
}

package msgtemplate

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/simgate/simgate/store"
)

// ContactVars are the variables of a contact: first_name, last_name and
// name (only when known, so that a template without a fallback fails
// rather than greet nobody), number, language and zone (when set), tags
// (a list, perhaps empty) and attributes (a map, perhaps empty: a missing
// attribute is an error unless default covers it). language and zone also
// choose how money and dates are written.
func ContactVars(c store.Contact) Vars {
	v := Vars{"number": c.Number, "tags": append([]string{}, c.Tags...)}
	attrs := make(map[string]any, len(c.Attributes))
	for k, a := range c.Attributes {
		attrs[k] = a
	}
	v["attributes"] = attrs
	firstName, lastName, _ := strings.Cut(strings.TrimSpace(c.Name), " ")
	if a := c.Attributes["first_name"]; a != "" {
		firstName = a
	}
	if a := c.Attributes["last_name"]; a != "" {
		lastName = a
	}
	for k, s := range map[string]string{"name": strings.TrimSpace(c.Name), "first_name": firstName,
		"last_name": strings.TrimSpace(lastName), "language": c.Language, "zone": c.TimeZone} {
		if s != "" {
			v[k] = s
		}
	}
	return v
}

// EventVars are the variables of a shop event:
//
//   - event: the event's properties, with type, id, source and occurred_at;
//   - cart, for a checkout event: id, items, total (minor units),
//     currency and url (the resume URL), each only when the event has it;
//   - order, for an order event: id, checkout_id, items, total, currency
//     and url (the order's status page), each only when the event has it.
//
// Items are maps of name, url, price (minor units), quantity, as the
// event's properties give them. Numbers in properties stay exact
// (json.Number), which money reads.
func EventVars(ev store.ShopEvent) Vars {
	props := map[string]any{}
	if len(ev.Properties) > 0 {
		dec := json.NewDecoder(bytes.NewReader(ev.Properties))
		dec.UseNumber()
		_ = dec.Decode(&props) // the part that stored it checked it is an object
		if props == nil {
			props = map[string]any{}
		}
	}
	event := make(map[string]any, len(props)+4)
	for k, p := range props {
		event[k] = p
	}
	event["type"], event["id"], event["source"], event["occurred_at"] = ev.Type, ev.ID, ev.Source, ev.OccurredAt
	v := Vars{"event": event}
	part := func(id string, url ...string) map[string]any {
		m := map[string]any{}
		if id != "" {
			m["id"] = id
		}
		if items, ok := props["items"].([]any); ok {
			m["items"] = items
		}
		if ev.Total != 0 {
			m["total"] = ev.Total
		} else if t, ok := props["total"]; ok {
			m["total"] = t
		}
		if ev.Currency != "" {
			m["currency"] = ev.Currency
		} else if c, ok := props["currency"].(string); ok {
			m["currency"] = c
		}
		for _, key := range url {
			if u, ok := props[key].(string); ok && u != "" {
				m["url"] = u
				break
			}
		}
		return m
	}
	switch {
	case strings.HasPrefix(ev.Type, "checkout_"):
		v["cart"] = part(ev.CheckoutID, "resume_url", "url", "checkout_url")
	case strings.HasPrefix(ev.Type, "order_"):
		order := part(ev.OrderID, "order_url", "status_url", "url")
		if ev.CheckoutID != "" {
			order["checkout_id"] = ev.CheckoutID
		}
		v["order"] = order
	}
	return v
}

// Variables a template may name, at the top and one level down; a nil
// set allows any key below (attributes, event properties).
var knownVars = map[string]map[string]bool{
	"first_name": {}, "last_name": {}, "name": {}, "number": {}, "language": {}, "zone": {}, "tags": {},
	"attributes": nil,
	"event":      nil,
	"cart":       {"id": true, "items": true, "total": true, "currency": true, "url": true},
	"order":      {"id": true, "checkout_id": true, "items": true, "total": true, "currency": true, "url": true},
}

// contactRoots are the variables ContactVars gives, which Lint counts over
// the contacts.
var contactRoots = map[string]bool{"first_name": true, "last_name": true, "name": true, "number": true,
	"language": true, "zone": true, "tags": true, "attributes": true}

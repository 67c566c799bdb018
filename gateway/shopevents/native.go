package shopevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/simgate/simgate/store"
)

// MaxBatch is how many events one POST /api/v1/events may carry.
const MaxBatch = 1000

// draft is one event read from a sender, before its contact is resolved:
// exactly one of Phone (raw, as sent), ContactID and Email says who.
type draft struct {
	ID         string
	Type       string
	Phone      string
	ContactID  uint64
	Email      string
	OccurredAt time.Time // zero: when it was received
	promoted
	Properties json.RawMessage
	// field is where the event was in the request ("events[3]"), for
	// errors found while resolving its contact.
	field string
	// consent is the shop's record that the customer agreed to marketing
	// texts at its checkout, when the event carries one (Shopify customers).
	consent *ShopConsent
}

// ShopConsent is a customer's agreement to marketing texts as the shop
// recorded it, to be entered in the consent ledger (method checkout).
type ShopConsent struct {
	// Source is the shop ("shopify:example.myshopify.com").
	Source string
	At     time.Time // when the shop says consent was given; zero: unknown
	Note   string    // the shop's own words for it (opt-in level, where collected)
}

// BatchError lists every problem of a batch, each naming the event by its
// index and the field ("events[3].occurred_at"). A batch with any problem
// stores nothing: the sender fixes the events and sends the batch again,
// and the ids make the events stored once.
type BatchError struct {
	Problems []*store.FieldError
}

func (e *BatchError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// nativeKeys are the fields of one event; any other is refused, as the
// rest of the API refuses unknown fields (a misspelt "ocurred_at" must not
// pass silently).
var nativeKeys = []string{"id", "type", "phone", "contact_id", "email", "occurred_at", "properties"}

// parseBatch reads the body of POST /api/v1/events: one event object, or
// an array of up to MaxBatch of them. It returns the drafts, or a
// *BatchError naming every problem.
func parseBatch(body []byte) ([]draft, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &BatchError{Problems: []*store.FieldError{{Message: "malformed JSON: " + jsonProblem(err)}}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &BatchError{Problems: []*store.FieldError{{Message: "trailing data after the JSON value"}}}
	}
	var list []any
	prefix := func(i int) string { return fmt.Sprintf("events[%d]", i) }
	switch x := doc.(type) {
	case []any:
		list = x
	case map[string]any:
		list = []any{x}
		prefix = func(int) string { return "" }
	default:
		return nil, &BatchError{Problems: []*store.FieldError{{Message: "the body must be an event object or an array of them"}}}
	}
	switch {
	case len(list) == 0:
		return nil, &BatchError{Problems: []*store.FieldError{{Message: "the array holds no event"}}}
	case len(list) > MaxBatch:
		return nil, &BatchError{Problems: []*store.FieldError{{Message: fmt.Sprintf("the array holds %d events; send at most %d per request", len(list), MaxBatch)}}}
	}
	var p problems
	drafts := make([]draft, 0, len(list))
	seen := make(map[string]int, len(list))
	for i, v := range list {
		d, ok := parseEvent(v, prefix(i), &p)
		if !ok {
			continue
		}
		if j, dup := seen[d.ID]; dup {
			p.add(join(prefix(i), "id"), "repeats the id of events[%d] in the same batch", j)
			continue
		}
		seen[d.ID] = i
		drafts = append(drafts, d)
	}
	if len(p.list) > 0 {
		return nil, &BatchError{Problems: p.list}
	}
	return drafts, nil
}

// join names a field under prefix ("events[3]" + "id").
func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// jsonProblem words a decoding error without Go's type names.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("at byte %d: %s", syntax.Offset, syntax.Error())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// parseEvent checks one event object; its problems go to p under prefix.
func parseEvent(v any, prefix string, p *problems) (draft, bool) {
	before := len(p.list)
	obj, ok := v.(map[string]any)
	if !ok {
		p.add(prefix, "must be an event object")
		return draft{}, false
	}
	for k := range obj {
		if !slices.Contains(nativeKeys, k) {
			p.add(join(prefix, k), "unknown field (an event has %s; put anything else in properties)", strings.Join(nativeKeys, ", "))
		}
	}
	d := draft{field: prefix}
	str := func(key string) (string, bool) {
		v, ok := obj[key]
		if !ok || v == nil {
			return "", false
		}
		s, isStr := v.(string)
		if !isStr {
			p.add(join(prefix, key), "must be a string")
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	n := len(p.list)
	if id, _ := str("id"); id == "" {
		if len(p.list) == n {
			p.add(join(prefix, "id"), "is required: your id for the event, so a retried request stores it once")
		}
	} else if len(id) > MaxIDLen || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
		p.add(join(prefix, "id"), "must be valid text of at most %d bytes", MaxIDLen)
	} else {
		d.ID = id
	}
	n = len(p.list)
	if typ, _ := str("type"); typ == "" {
		if len(p.list) == n {
			p.add(join(prefix, "type"), "is required: checkout_started, checkout_updated, order_placed, product_viewed, customer_created or a type of your own")
		}
	} else if !typeValid(typ) {
		p.add(join(prefix, "type"), "%q must be 1 to %d characters of a-z, 0-9 and _, starting with a letter", typ, MaxTypeLen)
	} else {
		d.Type = typ
	}
	// Who: the phone number wins, then the contact, then the email, so a
	// shop may send all it knows.
	phone, hasPhone := str("phone")
	email, hasEmail := str("email")
	if cid, present := obj["contact_id"]; present && cid != nil {
		n, isNum := cid.(json.Number)
		id, err := strconv.ParseUint(string(n), 10, 64)
		if !isNum || err != nil || id == 0 {
			p.add(join(prefix, "contact_id"), "must be a contact's id (a positive integer)")
		} else {
			d.ContactID = id
		}
	}
	switch {
	case hasPhone && phone != "":
		d.Phone, d.ContactID = phone, 0
	case d.ContactID != 0:
	case hasEmail && email != "":
		if !strings.Contains(email, "@") || len(email) > MaxTextLen {
			p.add(join(prefix, "email"), "%q is not an email address", email)
		}
		d.Email = strings.ToLower(email)
	default:
		if cid, sent := obj["contact_id"]; !sent || cid == nil {
			p.add(join(prefix, "phone"), "one of phone, contact_id or email is required: who the event is about")
		}
	}
	if at, ok := str("occurred_at"); ok {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			p.add(join(prefix, "occurred_at"), "must be an RFC 3339 time such as 2030-01-02T15:04:05Z")
		} else {
			d.OccurredAt = t.UTC()
		}
	}
	props := map[string]any{}
	if v, present := obj["properties"]; present && v != nil {
		m, isObj := v.(map[string]any)
		if !isObj {
			p.add(join(prefix, "properties"), "must be an object")
		} else {
			props = m
		}
	}
	if d.Type != "" {
		d.promoted = normalizeProps(d.Type, props, join(prefix, "properties"), p)
	}
	raw, err := json.Marshal(props)
	if err != nil {
		p.add(join(prefix, "properties"), "cannot be encoded: %v", err)
	} else if len(raw) > MaxPropertiesLen {
		p.add(join(prefix, "properties"), "is %d bytes of JSON; at most %d are kept per event", len(raw), MaxPropertiesLen)
	}
	d.Properties = raw
	return d, len(p.list) == before
}

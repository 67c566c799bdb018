package shopevents

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/simgate/simgate/store"
)

// Standard event types, with the properties documented for each in
// README.md ("Events from the shop"). Any other type that matches
// typePattern is kept with its properties as sent.
const (
	TypeCheckoutStarted = "checkout_started"
	TypeCheckoutUpdated = "checkout_updated"
	TypeOrderPlaced     = "order_placed"
	TypeProductViewed   = "product_viewed"
	TypeCustomerCreated = "customer_created"
	// TypeTest is what the console's "send a test event" stores.
	TypeTest = "test"
)

// Bounds of one event, so that a batch of 1,000 stays a bounded write and
// a timeline stays readable.
const (
	MaxIDLen         = 200   // the sender's event id
	MaxTypeLen       = 64    // a custom type's name
	MaxItems         = 250   // a cart's lines (Shopify's limit per checkout is 500 by value, rarely reached by SMS shops)
	MaxTextLen       = 1000  // a name, a URL, an id
	MaxPropertiesLen = 16384 // one event's normalised properties, in bytes of JSON
)

// promoted are the standard properties copied into the event record's own
// fields, where exits and flows read them without decoding JSON.
type promoted struct {
	CheckoutID string
	OrderID    string
	Total      int64
	Currency   string
}

// problems collects the field errors of one batch, each under its full
// path ("events[3].properties.items[0].price").
type problems struct{ list []*store.FieldError }

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, &store.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// typeValid reports whether a custom type name is lower-case letters,
// digits and underscores, starting with a letter.
func typeValid(t string) bool {
	if t == "" || len(t) > MaxTypeLen || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// idText reads an identifier sent as a string or an integer (Shopify's
// ids are integers above 2^53: they arrive as json.Number and stay exact).
func idText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		return s, s != "" && len(s) <= MaxTextLen && utf8.ValidString(s)
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return string(x), true
		}
		if _, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return string(x), true
		}
	}
	return "", false
}

// webURL reports whether s is an absolute http or https URL: a resume link
// goes into a text, and a javascript: or relative one would be useless or
// worse.
func webURL(s string) bool {
	if len(s) > MaxTextLen {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// normalizeProps checks the standard properties of typ in props (decoded
// with UseNumber) and rewrites them in their stored form: ids as strings,
// money as integers of minor units, quantities as integers. Properties it
// does not know are kept as sent. Problems are added under field.
func normalizeProps(typ string, props map[string]any, field string, p *problems) promoted {
	var out promoted
	standard := typ == TypeCheckoutStarted || typ == TypeCheckoutUpdated || typ == TypeOrderPlaced ||
		typ == TypeProductViewed || typ == TypeCustomerCreated
	if !standard {
		return out
	}
	if v, ok := props["currency"]; ok {
		c, _ := v.(string)
		c = strings.ToUpper(strings.TrimSpace(c))
		if !store.ValidCurrency(c) {
			p.add(field+".currency", "must be an ISO 4217 code such as USD or EUR")
		} else {
			out.Currency = c
			props["currency"] = c
		}
	}
	money := func(key, path string) (int64, bool) {
		v, ok := props[key]
		if !ok {
			return 0, false
		}
		return moneyValue(v, out.Currency, field+"."+path, p)
	}
	idProp := func(key string, required bool) string {
		v, ok := props[key]
		if !ok {
			if required {
				p.add(field+"."+key, "is required for a %s event", typ)
			}
			return ""
		}
		id, ok := idText(v)
		if !ok {
			p.add(field+"."+key, "must be a non-empty string or an integer")
			return ""
		}
		props[key] = id
		return id
	}
	switch typ {
	case TypeCheckoutStarted, TypeCheckoutUpdated:
		out.CheckoutID = idProp("checkout_id", true)
		if v, ok := props["resume_url"]; ok {
			if s, _ := v.(string); !webURL(s) {
				p.add(field+".resume_url", "must be an http or https URL")
			}
		}
	case TypeOrderPlaced:
		// A completed checkout is an order whose number the checkout does
		// not know yet: one of the two ids is enough.
		_, hasCheckout := props["checkout_id"]
		out.OrderID = idProp("order_id", !hasCheckout)
		out.CheckoutID = idProp("checkout_id", false)
	case TypeProductViewed:
		idProp("product_id", false)
		if v, ok := props["url"]; ok {
			if s, _ := v.(string); !webURL(s) {
				p.add(field+".url", "must be an http or https URL")
			}
		}
		if n, ok := money("price", "price"); ok {
			props["price"] = n
		}
	case TypeCustomerCreated:
		if v, ok := props["sms_marketing_consent"]; ok {
			if _, isBool := v.(bool); !isBool {
				p.add(field+".sms_marketing_consent", "must be true or false: whether the customer agreed to marketing texts in the shop")
			}
		}
	}
	if typ == TypeCheckoutStarted || typ == TypeCheckoutUpdated || typ == TypeOrderPlaced {
		if n, ok := money("total", "total"); ok {
			out.Total = n
			props["total"] = n
		}
		if v, ok := props["items"]; ok {
			if items := normalizeItems(v, out.Currency, field+".items", p); items != nil {
				props["items"] = items
			}
		}
	}
	return out
}

// moneyValue reads an amount sent as a string ("199.00") or a JSON number
// (199 or 199.5) in minor units of currency.
func moneyValue(v any, currency, field string, p *problems) (int64, bool) {
	text, ok := moneyText(v)
	if !ok {
		p.add(field, "must be an amount, as a string such as \"19.99\" or a number")
		return 0, false
	}
	if currency == "" {
		p.add(field, "needs currency (an ISO 4217 code) beside it: how many decimals an amount has depends on it")
		return 0, false
	}
	n, err := ParseMoney(text, currency)
	if err != nil {
		p.add(field, "%s", err.Error())
		return 0, false
	}
	return n, true
}

// normalizeItems checks a cart's lines: name, url, price and quantity are
// the standard keys; others are kept as sent.
func normalizeItems(v any, currency, field string, p *problems) []any {
	list, ok := v.([]any)
	if !ok {
		p.add(field, "must be an array of items {name, url, price, quantity}")
		return nil
	}
	if len(list) > MaxItems {
		p.add(field, "has %d items; at most %d are kept", len(list), MaxItems)
		return nil
	}
	for i, raw := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		item, ok := raw.(map[string]any)
		if !ok {
			p.add(f, "must be an object {name, url, price, quantity}")
			continue
		}
		if v, ok := item["name"]; ok {
			if s, isStr := v.(string); !isStr || utf8.RuneCountInString(s) > MaxTextLen {
				p.add(f+".name", "must be a string of at most %d characters", MaxTextLen)
			}
		}
		if v, ok := item["url"]; ok {
			if s, _ := v.(string); !webURL(s) {
				p.add(f+".url", "must be an http or https URL")
			}
		}
		if v, ok := item["price"]; ok {
			if n, ok := moneyValue(v, currency, f+".price", p); ok {
				item["price"] = n
			}
		}
		q := int64(1)
		if v, ok := item["quantity"]; ok {
			n, isNum := v.(json.Number)
			parsed, err := strconv.ParseInt(string(n), 10, 64)
			if !isNum || err != nil || parsed < 1 || parsed > 1_000_000 {
				p.add(f+".quantity", "must be a whole number from 1 to 1000000")
			} else {
				q = parsed
			}
		}
		item["quantity"] = q
	}
	return list
}

package shopevents

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway/contacts"
)

// Webhooks from the shop's platform. Shopify and WooCommerce both sign the
// raw body: base64(HMAC-SHA256(secret, body)) in a header. The mapping of
// their payloads to events follows their documented webhook examples; the
// fixtures in testdata are shaped like those (field names, nesting, money
// as strings, ids as integers above 2^53).

// Delivery is one webhook POST as the HTTP layer received it.
type Delivery struct {
	Topic      string // X-Shopify-Topic / X-WC-Webhook-Topic
	DeliveryID string // X-Shopify-Webhook-Id / X-WC-Webhook-Delivery-ID
	Signature  string // X-Shopify-Hmac-Sha256 / X-WC-Webhook-Signature
	Shop       string // X-Shopify-Shop-Domain / X-WC-Webhook-Source
	Body       []byte // the raw body, exactly as signed
}

// Errors of a webhook delivery; the HTTP layer maps each to its status.
var (
	// ErrNoSecret: no secret is set for the platform, so nothing it sends
	// can be verified, and an unsigned body is never accepted.
	ErrNoSecret = errors.New("no webhook secret is set for this platform (Settings → Integrations): nothing is accepted unsigned")
	// ErrBadSignature: the signature header is missing or does not match
	// the body and the secret.
	ErrBadSignature = errors.New("the webhook signature does not match the body and the secret set in Settings → Integrations")
)

// MalformedError is a body that is not the JSON the topic promises.
type MalformedError struct{ Reason string }

func (e *MalformedError) Error() string { return "malformed webhook body: " + e.Reason }

// verifySignature reports whether sig is the base64 HMAC-SHA256 of body
// with secret, compared in constant time.
func verifySignature(secret string, body []byte, sig string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the signature Shopify and WooCommerce send for body with
// secret; tests and the console's example use it.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// mapped is what a platform's payload became: events to store, or the
// reason it was not one (an unknown topic, an order status that is no
// event), answered 200 so the platform does not retry it.
type mapped struct {
	drafts  []draft
	ignored string
}

// decodeObject reads a JSON object with numbers kept exact.
func decodeObject(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return &MalformedError{Reason: jsonProblem(err)}
	}
	if dec.More() {
		return &MalformedError{Reason: "trailing data after the JSON object"}
	}
	return nil
}

// firstPhone returns the first of candidates that reads as a number in
// region, so a landline in the billing address does not hide the mobile
// given at checkout, and a malformed one is skipped rather than stored.
func firstPhone(region string, candidates ...string) string {
	for _, c := range candidates {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if n, err := contacts.Normalize(c, region); err == nil {
			return n
		}
	}
	return ""
}

// eventTime reads a platform's timestamp: RFC 3339, or WooCommerce's
// *_gmt form without a zone ("2017-03-22T19:28:02", UTC). Zero when
// absent or unreadable: the receipt time stands in.
func eventTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// ---- Shopify ----

type shopifyAddress struct {
	Phone     string `json:"phone"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// address decodes an address that may be null, an object, or (in some
// checkout payloads) an empty array.
func address(raw json.RawMessage) shopifyAddress {
	var a shopifyAddress
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &a)
	}
	return a
}

type shopifyConsent struct {
	State                string `json:"state"`
	OptInLevel           string `json:"opt_in_level"`
	ConsentUpdatedAt     string `json:"consent_updated_at"`
	ConsentCollectedFrom string `json:"consent_collected_from"`
}

type shopifyCustomer struct {
	ID                  json.Number     `json:"id"`
	Email               string          `json:"email"`
	Phone               string          `json:"phone"`
	FirstName           string          `json:"first_name"`
	LastName            string          `json:"last_name"`
	CreatedAt           string          `json:"created_at"`
	UpdatedAt           string          `json:"updated_at"`
	SMSMarketingConsent *shopifyConsent `json:"sms_marketing_consent"`
	DefaultAddress      json.RawMessage `json:"default_address"`
}

type shopifyLineItem struct {
	Title     string      `json:"title"`
	Name      string      `json:"name"`
	Price     any         `json:"price"`
	Quantity  json.Number `json:"quantity"`
	ProductID json.Number `json:"product_id"`
	VariantID json.Number `json:"variant_id"`
	SKU       string      `json:"sku"`
}

// shopifyCheckout is the part of a checkouts/* payload the box reads.
type shopifyCheckout struct {
	ID                   json.Number       `json:"id"`
	Token                string            `json:"token"`
	Email                string            `json:"email"`
	Phone                string            `json:"phone"`
	SMSMarketingPhone    string            `json:"sms_marketing_phone"`
	BuyerAcceptsSMS      bool              `json:"buyer_accepts_sms_marketing"`
	CreatedAt            string            `json:"created_at"`
	UpdatedAt            string            `json:"updated_at"`
	CompletedAt          string            `json:"completed_at"`
	Currency             string            `json:"currency"`
	PresentmentCurrency  string            `json:"presentment_currency"`
	TotalPrice           any               `json:"total_price"`
	LineItems            []shopifyLineItem `json:"line_items"`
	AbandonedCheckoutURL string            `json:"abandoned_checkout_url"`
	BillingAddress       json.RawMessage   `json:"billing_address"`
	ShippingAddress      json.RawMessage   `json:"shipping_address"`
	Customer             *shopifyCustomer  `json:"customer"`
}

// shopifyOrder is the part of an orders/create payload the box reads.
type shopifyOrder struct {
	ID              json.Number       `json:"id"`
	Name            string            `json:"name"`
	OrderNumber     json.Number       `json:"order_number"`
	CheckoutID      json.Number       `json:"checkout_id"`
	CheckoutToken   string            `json:"checkout_token"`
	Email           string            `json:"email"`
	Phone           string            `json:"phone"`
	CreatedAt       string            `json:"created_at"`
	Currency        string            `json:"currency"`
	TotalPrice      any               `json:"total_price"`
	LineItems       []shopifyLineItem `json:"line_items"`
	BillingAddress  json.RawMessage   `json:"billing_address"`
	ShippingAddress json.RawMessage   `json:"shipping_address"`
	Customer        *shopifyCustomer  `json:"customer"`
}

func (c *shopifyCustomer) phones() []string {
	if c == nil {
		return nil
	}
	return []string{c.Phone, address(c.DefaultAddress).Phone}
}

func (c *shopifyCustomer) names() (string, string) {
	if c == nil {
		return "", ""
	}
	return c.FirstName, c.LastName
}

func shopifyItems(lines []shopifyLineItem) []any {
	items := make([]any, 0, len(lines))
	for _, l := range lines {
		name := l.Title
		if name == "" {
			name = l.Name
		}
		item := map[string]any{"name": name}
		if l.Price != nil {
			item["price"] = l.Price
		}
		if l.Quantity != "" {
			item["quantity"] = l.Quantity
		}
		if l.ProductID != "" {
			item["product_id"] = string(l.ProductID)
		}
		if l.VariantID != "" {
			item["variant_id"] = string(l.VariantID)
		}
		if l.SKU != "" {
			item["sku"] = l.SKU
		}
		items = append(items, item)
	}
	return items
}

// shopifyID is the delivery's event id: Shopify's webhook id, the same on
// every retry of one delivery; without the header, the resource and its
// time, which a retry also repeats.
func shopifyID(d Delivery, resource json.Number, at string) string {
	if id := strings.TrimSpace(d.DeliveryID); id != "" {
		return id
	}
	return d.Topic + ":" + string(resource) + ":" + at
}

// mapShopify turns a Shopify webhook into events.
func mapShopify(d Delivery, region string) (mapped, error) {
	switch d.Topic {
	case "checkouts/create", "checkouts/update":
		var c shopifyCheckout
		if err := decodeObject(d.Body, &c); err != nil {
			return mapped{}, err
		}
		first, last := c.Customer.names()
		if first == "" {
			b := address(c.BillingAddress)
			first, last = b.FirstName, b.LastName
		}
		currency := c.Currency
		if currency == "" {
			currency = c.PresentmentCurrency
		}
		props := map[string]any{"checkout_id": string(c.ID), "currency": currency, "items": shopifyItems(c.LineItems)}
		if c.TotalPrice != nil {
			props["total"] = c.TotalPrice
		}
		if c.Token != "" {
			props["checkout_token"] = c.Token
		}
		if c.AbandonedCheckoutURL != "" {
			props["resume_url"] = c.AbandonedCheckoutURL
		}
		if c.BuyerAcceptsSMS {
			props["buyer_accepts_sms_marketing"] = true
		}
		addNames(props, first, last)
		dr := draft{ID: shopifyID(d, c.ID, c.UpdatedAt), Type: TypeCheckoutUpdated, OccurredAt: eventTime(c.UpdatedAt)}
		switch {
		case c.CompletedAt != "":
			// Bought: an order for exits, whether or not orders/create is
			// subscribed too (both end the same key; the first wins).
			dr.Type, dr.OccurredAt = TypeOrderPlaced, eventTime(c.CompletedAt)
			delete(props, "resume_url")
		case d.Topic == "checkouts/create":
			dr.Type, dr.OccurredAt = TypeCheckoutStarted, eventTime(c.CreatedAt)
		}
		dr.Phone = firstPhone(region, append([]string{c.SMSMarketingPhone, c.Phone}, append(c.Customer.phones(),
			address(c.BillingAddress).Phone, address(c.ShippingAddress).Phone)...)...)
		dr.Email = customerEmail(c.Email, c.Customer)
		return withProps(dr, props)
	case "orders/create":
		var o shopifyOrder
		if err := decodeObject(d.Body, &o); err != nil {
			return mapped{}, err
		}
		orderID := string(o.OrderNumber)
		if orderID == "" {
			orderID = string(o.ID)
		}
		props := map[string]any{"order_id": orderID, "currency": o.Currency, "items": shopifyItems(o.LineItems),
			"shopify_order_id": string(o.ID)}
		if o.Name != "" {
			props["order_name"] = o.Name
		}
		if o.TotalPrice != nil {
			props["total"] = o.TotalPrice
		}
		// The checkout's id is what checkouts/* events carry; the token
		// stands in when an order has no id (a draft order has neither).
		switch {
		case o.CheckoutID != "":
			props["checkout_id"] = string(o.CheckoutID)
		case o.CheckoutToken != "":
			props["checkout_id"] = o.CheckoutToken
		}
		first, last := o.Customer.names()
		if first == "" {
			b := address(o.BillingAddress)
			first, last = b.FirstName, b.LastName
		}
		addNames(props, first, last)
		dr := draft{ID: shopifyID(d, o.ID, o.CreatedAt), Type: TypeOrderPlaced, OccurredAt: eventTime(o.CreatedAt)}
		dr.Phone = firstPhone(region, append([]string{o.Phone}, append(o.Customer.phones(),
			address(o.BillingAddress).Phone, address(o.ShippingAddress).Phone)...)...)
		dr.Email = customerEmail(o.Email, o.Customer)
		return withProps(dr, props)
	case "customers/create", "customers/update":
		var c shopifyCustomer
		if err := decodeObject(d.Body, &c); err != nil {
			return mapped{}, err
		}
		props := map[string]any{"shopify_customer_id": string(c.ID)}
		if c.Email != "" {
			props["email"] = c.Email
		}
		addNames(props, c.FirstName, c.LastName)
		dr := draft{ID: shopifyID(d, c.ID, c.UpdatedAt), Type: "customer_updated", OccurredAt: eventTime(c.UpdatedAt)}
		if d.Topic == "customers/create" {
			dr.Type, dr.OccurredAt = TypeCustomerCreated, eventTime(c.CreatedAt)
		}
		if dr.OccurredAt.IsZero() {
			dr.OccurredAt = eventTime(c.CreatedAt)
		}
		dr.Phone = firstPhone(region, c.phones()...)
		dr.Email = strings.ToLower(strings.TrimSpace(c.Email))
		if sc := c.SMSMarketingConsent; sc != nil {
			props["sms_marketing_consent"] = sc.State == "subscribed"
			// Consent given in the shop's own checkout or storefront
			// (collected from SHOPIFY) to the customer's own phone is the
			// affirmative act the ledger needs; "OTHER" was collected by
			// an app, which records its own evidence.
			phone := firstPhone(region, c.Phone)
			if sc.State == "subscribed" && sc.ConsentCollectedFrom == "SHOPIFY" && phone != "" && phone == dr.Phone {
				dr.consent = &ShopConsent{Source: "shopify:" + shopName(d.Shop), At: eventTime(sc.ConsentUpdatedAt),
					Note: fmt.Sprintf("Shopify sms_marketing_consent: state %s, opt_in_level %s, collected from %s", sc.State, sc.OptInLevel, sc.ConsentCollectedFrom)}
			}
		}
		return withProps(dr, props)
	}
	return mapped{ignored: fmt.Sprintf("topic %q is not one simgate reads (checkouts/create, checkouts/update, orders/create, customers/create, customers/update)", d.Topic)}, nil
}

// shopName is the shop's domain as the header gave it, or a stand-in.
func shopName(domain string) string {
	if domain = strings.TrimSpace(domain); domain == "" || len(domain) > 200 {
		return "unknown-shop"
	}
	return domain
}

func customerEmail(email string, c *shopifyCustomer) string {
	if email == "" && c != nil {
		email = c.Email
	}
	return strings.ToLower(strings.TrimSpace(email))
}

func addNames(props map[string]any, first, last string) {
	if first = strings.TrimSpace(first); first != "" {
		props["first_name"] = first
	}
	if last = strings.TrimSpace(last); last != "" {
		props["last_name"] = last
	}
}

// withProps checks and normalises a mapped event's properties as the API's
// are checked, so a timeline and a template read the same shapes whatever
// sent the event. A payload that fails (a price with more decimals than
// its currency) is no event: the caller logs why.
func withProps(dr draft, props map[string]any) (mapped, error) {
	var p problems
	dr.promoted = normalizeProps(dr.Type, props, "properties", &p)
	if len(p.list) > 0 {
		return mapped{}, &BatchError{Problems: p.list}
	}
	raw, err := json.Marshal(props)
	if err != nil {
		return mapped{}, err
	}
	dr.Properties = raw
	return mapped{drafts: []draft{dr}}, nil
}

// ---- WooCommerce ----

type wooAddress struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

type wooLineItem struct {
	Name      string      `json:"name"`
	ProductID json.Number `json:"product_id"`
	Quantity  json.Number `json:"quantity"`
	Price     any         `json:"price"`
	SKU       string      `json:"sku"`
}

// wooOrder is the part of an order.* payload the box reads.
type wooOrder struct {
	ID              json.Number   `json:"id"`
	Number          string        `json:"number"`
	Status          string        `json:"status"`
	Currency        string        `json:"currency"`
	Total           any           `json:"total"`
	DateCreatedGMT  string        `json:"date_created_gmt"`
	DateModifiedGMT string        `json:"date_modified_gmt"`
	DatePaidGMT     string        `json:"date_paid_gmt"`
	PaymentURL      string        `json:"payment_url"`
	Billing         wooAddress    `json:"billing"`
	Shipping        wooAddress    `json:"shipping"`
	LineItems       []wooLineItem `json:"line_items"`
}

// mapWooCommerce turns a WooCommerce order webhook into an event. An
// order that is paid (processing, completed) is an order_placed; one
// waiting for payment (pending, on-hold, failed) is a checkout that may
// still be abandoned, its payment page the resume URL. The order id is the
// checkout id of both, so the paid order ends the unpaid one's texts.
func mapWooCommerce(d Delivery, region string) (mapped, error) {
	if d.Topic != "order.created" && d.Topic != "order.updated" {
		return mapped{ignored: fmt.Sprintf("topic %q is not one simgate reads (order.created, order.updated)", d.Topic)}, nil
	}
	var o wooOrder
	if err := decodeObject(d.Body, &o); err != nil {
		return mapped{}, err
	}
	if o.ID == "" {
		return mapped{}, &MalformedError{Reason: "the order has no id"}
	}
	number := o.Number
	if number == "" {
		number = string(o.ID)
	}
	items := make([]any, 0, len(o.LineItems))
	for _, l := range o.LineItems {
		item := map[string]any{"name": l.Name}
		if l.Price != nil {
			item["price"] = l.Price
		}
		if l.Quantity != "" {
			item["quantity"] = l.Quantity
		}
		if l.ProductID != "" {
			item["product_id"] = string(l.ProductID)
		}
		if l.SKU != "" {
			item["sku"] = l.SKU
		}
		items = append(items, item)
	}
	props := map[string]any{"checkout_id": string(o.ID), "currency": o.Currency, "items": items, "status": o.Status}
	if o.Total != nil {
		props["total"] = o.Total
	}
	addNames(props, o.Billing.FirstName, o.Billing.LastName)
	dr := draft{Phone: firstPhone(region, o.Billing.Phone, o.Shipping.Phone), Email: strings.ToLower(strings.TrimSpace(o.Billing.Email))}
	switch o.Status {
	case "processing", "completed":
		props["order_id"] = number
		// One order_placed per order, however many updates repeat the
		// status: the id is the order's, not the delivery's.
		dr.ID, dr.Type = "order:"+string(o.ID)+":placed", TypeOrderPlaced
		dr.OccurredAt = eventTime(o.DatePaidGMT)
		if dr.OccurredAt.IsZero() {
			dr.OccurredAt = eventTime(o.DateCreatedGMT)
		}
	case "pending", "on-hold", "failed":
		if webURL(o.PaymentURL) {
			props["resume_url"] = o.PaymentURL
		}
		dr.Type = TypeCheckoutUpdated
		if d.Topic == "order.created" {
			dr.Type = TypeCheckoutStarted
		}
		dr.ID = d.DeliveryID
		if dr.ID == "" {
			dr.ID = "order:" + string(o.ID) + ":" + o.Status + ":" + o.DateModifiedGMT
		}
		dr.OccurredAt = eventTime(o.DateModifiedGMT)
	default:
		return mapped{ignored: fmt.Sprintf("order %s has status %q, which is neither a checkout waiting for payment nor a paid order", number, o.Status)}, nil
	}
	return withProps(dr, props)
}

// wooPingID reads WooCommerce's ping, sent when a webhook is created:
// the form body "webhook_id=N".
func wooPingID(body []byte) (uint64, bool) {
	v, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "webhook_id=")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

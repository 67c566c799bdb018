package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// Attribution and per-origin results (issue 11 §4, docs/attribution.md).
//
// An order_placed event is credited to at most one marketing text: the one
// whose link the contact clicked last within the click window, else the
// one delivered to the number last within the delivery window. The
// results of every origin a text carries (a campaign, its variant, a flow,
// its step) are counters in bucketResults, moved in the transaction of
// whatever changed them: a message write (sent, delivered, failed, parts,
// cost), a click (unique clickers, hours), an attributed order, a credited
// opt-out. A page reads a handful of keys, never the messages.

// Result fields: the last part of a key of bucketResults. Fields with a
// currency end in "/<ISO 4217 code>".
const (
	resSent            = "sent"
	resDelivered       = "delivered"
	resFailed          = "failed"
	resParts           = "parts"
	resClicks          = "clicks" // unique clickers: first click per (key, number)
	resOrders          = "orders"
	resOrdersClick     = "orders_click"
	resOrdersDelivery  = "orders_delivery"
	resOptOuts         = "opt_outs"
	resMembersOrdered  = "members_ordered"
	resRevenue         = "revenue/"
	resRevenueClick    = "revenue_click/"
	resRevenueDelivery = "revenue_delivery/"
	resCost            = "cost/"
	// resTimeline fields count per hour: "t:sent:" | Unix hour (10 decimal
	// digits, so they sort), and the same for "clicks" and "orders".
	resTimeline = "t:"
)

// timelineField is the field of what's count in the Unix hour of at.
func timelineField(what string, at time.Time) string {
	return timelineFieldHour(what, unixHour(at))
}

// ResultKeyAll collects every attributed order and every click, whatever
// sent the text (a text typed in the console has no origin of its own).
const ResultKeyAll = "all"

// Credits: how an order was attributed.
const (
	CreditClick    = "click"
	CreditDelivery = "delivery"
)

// Defaults of the attribution windows and the opt-out window.
const (
	DefaultClickWindow    = 5 * 24 * time.Hour
	DefaultDeliveryWindow = 24 * time.Hour
	// OptOutWindow: a STOP within this long after a marketing text is
	// counted against that text.
	OptOutWindow = 48 * time.Hour
)

// OriginResultKeys returns the result keys a text of origin counts under:
// "campaign:5:variant:b" → campaign:5, campaign:5:variant:b;
// "flow:3:entry:77:step:2" → flow:3, flow:3:step:2. Other origins (the
// console's, none) have none.
func OriginResultKeys(origin string) []string {
	parts := strings.Split(origin, ":")
	isID := func(s string) bool {
		_, err := strconv.ParseUint(s, 10, 64)
		return err == nil
	}
	switch {
	case len(parts) == 4 && parts[0] == "campaign" && isID(parts[1]) && parts[2] == "variant" && parts[3] != "":
		return []string{"campaign:" + parts[1], origin}
	case len(parts) == 2 && parts[0] == "campaign" && isID(parts[1]):
		return []string{origin}
	case len(parts) == 6 && parts[0] == "flow" && isID(parts[1]) && parts[2] == "entry" && parts[4] == "step" && isID(parts[5]):
		return []string{"flow:" + parts[1], "flow:" + parts[1] + ":step:" + parts[5]}
	}
	return nil
}

// OriginResults is what the counters hold for one result key. Money is in
// minor units of Currency; a box that has seen more than one currency
// has the rest in the ByCurrency maps.
type OriginResults struct {
	Sent              int64  `json:"sent"`
	Delivered         int64  `json:"delivered"`
	Failed            int64  `json:"failed"`
	Parts             int64  `json:"parts"`
	UniqueClicks      int64  `json:"unique_clicks"`
	Orders            int64  `json:"orders"`
	OrdersByClick     int64  `json:"orders_by_click"`
	OrdersByDelivery  int64  `json:"orders_by_delivery"`
	OptOuts           int64  `json:"opt_outs"`
	Revenue           int64  `json:"revenue"`
	RevenueByClick    int64  `json:"revenue_by_click"`
	RevenueByDelivery int64  `json:"revenue_by_delivery"`
	Cost              int64  `json:"cost"`
	Currency          string `json:"currency,omitempty"`
	Members           int64  `json:"members"`
	MembersOrdered    int64  `json:"members_ordered"`
	// RevenueByCurrency and CostByCurrency hold every currency seen, the
	// main one included.
	RevenueByCurrency map[string]int64 `json:"revenue_by_currency,omitempty"`
	CostByCurrency    map[string]int64 `json:"cost_by_currency,omitempty"`
}

// resultKey is key | 0x00 | field.
func resultKey(key, field string) []byte {
	return []byte(key + "\x00" + field)
}

// addResult adds delta to a result counter; a counter at zero is deleted.
func addResult(tx *bbolt.Tx, k []byte, delta int64) error {
	if delta == 0 {
		return nil
	}
	b := tx.Bucket(bucketResults)
	var n int64
	if v := b.Get(k); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n = max(n+delta, 0)
	if n == 0 {
		return b.Delete(k)
	}
	return b.Put(k, u64(uint64(n)))
}

// messageResults is what m adds to the results of its origin's keys:
// sent when a part left for the network, delivered and failed by status,
// the parts that left, and their cost as stamped when each was sent.
func messageResults(m *Message) map[string]int64 {
	if m == nil {
		return nil
	}
	keys := OriginResultKeys(m.Origin)
	if len(keys) == 0 {
		return nil
	}
	fields := map[string]int64{}
	for _, p := range m.Parts {
		if p.SentAt.IsZero() {
			continue
		}
		fields[resParts]++
		if p.Price > 0 && p.Currency != "" {
			fields[resCost+p.Currency] += p.Price
		}
	}
	if fields[resParts] > 0 {
		fields[resSent] = 1
		fields[timelineField("sent", sentAtOf(m))] = 1
	}
	switch m.Status {
	case StatusDelivered:
		fields[resDelivered] = 1
	case StatusFailed:
		fields[resFailed] = 1
	}
	out := map[string]int64{}
	for _, key := range keys {
		for f, n := range fields {
			out[string(resultKey(key, f))] = n
		}
	}
	return out
}

// sentAtOf is when m's first part left for the network.
func sentAtOf(m *Message) time.Time {
	var t time.Time
	for _, p := range m.Parts {
		if !p.SentAt.IsZero() && (t.IsZero() || p.SentAt.Before(t)) {
			t = p.SentAt
		}
	}
	return t
}

// moveResults moves the result counters from what old implied to what new
// implies (nil for an insert or a delete), in countChange's transaction.
func moveResults(tx *bbolt.Tx, old, new *Message) error {
	before, after := messageResults(old), messageResults(new)
	if len(before) == 0 && len(after) == 0 {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if err := addResult(tx, []byte(k), after[k]-before[k]); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[k]; !ok {
			if err := addResult(tx, []byte(k), after[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// PartPrice is what one part sent through a SIM costs the shop.
type PartPrice struct {
	Modem    string `json:"modem"`
	Price    int64  `json:"price"`    // minor units
	Currency string `json:"currency"` // ISO 4217
}

// SetPartPrice sets (price > 0) or clears (price 0) the price of a part
// sent through modem. Parts already sent keep the price they were sent
// at.
func (db *DB) SetPartPrice(p PartPrice) error {
	switch {
	case p.Modem == "":
		return &FieldError{Field: "modem", Message: "must not be empty"}
	case p.Price < 0:
		return &FieldError{Field: "price", Message: "must not be negative"}
	case p.Price > 0 && !ValidCurrency(p.Currency):
		return &FieldError{Field: "currency", Message: fmt.Sprintf("%q must be a three-letter ISO 4217 code such as USD", p.Currency)}
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPartPrices)
		if p.Price == 0 {
			return b.Delete([]byte(p.Modem))
		}
		return putJSON(b, []byte(p.Modem), p)
	})
}

// ValidCurrency reports whether c looks like an ISO 4217 code: three
// upper-case letters. The list itself changes every year or two; a shop
// knows its currency better than a table compiled into the box.
func ValidCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// PartPrices returns every modem's price per part.
func (db *DB) PartPrices() ([]PartPrice, error) {
	var out []PartPrice
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		return tx.Bucket(bucketPartPrices).ForEach(func(k, v []byte) error {
			var p PartPrice
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode part price %q: %w", k, err)
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// stampPartPrices writes the price of its modem on every part of m that
// left for the network in this write (its SentAt set now, not in old), so
// that the cost of a part is the price when it was sent.
func stampPartPrices(tx *bbolt.Tx, old, m *Message) error {
	b := tx.Bucket(bucketPartPrices)
	for i := range m.Parts {
		p := &m.Parts[i]
		if p.SentAt.IsZero() {
			continue
		}
		if old != nil && i < len(old.Parts) && old.Parts[i].SentAt.Equal(p.SentAt) && old.Parts[i].Modem == p.Modem {
			continue
		}
		p.Price, p.Currency = 0, ""
		modem := p.Modem
		if modem == "" {
			modem = m.Modem
		}
		v := b.Get([]byte(modem))
		if v == nil {
			continue
		}
		var price PartPrice
		if err := json.Unmarshal(v, &price); err != nil {
			return fmt.Errorf("decode part price %q: %w", modem, err)
		}
		p.Price, p.Currency = price.Price, price.Currency
	}
	return nil
}

// OriginResults reads the counters of a result key ("campaign:5",
// "flow:3:step:2", ResultKeyAll).
func (db *DB) OriginResults(key string) (OriginResults, error) {
	var r OriginResults
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		r = readResults(tx, key)
		var err error
		r.Members, err = campaignMembers(tx, key)
		return err
	})
	return r, err
}

func readResults(tx *bbolt.Tx, key string) OriginResults {
	var r OriginResults
	prefix := []byte(key + "\x00")
	money := map[string]map[string]int64{}
	c := tx.Bucket(bucketResults).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(v) != 8 {
			continue
		}
		n := int64(binary.BigEndian.Uint64(v))
		field := string(k[len(prefix):])
		if strings.HasPrefix(field, resTimeline) {
			continue
		}
		if name, cur, ok := strings.Cut(field, "/"); ok {
			if money[name] == nil {
				money[name] = map[string]int64{}
			}
			money[name][cur] = n
			continue
		}
		switch field {
		case resSent:
			r.Sent = n
		case resDelivered:
			r.Delivered = n
		case resFailed:
			r.Failed = n
		case resParts:
			r.Parts = n
		case resClicks:
			r.UniqueClicks = n
		case resOrders:
			r.Orders = n
		case resOrdersClick:
			r.OrdersByClick = n
		case resOrdersDelivery:
			r.OrdersByDelivery = n
		case resOptOuts:
			r.OptOuts = n
		case resMembersOrdered:
			r.MembersOrdered = n
		}
	}
	// The main currency is the one with the most revenue, else the most
	// cost; alphabetical order breaks ties so a page never flips.
	r.RevenueByCurrency, r.CostByCurrency = money["revenue"], money["cost"]
	pick := func(m map[string]int64) string {
		best := ""
		for _, cur := range slices.Sorted(maps.Keys(m)) {
			if best == "" || m[cur] > m[best] {
				best = cur
			}
		}
		return best
	}
	r.Currency = pick(r.RevenueByCurrency)
	if r.Currency == "" {
		r.Currency = pick(r.CostByCurrency)
	}
	r.Revenue = money["revenue"][r.Currency]
	r.RevenueByClick = money["revenue_click"][r.Currency]
	r.RevenueByDelivery = money["revenue_delivery"][r.Currency]
	r.Cost = money["cost"][r.Currency]
	return r
}

// ResultKeysWithPrefix lists the result keys that have counters and start
// with prefix ("campaign:", "flow:"), sorted.
func (db *DB) ResultKeysWithPrefix(prefix string) ([]string, error) {
	var out []string
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketResults).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				k, _ = c.Next()
				continue
			}
			out = append(out, string(k[:i]))
			// Skip the key's other fields: seek past key | 0x00 | 0xff...
			k, _ = c.Seek(append(bytes.Clone(k[:i]), 1))
		}
		return nil
	})
	return out, err
}

// ---- clicks ----

// Click index layouts (see schema.go):
//
//	bucketAttrClicks:  number | 0x00 | click nanos | click seq → message ID | kind | origin
//	bucketClickers:    number | 0x00 | result key → empty
//	bucketClickHours:  scope | 0x00 | weekday | hour → count
//	bucketNumberHours: number | 0x00 | hour → count
func attrClickKey(number string, at time.Time, seq uint64) []byte {
	k := numberPrefix(number)
	k = append(k, u64(nanos(at))...)
	return append(k, u64(seq)...)
}

// zoneCache holds the locations clicks are counted in.
var zoneCache sync.Map // name → *time.Location

// clickZone is where a click of number is counted: the contact's time zone
// when it has one, else the box's.
func clickZone(tx *bbolt.Tx, number string) *time.Location {
	id := contactIDByNumber(tx, number)
	if id == 0 {
		return time.Local
	}
	raw := tx.Bucket(bucketContacts).Get(u64(id))
	var c struct {
		TimeZone string `json:"time_zone"`
	}
	if raw == nil || json.Unmarshal(raw, &c) != nil || c.TimeZone == "" {
		return time.Local
	}
	if v, ok := zoneCache.Load(c.TimeZone); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.Local
	}
	zoneCache.Store(c.TimeZone, loc)
	return loc
}

// linkMessage finds the text that carries l among its number's texts,
// newest first: its ID and kind, or 0 when it is not (or no longer) stored.
func linkMessage(tx *bbolt.Tx, l *Link) (uint64, Kind, error) {
	if l.Number == "" || l.MessageKey == "" {
		return 0, 0, nil
	}
	ids := idsUnder(tx.Bucket(bucketMsgByTo), numberPrefix(l.Number))
	for i := len(ids) - 1; i >= 0; i-- {
		raw := tx.Bucket(bucketMessages).Get(u64(ids[i]))
		if raw == nil {
			continue
		}
		var m struct {
			Kind   Kind   `json:"kind"`
			Key    string `json:"idempotency_key"`
			Origin string `json:"origin"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return 0, 0, fmt.Errorf("decode message %d: %w", ids[i], err)
		}
		if m.Key == l.MessageKey && m.Origin == l.Origin {
			return ids[i], m.Kind, nil
		}
	}
	return 0, 0, nil
}

// indexClick records a person's click on l for attribution and analytics:
// the click index, the first click per (result key, number), and the
// hour-of-week counters overall, per result key and per number.
func indexClick(tx *bbolt.Tx, l *Link, c Click, seq uint64, msgID uint64, kind Kind) error {
	if l.Number == "" {
		return nil
	}
	v := append(u64(msgID), byte(kind))
	v = append(v, l.Origin...)
	if err := tx.Bucket(bucketAttrClicks).Put(attrClickKey(l.Number, c.At, seq), v); err != nil {
		return err
	}
	keys := append([]string{ResultKeyAll}, OriginResultKeys(l.Origin)...)
	clickers := tx.Bucket(bucketClickers)
	for _, key := range keys {
		ck := append(numberPrefix(l.Number), key...)
		if clickers.Get(ck) != nil {
			continue
		}
		if err := clickers.Put(ck, []byte{}); err != nil {
			return err
		}
		if err := addResult(tx, resultKey(key, resClicks), 1); err != nil {
			return err
		}
	}
	for _, key := range keys {
		if err := addResult(tx, resultKey(key, timelineField("clicks", c.At)), 1); err != nil {
			return err
		}
	}
	local := c.At.In(clickZone(tx, l.Number))
	wd, hour := byte(local.Weekday()), byte(local.Hour())
	hours := tx.Bucket(bucketClickHours)
	for _, key := range keys {
		if err := addCount(hours, append([]byte(key+"\x00"), wd, hour), 1); err != nil {
			return err
		}
	}
	return addCount(tx.Bucket(bucketNumberHours), append(numberPrefix(l.Number), hour), 1)
}

// ClickHours returns the clicks of scope (a result key, or ResultKeyAll)
// by weekday (0 = Sunday) and hour of the clicker's local day.
func (db *DB) ClickHours(scope string) ([7][24]int64, error) {
	var out [7][24]int64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = [7][24]int64{}
		prefix := []byte(scope + "\x00")
		c := tx.Bucket(bucketClickHours).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != len(prefix)+2 || len(v) != 8 || k[len(prefix)] > 6 || k[len(prefix)+1] > 23 {
				continue
			}
			out[k[len(prefix)]][k[len(prefix)+1]] += int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return out, err
}

// NumberClickHours returns number's clicks by hour of its local day.
func (db *DB) NumberClickHours(number string) ([24]int64, error) {
	var out [24]int64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = [24]int64{}
		prefix := numberPrefix(number)
		c := tx.Bucket(bucketNumberHours).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) == len(prefix)+1 && len(v) == 8 && k[len(prefix)] < 24 {
				out[k[len(prefix)]] = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return out, err
}

// NumbersClickHours sums the clicks of numbers by hour of each one's local
// day, in one read transaction: an audience's best hour.
func (db *DB) NumbersClickHours(numbers []string) ([24]int64, error) {
	var out [24]int64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = [24]int64{}
		c := tx.Bucket(bucketNumberHours).Cursor()
		for _, number := range numbers {
			prefix := numberPrefix(number)
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if len(k) == len(prefix)+1 && len(v) == 8 && k[len(prefix)] < 24 {
					out[k[len(prefix)]] += int64(binary.BigEndian.Uint64(v))
				}
			}
		}
		return nil
	})
	return out, err
}

// ---- attribution ----

// AttributionWindows are how long after a click, and after a delivery, an
// order still counts as the text's.
type AttributionWindows struct {
	Click    time.Duration `json:"click_window"`
	Delivery time.Duration `json:"delivery_window"`
}

// Attribution is the append-only record of one attributed order.
type Attribution struct {
	EventSeq  uint64    `json:"event_seq"`
	Source    string    `json:"source"`
	OrderID   string    `json:"order_id,omitempty"`
	MessageID uint64    `json:"message_id"`
	Origin    string    `json:"origin,omitempty"`
	Credit    string    `json:"credit"` // CreditClick or CreditDelivery
	Revenue   int64     `json:"revenue"`
	Currency  string    `json:"currency,omitempty"`
	OrderAt   time.Time `json:"order_at"`
	TextAt    time.Time `json:"text_at"` // the click, or the delivery, that won the credit
}

// OrderAttributedChange is the Data of an order.attributed change.
type OrderAttributedChange struct {
	Attribution
	Number string `json:"number"`
}

// keys in bucketMeta for the attribution consumer's cursors.
var (
	keyAttrEventCursor   = []byte("attribution_event_cursor")
	keyAttrConsentCursor = []byte("attribution_consent_cursor")
)

// AttributionCursors returns how far the attribution consumer has read the
// shop's events and the consent ledger.
func (db *DB) AttributionCursors() (events, consent uint64, err error) {
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		events, consent = metaU64(tx, keyAttrEventCursor), metaU64(tx, keyAttrConsentCursor)
		return nil
	})
	return events, consent, err
}

func metaU64(tx *bbolt.Tx, key []byte) uint64 {
	if v := tx.Bucket(bucketMeta).Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// AttributionPass says what one AttributeNext did.
type AttributionPass struct {
	Events      int           // shop events read
	ConsentRead int           // consent ledger entries read
	Attributed  []Attribution // orders credited to a text
	OptOuts     int           // opt-outs credited to a text
	More        bool          // the page was full: call again
}

// AttributeNext reads up to max shop events and max consent entries past
// the attribution cursors and, in one transaction with the cursors,
// credits each order_placed event to at most one text and each keyword
// opt-out to the marketing text sent within OptOutWindow before it: a
// crash before the commit reads the page again, after it never, so
// nothing is counted twice.
func (db *DB) AttributeNext(w AttributionWindows, max int) (AttributionPass, error) {
	if max <= 0 {
		max = 500
	}
	var pass AttributionPass
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		pass = AttributionPass{}
		now := db.now()
		meta := tx.Bucket(bucketMeta)
		cursor := metaU64(tx, keyAttrEventCursor)
		c := tx.Bucket(bucketEvents).Cursor()
		k, v := c.Seek(u64(cursor + 1))
		for ; k != nil && pass.Events < max; k, v = c.Next() {
			pass.Events++
			cursor = binary.BigEndian.Uint64(k)
			var ev ShopEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("decode event %d: %w", cursor, err)
			}
			if ev.Type != "order_placed" {
				continue
			}
			a, ok, err := attributeOrder(tx, &ev, w, now)
			if err != nil {
				return err
			}
			if ok {
				pass.Attributed = append(pass.Attributed, a)
			}
		}
		// The loop stops on the first event it did not read.
		pass.More = k != nil
		if pass.Events > 0 {
			if err := meta.Put(keyAttrEventCursor, u64(cursor)); err != nil {
				return err
			}
		}
		consent := metaU64(tx, keyAttrConsentCursor)
		cc := tx.Bucket(bucketConsentEvents).Cursor()
		k, v = cc.Seek(u64(consent + 1))
		for ; k != nil && pass.ConsentRead < max; k, v = cc.Next() {
			pass.ConsentRead++
			consent = binary.BigEndian.Uint64(k)
			var ev ConsentEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("decode consent event %d: %w", consent, err)
			}
			ok, err := creditOptOut(tx, &ev)
			if err != nil {
				return err
			}
			if ok {
				pass.OptOuts++
			}
		}
		pass.More = pass.More || k != nil
		if pass.ConsentRead > 0 {
			if err := meta.Put(keyAttrConsentCursor, u64(consent)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return AttributionPass{}, fmt.Errorf("store: attribute: %w", err)
	}
	return pass, nil
}

// attributedText is the text an order or opt-out is credited to.
type attributedText struct {
	id     uint64
	origin string
	at     time.Time
}

// attributeOrder applies the rule to one order event inside tx.
func attributeOrder(tx *bbolt.Tx, ev *ShopEvent, w AttributionWindows, now time.Time) (Attribution, bool, error) {
	if ev.OrderID != "" {
		orders := tx.Bucket(bucketAttrOrders)
		ok := []byte(ev.Source + "\x00" + ev.OrderID)
		if orders.Get(ok) != nil {
			return Attribution{}, false, nil // the same order sent again
		}
		if err := orders.Put(ok, u64(ev.Seq)); err != nil {
			return Attribution{}, false, err
		}
	}
	if err := countMembersOrdered(tx, ev, w); err != nil {
		return Attribution{}, false, err
	}
	credit := CreditClick
	text, ok, err := lastClickedText(tx, ev.Number, ev.OccurredAt, w.Click)
	if err != nil {
		return Attribution{}, false, err
	}
	if !ok {
		credit = CreditDelivery
		if text, ok, err = lastDeliveredText(tx, ev.Number, ev.OccurredAt, w.Delivery); err != nil || !ok {
			return Attribution{}, false, err
		}
	}
	a := Attribution{EventSeq: ev.Seq, Source: ev.Source, OrderID: ev.OrderID, MessageID: text.id, Origin: text.origin,
		Credit: credit, Revenue: max(ev.Total, 0), Currency: ev.Currency, OrderAt: ev.OccurredAt, TextAt: text.at}
	if err := putJSON(tx.Bucket(bucketAttributions), u64(ev.Seq), a); err != nil {
		return Attribution{}, false, err
	}
	if err := countAttribution(tx, &a, 1); err != nil {
		return Attribution{}, false, err
	}
	if err := appendChange(tx, now, ChangeOrderAttributed, ev.Number, OrderAttributedChange{Attribution: a, Number: ev.Number}); err != nil {
		return Attribution{}, false, err
	}
	return a, true, nil
}

// countAttribution adds (delta 1) an attribution to the results of its
// text's keys and of ResultKeyAll.
func countAttribution(tx *bbolt.Tx, a *Attribution, delta int64) error {
	for _, key := range append([]string{ResultKeyAll}, OriginResultKeys(a.Origin)...) {
		byCredit, revByCredit := resOrdersClick, resRevenueClick
		if a.Credit == CreditDelivery {
			byCredit, revByCredit = resOrdersDelivery, resRevenueDelivery
		}
		if err := addResult(tx, resultKey(key, resOrders), delta); err != nil {
			return err
		}
		if err := addResult(tx, resultKey(key, timelineField("orders", a.OrderAt)), delta); err != nil {
			return err
		}
		if err := addResult(tx, resultKey(key, byCredit), delta); err != nil {
			return err
		}
		if a.Revenue > 0 && a.Currency != "" {
			if err := addResult(tx, resultKey(key, resRevenue+a.Currency), delta*a.Revenue); err != nil {
				return err
			}
			if err := addResult(tx, resultKey(key, revByCredit+a.Currency), delta*a.Revenue); err != nil {
				return err
			}
		}
	}
	return nil
}

// lastClickedText is the marketing text whose link number clicked last in
// (at − window, at], if any.
func lastClickedText(tx *bbolt.Tx, number string, at time.Time, window time.Duration) (attributedText, bool, error) {
	prefix := numberPrefix(number)
	from := nanos(at.Add(-window))
	c := tx.Bucket(bucketAttrClicks).Cursor()
	// The newest click at or before at: one step back from the first key
	// after it (or the bucket's last key when none is after it).
	k, _ := c.Seek(attrClickKey(number, at.Add(time.Nanosecond), 0))
	var v []byte
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if len(k) != len(prefix)+16 || len(v) < 9 {
			continue
		}
		clickAt := binary.BigEndian.Uint64(k[len(prefix):])
		if clickAt <= from {
			break
		}
		if Kind(v[8]) != KindMarketing {
			continue
		}
		id := binary.BigEndian.Uint64(v[:8])
		if id == 0 || tx.Bucket(bucketMessages).Get(u64(id)) == nil {
			continue
		}
		return attributedText{id: id, origin: string(v[9:]), at: fromNanos(clickAt)}, true, nil
	}
	return attributedText{}, false, nil
}

// textFacts is the part of a message attribution reads.
type textFacts struct {
	Kind   Kind      `json:"kind"`
	Status Status    `json:"status"`
	Origin string    `json:"origin"`
	Update time.Time `json:"updated_at"`
	Parts  []struct {
		SentAt time.Time `json:"sent_at"`
		DoneAt time.Time `json:"done_at"`
	} `json:"parts"`
}

// deliveredAt is when the last part's delivery was reported.
func (f *textFacts) deliveredAt() time.Time {
	var t time.Time
	for _, p := range f.Parts {
		if p.DoneAt.After(t) {
			t = p.DoneAt
		}
	}
	if t.IsZero() {
		t = f.Update
	}
	return t
}

// sentAt is when the first part left for the network (zero: none did).
func (f *textFacts) sentAt() time.Time {
	var t time.Time
	for _, p := range f.Parts {
		if !p.SentAt.IsZero() && (t.IsZero() || p.SentAt.Before(t)) {
			t = p.SentAt
		}
	}
	return t
}

// eachText calls fn for every text to number, decoding only textFacts.
func eachText(tx *bbolt.Tx, number string, fn func(id uint64, f *textFacts)) error {
	for _, id := range idsUnder(tx.Bucket(bucketMsgByTo), numberPrefix(number)) {
		raw := tx.Bucket(bucketMessages).Get(u64(id))
		if raw == nil {
			continue
		}
		var f textFacts
		if err := json.Unmarshal(raw, &f); err != nil {
			return fmt.Errorf("decode message %d: %w", id, err)
		}
		fn(id, &f)
	}
	return nil
}

// lastDeliveredText is the marketing text delivered to number last in
// (at − window, at], if any; a later ID wins a tie.
func lastDeliveredText(tx *bbolt.Tx, number string, at time.Time, window time.Duration) (attributedText, bool, error) {
	var best attributedText
	found := false
	err := eachText(tx, number, func(id uint64, f *textFacts) {
		if f.Kind != KindMarketing || f.Status != StatusDelivered {
			return
		}
		d := f.deliveredAt()
		if d.After(at) || !d.After(at.Add(-window)) {
			return
		}
		if !found || !d.Before(best.at) {
			best, found = attributedText{id: id, origin: f.Origin, at: d}, true
		}
	})
	return best, found, err
}

// creditOptOut credits a keyword opt-out to the marketing text sent to its
// number last within OptOutWindow before it.
func creditOptOut(tx *bbolt.Tx, ev *ConsentEvent) (bool, error) {
	if ev.Type != EventOptOut || ev.Method != MethodKeyword || strings.HasPrefix(ev.Number, erasedPrefix) {
		return false, nil
	}
	var best attributedText
	found := false
	err := eachText(tx, ev.Number, func(id uint64, f *textFacts) {
		if f.Kind != KindMarketing {
			return
		}
		s := f.sentAt()
		if s.IsZero() || s.After(ev.At) || !s.After(ev.At.Add(-OptOutWindow)) {
			return
		}
		if !found || !s.Before(best.at) {
			best, found = attributedText{id: id, origin: f.Origin, at: s}, true
		}
	})
	if err != nil || !found {
		return false, err
	}
	if err := putJSON(tx.Bucket(bucketOptOutCredits), u64(ev.ID), OptOutCredit{ConsentEventID: ev.ID,
		MessageID: best.id, Origin: best.origin, At: ev.At}); err != nil {
		return false, err
	}
	for _, key := range append([]string{ResultKeyAll}, OriginResultKeys(best.origin)...) {
		if err := addResult(tx, resultKey(key, resOptOuts), 1); err != nil {
			return false, err
		}
	}
	return true, nil
}

// OptOutCredit records which text an opt-out was counted against.
type OptOutCredit struct {
	ConsentEventID uint64    `json:"consent_event_id"`
	MessageID      uint64    `json:"message_id"`
	Origin         string    `json:"origin,omitempty"`
	At             time.Time `json:"at"`
}

// countMembersOrdered counts the order's number as a member who ordered,
// once per (campaign, variant), for every campaign that planned it
// (CampaignMember, the holdout included) at most the click window before
// the order: the order rate of the texted members against the holdout's
// is the campaign's lift, whether or not any text got the credit.
func countMembersOrdered(tx *bbolt.Tx, ev *ShopEvent, w AttributionWindows) error {
	prefix := numberPrefix(ev.Number)
	var members []CampaignMember
	c := tx.Bucket(bucketCampaignMembersByNumber).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m CampaignMember
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode campaign member %q: %w", k, err)
		}
		members = append(members, m)
	}
	ordered := tx.Bucket(bucketMembersOrdered)
	for _, m := range members {
		if m.At.IsZero() || ev.OccurredAt.Before(m.At) || ev.OccurredAt.Sub(m.At) > w.Click {
			continue
		}
		mk := append(append(numberPrefix(ev.Number), u64(m.Campaign)...), m.Variant...)
		if ordered.Get(mk) != nil {
			continue
		}
		if err := ordered.Put(mk, []byte{}); err != nil {
			return err
		}
		campaign := "campaign:" + strconv.FormatUint(m.Campaign, 10)
		keys := []string{campaign + ":variant:" + m.Variant}
		if m.Variant != HoldoutVariant {
			keys = append(keys, campaign)
		}
		for _, key := range keys {
			if err := addResult(tx, resultKey(key, resMembersOrdered), 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// campaignMembers is how many members a campaign planned for key
// ("campaign:5": every texted variant; "campaign:5:variant:b": that one,
// the holdout's too), from the campaign's own counts.
func campaignMembers(tx *bbolt.Tx, key string) (int64, error) {
	p := strings.Split(key, ":")
	if p[0] != "campaign" || len(p) != 2 && len(p) != 4 {
		return 0, nil
	}
	id, err := strconv.ParseUint(p[1], 10, 64)
	if err != nil {
		return 0, nil
	}
	c, err := getCampaign(tx, id)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(p) == 4 {
		return c.Planned[p[3]], nil
	}
	var n int64
	for v, planned := range c.Planned {
		if v != HoldoutVariant {
			n += planned
		}
	}
	return n, nil
}

// Attributions returns up to max attribution records with EventSeq >
// after, in order.
func (db *DB) Attributions(after uint64, max int) ([]Attribution, error) {
	var out []Attribution
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketAttributions).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			var a Attribution
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode attribution %x: %w", k, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// AttributionWindowsSetting reads the stored windows, the defaults when
// none were saved.
func (db *DB) AttributionWindowsSetting() (AttributionWindows, error) {
	w := AttributionWindows{Click: DefaultClickWindow, Delivery: DefaultDeliveryWindow}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketSettings).Get(keyAttributionSettings)
		if raw == nil {
			return nil
		}
		return json.Unmarshal(raw, &w)
	})
	return w, err
}

// SaveAttributionWindows stores the windows; the caller has validated
// them against its own bounds.
func (db *DB) SaveAttributionWindows(w AttributionWindows) error {
	if w.Click <= 0 {
		return &FieldError{Field: "click_window", Message: "must be positive"}
	}
	if w.Delivery <= 0 {
		return &FieldError{Field: "delivery_window", Message: "must be positive"}
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx.Bucket(bucketSettings), keyAttributionSettings, w)
	})
}

// ---- erasure, migration, recount ----

// eraseAttribution deletes what the attribution indexes hold of number:
// its clicks, its first-click marks and its hour histogram. The totals
// keep what happened, without the person.
func eraseAttribution(tx *bbolt.Tx, number string) error {
	for _, name := range [][]byte{bucketAttrClicks, bucketClickers, bucketNumberHours, bucketMembersOrdered} {
		if err := deletePrefix(tx.Bucket(name), numberPrefix(number)); err != nil {
			return err
		}
	}
	return nil
}

// migrateAttribution is the schema step that adds attribution: its
// buckets, the results of every stored text with an origin, and the click
// indexes built from the clicks kept so far.
func migrateAttribution(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketResults, bucketAttrClicks, bucketClickers, bucketClickHours,
		bucketNumberHours, bucketAttributions, bucketAttrOrders, bucketOptOutCredits, bucketPartPrices,
		bucketMembersOrdered} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	err := tx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode message %x: %w", k, err)
		}
		return moveResults(tx, nil, &m)
	})
	if err != nil {
		return err
	}
	type stored struct {
		seq uint64
		c   Click
	}
	var clicks []stored
	err = tx.Bucket(bucketLinkClicks).ForEach(func(k, v []byte) error {
		var c Click
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode click %q: %w", k, err)
		}
		if len(k) < 8 {
			return nil
		}
		clicks = append(clicks, stored{binary.BigEndian.Uint64(k[len(k)-8:]), c})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(clicks, func(a, b stored) int { return a.c.At.Compare(b.c.At) })
	links := map[string]*Link{}
	type msgRef struct {
		id   uint64
		kind Kind
	}
	msgs := map[string]msgRef{}
	for _, s := range clicks {
		l, ok := links[s.c.Code]
		if !ok {
			got, err := getLink(tx, s.c.Code)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			l = &got
			links[s.c.Code] = l
			id, kind, err := linkMessage(tx, l)
			if err != nil {
				return err
			}
			msgs[s.c.Code] = msgRef{id, kind}
		}
		ref := msgs[s.c.Code]
		if err := indexClick(tx, l, s.c, s.seq, ref.id, ref.kind); err != nil {
			return err
		}
	}
	return nil
}

// ResultMismatch is one result counter that differs from a recount of the
// messages.
type ResultMismatch struct {
	Key     string
	Stored  int64
	Counted int64
}

// ResultsRecountCheck recounts the results the messages imply (sent,
// delivered, failed, parts, cost) and returns the stored counters that
// differ. Clicks, orders and opt-outs are not implied by messages and are
// left out. For tests and an operator's doubt, never for a page.
func (db *DB) ResultsRecountCheck() ([]ResultMismatch, error) {
	var out []ResultMismatch
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		counted := map[string]int64{}
		err := tx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode message %x: %w", k, err)
			}
			for rk, n := range messageResults(&m) {
				counted[rk] += n
			}
			return nil
		})
		if err != nil {
			return err
		}
		stored := map[string]int64{}
		err = tx.Bucket(bucketResults).ForEach(func(k, v []byte) error {
			field := string(k[bytes.IndexByte(k, 0)+1:])
			switch {
			case field == resSent, field == resDelivered, field == resFailed, field == resParts, strings.HasPrefix(field, resCost),
				strings.HasPrefix(field, resTimeline+"sent:"):
				stored[string(k)] = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		})
		if err != nil {
			return err
		}
		keys := slices.Collect(maps.Keys(stored))
		for k := range counted {
			if _, ok := stored[k]; !ok && counted[k] != 0 {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if stored[k] != counted[k] {
				out = append(out, ResultMismatch{Key: strings.ReplaceAll(k, "\x00", "/"), Stored: stored[k], Counted: counted[k]})
			}
		}
		return nil
	})
	return out, err
}

// TimelineHour is what one hour of a result key's timeline holds.
type TimelineHour struct {
	Start  time.Time `json:"start"`
	Sent   int64     `json:"sent"`
	Clicks int64     `json:"clicks"` // every click by a person, not only the first
	Orders int64     `json:"orders"` // attributed orders, by the hour they were placed
}

// ResultTimeline returns the hours of key from from (truncated to the
// hour) that have anything counted, up to n hours, oldest first.
func (db *DB) ResultTimeline(key string, from time.Time, n int) ([]TimelineHour, error) {
	var out []TimelineHour
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		byHour := map[uint64]*TimelineHour{}
		first, last := unixHour(from), unixHour(from)+uint64(n)
		for _, what := range []string{"sent", "clicks", "orders"} {
			prefix := resultKey(key, resTimeline+what+":")
			c := tx.Bucket(bucketResults).Cursor()
			for k, v := c.Seek(resultKey(key, timelineFieldHour(what, first))); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				h, err := strconv.ParseUint(string(k[len(prefix):]), 10, 64)
				if err != nil || h >= last || len(v) != 8 {
					break
				}
				th := byHour[h]
				if th == nil {
					th = &TimelineHour{Start: time.Unix(int64(h)*3600, 0).UTC()}
					byHour[h] = th
				}
				n := int64(binary.BigEndian.Uint64(v))
				switch what {
				case "sent":
					th.Sent = n
				case "clicks":
					th.Clicks = n
				default:
					th.Orders = n
				}
			}
		}
		for _, h := range slices.Sorted(maps.Keys(byHour)) {
			out = append(out, *byHour[h])
		}
		return nil
	})
	return out, err
}

func timelineFieldHour(what string, hour uint64) string {
	return fmt.Sprintf("%s%s:%010d", resTimeline, what, hour)
}

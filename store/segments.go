package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"
)

// Segment is a saved audience: a name and the rules that choose its
// contacts. The store keeps Definition as the bytes it was given; package
// gateway/segments owns its meaning and validates it before a save.
type Segment struct {
	ID         uint64          `json:"id"`
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

const (
	maxSegmentName       = 100
	maxSegmentDefinition = 64 << 10
)

func (s *Segment) validate() error {
	s.Name = strings.TrimSpace(s.Name)
	switch {
	case s.Name == "":
		return &FieldError{Field: "name", Message: "must not be empty"}
	case len(s.Name) > maxSegmentName || !utf8.ValidString(s.Name):
		return &FieldError{Field: "name", Message: fmt.Sprintf("must be valid text of at most %d bytes", maxSegmentName)}
	case len(s.Definition) == 0 || !json.Valid(s.Definition):
		return &FieldError{Field: "definition", Message: "must be a JSON object"}
	case len(s.Definition) > maxSegmentDefinition:
		return &FieldError{Field: "definition", Message: fmt.Sprintf("is longer than %d bytes", maxSegmentDefinition)}
	}
	return nil
}

// SaveSegment creates s (ID 0) or replaces the segment with its ID (an
// unknown ID wraps ErrNotFound). CreatedAt stays; UpdatedAt is now.
func (db *DB) SaveSegment(s Segment) (Segment, error) {
	s.Definition = bytes.Clone(s.Definition)
	if err := s.validate(); err != nil {
		return Segment{}, err
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSegments)
		now := db.now().UTC()
		if s.ID != 0 {
			old, err := getRecord[Segment](tx, bucketSegments, s.ID, "segment")
			if err != nil {
				return err
			}
			s.CreatedAt = old.CreatedAt
		} else {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			s.ID, s.CreatedAt = id, now
		}
		s.UpdatedAt = now
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		return b.Put(u64(s.ID), raw)
	})
	if err != nil {
		return Segment{}, err
	}
	return s, nil
}

// GetSegment returns segment id, or an error wrapping ErrNotFound.
func (db *DB) GetSegment(id uint64) (Segment, error) {
	var s Segment
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		s, err = getRecord[Segment](tx, bucketSegments, id, "segment")
		return err
	})
	return s, err
}

// Segments returns every saved segment, oldest first. A shop keeps tens
// of them, so there is no paging.
func (db *DB) Segments() ([]Segment, error) {
	var out []Segment
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		return tx.Bucket(bucketSegments).ForEach(func(k, v []byte) error {
			var s Segment
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("store: decode segment %x: %w", k, err)
			}
			out = append(out, s)
			return nil
		})
	})
	return out, err
}

// DeleteSegment removes segment id, or returns an error wrapping
// ErrNotFound.
func (db *DB) DeleteSegment(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSegments)
		if b.Get(u64(id)) == nil {
			return fmt.Errorf("store: segment %d: %w", id, ErrNotFound)
		}
		return b.Delete(u64(id))
	})
}

// The contacts_by_tag index: tag | 0x00 | contact ID → empty.

func tagKey(tag string, id uint64) []byte {
	return append(append([]byte(tag), 0), u64(id)...)
}

// indexContactTags moves contact c's entries in contacts_by_tag from the
// tags of old (nil: a new contact) to its own; c == nil removes old's.
func indexContactTags(tx *bbolt.Tx, old, c *Contact) error {
	b := tx.Bucket(bucketContactsByTag)
	var have, want []string
	var id uint64
	if old != nil {
		have, id = old.Tags, old.ID
	}
	if c != nil {
		want, id = c.Tags, c.ID
	}
	for _, t := range have {
		if !slices.Contains(want, t) {
			if err := b.Delete(tagKey(t, id)); err != nil {
				return err
			}
		}
	}
	for _, t := range want {
		if !slices.Contains(have, t) {
			if err := b.Put(tagKey(t, id), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// Activity is the compact summary of one number's behaviour that segments
// read instead of the event log: its orders, product views and started
// checkouts (each list oldest first, the newest kept up to a cap), when it
// last clicked a short link and when it was last admitted a marketing
// text. It is derived: kept in the transaction that stores the event,
// click or admission, built from those records by the migration, and
// removed by erasure. The retention purge of old events leaves it as it
// is, so "never ordered" stays true to the shop's history.
type Activity struct {
	Orders    []ActivityOrder
	Views     []ActivityView
	Checkouts []ActivityCheckout
	// OlderOrders and OlderSpent (currency → minor units) count the orders
	// that fell off the front of Orders (beyond MaxActivityOrders).
	OlderOrders     int
	OlderSpent      map[string]int64
	LastClickAt     time.Time
	LastMarketingAt time.Time
}

// ActivityOrder is one order_placed event.
type ActivityOrder struct {
	At         time.Time
	Total      int64
	Currency   string
	CheckoutID string
}

// ActivityView is one product_viewed event.
type ActivityView struct {
	At      time.Time
	Product string
}

// ActivityCheckout is one checkout_started event.
type ActivityCheckout struct {
	At time.Time
	ID string
}

// How much of a number's history Activity keeps. Windows reaching further
// back than the oldest kept view or checkout see only what is kept; order
// counts and sums over all time stay exact through OlderOrders/OlderSpent.
const (
	MaxActivityOrders    = 500
	MaxActivityViews     = 200
	MaxActivityCheckouts = 100
)

// The shop event types Activity follows (as package shopevents names them).
const (
	activityOrder    = "order_placed"
	activityView     = "product_viewed"
	activityCheckout = "checkout_started"
)

// insertByTime puts v into s, which is ordered by at, after every element
// at the same time (so replays keep the order of arrival), and drops the
// oldest beyond max; it returns the dropped ones.
func insertByTime[T any](s []T, v T, at func(T) time.Time, max int) ([]T, []T) {
	i := len(s)
	for i > 0 && at(s[i-1]).After(at(v)) {
		i--
	}
	s = slices.Insert(s, i, v)
	if len(s) > max {
		dropped := slices.Clone(s[:len(s)-max])
		return slices.Delete(s, 0, len(s)-max), dropped
	}
	return s, nil
}

// addEvent folds a shop event into a.
func (a *Activity) addEvent(ev *ShopEvent) {
	switch ev.Type {
	case activityOrder:
		var dropped []ActivityOrder
		a.Orders, dropped = insertByTime(a.Orders, ActivityOrder{At: ev.OccurredAt, Total: ev.Total, Currency: ev.Currency, CheckoutID: ev.CheckoutID},
			func(o ActivityOrder) time.Time { return o.At }, MaxActivityOrders)
		for _, o := range dropped {
			a.OlderOrders++
			if a.OlderSpent == nil {
				a.OlderSpent = map[string]int64{}
			}
			a.OlderSpent[o.Currency] += o.Total
		}
	case activityView:
		a.Views, _ = insertByTime(a.Views, ActivityView{At: ev.OccurredAt, Product: productOf(ev.Properties)},
			func(v ActivityView) time.Time { return v.At }, MaxActivityViews)
	case activityCheckout:
		a.Checkouts, _ = insertByTime(a.Checkouts, ActivityCheckout{At: ev.OccurredAt, ID: ev.CheckoutID},
			func(c ActivityCheckout) time.Time { return c.At }, MaxActivityCheckouts)
	}
}

// productOf reads the product_id property (a string or a number) of a
// product_viewed event; "" when there is none.
func productOf(props json.RawMessage) string {
	if len(props) == 0 {
		return ""
	}
	var p struct {
		ProductID json.RawMessage `json:"product_id"`
	}
	if json.Unmarshal(props, &p) != nil || len(p.ProductID) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(p.ProductID, &s) == nil {
		return s
	}
	return string(p.ProductID)
}

// tracksActivity reports whether an event of typ changes an Activity.
func tracksActivity(typ string) bool {
	return typ == activityOrder || typ == activityView || typ == activityCheckout
}

// changeActivity applies fn to number's Activity inside tx and stores it.
func changeActivity(tx *bbolt.Tx, number string, fn func(*Activity)) error {
	if number == "" {
		return nil
	}
	b := tx.Bucket(bucketActivity)
	a, err := decodeActivity(b.Get([]byte(number)))
	if err != nil {
		return fmt.Errorf("activity of %s: %w", number, err)
	}
	fn(&a)
	return b.Put([]byte(number), a.encode())
}

// noteEventActivity is appendShopEvent's hook.
func noteEventActivity(tx *bbolt.Tx, ev *ShopEvent) error {
	if !tracksActivity(ev.Type) {
		return nil
	}
	return changeActivity(tx, ev.Number, func(a *Activity) { a.addEvent(ev) })
}

// noteClickActivity is RecordClicks' hook for a click by a person.
func noteClickActivity(tx *bbolt.Tx, number string, at time.Time) error {
	return changeActivity(tx, number, func(a *Activity) {
		if at.After(a.LastClickAt) {
			a.LastClickAt = at
		}
	})
}

// noteMarketingActivity is AdmitSend's hook: m was admitted as marketing
// in this transaction (its AdmittedAt was zero before).
func noteMarketingActivity(tx *bbolt.Tx, before time.Time, m *Message) error {
	if m.Kind != KindMarketing || !before.IsZero() || m.AdmittedAt.IsZero() {
		return nil
	}
	return changeActivity(tx, m.To, func(a *Activity) {
		if m.AdmittedAt.After(a.LastMarketingAt) {
			a.LastMarketingAt = m.AdmittedAt
		}
	})
}

// eraseActivity removes number's Activity (GDPR erasure).
func eraseActivity(tx *bbolt.Tx, number string) error {
	return tx.Bucket(bucketActivity).Delete([]byte(number))
}

// ActivityOf returns number's Activity; a number with none has the zero
// value.
func (db *DB) ActivityOf(number string) (Activity, error) {
	var a Activity
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		a, err = decodeActivity(tx.Bucket(bucketActivity).Get([]byte(number)))
		return err
	})
	return a, err
}

// The Activity encoding is binary, not JSON: a segment over 100,000
// contacts decodes one per contact, and this costs a tenth of JSON's.
// Layout (version 1): version byte, last click and last marketing (varint
// unix nanos, 0: never), older orders (uvarint), older spent (uvarint n,
// then n × string currency, varint minor), orders (uvarint n, then n ×
// varint nanos, varint total, string currency, string checkout), views (n
// × nanos, string product), checkouts (n × nanos, string id). A string is
// uvarint length and bytes.
const activityEncoding = 1

func timeNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nanosTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (a *Activity) encode() []byte {
	b := []byte{activityEncoding}
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, timeNanos(a.LastClickAt))
	b = binary.AppendVarint(b, timeNanos(a.LastMarketingAt))
	b = binary.AppendUvarint(b, uint64(a.OlderOrders))
	currencies := make([]string, 0, len(a.OlderSpent))
	for c := range a.OlderSpent {
		currencies = append(currencies, c)
	}
	slices.Sort(currencies)
	b = binary.AppendUvarint(b, uint64(len(currencies)))
	for _, c := range currencies {
		str(c)
		b = binary.AppendVarint(b, a.OlderSpent[c])
	}
	b = binary.AppendUvarint(b, uint64(len(a.Orders)))
	for _, o := range a.Orders {
		b = binary.AppendVarint(b, timeNanos(o.At))
		b = binary.AppendVarint(b, o.Total)
		str(o.Currency)
		str(o.CheckoutID)
	}
	b = binary.AppendUvarint(b, uint64(len(a.Views)))
	for _, v := range a.Views {
		b = binary.AppendVarint(b, timeNanos(v.At))
		str(v.Product)
	}
	b = binary.AppendUvarint(b, uint64(len(a.Checkouts)))
	for _, c := range a.Checkouts {
		b = binary.AppendVarint(b, timeNanos(c.At))
		str(c.ID)
	}
	return b
}

var errActivityEncoding = errors.New("activity record is damaged")

// activityReader decodes the fields of an encoded Activity in order; the
// first problem sticks in err.
type activityReader struct {
	b   []byte
	err error
}

func (r *activityReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errActivityEncoding
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *activityReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errActivityEncoding
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *activityReader) str() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errActivityEncoding
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// count reads a list length, refusing one the remaining bytes cannot hold
// (each element takes at least one byte).
func (r *activityReader) count() int {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errActivityEncoding
		return 0
	}
	return int(n)
}

// decodeActivity reads an encoded Activity; nil is the empty one. The
// result shares nothing with raw.
func decodeActivity(raw []byte) (Activity, error) {
	var a Activity
	if len(raw) == 0 {
		return a, nil
	}
	if raw[0] != activityEncoding {
		return a, fmt.Errorf("%w: encoding %d", errActivityEncoding, raw[0])
	}
	r := &activityReader{b: raw[1:]}
	a.LastClickAt = nanosTime(r.varint())
	a.LastMarketingAt = nanosTime(r.varint())
	a.OlderOrders = int(r.uvarint())
	if n := r.count(); n > 0 {
		a.OlderSpent = make(map[string]int64, n)
		for range n {
			c := r.str()
			a.OlderSpent[c] = r.varint()
		}
	}
	if n := r.count(); n > 0 {
		a.Orders = make([]ActivityOrder, n)
		for i := range a.Orders {
			a.Orders[i] = ActivityOrder{At: nanosTime(r.varint()), Total: r.varint(), Currency: r.str(), CheckoutID: r.str()}
		}
	}
	if n := r.count(); n > 0 {
		a.Views = make([]ActivityView, n)
		for i := range a.Views {
			a.Views[i] = ActivityView{At: nanosTime(r.varint()), Product: r.str()}
		}
	}
	if n := r.count(); n > 0 {
		a.Checkouts = make([]ActivityCheckout, n)
		for i := range a.Checkouts {
			a.Checkouts[i] = ActivityCheckout{At: nanosTime(r.varint()), ID: r.str()}
		}
	}
	if r.err != nil {
		return Activity{}, r.err
	}
	return a, nil
}

// SegmentScan says which contacts ScanSegment visits.
type SegmentScan struct {
	// AllTags: only contacts that have every one of these tags can
	// match, so the walk starts from the smallest tag's index entries
	// instead of every contact. Empty: every contact is a candidate.
	AllTags []string
}

// SegmentRow is one candidate contact of ScanSegment. Its accessors read
// lazily, once, inside the scan's transaction; a row must not be kept
// after fn returns.
type SegmentRow struct {
	ID     uint64
	Number string

	tx          *bbolt.Tx
	tags        *bbolt.Bucket
	raw         []byte
	contact     *Contact
	activity    *Activity
	consent     *SegmentConsent
	activityErr error
}

// SegmentConsent is the part of a number's Consent a segment reads.
type SegmentConsent struct {
	Marketing   MarketingState `json:"marketing"`
	OptedOutAll bool           `json:"opted_out_all,omitempty"`
}

// Contact decodes the row's contact; nil for a number of ScanNumbers
// that no contact has.
func (r *SegmentRow) Contact() (*Contact, error) {
	if r.contact != nil || r.ID == 0 {
		return r.contact, nil
	}
	raw := r.raw
	if raw == nil {
		raw = r.tx.Bucket(bucketContacts).Get(u64(r.ID))
	}
	var c Contact
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("store: decode contact %d: %w", r.ID, err)
	}
	r.contact = &c
	return r.contact, nil
}

// HasTag reports whether the contact has tag (lower case), from the tag
// index.
func (r *SegmentRow) HasTag(tag string) bool {
	return r.tags.Get(tagKey(tag, r.ID)) != nil
}

// Activity decodes the number's Activity.
func (r *SegmentRow) Activity() (*Activity, error) {
	if r.activity == nil && r.activityErr == nil {
		a, err := decodeActivity(r.tx.Bucket(bucketActivity).Get([]byte(r.Number)))
		if err != nil {
			r.activityErr = fmt.Errorf("store: activity of contact %d: %w", r.ID, err)
		}
		r.activity = &a
	}
	return r.activity, r.activityErr
}

// Consent decodes the number's consent standing (the zero value: never
// asked).
func (r *SegmentRow) Consent() (SegmentConsent, error) {
	if r.consent == nil {
		var c SegmentConsent
		if raw := r.tx.Bucket(bucketConsent).Get([]byte(r.Number)); raw != nil {
			var ok bool
			if c, ok = scanConsent(raw); !ok {
				if err := json.Unmarshal(raw, &c); err != nil {
					return c, fmt.Errorf("store: decode consent of contact %d: %w", r.ID, err)
				}
			}
		}
		r.consent = &c
	}
	return *r.consent, nil
}

var (
	consentMarketingKey = []byte(`"marketing":`)
	consentOptedOutAll  = []byte(`"opted_out_all":true`)
)

// scanConsent reads the two fields a segment needs from a stored Consent
// without decoding it, which costs more than the rest of a marketing
// audience together. A quote inside a JSON string is always escaped, so
// the unescaped key can only be the record's own; "marketing" is written
// before any nested object and is never omitted. ok is false when the
// record does not look as expected, and the caller decodes it.
func scanConsent(raw []byte) (SegmentConsent, bool) {
	var c SegmentConsent
	i := bytes.Index(raw, consentMarketingKey)
	if i < 0 {
		return c, false
	}
	rest := raw[i+len(consentMarketingKey):]
	if len(rest) < 2 || rest[0] < '0' || rest[0] > '9' || (rest[1] != ',' && rest[1] != '}') {
		return c, false
	}
	c.Marketing = MarketingState(rest[0] - '0')
	c.OptedOutAll = bytes.Contains(raw, consentOptedOutAll)
	return c, true
}

// ContactHead is the part of a contact an audience lists.
type ContactHead struct {
	ID              uint64 `json:"id"`
	Number          string `json:"number"`
	Name            string `json:"name,omitempty"`
	TimeZone        string `json:"time_zone"`
	TimeZoneDerived bool   `json:"time_zone_derived,omitempty"`
	Language        string `json:"language,omitempty"`
}

// Head decodes the row's contact's head, without its attributes, tags or
// times; ok is false for a number of ScanNumbers that no contact has.
func (r *SegmentRow) Head() (ContactHead, bool, error) {
	if r.contact != nil {
		c := r.contact
		return ContactHead{ID: c.ID, Number: c.Number, Name: c.Name, TimeZone: c.TimeZone,
			TimeZoneDerived: c.TimeZoneDerived, Language: c.Language}, true, nil
	}
	if r.ID == 0 {
		return ContactHead{}, false, nil
	}
	raw := r.raw
	if raw == nil {
		raw = r.tx.Bucket(bucketContacts).Get(u64(r.ID))
	}
	var h ContactHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, false, fmt.Errorf("store: decode contact %d: %w", r.ID, err)
	}
	return h, true, nil
}

// ScanSegment calls fn for every candidate contact of s in ascending ID
// order, all in one read transaction (one consistent picture of the
// contacts, their tags, activity and consent). fn's error stops the scan
// and is returned as is.
func (db *DB) ScanSegment(s SegmentScan, fn func(*SegmentRow) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		row := &SegmentRow{tx: tx, tags: tx.Bucket(bucketContactsByTag)}
		visit := func(id uint64, number string, raw []byte) error {
			*row = SegmentRow{ID: id, Number: number, raw: raw, tx: tx, tags: row.tags}
			return fn(row)
		}
		if len(s.AllTags) > 0 {
			return scanTagged(tx, s.AllTags, visit)
		}
		// Every contact, in the order of the bucket (ID order), reading
		// only its number until a rule asks for more.
		c := tx.Bucket(bucketContacts).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				continue
			}
			number, err := numberOf(v)
			if err != nil {
				return fmt.Errorf("store: decode contact %x: %w", k, err)
			}
			if err := visit(binary.BigEndian.Uint64(k), number, v); err != nil {
				return err
			}
		}
		return nil
	})
}

var contactNumberKey = []byte(`"number":"`)

// numberOf reads a stored contact's number without decoding the record.
// The number is written before any nested object (attributes), a quote
// inside a string is always escaped, and an E.164 number needs no escape;
// anything else is decoded.
func numberOf(raw []byte) (string, error) {
	if i := bytes.Index(raw, contactNumberKey); i >= 0 {
		rest := raw[i+len(contactNumberKey):]
		if j := bytes.IndexByte(rest, '"'); j > 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			return string(rest[:j]), nil
		}
	}
	var c struct {
		Number string `json:"number"`
	}
	err := json.Unmarshal(raw, &c)
	return c.Number, err
}

// ScanNumbers calls fn for each of numbers (E.164, in the order given) in
// one read transaction, with the contact's ID when a contact has the
// number and 0 when none does. fn's error stops the scan.
func (db *DB) ScanNumbers(numbers []string, fn func(*SegmentRow) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		row := &SegmentRow{}
		tags := tx.Bucket(bucketContactsByTag)
		for _, n := range numbers {
			*row = SegmentRow{ID: contactIDByNumber(tx, n), Number: n, tx: tx, tags: tags}
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanTagged visits the contacts that carry the smallest of tags' index
// ranges, ascending by ID (the index orders them so).
func scanTagged(tx *bbolt.Tx, tags []string, visit func(uint64, string, []byte) error) error {
	b := tx.Bucket(bucketContactsByTag)
	var ids []uint64
	for i, tag := range tags {
		var these []uint64
		prefix := append([]byte(tag), 0)
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) == len(prefix)+8 {
				these = append(these, binary.BigEndian.Uint64(k[len(prefix):]))
			}
		}
		if i == 0 || len(these) < len(ids) {
			ids = these
		}
		if len(ids) == 0 {
			return nil
		}
	}
	contacts := tx.Bucket(bucketContacts)
	for _, id := range ids {
		raw := contacts.Get(u64(id))
		if raw == nil {
			continue
		}
		number, err := numberOf(raw)
		if err != nil {
			return fmt.Errorf("store: decode contact %d: %w", id, err)
		}
		if err := visit(id, number, raw); err != nil {
			return err
		}
	}
	return nil
}

// migrateSegments is schema step 14 → 15: saved segments, the contacts'
// tag index and every number's Activity, built from the contacts, the
// event log (in the order it was stored), the clicks on short links and
// the marketing texts admitted.
func migrateSegments(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketSegments, bucketContactsByTag, bucketActivity} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	err := tx.Bucket(bucketContacts).ForEach(func(k, v []byte) error {
		var c struct {
			ID   uint64   `json:"id"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode contact %x: %w", k, err)
		}
		return indexContactTags(tx, nil, &Contact{ID: c.ID, Tags: c.Tags})
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", bucketContactsByTag, err)
	}
	// Activities are built in memory first: one write per number, not one
	// per event.
	acts := map[string]*Activity{}
	get := func(number string) *Activity {
		a := acts[number]
		if a == nil {
			a = &Activity{}
			acts[number] = a
		}
		return a
	}
	err = tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		var ev ShopEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return fmt.Errorf("decode event %x: %w", k, err)
		}
		if tracksActivity(ev.Type) && ev.Number != "" {
			get(ev.Number).addEvent(&ev)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketLinks).ForEach(func(k, v []byte) error {
		var l struct {
			Number      string    `json:"number"`
			LastClickAt time.Time `json:"last_click_at"`
		}
		if err := json.Unmarshal(v, &l); err != nil {
			return fmt.Errorf("decode link %q: %w", k, err)
		}
		if l.Number != "" && !l.LastClickAt.IsZero() {
			if a := get(l.Number); l.LastClickAt.After(a.LastClickAt) {
				a.LastClickAt = l.LastClickAt
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
		var m struct {
			To         string    `json:"to"`
			Kind       Kind      `json:"kind"`
			AdmittedAt time.Time `json:"admitted_at"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode message %x: %w", k, err)
		}
		if m.Kind == KindMarketing && !m.AdmittedAt.IsZero() && m.To != "" {
			if a := get(m.To); m.AdmittedAt.After(a.LastMarketingAt) {
				a.LastMarketingAt = m.AdmittedAt
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketActivity)
	for number, a := range acts {
		if err := b.Put([]byte(number), a.encode()); err != nil {
			return err
		}
	}
	return nil
}

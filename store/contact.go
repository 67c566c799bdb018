package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// Contact is one customer the shop texts. Number is unique.
type Contact struct {
	ID         uint64            `json:"id"`
	Number     string            `json:"number"` // E.164
	Name       string            `json:"name,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Tags       []string          `json:"tags,omitempty"` // lower case, sorted, unique
	TimeZone   string            `json:"time_zone"`      // IANA name; from the number when not given
	// TimeZoneDerived: TimeZone was guessed from the number, not given. The
	// compliance guard then checks every zone the number's area code spans.
	TimeZoneDerived bool      `json:"time_zone_derived,omitempty"`
	Language        string    `json:"language,omitempty"` // BCP 47 tag such as "en" or "fr-CA"
	Source          string    `json:"source,omitempty"`   // how the contact first got here: "api", "import", "keyword", "join", "console"
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// ContactFilter selects a page of contacts for ListContacts.
type ContactFilter struct {
	Query string // case-insensitive substring of number or name; "" = any
	Tag   string // only contacts with this tag; "" = any
	After uint64 // cursor: only IDs > After (oldest first)
	Limit int    // DefaultListLimit when 0, at most MaxListLimit
}

// ContactUpsert is one row of a bulk import: the contact's fields and,
// when the row carries consent, the opt-in to record with it.
type ContactUpsert struct {
	Contact Contact
	// OptIn, when set, is appended to the ledger in the same transaction
	// (method import) and makes marketing consent confirmed.
	OptIn *ConsentEvent
}

// UpsertOutcome is what happened to one ContactUpsert.
type UpsertOutcome uint8

const (
	UpsertCreated    UpsertOutcome = 1
	UpsertUpdated    UpsertOutcome = 2
	UpsertSuppressed UpsertOutcome = 3 // the number was erased on request: not stored
	// UpsertDuplicate is WriteImportBatch's only: an earlier row of the
	// same import holds the number, so this one was not stored.
	UpsertDuplicate UpsertOutcome = 4
)

// UpsertResult is what happened to one row, in the order given.
type UpsertResult struct {
	Outcome UpsertOutcome
	Contact Contact
	// ConsentKept: the row carried an opt-in, but the number had opted out
	// (or is suppressed), so its consent was left as it was: an import never
	// overrides a customer's own opt-out.
	ConsentKept bool
}

// exportPage is how many contacts EachContact reads per read transaction:
// a slow export client never holds one transaction open for long (a long
// read transaction makes bbolt writers wait when the file has to grow).
const exportPage = 500

// normaliseTags makes tags lower case, trimmed, sorted and unique, so that
// "VIP", " vip" and "vip" are one tag and a filter needs no folding.
func normaliseTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// prepareContact normalises c and checks what the store relies on. The
// gateway validates the number (E.164) and the rest before this.
func prepareContact(c *Contact) error {
	c.Tags = normaliseTags(c.Tags)
	switch {
	case c.Number == "":
		return &FieldError{Field: "number", Message: "must not be empty"}
	case strings.IndexByte(c.Number, 0) >= 0:
		return &FieldError{Field: "number", Message: "must not contain a NUL byte"}
	}
	return nil
}

func getContact(tx *bbolt.Tx, id uint64) (Contact, error) {
	return getRecord[Contact](tx, bucketContacts, id, "contact")
}

// contactIDByNumber returns the ID of number's contact, or 0.
func contactIDByNumber(tx *bbolt.Tx, number string) uint64 {
	if v := tx.Bucket(bucketContactsByNumber).Get([]byte(number)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// putContact writes c and moves its number entry from old's (nil for a new
// contact).
func putContact(tx *bbolt.Tx, old, c *Contact) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: encode contact %d: %w", c.ID, err)
	}
	if err := tx.Bucket(bucketContacts).Put(u64(c.ID), raw); err != nil {
		return err
	}
	if err := indexContactTags(tx, old, c); err != nil {
		return err
	}
	byNumber := tx.Bucket(bucketContactsByNumber)
	if old != nil && old.Number != c.Number {
		if contactIDByNumber(tx, old.Number) == c.ID {
			if err := byNumber.Delete([]byte(old.Number)); err != nil {
				return err
			}
		}
	}
	return byNumber.Put([]byte(c.Number), u64(c.ID))
}

// claimNumber checks that number may be given to contact id (0: a new
// contact): not erased on request, not another contact's.
func claimNumber(tx *bbolt.Tx, salt []byte, number string, id uint64) error {
	if tx.Bucket(bucketSuppression).Get([]byte(suppressionHash(salt, number))) != nil {
		return fmt.Errorf("store: contact number %s: %w", number, ErrSuppressed)
	}
	if other := contactIDByNumber(tx, number); other != 0 && other != id {
		return fmt.Errorf("store: number %s belongs to contact %d: %w", number, other, ErrExists)
	}
	return nil
}

// insertContact gives c a new ID and stores it; CreatedAt and UpdatedAt
// default to now.
func insertContact(tx *bbolt.Tx, c *Contact, now time.Time) error {
	id, err := tx.Bucket(bucketContacts).NextSequence()
	if err != nil {
		return err
	}
	c.ID = id
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	return putContact(tx, nil, c)
}

// CreateContact stores a new contact and returns it with its ID. Tags are
// normalised. A number that another contact has fails with an error
// wrapping ErrExists; a number erased on request with ErrSuppressed.
func (db *DB) CreateContact(c Contact) (Contact, error) {
	c.Attributes = maps.Clone(c.Attributes)
	if err := prepareContact(&c); err != nil {
		return Contact{}, err
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		salt, err := suppressionSalt(tx)
		if err != nil {
			return err
		}
		if err := claimNumber(tx, salt, c.Number, 0); err != nil {
			return err
		}
		return insertContact(tx, &c, db.now())
	})
	if err != nil {
		return Contact{}, err
	}
	return c, nil
}

// GetContact returns contact id, or an error wrapping ErrNotFound.
func (db *DB) GetContact(id uint64) (Contact, error) {
	var c Contact
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		c, err = getContact(tx, id)
		return err
	})
	return c, err
}

// ContactByNumber returns the contact with number, or an error wrapping
// ErrNotFound.
func (db *DB) ContactByNumber(number string) (Contact, error) {
	var c Contact
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		id := contactIDByNumber(tx, number)
		if id == 0 {
			return fmt.Errorf("store: contact with number %s: %w", number, ErrNotFound)
		}
		var err error
		c, err = getContact(tx, id)
		return err
	})
	return c, err
}

// UpdateContact changes contact id with fn and commits before returning.
// fn gets a private copy; its error is returned as is and nothing is
// written. ID and CreatedAt stay, UpdatedAt is set, tags are normalised.
// A new number is checked like CreateContact's (ErrExists, ErrSuppressed)
// and the number index follows it.
func (db *DB) UpdateContact(id uint64, fn func(*Contact) error) (Contact, error) {
	var out Contact
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		old, err := getContact(tx, id)
		if err != nil {
			return err
		}
		c, err := getContact(tx, id)
		if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		c.ID, c.CreatedAt = id, old.CreatedAt
		if err := prepareContact(&c); err != nil {
			return err
		}
		if c.Number != old.Number {
			salt, err := suppressionSalt(tx)
			if err != nil {
				return err
			}
			if err := claimNumber(tx, salt, c.Number, id); err != nil {
				return err
			}
		}
		c.UpdatedAt = db.now()
		if err := putContact(tx, &old, &c); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return Contact{}, err
	}
	return out, nil
}

// DeleteContact removes contact id and its number entry. The number's
// consent, ledger and messages stay: they are evidence, and only
// EraseNumber removes them.
func (db *DB) DeleteContact(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		c, err := getContact(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketContacts).Delete(u64(id)); err != nil {
			return err
		}
		if err := indexContactTags(tx, &c, nil); err != nil {
			return err
		}
		if contactIDByNumber(tx, c.Number) == id {
			return tx.Bucket(bucketContactsByNumber).Delete([]byte(c.Number))
		}
		return nil
	})
}

// ListContacts returns a page of contacts, oldest first, and the cursor for
// the next page (the last ID returned) or 0 when there is no more.
func (db *DB) ListContacts(f ContactFilter) ([]Contact, uint64, error) {
	limit := clampLimit(f.Limit)
	var out []Contact
	var next uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out, next = nil, 0
		page, more, err := listContacts(tx, f, limit)
		if err != nil {
			return err
		}
		out = page
		if more && len(out) > 0 {
			next = out[len(out)-1].ID
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, next, nil
}

// contactMatcher decides whether a stored contact passes a filter, reading
// as little of it as it can: a full scan of 100,000 contacts for a search
// should not decode each one completely.
type contactMatcher struct {
	query   string // lower case
	tag     string
	tagJSON []byte // the tag as it appears in stored JSON
	// plainQuery: the query is ASCII without characters JSON escapes, so
	// a match must appear verbatim (case aside) in an ASCII record.
	plainQuery bool
	lowered    []byte // scratch for the folded record
}

func newContactMatcher(f ContactFilter) *contactMatcher {
	m := &contactMatcher{query: strings.ToLower(strings.TrimSpace(f.Query))}
	if tags := normaliseTags([]string{f.Tag}); len(tags) == 1 {
		m.tag = tags[0]
		m.tagJSON, _ = json.Marshal(m.tag)
	}
	m.plainQuery = m.query != "" && !strings.ContainsFunc(m.query, func(r rune) bool {
		return r >= 0x80 || r < 0x20 || strings.ContainsRune(`"\<>&`, r)
	})
	return m
}

// foldASCII lower-cases raw into m.lowered and reports false when raw is
// not all ASCII: then a non-ASCII letter could fold to an ASCII one (the
// Kelvin sign to "k") and only a full decode can tell.
func (m *contactMatcher) foldASCII(raw []byte) bool {
	m.lowered = m.lowered[:0]
	for _, b := range raw {
		if b >= 0x80 {
			return false
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		m.lowered = append(m.lowered, b)
	}
	return true
}

func (m *contactMatcher) match(raw []byte) (bool, error) {
	if m.tag != "" && !bytes.Contains(raw, m.tagJSON) {
		return false, nil // cannot have the tag: its quoted form is absent
	}
	if m.query == "" && m.tag == "" {
		return true, nil
	}
	if m.plainQuery && m.foldASCII(raw) && !bytes.Contains(m.lowered, []byte(m.query)) {
		return false, nil // not anywhere in the record, so not in number or name
	}
	var c struct {
		Number string   `json:"number"`
		Name   string   `json:"name"`
		Tags   []string `json:"tags"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, err
	}
	if m.tag != "" && !slices.Contains(c.Tags, m.tag) {
		return false, nil
	}
	if m.query != "" && !strings.Contains(strings.ToLower(c.Number), m.query) && !strings.Contains(strings.ToLower(c.Name), m.query) {
		return false, nil
	}
	return true, nil
}

// listContacts collects up to limit contacts with IDs > f.After that match
// f, ascending, and reports whether another match follows.
func listContacts(tx *bbolt.Tx, f ContactFilter, limit int) ([]Contact, bool, error) {
	if f.After == math.MaxUint64 {
		return nil, false, nil
	}
	m := newContactMatcher(f)
	var out []Contact
	c := tx.Bucket(bucketContacts).Cursor()
	for k, v := c.Seek(u64(f.After + 1)); k != nil; k, v = c.Next() {
		ok, err := m.match(v)
		if err != nil {
			return nil, false, fmt.Errorf("store: decode contact %x: %w", k, err)
		}
		if !ok {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		var ct Contact
		if err := json.Unmarshal(v, &ct); err != nil {
			return nil, false, fmt.Errorf("store: decode contact %x: %w", k, err)
		}
		out = append(out, ct)
	}
	return out, false, nil
}

// EachContact calls fn for every contact, oldest first, outside any
// transaction (fn may write to a slow client or use the DB). fn's error
// stops the walk and is returned as is. Contacts created during the walk
// may or may not be seen.
func (db *DB) EachContact(fn func(Contact) error) error {
	var after uint64
	for {
		var page []Contact
		var more bool
		err := db.bolt.View(func(tx *bbolt.Tx) error {
			var err error
			page, more, err = listContacts(tx, ContactFilter{After: after}, exportPage)
			return err
		})
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if !more || len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// CountContacts returns how many contacts are stored.
func (db *DB) CountContacts() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketContactsByNumber).Stats().KeyN
		return nil
	})
	return n, err
}

// UpsertContacts stores a batch of import rows in one transaction (one
// fsync for the batch: a CSV import writes ~1000 rows per call) and says
// what happened to each, in order.
//
// A new number is created. An existing one is merged: non-empty fields
// overwrite, attributes merge by key (empty values are ignored), tags are
// united, Source and CreatedAt stay, and a time zone guessed from the
// number never replaces one that was given. A suppressed number is not
// stored (UpsertSuppressed). A row's OptIn is appended to the ledger
// (defaults: type opt_in, purpose marketing, method import) and confirms
// marketing consent, unless the number opted out: then ConsentKept is set
// and nothing about consent is written.
//
// A row that fails validation fails the whole batch with a FieldError
// naming the row ("rows[3].number"); the caller validates rows first.
func (db *DB) UpsertContacts(rows []ContactUpsert) ([]UpsertResult, error) {
	prepared, err := prepareUpserts(rows)
	if err != nil {
		return nil, err
	}
	results := make([]UpsertResult, len(rows))
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		salt, err := suppressionSalt(tx)
		if err != nil {
			return err
		}
		now := db.now()
		for i, row := range rows {
			if results[i], err = upsertContact(tx, salt, row, prepared[i], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: upsert contacts: %w", err)
	}
	return results, nil
}

// prepareUpserts checks and normalises the contacts of rows, before any
// transaction.
func prepareUpserts(rows []ContactUpsert) ([]Contact, error) {
	prepared := make([]Contact, len(rows))
	for i, r := range rows {
		c := r.Contact
		c.Attributes = maps.Clone(c.Attributes)
		if err := prepareContact(&c); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, &FieldError{Field: fmt.Sprintf("rows[%d].%s", i, fe.Field), Message: fe.Message}
			}
			return nil, err
		}
		prepared[i] = c
	}
	return prepared, nil
}

// upsertContact writes one import row inside tx; c is row's contact as
// prepareUpserts left it.
func upsertContact(tx *bbolt.Tx, salt []byte, row ContactUpsert, c Contact, now time.Time) (UpsertResult, error) {
	if tx.Bucket(bucketSuppression).Get([]byte(suppressionHash(salt, c.Number))) != nil {
		return UpsertResult{Outcome: UpsertSuppressed, Contact: c, ConsentKept: row.OptIn != nil}, nil
	}
	res := UpsertResult{Outcome: UpsertCreated}
	if id := contactIDByNumber(tx, c.Number); id != 0 {
		old, err := getContact(tx, id)
		if err != nil {
			return res, err
		}
		merged := mergeContact(old, c)
		merged.UpdatedAt = now
		if err := putContact(tx, &old, &merged); err != nil {
			return res, err
		}
		res = UpsertResult{Outcome: UpsertUpdated, Contact: merged}
	} else {
		c.CreatedAt, c.UpdatedAt = now, now
		if err := insertContact(tx, &c, now); err != nil {
			return res, err
		}
		res.Contact = c
	}
	if row.OptIn != nil {
		kept, err := importOptIn(tx, *row.OptIn, c.Number, now)
		if err != nil {
			return res, err
		}
		res.ConsentKept = kept
	}
	return res, nil
}

// mergeContact applies an import row to the stored contact old.
func mergeContact(old, row Contact) Contact {
	c := old
	if row.Name != "" {
		c.Name = row.Name
	}
	if row.Language != "" {
		c.Language = row.Language
	}
	if c.Source == "" {
		c.Source = row.Source
	}
	// A zone guessed from the number must not undo one somebody gave.
	if row.TimeZone != "" && !(row.TimeZoneDerived && !old.TimeZoneDerived && old.TimeZone != "") {
		c.TimeZone, c.TimeZoneDerived = row.TimeZone, row.TimeZoneDerived
	}
	for k, v := range row.Attributes {
		if v == "" {
			continue
		}
		if c.Attributes == nil {
			c.Attributes = map[string]string{}
		}
		c.Attributes[k] = v
	}
	c.Tags = normaliseTags(append(slices.Clone(old.Tags), row.Tags...))
	return c
}

// importOptIn records an import row's opt-in for number unless the number
// opted out, which an import never overrides; it reports whether consent
// was kept as it was.
func importOptIn(tx *bbolt.Tx, ev ConsentEvent, number string, now time.Time) (bool, error) {
	c, _, err := getConsent(tx, number)
	if err != nil {
		return false, err
	}
	if c.Marketing == MarketingOptedOut || c.OptedOutAll {
		return true, nil
	}
	ev.Number = number
	if ev.Type == "" {
		ev.Type = EventOptIn
	}
	if ev.Purpose == "" {
		ev.Purpose = PurposeMarketing
	}
	if ev.Method == "" {
		ev.Method = MethodImport
	}
	if err := appendEvent(tx, &ev, now); err != nil {
		return false, err
	}
	c.Marketing = MarketingConfirmed
	c.ConfirmedAt = ev.At
	c.UpdatedAt = now
	return false, putConsent(tx, &c)
}

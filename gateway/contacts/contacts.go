// Package contacts is the shop's address book: who the shop knows, by
// number. It reads phone numbers into E.164 (for every part of the
// gateway), validates and stores contacts, imports them from CSV files and
// exports them.
//
// It must not record or change consent: a contact is who the shop knows,
// consent is what the customer said, and that is package consent's ledger.
// The one exception is an import's consent column, whose opt-ins the store
// writes with the rows they came in.
package contacts

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// Config wires a Book. Every field is required.
type Config struct {
	DB     *store.DB
	Region string // national numbers are read in this region ("US", "DE", ...)
	Log    *slog.Logger
	Clock  func() time.Time
	// Notify hears about an import's progress, for the console's live bar.
	Notify Notifier
	// Disclosures finds the saved consent text an import's consent column
	// refers to.
	Disclosures Disclosures
}

// Notifier is told about import progress. It must not block.
type Notifier interface {
	ImportProgress(ImportJob)
}

// Disclosures looks up a saved disclosure version (consent keeps them).
type Disclosures interface {
	DisclosureVersion(version string) (compliance.Disclosure, bool, error)
}

// Book is the shop's contacts. Create it with New.
type Book struct {
	db          *store.DB
	region      string
	log         *slog.Logger
	now         func() time.Time
	notify      Notifier
	disclosures Disclosures
	imports     importJobs // the contact imports running (importjobs.go)
}

// New returns the contacts kept in cfg.DB. Upload spools left by a crash
// are removed, and import jobs it left running are marked interrupted,
// here: before any import can be running.
func New(cfg Config) (*Book, error) {
	b := &Book{db: cfg.DB, region: cfg.Region, log: cfg.Log, now: cfg.Clock, notify: cfg.Notify, disclosures: cfg.Disclosures}
	b.imports.init()
	b.removeStaleSpools()
	if err := b.interruptLeftovers(); err != nil {
		return nil, err
	}
	return b, nil
}

// Normalize returns raw as E.164, reading national numbers in region.
func Normalize(raw, region string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("is required")
	}
	if len(raw) > 32 {
		return "", errors.New("is not a phone number")
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return "", fmt.Errorf("is not a phone number: %q", raw)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("is not a valid phone number: %q", raw)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// NumberField reads raw as an E.164 number in region, or returns a
// *store.FieldError naming field.
func NumberField(field, raw, region string) (string, error) {
	n, err := Normalize(raw, region)
	if err != nil {
		return "", &store.FieldError{Field: field, Message: err.Error()}
	}
	return n, nil
}

// number reads raw as an E.164 number in the box's region, or returns a
// *store.FieldError naming field.
func (b *Book) number(field, raw string) (string, error) { return NumberField(field, raw, b.region) }

// Contact limits. They keep one record small (a contact is read on every
// marketing send by the guard) and the console's table readable.
const (
	MaxContactName     = 100 // characters
	MaxAttributes      = 50
	MaxAttributeKey    = 40  // characters of [a-z0-9_]
	MaxAttributeValue  = 500 // characters
	MaxTags            = 20
	MaxTagLength       = 40 // characters
	maxContactSource   = 40
	maxLanguageTagSize = 35 // RFC 5646 §4.4.1 recommends 35 for the common subtags
)

var (
	attributeKeyPattern = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
	// languagePattern accepts the BCP 47 tags people actually use: a
	// language, an optional script and an optional region ("en", "fr-CA",
	// "zh-Hant-TW", "es-419"). Private-use and extension subtags are refused:
	// nothing here would read them.
	languagePattern = regexp.MustCompile(`^([a-zA-Z]{2,3})(-[a-zA-Z]{4})?(-(?:[a-zA-Z]{2}|[0-9]{3}))?$`)
)

// Patch changes some fields of a contact; nil fields stay as they
// are (PATCH semantics). Attributes and Tags, when set, replace the whole
// map or list. Setting TimeZone to "" derives it from the number again.
type Patch struct {
	Number     *string
	Name       *string
	Attributes *map[string]string
	Tags       *[]string
	TimeZone   *string
	Language   *string
}

// Create validates c and stores it as a new contact. ID and the
// timestamps are set by the store. It never records consent: a contact is
// who the shop knows, consent is what the customer said (ledger).
// ErrExists when the number already has a contact; ErrSuppressed when the
// number was erased on request.
func (b *Book) Create(ctx context.Context, c store.Contact) (store.Contact, error) {
	if err := ctx.Err(); err != nil {
		return store.Contact{}, err
	}
	c.ID = 0
	if c.Source == "" {
		c.Source = "api"
	}
	if err := b.normalizeContact(&c); err != nil {
		return store.Contact{}, err
	}
	out, err := b.db.CreateContact(c)
	if err != nil {
		return store.Contact{}, fmt.Errorf("gateway: create contact: %w", err)
	}
	return out, nil
}

// Update applies p to contact id after validating the result.
func (b *Book) Update(ctx context.Context, id uint64, p Patch) (store.Contact, error) {
	if err := ctx.Err(); err != nil {
		return store.Contact{}, err
	}
	out, err := b.db.UpdateContact(id, func(c *store.Contact) error {
		oldNumber := c.Number
		if p.Number != nil {
			c.Number = *p.Number
		}
		if p.Name != nil {
			c.Name = *p.Name
		}
		if p.Attributes != nil {
			c.Attributes = *p.Attributes
		}
		if p.Tags != nil {
			c.Tags = *p.Tags
		}
		if p.Language != nil {
			c.Language = *p.Language
		}
		switch {
		case p.TimeZone != nil:
			c.TimeZone = *p.TimeZone
			c.TimeZoneDerived = false
		case c.TimeZoneDerived && p.Number != nil && *p.Number != oldNumber:
			// The old zone was a guess from the old number: guess again.
			c.TimeZone = ""
			c.TimeZoneDerived = false
		}
		return b.normalizeContact(c)
	})
	if err != nil {
		return store.Contact{}, fmt.Errorf("gateway: update contact %d: %w", id, err)
	}
	return out, nil
}

// Delete removes the contact only: its consent ledger and messages stay
// (R-RECORD). Erasing a person is the consent ledger's Erase.
func (b *Book) Delete(ctx context.Context, id uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.db.DeleteContact(id)
}

// Get returns one contact.
func (b *Book) Get(id uint64) (store.Contact, error) { return b.db.GetContact(id) }

// List lists contacts oldest first with the next cursor (0 at the end).
func (b *Book) List(f store.ContactFilter) ([]store.Contact, uint64, error) {
	f.Query = strings.TrimSpace(f.Query)
	f.Tag = strings.ToLower(strings.TrimSpace(f.Tag))
	return b.db.ListContacts(f)
}

// Count reports how many contacts there are.
func (b *Book) Count() (int, error) { return b.db.CountContacts() }

// ByNumber finds the contact of a number written in any format the box's
// region reads.
func (b *Book) ByNumber(raw string) (store.Contact, error) {
	number, err := b.number("number", raw)
	if err != nil {
		return store.Contact{}, err
	}
	return b.db.ContactByNumber(number)
}

// Messages lists the texts sent to a number, newest first, with the cursor
// of the next page (0 at the end).
func (b *Book) Messages(number string, before uint64, limit int) ([]store.Message, uint64, error) {
	return b.db.MessagesTo(number, before, limit)
}

// Inbound lists the texts received from a number, newest first.
func (b *Book) Inbound(number string, before uint64, limit int) ([]store.Inbound, uint64, error) {
	return b.db.InboundFrom(number, before, limit)
}

// normalizeContact checks every field of c and puts it in canonical form
// (E.164 number, sorted lower-case tags, derived time zone). The API, the
// console and the CSV import all go through it, so a row is refused for the
// same reasons whichever way it came in.
func (b *Book) normalizeContact(c *store.Contact) error {
	number, err := b.number("number", c.Number)
	if err != nil {
		return err
	}
	c.Number = number

	c.Name = strings.TrimSpace(c.Name)
	if err := checkText("name", c.Name, MaxContactName); err != nil {
		return err
	}

	if len(c.Attributes) > MaxAttributes {
		return &store.FieldError{Field: "attributes", Message: fmt.Sprintf("has %d keys; at most %d are allowed", len(c.Attributes), MaxAttributes)}
	}
	for k, v := range c.Attributes {
		if !attributeKeyPattern.MatchString(k) {
			return &store.FieldError{Field: "attributes", Message: fmt.Sprintf(
				"key %q must be 1 to %d characters of a-z, 0-9 and _", k, MaxAttributeKey)}
		}
		if err := checkText("attributes."+k, v, MaxAttributeValue); err != nil {
			return err
		}
	}
	if len(c.Attributes) == 0 {
		c.Attributes = nil
	}

	tags, err := normalizeTags(c.Tags)
	if err != nil {
		return err
	}
	c.Tags = tags

	c.TimeZone = strings.TrimSpace(c.TimeZone)
	if c.TimeZone == "" || c.TimeZoneDerived {
		c.TimeZone, c.TimeZoneDerived = zoneForNumber(c.Number), true
	} else if c.TimeZone == "Local" || compliance.LoadZone(c.TimeZone) == nil {
		return &store.FieldError{Field: "time_zone", Message: fmt.Sprintf("%q is not an IANA time zone such as Europe/Paris", c.TimeZone)}
	}

	lang, err := normalizeLanguage(c.Language)
	if err != nil {
		return err
	}
	c.Language = lang

	c.Source = strings.TrimSpace(c.Source)
	if err := checkText("source", c.Source, maxContactSource); err != nil {
		return err
	}
	return nil
}

// checkText refuses invalid UTF-8, control characters and texts longer
// than limit characters.
func checkText(field, s string, limit int) error {
	if !utf8.ValidString(s) {
		return &store.FieldError{Field: field, Message: "must be valid UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return &store.FieldError{Field: field, Message: fmt.Sprintf("is %d characters; at most %d are allowed", n, limit)}
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		return &store.FieldError{Field: field, Message: "must not contain control characters"}
	}
	return nil
}

// normalizeTags lower-cases, trims, de-duplicates and sorts tags. The
// characters ; | and , are refused because the CSV import splits on them.
func normalizeTags(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			return nil, &store.FieldError{Field: "tags", Message: "must not contain an empty tag"}
		}
		if n := utf8.RuneCountInString(t); n > MaxTagLength {
			return nil, &store.FieldError{Field: "tags", Message: fmt.Sprintf("tag %q is %d characters; at most %d are allowed", t, n, MaxTagLength)}
		}
		if strings.ContainsAny(t, ";|,") || !utf8.ValidString(t) || strings.ContainsFunc(t, unicode.IsControl) {
			return nil, &store.FieldError{Field: "tags", Message: fmt.Sprintf("tag %q must not contain ; | , or control characters", t)}
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, &store.FieldError{Field: "tags", Message: fmt.Sprintf("has %d tags; at most %d are allowed", len(out), MaxTags)}
	}
	return out, nil
}

// normalizeLanguage checks a BCP 47 tag and writes it in its canonical
// case: "FR-ca" → "fr-CA", "zh-hant" → "zh-Hant".
func normalizeLanguage(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", "-"))
	if s == "" {
		return "", nil
	}
	m := languagePattern.FindStringSubmatch(s)
	if m == nil || len(s) > maxLanguageTagSize {
		return "", &store.FieldError{Field: "language", Message: fmt.Sprintf("%q is not a language tag such as en, fr-CA or es-419", s)}
	}
	out := strings.ToLower(m[1])
	if m[2] != "" {
		script := strings.ToLower(m[2][1:])
		out += "-" + strings.ToUpper(script[:1]) + script[1:]
	}
	if m[3] != "" {
		out += "-" + strings.ToUpper(m[3][1:])
	}
	return out, nil
}

// zoneForNumber guesses a number's IANA time zone: the first of
// numberZones, else UTC. Contacts store the guess with TimeZoneDerived, so
// the guard still checks every zone the area code spans.
func zoneForNumber(e164 string) string {
	if zones := compliance.NumberZones(e164); len(zones) > 0 {
		return zones[0].String()
	}
	return "UTC"
}

// contactExportHeader are Export's fixed columns; one "attr:<key>"
// column per attribute key in use follows. The names are those the import
// maps by itself, so an export reads back in unchanged.
var contactExportHeader = []string{"number", "name", "time_zone", "language", "tags", "marketing", "created_at"}

// Export writes every contact as CSV, oldest first, with its
// marketing consent state. It streams: EachContact reads a page at a time
// outside any transaction, so a large export holds neither the list in
// memory nor a read transaction open while the client downloads.
func (b *Book) Export(ctx context.Context, w io.Writer) error {
	// First pass: the attribute columns, which must be known for the header.
	keys := map[string]bool{}
	if err := b.db.EachContact(func(c store.Contact) error {
		for k := range c.Attributes {
			keys[k] = true
		}
		return ctx.Err()
	}); err != nil {
		return fmt.Errorf("gateway: export contacts: %w", err)
	}
	attrs := slices.Sorted(maps.Keys(keys))
	cw := csv.NewWriter(w)
	header := slices.Clone(contactExportHeader)
	for _, k := range attrs {
		header = append(header, "attr:"+k)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	err := b.db.EachContact(func(c store.Contact) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		cons, err := b.db.Consent(c.Number)
		if err != nil {
			return err
		}
		rec = append(rec[:0], c.Number, CSVSafe(c.Name), c.TimeZone, c.Language, strings.Join(c.Tags, ";"),
			cons.Marketing.String(), c.CreatedAt.UTC().Format(time.RFC3339))
		for _, k := range attrs {
			rec = append(rec, CSVSafe(c.Attributes[k]))
		}
		return cw.Write(rec)
	})
	if err != nil {
		return fmt.Errorf("gateway: export contacts: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe defuses spreadsheet formulas (CSV injection, OWASP): a cell a
// customer typed that starts with = + - @ is prefixed with an apostrophe,
// which spreadsheets show as text. The export's phone numbers are written
// by simgate and need no such care; an import's rejected rows are the
// uploaded file's own cells, so all of them go through it.
func CSVSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

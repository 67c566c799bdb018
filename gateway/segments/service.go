package segments

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/store"
)

// Config is what New needs.
type Config struct {
	DB *store.DB
	// Region reads pasted national numbers ("US").
	Region string
	// Clock returns the current time; tests substitute it.
	Clock func() time.Time
	// Location is the shop's zone, in which a rule's dates are days;
	// nil: UTC.
	Location *time.Location
}

// Service keeps saved segments and evaluates definitions.
type Service struct {
	db     *store.DB
	region string
	clock  func() time.Time
	loc    *time.Location
	inUse  atomic.Pointer[func(id uint64) (string, bool)]
}

// New returns the segments service.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, region: cfg.Region, clock: cfg.Clock, loc: cfg.Location}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	return s
}

// Segment is a saved segment.
type Segment struct {
	ID         uint64     `json:"id"`
	Name       string     `json:"name"`
	Definition Definition `json:"definition"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Input is a segment to save: its name and definition (JSON, read by
// ParseDefinition so that every problem names its field).
type Input struct {
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
}

// Member is one contact (or pasted number) of an audience.
type Member struct {
	ContactID       uint64 `json:"contact_id,omitempty"` // 0: a pasted number no contact has
	Number          string `json:"number"`
	Name            string `json:"name,omitempty"`
	TimeZone        string `json:"time_zone"`
	Language        string `json:"language,omitempty"`
	TimeZoneDerived bool   `json:"time_zone_derived,omitempty"`
}

// The reasons a contact is left out of a marketing audience.
const (
	ReasonNoConsent     = "no_consent"
	ReasonPending       = "pending"
	ReasonOptedOut      = "opted_out"
	ReasonInvalidNumber = "invalid_number"
)

// ReasonWords says each reason as the console shows it.
var ReasonWords = map[string]string{
	ReasonNoConsent:     "never agreed to marketing texts",
	ReasonPending:       "asked to confirm, not confirmed yet",
	ReasonOptedOut:      "opted out",
	ReasonInvalidNumber: "not a valid phone number",
}

// Audience is who a campaign texts: the members in a stable order (contact
// ID; pasted numbers without a contact after them, in the order given),
// and who was left out and why.
type Audience struct {
	Members []Member       `json:"members"`
	LeftOut map[string]int `json:"left_out"` // reason → count
	// Invalid holds the first MaxInvalidShown pasted inputs that were not
	// phone numbers, as given.
	Invalid []string `json:"invalid,omitempty"`
}

// MaxInvalidShown bounds Audience.Invalid.
const MaxInvalidShown = 20

// Preview is what the editor shows while a definition changes.
type Preview struct {
	// Matched counts the contacts the rules choose; Count those of them a
	// marketing text may go to (confirmed subscribers).
	Matched int            `json:"matched"`
	Count   int            `json:"count"`
	LeftOut map[string]int `json:"left_out"`
	// Members are the first PreviewMembers of the Count, by contact ID.
	Members []Member `json:"members"`
}

// PreviewMembers is how many members a preview lists.
const PreviewMembers = 20

// SetInUse sets fn to tell whether a saved segment is used (by a
// campaign that reads it by reference) and by what; Delete refuses such a
// segment. Campaigns that copy the definition when they are made need not
// set it.
func (s *Service) SetInUse(fn func(id uint64) (what string, used bool)) { s.inUse.Store(&fn) }

func fromRecord(r store.Segment) (Segment, error) {
	var d Definition
	if err := json.Unmarshal(r.Definition, &d); err != nil {
		return Segment{}, fmt.Errorf("segments: decode segment %d: %w", r.ID, err)
	}
	return Segment{ID: r.ID, Name: r.Name, Definition: d, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

// Save creates (id 0) or replaces a segment. Bad input is a
// *store.FieldError ("definition.rules[0].field") and stores nothing.
func (s *Service) Save(ctx context.Context, id uint64, in Input) (Segment, error) {
	if err := ctx.Err(); err != nil {
		return Segment{}, err
	}
	if len(in.Definition) == 0 {
		return Segment{}, fieldErr("definition", "must be given")
	}
	d, err := ParseDefinition(in.Definition, "definition")
	if err != nil {
		return Segment{}, err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return Segment{}, err
	}
	rec, err := s.db.SaveSegment(store.Segment{ID: id, Name: in.Name, Definition: raw})
	if err != nil {
		return Segment{}, err
	}
	return fromRecord(rec)
}

// Get returns segment id, or an error wrapping store.ErrNotFound.
func (s *Service) Get(id uint64) (Segment, error) {
	r, err := s.db.GetSegment(id)
	if err != nil {
		return Segment{}, err
	}
	return fromRecord(r)
}

// List returns every saved segment, oldest first.
func (s *Service) List() ([]Segment, error) {
	rs, err := s.db.Segments()
	if err != nil {
		return nil, err
	}
	out := make([]Segment, 0, len(rs))
	for _, r := range rs {
		seg, err := fromRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, seg)
	}
	return out, nil
}

// Delete removes segment id, unless the in-use check names a user (an
// error wrapping store.ErrConflict that says which).
func (s *Service) Delete(ctx context.Context, id uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.db.GetSegment(id); err != nil {
		return err
	}
	if fn := s.inUse.Load(); fn != nil {
		if what, used := (*fn)(id); used {
			return fmt.Errorf("segment %d is used by %s: %w", id, what, store.ErrConflict)
		}
	}
	return s.db.DeleteSegment(id)
}

// evaluate calls fn for every contact d chooses, in contact ID order. It
// checks d (a copy) first.
func (s *Service) evaluate(ctx context.Context, d Definition, fn func(*store.SegmentRow) error) error {
	d = cloneDefinition(d)
	if err := d.Check("definition"); err != nil {
		return err
	}
	e := newEvaluator(s.clock(), s.loc)
	n := 0
	return s.db.ScanSegment(scanOf(&d), func(row *store.SegmentRow) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ok, err := e.matchGroup(row, d.Match, d.Rules)
		if err != nil || !ok {
			return err
		}
		return fn(row)
	})
}

// leftOutReason says why row's number may not get marketing texts, or ""
// when it may.
func leftOutReason(row *store.SegmentRow) (string, error) {
	c, err := row.Consent()
	if err != nil {
		return "", err
	}
	switch consentState(c) {
	case "confirmed":
		return "", nil
	case "pending":
		return ReasonPending, nil
	case "opted_out":
		return ReasonOptedOut, nil
	}
	return ReasonNoConsent, nil
}

// memberOf builds row's member; a number without a contact gets the zone
// its number suggests, marked derived.
func memberOf(row *store.SegmentRow) (Member, error) {
	c, ok, err := row.Head()
	if err != nil {
		return Member{}, err
	}
	if !ok {
		zone := "UTC"
		if zones := compliance.NumberZones(row.Number); len(zones) > 0 {
			zone = zones[0].String()
		}
		return Member{Number: row.Number, TimeZone: zone, TimeZoneDerived: true}, nil
	}
	return Member{ContactID: c.ID, Number: c.Number, Name: c.Name, TimeZone: c.TimeZone, Language: c.Language,
		TimeZoneDerived: c.TimeZoneDerived}, nil
}

// admit adds row to a, or counts why it is left out.
func admit(a *Audience, row *store.SegmentRow, marketing bool) error {
	if marketing {
		reason, err := leftOutReason(row)
		if err != nil {
			return err
		}
		if reason != "" {
			a.LeftOut[reason]++
			return nil
		}
	}
	m, err := memberOf(row)
	if err != nil {
		return err
	}
	a.Members = append(a.Members, m)
	return nil
}

// Audience returns the contacts def chooses; with marketing, only the
// confirmed subscribers among them, the others counted by reason. A bad
// definition is a *store.FieldError naming the rule.
func (s *Service) Audience(ctx context.Context, def Definition, marketing bool) (Audience, error) {
	a := Audience{LeftOut: map[string]int{}}
	err := s.evaluate(ctx, def, func(row *store.SegmentRow) error { return admit(&a, row, marketing) })
	if err != nil {
		return Audience{}, err
	}
	return a, nil
}

// AudienceOf returns the audience of a pasted or uploaded list of numbers:
// each read as a phone number in the box's region (what is not one is
// left out as invalid_number, the first few kept in Invalid), each number
// once, with its contact when there is one; with marketing, only
// confirmed subscribers.
func (s *Service) AudienceOf(ctx context.Context, numbers []string, marketing bool) (Audience, error) {
	a := Audience{LeftOut: map[string]int{}}
	seen := make(map[string]bool, len(numbers))
	valid := make([]string, 0, len(numbers))
	for i, raw := range numbers {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Audience{}, err
			}
		}
		n, err := contacts.Normalize(raw, s.region)
		if err != nil {
			a.LeftOut[ReasonInvalidNumber]++
			if len(a.Invalid) < MaxInvalidShown {
				a.Invalid = append(a.Invalid, raw)
			}
			continue
		}
		if !seen[n] {
			seen[n] = true
			valid = append(valid, n)
		}
	}
	err := s.db.ScanNumbers(valid, func(row *store.SegmentRow) error { return admit(&a, row, marketing) })
	if err != nil {
		return Audience{}, err
	}
	// Contacts by ID, then numbers without one in the order given.
	slices.SortStableFunc(a.Members, func(x, y Member) int {
		switch {
		case x.ContactID == 0 && y.ContactID == 0:
			return 0
		case x.ContactID == 0:
			return 1
		case y.ContactID == 0:
			return -1
		}
		return cmp.Compare(x.ContactID, y.ContactID)
	})
	return a, nil
}

// Preview counts def's contacts and marketing audience and lists the
// first members, decoding no contact beyond those.
func (s *Service) Preview(ctx context.Context, def Definition) (Preview, error) {
	p := Preview{LeftOut: map[string]int{}, Members: []Member{}}
	err := s.evaluate(ctx, def, func(row *store.SegmentRow) error {
		p.Matched++
		reason, err := leftOutReason(row)
		if err != nil {
			return err
		}
		if reason != "" {
			p.LeftOut[reason]++
			return nil
		}
		p.Count++
		if len(p.Members) < PreviewMembers {
			m, err := memberOf(row)
			if err != nil {
				return err
			}
			p.Members = append(p.Members, m)
		}
		return nil
	})
	if err != nil {
		return Preview{}, err
	}
	return p, nil
}

// csvHeader are WriteCSV's columns.
var csvHeader = []string{"contact_id", "number", "name", "time_zone", "language", "marketing"}

// WriteCSV writes the contacts of segment id as CSV, by contact ID, with
// each one's marketing consent; cells a person typed are defused against
// spreadsheet formulas as the contacts export does.
func (s *Service) WriteCSV(ctx context.Context, w io.Writer, id uint64) error {
	seg, err := s.Get(id)
	if err != nil {
		return err
	}
	// The rows are gathered first, so no read transaction stays open
	// while a slow client downloads.
	var rows [][]string
	err = s.evaluate(ctx, seg.Definition, func(row *store.SegmentRow) error {
		m, err := memberOf(row)
		if err != nil {
			return err
		}
		c, err := row.Consent()
		if err != nil {
			return err
		}
		rows = append(rows, []string{strconv.FormatUint(m.ContactID, 10), m.Number, contacts.CSVSafe(m.Name),
			m.TimeZone, m.Language, consentState(c)})
		return nil
	})
	if err != nil {
		var fe *store.FieldError
		if errors.As(err, &fe) {
			return fmt.Errorf("segments: saved segment %d no longer reads: %w", id, err)
		}
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

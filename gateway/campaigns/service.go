// Package campaigns sends one-off texts to an audience: a sale announced to
// a segment at a time, in each recipient's own time zone if asked, A/B
// tested against a holdout. Planning turns the audience into members (each
// with a variant, a send time and a text) and hands the texts to the
// outbox in batches that commit the members with them, so a crash during
// planning resumes where it stopped and never texts anyone twice. The
// guard judges every text when it is due, as any other.
package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

// Member is one person of an audience.
type Member struct {
	ContactID       uint64 `json:"contact_id,omitempty"`
	Number          string `json:"number"`
	Name            string `json:"name,omitempty"`
	TimeZone        string `json:"time_zone,omitempty"`
	Language        string `json:"language,omitempty"`
	TimeZoneDerived bool   `json:"time_zone_derived,omitempty"`
}

// AudienceResult is an evaluated audience: its members in a stable order
// (contact ID), and who was left out and why.
type AudienceResult struct {
	Members []Member       `json:"members"`
	LeftOut map[string]int `json:"left_out,omitempty"` // reason → count
	Invalid []string       `json:"invalid,omitempty"`  // the first few raw inputs that are no number
}

// Audiences evaluates segments (package gateway/segments, wired by New).
// For marketing, only confirmed subscribers are members.
type Audiences interface {
	Audience(ctx context.Context, segment json.RawMessage, marketing bool) (AudienceResult, error)
	AudienceOf(ctx context.Context, numbers []string, marketing bool) (AudienceResult, error)
	// Segment returns a saved segment's name and rules (ErrNotFound, or a
	// *store.FieldError naming "audience.segment_id").
	Segment(ctx context.Context, id uint64) (name string, rules json.RawMessage, err error)
	// CheckSegment validates rules, naming the field under
	// "audience.segment".
	CheckSegment(rules json.RawMessage) error
}

// Outbox is where the texts go; *outbox.Queue is one.
type Outbox interface {
	NewSubmission(r outbox.SubmitRequest) (store.Message, error)
	Published(ms []store.Message)
	Modems() []outbox.ModemStatus
}

// Shortener makes the short links of rendered texts (package
// gateway/links): Assign gives each link a fresh code without storing it
// (the planning batch stores the links with the texts); Preview gives a
// text as long as the sent one.
type Shortener interface {
	Assign(rendered []string, owners []LinkOwner) ([]string, [][]store.Link, error)
	Preview(rendered string, marketing bool) (string, error)
}

// LinkOwner is whose short links a text's are: the number, the origin
// ("campaign:5:variant:a") and the text's key; Marketing says every URL of
// the text is shortened, not only those printed by link.
type LinkOwner struct {
	Number, Origin, Key string
	Marketing           bool
}

// Results are the measured outcomes of an origin ("campaign:5",
// "campaign:5:variant:a"), from the attribution room.
type Results interface {
	Results(key string) (OriginResults, error)
}

// OriginResults are the figures the campaign page and the test-first
// decision read.
type OriginResults struct {
	Sent           int64 `json:"sent"`
	Delivered      int64 `json:"delivered"`
	Failed         int64 `json:"failed"`
	UniqueClicks   int64 `json:"unique_clicks"`
	Orders         int64 `json:"orders"`
	MembersOrdered int64 `json:"members_ordered"`
}

// BestHours are the hours of the day numbers clicked most in the past, on
// their own clocks (the attribution room's click counters), for the
// best_hour schedule: BestHour of one number (ok false: it never
// clicked), BestHourOf a whole audience (ok false: no click in the box).
type BestHours interface {
	BestHour(number string) (hour int, ok bool, err error)
	BestHourOf(numbers []string) (hour int, ok bool, err error)
}

// Prices give the price of one part sent by a SIM (the attribution room's
// cost settings); ok is false when none is set.
type Prices interface {
	PartPrice(modem string) (minor int64, currency string, ok bool)
}

// Templates reads saved templates.
type Templates interface {
	Template(id uint64) (name, body string, marketing bool, err error)
}

// Policy gives the compliance settings.
type Policy interface {
	Settings() compliance.Settings
}

// Config wires a Service. DB, Outbox, Audiences, Policy are required.
type Config struct {
	DB        *store.DB
	Outbox    Outbox
	Audiences Audiences
	Templates Templates
	Shortener Shortener // nil: links stay as written
	Results   Results   // nil: no figures beyond the plan
	Prices    Prices    // nil: no cost
	BestHours BestHours // nil: best_hour sends at the schedule's time
	Policy    Policy
	Log       *slog.Logger
	Clock     func() time.Time
	// Zone is the shop's zone, for "at" schedules and the dry run's days.
	Zone *time.Location
	// BatchSize is how many members one planning transaction records.
	BatchSize int
	// NewLinkCode makes a short link code when one the Shortener gave is
	// taken by the time the batch commits (links.NewCode).
	NewLinkCode func() (string, error)
}

// DefaultBatchSize keeps a planning commit short (the API's writes wait
// behind it) while sharing each fsync among many texts.
const DefaultBatchSize = 500

// Service runs campaigns.
type Service struct {
	cfg  Config
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}

	mu       sync.Mutex
	planning map[uint64]bool // campaigns being planned now
}

// New makes a Service; Run plans and advances campaigns.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Zone == nil {
		cfg.Zone = time.Local
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	return &Service{cfg: cfg, db: cfg.DB, log: cfg.Log, now: cfg.Clock, wake: make(chan struct{}, 1), planning: map[uint64]bool{}}
}

// SetResults wires the attribution room's results after New (the rooms are
// made in turn).
func (s *Service) SetResults(r Results) { s.cfg.Results = r }

// SetPrices wires the SIM prices after New.
func (s *Service) SetPrices(p Prices) { s.cfg.Prices = p }

// bestHours gives each member's hour for a best_hour schedule: its own,
// else the audience's, else -1 (the schedule's time).
type bestHours struct {
	src      BestHours
	fallback int
}

func (s *Service) bestHoursFor(p plan, members []Member) (*bestHours, error) {
	if p.def.Schedule.Mode != ScheduleBestHour || s.cfg.BestHours == nil {
		return nil, nil
	}
	numbers := make([]string, len(members))
	for i, m := range members {
		numbers[i] = m.Number
	}
	h, ok, err := s.cfg.BestHours.BestHourOf(numbers)
	if err != nil {
		return nil, err
	}
	b := &bestHours{src: s.cfg.BestHours, fallback: -1}
	if ok {
		b.fallback = h
	}
	return b, nil
}

// of is m's hour, or -1.
func (b *bestHours) of(m Member) (int, error) {
	if b == nil {
		return -1, nil
	}
	h, ok, err := b.src.BestHour(m.Number)
	if err != nil || !ok {
		return b.fallback, err
	}
	return h, nil
}

// Wake makes Run look at the campaigns now (a campaign was sent or
// resumed, the clock jumped).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Campaign is a campaign as the API and console show it.
type Campaign struct {
	ID         uint64     `json:"id"`
	Name       string     `json:"name"`
	State      string     `json:"state"`
	Definition Definition `json:"definition"`
	StartAt    time.Time  `json:"start_at,omitempty"`
	// Phase is "test" while the test part of a test-first campaign is
	// planned and measured, "rest" after.
	Phase string `json:"phase,omitempty"`
	// Planned counts the members planned per variant (holdout included);
	// Texts is the number of texts among them.
	Planned map[string]int64 `json:"planned"`
	Texts   int64            `json:"texts"`
	Holdout int64            `json:"holdout"`
	Skipped map[string]int64 `json:"skipped,omitempty"`
	// FirstAt and LastAt bound the planned send times.
	FirstAt time.Time `json:"first_at,omitempty"`
	LastAt  time.Time `json:"last_at,omitempty"`
	// DecideAt is when a test-first campaign picks its winner.
	DecideAt time.Time `json:"decide_at,omitempty"`
	Decision *Decision `json:"decision,omitempty"`
	// AwaitingPick: the test found no clear winner; the owner picks.
	AwaitingPick bool   `json:"awaiting_pick,omitempty"`
	Picked       string `json:"picked,omitempty"`
	Note         string `json:"note,omitempty"`
	// Results are the measured outcomes (when the attribution room is
	// wired): the campaign's, and per variant.
	Results   *OriginResults           `json:"results,omitempty"`
	ByVariant map[string]OriginResults `json:"by_variant,omitempty"`
	CreatedAt time.Time                `json:"created_at"`
	UpdatedAt time.Time                `json:"updated_at"`
}

// extra is the room's own state in store.Campaign.Extra.
type extra struct {
	FirstAt  time.Time `json:"first_at,omitempty"`
	LastAt   time.Time `json:"last_at,omitempty"`
	DecideAt time.Time `json:"decide_at,omitempty"`
	// TestDone: the test phase is planned; the rest waits for DecideAt.
	TestDone     bool      `json:"test_done,omitempty"`
	Decision     *Decision `json:"decision,omitempty"`
	AwaitingPick bool      `json:"awaiting_pick,omitempty"`
	Picked       string    `json:"picked,omitempty"`
	// Hours counts the texts planned per Unix hour, for the throttle.
	Hours map[int64]int `json:"hours,omitempty"`
}

func readExtra(c store.Campaign) extra {
	var x extra
	if len(c.Extra) > 0 {
		_ = json.Unmarshal(c.Extra, &x) // written by this package only
	}
	return x
}

func (x extra) raw() json.RawMessage {
	b, _ := json.Marshal(x)
	return b
}

func (s *Service) view(c store.Campaign) Campaign {
	var def Definition
	_ = json.Unmarshal(c.Definition, &def)
	x := readExtra(c)
	out := Campaign{ID: c.ID, Name: c.Name, State: string(c.State), Definition: def, StartAt: c.StartAt, Phase: c.Phase,
		Planned: map[string]int64{}, Skipped: c.Skipped, FirstAt: x.FirstAt, LastAt: x.LastAt, DecideAt: x.DecideAt,
		Decision: x.Decision, AwaitingPick: x.AwaitingPick, Picked: x.Picked, Note: c.Note,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	for k, n := range c.Planned {
		out.Planned[k] = n
		if k == store.HoldoutVariant {
			out.Holdout += n
		} else {
			out.Texts += n
		}
	}
	if s.cfg.Results != nil && c.State != store.CampaignDraft {
		if r, err := s.cfg.Results.Results(store.CampaignExitKey(c.ID)); err == nil {
			out.Results = &r
		}
		out.ByVariant = map[string]OriginResults{}
		for k := range c.Planned {
			if k == store.HoldoutVariant {
				continue
			}
			if r, err := s.cfg.Results.Results(Origin(c.ID, k)); err == nil {
				out.ByVariant[k] = r
			}
		}
	}
	return out
}

// Get returns campaign id.
func (s *Service) Get(id uint64) (Campaign, error) {
	c, err := s.db.GetCampaign(id)
	if err != nil {
		return Campaign{}, err
	}
	return s.view(c), nil
}

// List returns every campaign, newest first.
func (s *Service) List() ([]Campaign, error) {
	cs, err := s.db.Campaigns()
	if err != nil {
		return nil, err
	}
	out := make([]Campaign, len(cs))
	for i, c := range cs {
		out[i] = s.view(c)
	}
	return out, nil
}

// Create validates def fully (the audience evaluated, the text rendered
// for a member) and stores it as a draft; bad input is a
// *store.FieldError naming the field, and nothing is stored.
func (s *Service) Create(ctx context.Context, def Definition) (Campaign, error) {
	p, _, err := s.prepare(ctx, def)
	if err != nil {
		return Campaign{}, err
	}
	raw, err := json.Marshal(p.def)
	if err != nil {
		return Campaign{}, err
	}
	c, err := s.db.CreateCampaign(store.Campaign{Name: p.def.Name, State: store.CampaignDraft, Definition: raw})
	if err != nil {
		return Campaign{}, err
	}
	return s.view(c), nil
}

// Update replaces a draft's definition, validated as by Create.
func (s *Service) Update(ctx context.Context, id uint64, def Definition) (Campaign, error) {
	if _, err := s.draft(id); err != nil {
		return Campaign{}, err
	}
	p, _, err := s.prepare(ctx, def)
	if err != nil {
		return Campaign{}, err
	}
	raw, err := json.Marshal(p.def)
	if err != nil {
		return Campaign{}, err
	}
	c, err := s.db.UpdateCampaign(id, func(c *store.Campaign) error {
		if c.State != store.CampaignDraft {
			return fmt.Errorf("%w: a %s campaign cannot be edited", store.ErrConflict, c.State)
		}
		c.Name, c.Definition = p.def.Name, raw
		return nil
	})
	if err != nil {
		return Campaign{}, err
	}
	return s.view(c), nil
}

func (s *Service) draft(id uint64) (store.Campaign, error) {
	c, err := s.db.GetCampaign(id)
	if err != nil {
		return c, err
	}
	if c.State != store.CampaignDraft {
		return c, fmt.Errorf("%w: a %s campaign cannot be edited", store.ErrConflict, c.State)
	}
	return c, nil
}

// Delete removes a draft.
func (s *Service) Delete(id uint64) error { return s.db.DeleteCampaign(id) }

// prepare snapshots the saved segment and template into def, validates
// everything and evaluates the audience: a marketing campaign whose
// audience holds no confirmed subscriber is refused.
func (s *Service) prepare(ctx context.Context, def Definition) (plan, AudienceResult, error) {
	now := s.now()
	p, err := normalise(def, now, s.cfg.Zone)
	if err != nil {
		return p, AudienceResult{}, err
	}
	d := &p.def
	if d.Audience.SegmentID != 0 {
		name, rules, err := s.cfg.Audiences.Segment(ctx, d.Audience.SegmentID)
		if errors.Is(err, store.ErrNotFound) {
			return p, AudienceResult{}, fieldErr("audience.segment_id", "no saved segment %d", d.Audience.SegmentID)
		}
		if err != nil {
			return p, AudienceResult{}, err
		}
		d.Audience.SegmentName, d.Audience.Segment = name, rules
	} else if len(d.Audience.Segment) > 0 {
		if err := s.cfg.Audiences.CheckSegment(d.Audience.Segment); err != nil {
			return p, AudienceResult{}, err
		}
	}
	if d.Template.ID != 0 {
		if s.cfg.Templates == nil {
			return p, AudienceResult{}, fieldErr("template.template_id", "saved templates are not available")
		}
		name, body, marketing, err := s.cfg.Templates.Template(d.Template.ID)
		if errors.Is(err, store.ErrNotFound) {
			return p, AudienceResult{}, fieldErr("template.template_id", "no saved template %d", d.Template.ID)
		}
		if err != nil {
			return p, AudienceResult{}, err
		}
		d.Template.Name, d.Template.Body = name, body
		p.kind, d.Kind = store.KindTransactional, "transactional"
		if marketing {
			p.kind, d.Kind = store.KindMarketing, "marketing"
		}
	}
	if _, err := p.templates(); err != nil {
		return p, AudienceResult{}, err
	}
	aud, err := s.audience(ctx, p)
	if err != nil {
		return p, AudienceResult{}, err
	}
	if p.kind == store.KindMarketing && len(aud.Members) == 0 {
		return p, aud, fieldErr("audience", "no one in it has confirmed marketing consent (%s)", leftOutWords(aud.LeftOut))
	}
	// Every variant's text must render for a member and pass the outbox's
	// checks (the brand of a marketing text, the length).
	sample := Member{Number: "+12015550123"}
	if len(aud.Members) > 0 {
		sample = aud.Members[0]
	}
	contacts, err := s.db.ContactsByID([]uint64{sample.ContactID})
	if err != nil {
		return p, aud, err
	}
	tmpls, _ := p.templates()
	for i := range p.variants {
		field := "template.body"
		if p.variants[i].Body != "" {
			field = fmt.Sprintf("variants[%d].body", i)
		}
		text, err := renderFor(tmpls[i], sample, contacts)
		if err != nil {
			return p, aud, fieldErr(field, "cannot be filled in for %s: %v", sample.Number, err)
		}
		if s.cfg.Shortener != nil {
			if text, err = s.cfg.Shortener.Preview(text, p.kind == store.KindMarketing); err != nil {
				return p, aud, fieldErr(field, "%v", err)
			}
		}
		if _, err := s.cfg.Outbox.NewSubmission(outbox.SubmitRequest{To: sample.Number, Text: text, Kind: p.kind}); err != nil {
			var fe *store.FieldError
			if errors.As(err, &fe) && fe.Field == "text" {
				return p, aud, fieldErr(field, "%s", fe.Message)
			}
			return p, aud, err
		}
	}
	return p, aud, nil
}

// audience evaluates p's audience.
func (s *Service) audience(ctx context.Context, p plan) (AudienceResult, error) {
	marketing := p.kind == store.KindMarketing
	var aud AudienceResult
	var err error
	if len(p.def.Audience.Numbers) > 0 {
		aud, err = s.cfg.Audiences.AudienceOf(ctx, p.def.Audience.Numbers, marketing)
	} else {
		aud, err = s.cfg.Audiences.Audience(ctx, p.def.Audience.Segment, marketing)
	}
	if err != nil {
		var fe *store.FieldError
		if errors.As(err, &fe) && len(p.def.Audience.Numbers) == 0 && !hasPrefix(fe.Field, "audience") {
			return aud, &store.FieldError{Field: "audience.segment." + fe.Field, Message: fe.Message}
		}
		return aud, err
	}
	return aud, nil
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// Send starts a draft: planning begins at once (mode now and local, whose
// texts then wait for their times in the queue) or at the moment of mode
// at. A schedule that has passed since the draft was saved is refused.
func (s *Service) Send(ctx context.Context, id uint64) (Campaign, error) {
	c, err := s.draft(id)
	if err != nil {
		return Campaign{}, err
	}
	var def Definition
	if err := json.Unmarshal(c.Definition, &def); err != nil {
		return Campaign{}, err
	}
	p, _, err := s.prepare(ctx, def)
	if err != nil {
		return Campaign{}, err
	}
	now := s.now()
	start := now
	if p.def.Schedule.Mode == ScheduleAt {
		start = p.start
	}
	c, err = s.db.UpdateCampaign(id, func(c *store.Campaign) error {
		if c.State != store.CampaignDraft {
			return fmt.Errorf("%w: the campaign is %s already", store.ErrConflict, c.State)
		}
		c.State, c.StartAt, c.Cursor = store.CampaignScheduled, start, ""
		if p.def.TestFirst != nil {
			c.Phase = "test"
		}
		return nil
	})
	if err != nil {
		return Campaign{}, err
	}
	s.Wake()
	return s.view(c), nil
}

// holdBatch bounds the texts one pause or resume transaction moves.
const holdBatch = 1000

// Pause stops a sending campaign: planning stops and its queued texts are
// held back (due far ahead, marked "campaign paused") until Resume; texts
// already handed to a modem go on.
func (s *Service) Pause(ctx context.Context, id uint64, by string) (Campaign, error) {
	c, err := s.db.UpdateCampaign(id, func(c *store.Campaign) error {
		if c.State != store.CampaignSending && c.State != store.CampaignScheduled {
			return fmt.Errorf("%w: a %s campaign cannot be paused", store.ErrConflict, c.State)
		}
		c.State, c.Note = store.CampaignPaused, "paused"+byWhom(by)
		return nil
	})
	if err != nil {
		return Campaign{}, err
	}
	for more := true; more; {
		var ms []store.Message
		if ms, more, err = s.db.HoldCampaignTexts(id, holdBatch); err != nil {
			return Campaign{}, err
		}
		s.cfg.Outbox.Published(ms)
	}
	return s.view(c), nil
}

// Resume undoes Pause: the held texts are due again (not before their
// planned times) and planning goes on.
func (s *Service) Resume(ctx context.Context, id uint64, by string) (Campaign, error) {
	c, err := s.db.UpdateCampaign(id, func(c *store.Campaign) error {
		if c.State != store.CampaignPaused {
			return fmt.Errorf("%w: a %s campaign cannot be resumed", store.ErrConflict, c.State)
		}
		c.State, c.Note = store.CampaignSending, "resumed"+byWhom(by)
		if c.StartAt.After(s.now()) {
			c.State = store.CampaignScheduled
		}
		return nil
	})
	if err != nil {
		return Campaign{}, err
	}
	for more := true; more; {
		var ms []store.Message
		if ms, more, err = s.db.ReleaseCampaignTexts(id, s.now(), holdBatch); err != nil {
			return Campaign{}, err
		}
		s.cfg.Outbox.Published(ms)
	}
	s.Wake()
	return s.view(c), nil
}

// Cancel ends a campaign: every text of it not yet handed to a modem is
// withdrawn at once (one transaction), and nothing more is planned.
func (s *Service) Cancel(ctx context.Context, id uint64, by string) (Campaign, error) {
	c, _, err := s.db.CancelCampaign(id, "cancelled"+byWhom(by))
	if err != nil {
		return Campaign{}, err
	}
	return s.view(c), nil
}

// Pick chooses the variant sent to the rest of a test-first campaign whose
// test found no clear winner.
func (s *Service) Pick(ctx context.Context, id uint64, variant string, by string) (Campaign, error) {
	c, err := s.db.UpdateCampaign(id, func(c *store.Campaign) error {
		x := readExtra(*c)
		if !x.AwaitingPick {
			return fmt.Errorf("%w: the campaign is not waiting for a pick", store.ErrConflict)
		}
		var def Definition
		if err := json.Unmarshal(c.Definition, &def); err != nil {
			return err
		}
		found := false
		for _, v := range def.Variants {
			found = found || v.Key == variant
		}
		if !found {
			return fieldErr("variant", "must be one of the campaign's variants")
		}
		x.AwaitingPick, x.Picked = false, variant
		c.Extra, c.Phase, c.Cursor = x.raw(), "rest", ""
		c.Note = "variant " + variant + " picked" + byWhom(by)
		return nil
	})
	if err != nil {
		return Campaign{}, err
	}
	s.Wake()
	return s.view(c), nil
}

func byWhom(by string) string {
	if by == "" {
		return ""
	}
	return " by " + by
}

// MemberRecord is one person a campaign planned: the variant they were
// assigned (or the holdout), when their text was planned and which text.
type MemberRecord struct {
	Number    string    `json:"number"`
	ContactID uint64    `json:"contact_id,omitempty"`
	Variant   string    `json:"variant"`
	At        time.Time `json:"at"`
	MessageID uint64    `json:"message_id,omitempty"`
}

// MaxMembersPage bounds a page of Members.
const MaxMembersPage = 1000

// Members returns up to limit members of campaign id in number order,
// after the number after, and the cursor of the next page ("" at the end).
func (s *Service) Members(id uint64, after string, limit int) ([]MemberRecord, string, error) {
	if _, err := s.db.GetCampaign(id); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > MaxMembersPage {
		limit = MaxMembersPage
	}
	ms, more, err := s.db.CampaignMembers(id, after, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]MemberRecord, len(ms))
	for i, m := range ms {
		out[i] = MemberRecord{Number: m.Number, ContactID: m.ContactID, Variant: m.Variant, At: m.At, MessageID: m.MessageID}
	}
	next := ""
	if more && len(out) > 0 {
		next = out[len(out)-1].Number
	}
	return out, next, nil
}

package compliance

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/simgate/simgate/store"
)

// Window is a span of local clock time in which marketing texts may go,
// [Start, End) in minutes after midnight.
type Window struct {
	Start int // minutes after midnight, 0..1439
	End   int // minutes after midnight, Start < End <= 1440
}

// String formats the window as "08:00-21:00".
func (w Window) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
}

// MarshalText writes the window as "08:00-21:00", in the API and on disk.
func (w Window) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText reads "08:00-21:00".
func (w *Window) UnmarshalText(b []byte) error {
	parsed, err := ParseWindow("window", string(b))
	if err != nil {
		return err
	}
	*w = parsed
	return nil
}

// Default windows (docs/compliance.md R-QH): the federal US telephone
// solicitation rule allows 08:00-21:00; FL, OK, MD, WA and CT allow only
// 08:00-20:00.
var (
	DefaultQuietWindow  = Window{Start: 8 * 60, End: 21 * 60}
	DefaultStrictWindow = Window{Start: 8 * 60, End: 20 * 60}
)

// Frequency cap bounds (R-MINI-TCPA-FREQ): one marketing text per rolling
// 24 h by default, never more than three.
const (
	DefaultMarketingPer24h = 1
	MaxMarketingPer24h     = 3
	CapWindow              = 24 * time.Hour
)

// MinBodyRetention is the shortest age at which message bodies may be
// purged: the purge only blanks texts, rows stay for the 4-year TCPA
// evidence period (R-RECORD).
const MinBodyRetention = 30 * 24 * time.Hour

// Disclosure is one version of the consent text shown where numbers are
// collected. Every opt-in records the version it was given under.
type Disclosure = store.Disclosure

// ReplyTemplates are the box's own texts. Each may use {brand},
// {frequency} and {support}, filled from the settings when sent.
type ReplyTemplates struct {
	// OptInConfirmation is the first text after an opt-in (R-OPTIN-2).
	OptInConfirmation string `json:"opt_in_confirmation"`
	// DoubleOptInRequest asks a pending number to reply YES (R-DOI).
	DoubleOptInRequest string `json:"double_opt_in_request"`
	// OptOutConfirmation answers the first STOP (R-STOP-3).
	OptOutConfirmation string `json:"opt_out_confirmation"`
	// Help answers HELP/INFO (R-HELP).
	Help string `json:"help"`
}

// Settings are the shop's rules for marketing texts.
type Settings struct {
	Brand          string `json:"brand"`           // named in every reply and marketing text
	SupportContact string `json:"support_contact"` // phone, email or URL given in HELP replies
	Frequency      string `json:"frequency"`       // "up to 4 msgs/month", quoted in confirmations
	TermsURL       string `json:"terms_url,omitempty"`
	PrivacyURL     string `json:"privacy_url,omitempty"`
	// Disclosure is the current consent text; older versions stay on record.
	Disclosure Disclosure `json:"disclosure"`
	// JoinKeyword opts a number in by text (besides START after a keyword
	// opt-out); matched after trimming and case folding.
	JoinKeyword string         `json:"join_keyword"`
	Replies     ReplyTemplates `json:"replies"`

	// QuietDefault is the allowed window where no stricter one applies;
	// QuietStrict applies to US area codes of FL, OK, MD, WA and CT.
	QuietDefault Window `json:"quiet_default"`
	QuietStrict  Window `json:"quiet_strict"`
	// QuietCountries overrides the window per country (ISO 3166 region
	// such as "FR").
	QuietCountries map[string]Window `json:"quiet_countries,omitempty"`
	// MarketingPer24h is the frequency cap: marketing texts per number per
	// rolling 24 h, counted across all SIMs (1..3).
	MarketingPer24h int `json:"marketing_per_24h"`
	// BodyRetentionDays: message bodies older than this many days are
	// blanked by the purge job; zero keeps them. Rows and the consent ledger
	// stay (R-RECORD).
	BodyRetentionDays int `json:"body_retention_days"`

	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// ErrNoBrand is why marketing cannot start on a box without a brand.
var ErrNoBrand = errors.New("set the brand name in Settings → Compliance first: every marketing text and reply must name it")

// Defaults are the settings a new box starts with: the safe rules switched
// on, and no brand, so that marketing waits for the shop to name itself.
func Defaults() Settings {
	return Settings{
		JoinKeyword:     "JOIN",
		Replies:         defaultReplyTemplates(),
		QuietDefault:    DefaultQuietWindow,
		QuietStrict:     DefaultStrictWindow,
		MarketingPer24h: DefaultMarketingPer24h,
	}
}

// BodyRetention is how old a message body gets before the purge blanks
// it; zero means never.
func (s Settings) BodyRetention() time.Duration {
	return time.Duration(s.BodyRetentionDays) * 24 * time.Hour
}

// Clone returns a copy of s that shares no map with it.
func (s Settings) Clone() Settings {
	c := s
	if s.QuietCountries != nil {
		c.QuietCountries = make(map[string]Window, len(s.QuietCountries))
		for k, v := range s.QuietCountries {
			c.QuietCountries[k] = v
		}
	}
	return c
}

func (w Window) validate(field string) error {
	if w.Start < 0 || w.Start >= 24*60 || w.End <= w.Start || w.End > 24*60 {
		return &store.FieldError{Field: field, Message: fmt.Sprintf(
			"must be a window of local time with start before end, such as 08:00-21:00 (got %s)", w)}
	}
	return nil
}

// ParseWindow reads "08:00-21:00" (24:00 is allowed as an end).
func ParseWindow(field, text string) (Window, error) {
	var h1, m1, h2, m2 int
	if _, err := fmt.Sscanf(text, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); err != nil || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 || h1 < 0 || h2 < 0 {
		return Window{}, &store.FieldError{Field: field, Message: fmt.Sprintf("%q is not a window like 08:00-21:00", text)}
	}
	w := Window{Start: h1*60 + m1, End: h2*60 + m2}
	return w, w.validate(field)
}

// Validate checks every field of s; the first bad one is returned as a
// *store.FieldError naming it.
func (s Settings) Validate() error {
	if ps := s.Problems(); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// Problems checks every field of s and returns a *store.FieldError for
// each bad one (the first problem of each field), in the order Validate
// checks them, so a form can mark them all at once.
func (s Settings) Problems() []error {
	var ps []error
	add := func(err error) {
		if err != nil {
			ps = append(ps, err)
		}
	}
	if len(s.Brand) > 40 {
		add(&store.FieldError{Field: "brand", Message: "is longer than 40 characters; it starts every marketing text"})
	}
	if s.Disclosure.Version != "" && len(s.Disclosure.Text) < 40 {
		add(&store.FieldError{Field: "disclosure.text", Message: "must state the brand, recurring automated marketing texts, frequency, " +
			"\"Msg&data rates may apply\", STOP/HELP and that consent is not a condition of purchase"})
	}
	if s.Disclosure.Text != "" && s.Disclosure.Version == "" {
		add(&store.FieldError{Field: "disclosure.version", Message: "is required with a disclosure text"})
	}
	add(s.QuietDefault.validate("quiet_default"))
	add(s.QuietStrict.validate("quiet_strict"))
	regions := make([]string, 0, len(s.QuietCountries))
	for region := range s.QuietCountries {
		regions = append(regions, region)
	}
	sort.Strings(regions) // the same problem first every time
	for _, region := range regions {
		if len(region) != 2 || region != strings.ToUpper(region) {
			add(&store.FieldError{Field: "quiet_countries", Message: fmt.Sprintf("%q is not a two-letter country code such as FR", region)})
			break
		}
		if err := s.QuietCountries[region].validate("quiet_countries." + region); err != nil {
			add(err)
			break
		}
	}
	if s.MarketingPer24h < 1 || s.MarketingPer24h > MaxMarketingPer24h {
		add(&store.FieldError{Field: "marketing_per_24h", Message: fmt.Sprintf("must be 1 to %d (state laws cap marketing at 3 per 24 h)", MaxMarketingPer24h)})
	}
	if s.BodyRetentionDays < 0 || s.BodyRetentionDays != 0 && s.BodyRetention() < MinBodyRetention {
		add(&store.FieldError{Field: "body_retention_days", Message: fmt.Sprintf("must be 0 (keep) or at least %d days", int(MinBodyRetention.Hours()/24))})
	}
	if strings.TrimSpace(s.JoinKeyword) == "" || strings.ContainsAny(strings.TrimSpace(s.JoinKeyword), " \t\n") {
		add(&store.FieldError{Field: "join_keyword", Message: "must be one word such as JOIN"})
	}
	return append(ps, replyTemplateProblems(s)...)
}

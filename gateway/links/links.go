// Package links makes the short links texts carry and follows them:
// Shorten replaces the URLs of a rendered text by <public_url>/l/<code>,
// Follow answers a click with the URL the code was made for and queues the
// click, and the queue is written to the store in batches (Run).
//
// Clicks are queued in memory and flushed every FlushEvery rather than
// written by each request (even through bbolt's Batch): a redirect then
// costs one read transaction and never waits for an fsync, which on the
// SD card of a small box takes milliseconds and would set the p99 of every
// click. The price is that a power cut loses the clicks of the last
// FlushEvery (250 ms by default); a clean stop flushes them. Clicks are
// statistics and a flow's "clicked" condition, not compliance evidence,
// and the customer's redirect does not depend on them.
package links

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/store"
)

// CodeLength is how many base62 characters a new code has: 62^7 ≈ 3.5
// trillion codes, so guessing one that exists among a shop's millions
// takes about a million tries per hit, and each costs a text's length
// only 7 characters.
const CodeLength = store.MinLinkCode

// Defaults of Config.
const (
	DefaultFlushEvery = 250 * time.Millisecond
	// DefaultQueueSize bounds the clicks waiting for a flush; a full queue
	// is flushed by the request that finds it full. 500 clicks a second
	// fill an eighth of it between two flushes.
	DefaultQueueSize = 1000
)

// Config is what New needs.
type Config struct {
	DB *store.DB
	// BaseURL is the public address short links are on
	// ("https://shop.example"), without a trailing slash. Empty: Shorten
	// refuses texts with links to shorten.
	BaseURL    string
	FlushEvery time.Duration
	QueueSize  int
	Clock      func() time.Time
	Log        *slog.Logger
	// Followed, when set, is told the origin of each link a person (not a
	// preview robot) followed, after the click is queued: the flows count
	// their clicks with it.
	Followed func(origin string)
}

// Owner is the text a link belongs to.
type Owner struct {
	Number string
	Origin string // "flow:3:entry:77:step:2", "console"
	// MessageKey is the idempotency key of the text: one code per
	// (MessageKey, URL), the same again when the text is made again.
	MessageKey string
	// Kind: in a marketing text every URL is shortened, unless raw; in a
	// transactional one only those printed by link.
	Kind store.Kind
}

// Service makes and follows short links.
type Service struct {
	cfg Config

	mu      sync.Mutex
	queue   []store.Click
	flushMu sync.Mutex // one flush at a time, so clicks are stored in order
}

// New makes the service; Run flushes its clicks.
func New(cfg Config) *Service {
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = DefaultFlushEvery
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Service{cfg: cfg}
}

// BaseURL is where the short links are.
func (s *Service) BaseURL() string { return s.cfg.BaseURL }

// ErrNoBaseURL is Shorten's answer when no public URL is configured.
var ErrNoBaseURL = errors.New("links: public_url is not set, so links cannot be shortened: set it in simgate.toml (docs/operations.md)")

// urlPattern finds the URLs of a marketing text's words. Trailing
// punctuation is the sentence's, not the URL's.
var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

const trailingPunct = ".,;:!?)]}'"

// plainURLs returns the spans [start, end) of the URLs in text.
func plainURLs(text string) [][2]int {
	var out [][2]int
	for _, m := range urlPattern.FindAllStringIndex(text, -1) {
		end := m[1]
		for end > m[0] && strings.ContainsRune(trailingPunct, rune(text[end-1])) {
			end--
		}
		out = append(out, [2]int{m[0], end})
	}
	return out
}

// piece is a part of a text to be put back together: words, or a URL to
// replace.
type piece struct {
	text    string
	shorten bool
}

// pieces cuts a rendered text into words and the URLs to shorten: those
// printed by link, and in a marketing text every other URL that raw did
// not print and that is not already a short link.
func (s *Service) pieces(text string, kind store.Kind) []piece {
	var out []piece
	for _, seg := range msgtemplate.Split(text) {
		switch {
		case seg.URL:
			out = append(out, piece{text: seg.Text, shorten: !seg.Raw})
		case kind == store.KindMarketing:
			last := 0
			for _, span := range plainURLs(seg.Text) {
				u := seg.Text[span[0]:span[1]]
				if (s.cfg.BaseURL != "" && strings.HasPrefix(u, s.cfg.BaseURL+"/l/")) || store.CheckLinkURL("url", u) != nil {
					continue
				}
				out = append(out, piece{text: seg.Text[last:span[0]]}, piece{text: u, shorten: true})
				last = span[1]
			}
			out = append(out, piece{text: seg.Text[last:]})
		default:
			out = append(out, piece{text: seg.Text})
		}
	}
	return out
}

// Shorten returns text (a render of msgtemplate, or plain words) with its
// links replaced by short links of o, and the marks of link and raw gone.
// Codes are stored before it returns; making the same text for the same
// owner again gives the same codes.
func (s *Service) Shorten(text string, o Owner) (string, error) {
	ps := s.pieces(text, o.Kind)
	var want []store.Link
	seen := map[string]bool{}
	for _, p := range ps {
		if p.shorten && !seen[p.text] {
			seen[p.text] = true
			want = append(want, store.Link{URL: p.text, Number: o.Number, Origin: o.Origin, MessageKey: o.MessageKey})
		}
	}
	if len(want) == 0 {
		return join(ps, nil), nil
	}
	if s.cfg.BaseURL == "" {
		return "", ErrNoBaseURL
	}
	stored, err := s.cfg.DB.EnsureLinks(want, NewCode)
	if err != nil {
		return "", err
	}
	short := make(map[string]string, len(stored))
	for _, l := range stored {
		short[l.URL] = s.cfg.BaseURL + "/l/" + l.Code
	}
	return join(ps, short), nil
}

// PreviewText is Shorten without storing anything: each link becomes a
// short link of the real length with a placeholder code, so the preview
// counts the characters the sent text will have.
func (s *Service) PreviewText(text string, kind store.Kind) (string, error) {
	ps := s.pieces(text, kind)
	short := map[string]string{}
	for _, p := range ps {
		if p.shorten {
			if s.cfg.BaseURL == "" {
				return "", ErrNoBaseURL
			}
			short[p.text] = s.cfg.BaseURL + "/l/" + strings.Repeat("x", CodeLength)
		}
	}
	return join(ps, short), nil
}

// Assign is Shorten for many texts, each with its owner, storing nothing:
// each link gets a fresh code, returned with the text that carries it, for
// a caller that stores the links in its own transaction with the texts (a
// campaign's planning batch, store.CampaignPlan.Links). One URL twice in a
// text is one link.
func (s *Service) Assign(texts []string, owners []Owner) ([]string, [][]store.Link, error) {
	if len(texts) != len(owners) {
		return nil, nil, fmt.Errorf("links: %d texts for %d owners", len(texts), len(owners))
	}
	out := make([]string, len(texts))
	made := make([][]store.Link, len(texts))
	for i, text := range texts {
		ps := s.pieces(text, owners[i].Kind)
		short := map[string]string{}
		for _, p := range ps {
			if !p.shorten || short[p.text] != "" {
				continue
			}
			if s.cfg.BaseURL == "" {
				return nil, nil, ErrNoBaseURL
			}
			code, err := NewCode()
			if err != nil {
				return nil, nil, err
			}
			o := owners[i]
			short[p.text] = s.cfg.BaseURL + "/l/" + code
			made[i] = append(made[i], store.Link{Code: code, URL: p.text, Number: o.Number, Origin: o.Origin, MessageKey: o.MessageKey})
		}
		out[i] = join(ps, short)
	}
	return out, made, nil
}

func join(ps []piece, short map[string]string) string {
	var b strings.Builder
	for _, p := range ps {
		if u, ok := short[p.text]; ok && p.shorten {
			b.WriteString(u)
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewCode makes a code of CodeLength base62 characters from crypto/rand.
// Bytes of 248 and above are drawn again, so each character is uniform.
func NewCode() (string, error) {
	out := make([]byte, 0, CodeLength)
	buf := make([]byte, CodeLength*2)
	for len(out) < CodeLength {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < 248 && len(out) < CodeLength {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out), nil
}

// ErrNotFound is Follow's answer for a code that does not exist.
var ErrNotFound = store.ErrNotFound

// Follow returns the URL of code and queues the click: a click by a
// person, or a preview (robot or HEAD) that does not count. The URL is
// the one stored when the text was made, never anything of the request.
func (s *Service) Follow(code, userAgent string, head bool) (string, error) {
	l, err := s.cfg.DB.LinkByCode(code)
	if err != nil {
		return "", err
	}
	agent, preview := Classify(userAgent, head)
	s.enqueue(store.Click{Code: l.Code, At: s.cfg.Clock().UTC(), Agent: agent, Preview: preview})
	if !preview && s.cfg.Followed != nil {
		s.cfg.Followed(l.Origin)
	}
	return l.URL, nil
}

func (s *Service) enqueue(c store.Click) {
	s.mu.Lock()
	s.queue = append(s.queue, c)
	full := len(s.queue) >= s.cfg.QueueSize
	s.mu.Unlock()
	if full {
		// Backpressure: the request that fills the queue writes it, so a
		// flood of clicks cannot grow memory without bound.
		if err := s.Flush(); err != nil {
			s.cfg.Log.Error("links: store clicks", "error", err)
		}
	}
}

// Flush writes the queued clicks in one transaction. On failure they stay
// queued for the next flush, up to QueueSize; the oldest beyond it are
// dropped and logged.
func (s *Service) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := s.cfg.DB.RecordClicks(batch)
	if err != nil {
		s.mu.Lock()
		s.queue = append(batch, s.queue...)
		if over := len(s.queue) - 4*s.cfg.QueueSize; over > 0 {
			s.cfg.Log.Warn("links: dropped clicks that could not be stored", "clicks", over)
			s.queue = s.queue[over:]
		}
		s.mu.Unlock()
	}
	return err
}

// Run flushes the queued clicks every FlushEvery until ctx is done, then
// once more.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.Flush(); err != nil {
				s.cfg.Log.Error("links: store clicks at stop", "error", err)
			}
			return
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.cfg.Log.Error("links: store clicks", "error", err)
			}
		}
	}
}

// Clicked reports whether number clicked a link of a text of origin.
func (s *Service) Clicked(number, origin string) (bool, error) {
	if err := s.Flush(); err != nil {
		return false, fmt.Errorf("links: store clicks: %w", err)
	}
	return s.cfg.DB.Clicked(number, origin)
}

// Stats sums the links of an origin prefix ("flow:3:").
func (s *Service) Stats(originPrefix string) (store.LinkStats, error) {
	if err := s.Flush(); err != nil {
		return store.LinkStats{}, fmt.Errorf("links: store clicks: %w", err)
	}
	return s.cfg.DB.LinkStatsOf(originPrefix)
}

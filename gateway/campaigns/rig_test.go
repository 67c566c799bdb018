package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type quiet struct{}

func (quiet) MessageChanged(store.Message)    {}
func (quiet) InboundReceived(store.Inbound)   {}
func (quiet) ModemChanged(outbox.ModemStatus) {}
func (quiet) RaiseAlert(_, _, _ string)       {}
func (quiet) ClearAlert(_, _ string)          {}

// storeAudiences is the segments room's part for these tests, over the
// real store: a segment is {"tag": "..."} (contacts with the tag), and a
// marketing audience keeps confirmed subscribers only.
type storeAudiences struct{ db *store.DB }

func (a storeAudiences) CheckSegment(rules json.RawMessage) error {
	var r struct {
		Tag string `json:"tag"`
	}
	if err := json.Unmarshal(rules, &r); err != nil || r.Tag == "" {
		return &store.FieldError{Field: "audience.segment.tag", Message: "unknown rule"}
	}
	return nil
}

func (a storeAudiences) Segment(ctx context.Context, id uint64) (string, json.RawMessage, error) {
	if id == 7 {
		return "VIPs", json.RawMessage(`{"tag":"vip"}`), nil
	}
	return "", nil, store.ErrNotFound
}

func (a storeAudiences) Audience(ctx context.Context, rules json.RawMessage, marketing bool) (AudienceResult, error) {
	if err := a.CheckSegment(rules); err != nil {
		return AudienceResult{}, err
	}
	var r struct {
		Tag string `json:"tag"`
	}
	_ = json.Unmarshal(rules, &r)
	var numbers []string
	err := a.db.EachContact(func(c store.Contact) error {
		if slices.Contains(c.Tags, r.Tag) {
			numbers = append(numbers, c.Number)
		}
		return nil
	})
	if err != nil {
		return AudienceResult{}, err
	}
	return a.AudienceOf(ctx, numbers, marketing)
}

func (a storeAudiences) AudienceOf(ctx context.Context, numbers []string, marketing bool) (AudienceResult, error) {
	out := AudienceResult{LeftOut: map[string]int{}}
	for _, n := range numbers {
		if len(n) < 8 || n[0] != '+' {
			out.LeftOut["invalid number"]++
			out.Invalid = append(out.Invalid, n)
			continue
		}
		m := Member{Number: n}
		c, err := a.db.ContactByNumber(n)
		if err == nil {
			m = Member{ContactID: c.ID, Number: n, Name: c.Name, TimeZone: c.TimeZone, Language: c.Language, TimeZoneDerived: c.TimeZoneDerived}
		} else if !errors.Is(err, store.ErrNotFound) {
			return out, err
		}
		if marketing {
			cs, err := a.db.Consent(n)
			if err != nil {
				return out, err
			}
			switch cs.Marketing {
			case store.MarketingConfirmed:
			case store.MarketingPending:
				out.LeftOut["pending"]++
				continue
			case store.MarketingOptedOut:
				out.LeftOut["opted out"]++
				continue
			default:
				out.LeftOut["no consent"]++
				continue
			}
		}
		out.Members = append(out.Members, m)
	}
	return out, nil
}

// fakeResults are figures a test sets per origin.
type fakeResults struct {
	mu sync.Mutex
	m  map[string]OriginResults
}

func (f *fakeResults) Results(key string) (OriginResults, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[key], nil
}

func (f *fakeResults) set(key string, r OriginResults) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]OriginResults{}
	}
	f.m[key] = r
}

type rig struct {
	t       *testing.T
	clk     *clock
	db      *store.DB
	queue   *outbox.Queue
	policy  *consent.Policy
	svc     *Service
	results *fakeResults
	ny      *time.Location
}

func newRig(t *testing.T) *rig {
	t.Helper()
	// Friday 4 December 2026, 12:00 in New York.
	clk := &clock{t: time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)}
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithClock(clk.now), store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &rig{t: t, clk: clk, db: db, results: &fakeResults{}}
	r.ny, _ = time.LoadLocation("America/New_York")
	if r.policy, err = consent.LoadPolicy(db, clk.now); err != nil {
		t.Fatal(err)
	}
	s := r.policy.Settings()
	s.Brand, s.SupportContact, s.Frequency = "Rosa's", "help@rosa.example", "up to 4 msgs/month"
	if err := r.policy.Save(s, "test"); err != nil {
		t.Fatal(err)
	}
	r.queue = outbox.New(outbox.Config{DB: db, Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: clk.now, Policy: r.policy, Notify: quiet{}})
	r.restart(nil)
	return r
}

// restart makes a new Service over the same file, as a new process does.
func (r *rig) restart(ob Outbox) {
	if ob == nil {
		ob = r.queue
	}
	r.svc = New(Config{DB: r.db, Outbox: ob, Audiences: storeAudiences{r.db},
		Shortener: LinkShortener(links.New(links.Config{DB: r.db, BaseURL: "https://go.rosa.example", Clock: r.clk.now})),
		Results:   r.results, Policy: r.policy, Clock: r.clk.now, Zone: r.ny, BatchSize: 7, NewLinkCode: links.NewCode})
}

// contact stores a contact with tags and, when consented, confirmed
// marketing consent.
func (r *rig) contact(number, zone string, consented bool, tags ...string) store.Contact {
	r.t.Helper()
	c, err := r.db.CreateContact(store.Contact{Number: number, Name: "Ann Lee", TimeZone: zone, Tags: tags})
	if err != nil {
		r.t.Fatal(err)
	}
	if consented {
		_, _, _, err := r.db.AppendConsent(store.ConsentEvent{Number: number, Type: store.EventOptIn, Purpose: store.PurposeMarketing,
			Method: store.MethodAPI, Source: "test"}, func(c *store.Consent) error {
			c.Marketing, c.ConfirmedAt = store.MarketingConfirmed, r.clk.now()
			return nil
		})
		if err != nil {
			r.t.Fatal(err)
		}
	}
	return c
}

// population stores n contacts tagged vip across three US zones, every
// fifth without consent, and returns the consented numbers.
func (r *rig) population(n int) (consented map[string]string) {
	r.t.Helper()
	zones := []string{"America/New_York", "America/Chicago", "America/Los_Angeles"}
	areas := []string{"212", "312", "213"}
	consented = map[string]string{}
	for i := range n {
		number := fmt.Sprintf("+1%s555%04d", areas[i%3], i)
		ok := i%5 != 4
		r.contact(number, zones[i%3], ok, "vip")
		if ok {
			consented[number] = zones[i%3]
		}
	}
	return consented
}

func (r *rig) create(def Definition) Campaign {
	r.t.Helper()
	c, err := r.svc.Create(context.Background(), def)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r *rig) send(id uint64) {
	r.t.Helper()
	if _, err := r.svc.Send(context.Background(), id); err != nil {
		r.t.Fatal(err)
	}
}

// step advances the campaign until it no longer moves.
func (r *rig) step(id uint64) Campaign {
	r.t.Helper()
	if err := r.svc.Step(context.Background(), id); err != nil {
		r.t.Fatal(err)
	}
	c, err := r.svc.Get(id)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r *rig) messages() []store.Message {
	r.t.Helper()
	var out []store.Message
	for before := uint64(0); ; {
		ms, next, err := r.db.List(store.ListFilter{Before: before, Limit: store.MaxListLimit})
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, ms...)
		if next == 0 {
			return out
		}
		before = next
	}
}

func (r *rig) members(id uint64) []store.CampaignMember {
	r.t.Helper()
	var out []store.CampaignMember
	after := ""
	for {
		page, more, err := r.db.CampaignMembers(id, after, 500)
		if err != nil {
			r.t.Fatal(err)
		}
		out = append(out, page...)
		if !more {
			return out
		}
		after = page[len(page)-1].Number
	}
}

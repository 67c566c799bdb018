package segments

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/store"
)

// The property test builds a random shop through the store's own APIs
// (contacts, consent, events, clicks, marketing admissions), then checks
// the service's answer for random definitions against an evaluator that
// reads the generated facts directly, without the store's indexes or
// activity summaries.

var testNow = time.Date(2026, 6, 15, 15, 30, 0, 0, time.UTC)

// fact is one thing a number did, as the model remembers it.
type fact struct {
	kind     string // "order", "view", "checkout", "click", "marketing"
	at       time.Time
	total    int64
	currency string
	checkout string
	product  string
}

// person is one contact of the model with everything about it.
type person struct {
	contact store.Contact
	consent string
	facts   []fact
}

var (
	testPrefixes = []string{"+1212555", "+1310555", "+1312555", "+1416555", "+1604555", "+4420794", "+336123"}
	testTags     = []string{"vip", "new", "gold"}
	testZones    = []string{"America/New_York", "America/Los_Angeles", "America/Chicago", "Europe/London", "Europe/Paris"}
	testLangs    = []string{"", "en", "en-US", "fr", "fr-CA", "es"}
	testCities   = []string{"", "Paris", "paris", "New York", "=HYPERLINK(1)"}
	testProducts = []string{"p1", "p2", "p3"}
)

func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomAt(r *rand.Rand, maxDays int) time.Time {
	return testNow.Add(-time.Duration(r.Int64N(int64(maxDays) * int64(day))))
}

// buildWorld stores n random people and returns the model of them.
func buildWorld(t testing.TB, db *store.DB, r *rand.Rand, n int) []person {
	t.Helper()
	var people []person
	for i := range n {
		p := person{}
		c := store.Contact{
			Number:    fmt.Sprintf("%s%04d", testPrefixes[r.IntN(len(testPrefixes))], i),
			Name:      fmt.Sprintf("Customer %d", i),
			TimeZone:  testZones[r.IntN(len(testZones))],
			Language:  testLangs[r.IntN(len(testLangs))],
			CreatedAt: randomAt(r, 400),
			Attributes: map[string]string{
				"city": testCities[r.IntN(len(testCities))],
			},
		}
		if r.IntN(3) > 0 {
			c.Attributes["points"] = strconv.Itoa(r.IntN(200))
		}
		if r.IntN(4) == 0 {
			c.Attributes["points"] = "lots"
		}
		if r.IntN(2) == 0 {
			c.Attributes["birthday"] = randomAt(r, 60).In(time.UTC).Format(time.DateOnly)
		}
		for _, tag := range testTags {
			if r.IntN(3) == 0 {
				c.Tags = append(c.Tags, tag)
			}
		}
		stored, err := db.CreateContact(c)
		if err != nil {
			t.Fatal(err)
		}
		p.contact = stored
		p.consent = ConsentStates[r.IntN(len(ConsentStates))]
		if p.consent != "none" {
			state := map[string]store.MarketingState{"confirmed": store.MarketingConfirmed, "pending": store.MarketingPending, "opted_out": store.MarketingOptedOut}[p.consent]
			all := p.consent == "opted_out" && r.IntN(2) == 0
			if _, _, _, err := db.AppendConsent(store.ConsentEvent{Number: c.Number, Type: store.EventOptIn, Purpose: store.PurposeMarketing, Method: store.MethodConsole},
				func(cs *store.Consent) error { cs.Marketing, cs.OptedOutAll = state, all; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		var evs []store.ShopEvent
		for j := range r.IntN(12) {
			f := fact{at: randomAt(r, 200)}
			ev := store.ShopEvent{ID: fmt.Sprintf("e%d-%d", i, j), Source: "api", Number: c.Number, OccurredAt: f.at}
			switch r.IntN(4) {
			case 0:
				f.kind, ev.Type = "order", "order_placed"
				f.total, f.currency = r.Int64N(10000), []string{"USD", "EUR"}[r.IntN(2)]
				ev.Total, ev.Currency, ev.OrderID = f.total, f.currency, fmt.Sprint(j)
				if r.IntN(2) == 0 {
					f.checkout = fmt.Sprintf("k%d", r.IntN(3))
					ev.CheckoutID = f.checkout
				}
			case 1:
				f.kind, ev.Type = "checkout", "checkout_started"
				f.checkout = fmt.Sprintf("k%d", r.IntN(3))
				ev.CheckoutID = f.checkout
			default:
				f.kind, ev.Type = "view", "product_viewed"
				f.product = testProducts[r.IntN(len(testProducts))]
				ev.Properties = json.RawMessage(fmt.Sprintf(`{"product_id":%q}`, f.product))
			}
			p.facts = append(p.facts, f)
			evs = append(evs, ev)
		}
		if len(evs) > 0 {
			if _, err := db.AppendEvents(evs); err != nil {
				t.Fatal(err)
			}
		}
		if r.IntN(2) == 0 {
			code := fmt.Sprintf("L%06d", i)
			if _, err := db.EnsureLinks([]store.Link{{URL: "https://shop.example/", Number: c.Number, MessageKey: "m" + code}},
				func() (string, error) { return code, nil }); err != nil {
				t.Fatal(err)
			}
			var clicks []store.Click
			for range 1 + r.IntN(3) {
				at := randomAt(r, 120)
				p.facts = append(p.facts, fact{kind: "click", at: at})
				clicks = append(clicks, store.Click{Code: code, At: at, Agent: "browser"})
			}
			if err := db.RecordClicks(clicks); err != nil {
				t.Fatal(err)
			}
		}
		for range r.IntN(3) {
			at := randomAt(r, 120)
			p.facts = append(p.facts, fact{kind: "marketing", at: at})
			m, _, err := db.Enqueue(store.Message{To: c.Number, Text: "sale", Kind: store.KindMarketing,
				Parts: []store.Part{{Seq: 1, MR: -1, Status: store.StatusQueued}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.AdmitSend(m.ID, func(m *store.Message, _ *store.Consent, _ bool) error { m.AdmittedAt = at; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		people = append(people, p)
	}
	return people
}

// model evaluates definitions over the people directly.
type model struct {
	now time.Time
	loc *time.Location
}

func (m model) inWindow(t time.Time, days int) bool {
	from := m.now.AddDate(0, 0, 0).Add(-time.Duration(days) * 24 * time.Hour)
	return !t.IsZero() && (t.Equal(from) || t.After(from)) && !t.After(m.now)
}

func (m model) factsOf(p person, kind string) []fact {
	var out []fact
	for _, f := range p.facts {
		if f.kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func (m model) last(p person, kind string) time.Time {
	var t time.Time
	for _, f := range m.factsOf(p, kind) {
		if f.at.After(t) {
			t = f.at
		}
	}
	return t
}

func (m model) cmp(op string, a, b float64) bool {
	return map[string]bool{"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
}

func (m model) date(t time.Time, r Rule) bool {
	if r.Op == "within_days" {
		return m.inWindow(t, r.Days)
	}
	y, mo, d := t.In(m.loc).Date()
	day := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	switch r.Op {
	case "before":
		return day < r.Date
	case "after":
		return day > r.Date
	case "on":
		return day == r.Date
	}
	panic(r.Op)
}

func (m model) group(p person, match string, rules []Rule) bool {
	if len(rules) == 0 {
		return true
	}
	n := 0
	for _, r := range rules {
		if m.rule(p, r) {
			n++
		}
	}
	if match == "any" {
		return n > 0
	}
	return n == len(rules)
}

func (m model) rule(p person, r Rule) bool {
	c := p.contact
	in := func(v string) bool { return slices.Contains(r.Values, v) == (r.Op == "is") }
	switch r.Field {
	case "":
		return m.group(p, r.Match, r.Rules)
	case FieldTag:
		return slices.Contains(c.Tags, r.Value) == (r.Op == "has")
	case FieldCountry:
		num, _ := phonenumbers.Parse(c.Number, "")
		return in(phonenumbers.GetRegionCodeForNumber(num))
	case FieldAreaCode:
		num, _ := phonenumbers.Parse(c.Number, "")
		nsn := phonenumbers.GetNationalSignificantNumber(num)
		hit := false
		for _, v := range r.Values {
			hit = hit || strings.HasPrefix(nsn, v)
		}
		return hit == (r.Op == "is")
	case FieldTimeZone:
		return in(c.TimeZone)
	case FieldLanguage:
		hit := false
		for _, v := range r.Values {
			base, _, _ := strings.Cut(strings.ToLower(c.Language), "-")
			hit = hit || strings.EqualFold(c.Language, v) || (!strings.Contains(v, "-") && base == v && c.Language != "")
		}
		return hit == (r.Op == "is")
	case FieldCreated:
		return m.date(c.CreatedAt, r)
	case FieldConsent:
		return in(p.consent)
	case FieldAttribute:
		v := c.Attributes[r.Key]
		switch r.Op {
		case "set":
			return v != ""
		case "unset":
			return v == ""
		}
		switch r.Type {
		case "number":
			n, err := strconv.ParseFloat(v, 64)
			return err == nil && v != "" && m.cmp(r.Op, n, *r.Number)
		case "date":
			if v == "" {
				return false
			}
			t, err := time.ParseInLocation(time.DateOnly, v, m.loc)
			return err == nil && m.date(t, r)
		}
		switch r.Op {
		case "equals":
			return v != "" && strings.EqualFold(v, r.Value)
		case "not_equals":
			return !strings.EqualFold(v, r.Value) || v == ""
		case "contains":
			return v != "" && strings.Contains(strings.ToLower(v), strings.ToLower(r.Value))
		}
	case FieldOrdered:
		orders := m.factsOf(p, "order")
		recent := slices.ContainsFunc(orders, func(f fact) bool { return m.inWindow(f.at, r.Days) })
		return map[string]bool{"ever": len(orders) > 0, "never": len(orders) == 0, "within_days": recent, "not_within_days": !recent}[r.Op]
	case FieldOrderCount:
		n := 0
		for _, f := range m.factsOf(p, "order") {
			if r.Days == 0 || m.inWindow(f.at, r.Days) {
				n++
			}
		}
		return m.cmp(r.Op, float64(n), float64(*r.Count))
	case FieldTotalSpent:
		var sum int64
		for _, f := range m.factsOf(p, "order") {
			if f.currency == r.Currency && (r.Days == 0 || m.inWindow(f.at, r.Days)) {
				sum += f.total
			}
		}
		return m.cmp(r.Op, float64(sum), float64(*r.Amount))
	case FieldViewedProduct:
		for _, prod := range testProducts {
			var views []time.Time
			for _, f := range m.factsOf(p, "view") {
				if f.product == prod && m.inWindow(f.at, r.Days) {
					views = append(views, f.at)
				}
			}
			if int64(len(views)) < *r.Count {
				continue
			}
			first := slices.MinFunc(views, func(a, b time.Time) int { return a.Compare(b) })
			if !slices.ContainsFunc(m.factsOf(p, "order"), func(f fact) bool { return !f.at.Before(first) }) {
				return true
			}
		}
		return false
	case FieldAbandonedCheckout:
		for _, ck := range m.factsOf(p, "checkout") {
			if m.inWindow(ck.at, r.Days) && !slices.ContainsFunc(m.factsOf(p, "order"), func(f fact) bool { return f.checkout == ck.checkout }) {
				return true
			}
		}
		return false
	case FieldClicked:
		return m.inWindow(m.last(p, "click"), r.Days) == (r.Op == "within_days")
	case FieldGotMarketing:
		return m.inWindow(m.last(p, "marketing"), r.Days) == (r.Op == "within_days")
	}
	panic("model: rule " + r.Field + " " + r.Op)
}

func ptr[T any](v T) *T { return &v }

// randomRule draws a valid rule of any field.
func randomRule(r *rand.Rand, depth int) Rule {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	some := func(s []string) []string {
		out := []string{pick(s)}
		if r.IntN(2) == 0 {
			out = append(out, pick(s))
		}
		return out
	}
	days := 1 + r.IntN(200)
	date := randomAt(r, 400).Format(time.DateOnly)
	if depth == 0 && r.IntN(8) == 0 {
		g := Rule{Match: pick([]string{"all", "any"})}
		for range 1 + r.IntN(3) {
			g.Rules = append(g.Rules, randomRule(r, 1))
		}
		return g
	}
	switch pick(Fields) {
	case FieldTag:
		return Rule{Field: FieldTag, Op: pick([]string{"has", "has_not"}), Value: pick(testTags)}
	case FieldAttribute:
		switch r.IntN(3) {
		case 0:
			rule := Rule{Field: FieldAttribute, Key: "city", Type: "text", Op: pick(textOps), Value: pick([]string{"paris", "New", "york", "x"})}
			if rule.Op == "set" || rule.Op == "unset" {
				rule.Value = ""
			}
			return rule
		case 1:
			rule := Rule{Field: FieldAttribute, Key: "points", Type: "number", Op: pick(numberOps), Number: ptr(float64(r.IntN(200)))}
			if rule.Op == "set" || rule.Op == "unset" {
				rule.Number = nil
			}
			return rule
		}
		rule := Rule{Field: FieldAttribute, Key: "birthday", Type: "date", Op: pick(dateOps)}
		switch rule.Op {
		case "within_days":
			rule.Days = 1 + r.IntN(60)
		case "before", "after", "on":
			rule.Date = randomAt(r, 60).Format(time.DateOnly)
		}
		return rule
	case FieldCountry:
		return Rule{Field: FieldCountry, Op: pick(listOps), Values: some([]string{"US", "CA", "GB", "FR"})}
	case FieldAreaCode:
		return Rule{Field: FieldAreaCode, Op: pick(listOps), Values: some([]string{"212", "310", "416", "20", "6"})}
	case FieldTimeZone:
		return Rule{Field: FieldTimeZone, Op: pick(listOps), Values: some(testZones)}
	case FieldLanguage:
		return Rule{Field: FieldLanguage, Op: pick(listOps), Values: some([]string{"en", "fr", "fr-ca", "es", "de"})}
	case FieldCreated:
		rule := Rule{Field: FieldCreated, Op: pick(createdOps)}
		if rule.Op == "within_days" {
			rule.Days = days
		} else {
			rule.Date = date
		}
		return rule
	case FieldConsent:
		return Rule{Field: FieldConsent, Op: pick(listOps), Values: some(ConsentStates)}
	case FieldOrdered:
		rule := Rule{Field: FieldOrdered, Op: pick(orderedOps)}
		if strings.Contains(rule.Op, "within") {
			rule.Days = days
		}
		return rule
	case FieldOrderCount:
		rule := Rule{Field: FieldOrderCount, Op: pick(compareOps), Count: ptr(int64(r.IntN(4)))}
		if r.IntN(2) == 0 {
			rule.Days = days
		}
		return rule
	case FieldTotalSpent:
		rule := Rule{Field: FieldTotalSpent, Op: pick(compareOps), Amount: ptr(r.Int64N(15000)), Currency: pick([]string{"USD", "EUR"})}
		if r.IntN(2) == 0 {
			rule.Days = days
		}
		return rule
	case FieldViewedProduct:
		return Rule{Field: FieldViewedProduct, Op: "at_least", Count: ptr(int64(1 + r.IntN(3))), Days: days}
	case FieldAbandonedCheckout:
		return Rule{Field: FieldAbandonedCheckout, Op: "within_days", Days: days}
	case FieldClicked:
		return Rule{Field: FieldClicked, Op: pick(windowOps), Days: 1 + r.IntN(120)}
	}
	return Rule{Field: FieldGotMarketing, Op: pick(windowOps), Days: 1 + r.IntN(120)}
}

func randomDefinition(r *rand.Rand) Definition {
	d := Definition{Match: []string{"all", "any"}[r.IntN(2)]}
	for range r.IntN(4) {
		d.Rules = append(d.Rules, randomRule(r, 0))
	}
	return d
}

func TestSegmentsMatchModel(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			db := openDB(t)
			people := buildWorld(t, db, r, 150)
			svc := New(Config{DB: db, Region: "US", Clock: func() time.Time { return testNow }, Location: loc})
			m := model{now: testNow, loc: loc}
			nonEmpty := 0
			for i := range 400 {
				d := randomDefinition(r)
				if c := cloneDefinition(d); c.Check("") != nil {
					err := c.Check("")
					t.Fatalf("definition %d does not check: %v\n%s", i, err, mustJSON(d))
				}
				marketing := i%2 == 0
				got, err := svc.Audience(context.Background(), d, marketing)
				if err != nil {
					t.Fatalf("Audience: %v", err)
				}
				want := Audience{LeftOut: map[string]int{}}
				for _, p := range people {
					if !m.group(p, d.Match, d.Rules) {
						continue
					}
					if marketing && p.consent != "confirmed" {
						want.LeftOut[map[string]string{"none": ReasonNoConsent, "pending": ReasonPending, "opted_out": ReasonOptedOut}[p.consent]]++
						continue
					}
					c := p.contact
					want.Members = append(want.Members, Member{ContactID: c.ID, Number: c.Number, Name: c.Name, TimeZone: c.TimeZone, Language: c.Language})
				}
				if len(want.Members) > 0 && len(want.Members) < len(people) {
					nonEmpty++
				}
				if !slices.Equal(got.Members, want.Members) || !mapsEqual(got.LeftOut, want.LeftOut) {
					t.Fatalf("definition %d (marketing %v):\n%s\ngot %d members %v left out\nwant %d members %v left out\nfirst difference: %s",
						i, marketing, mustJSON(d), len(got.Members), got.LeftOut, len(want.Members), want.LeftOut, firstDiff(got.Members, want.Members))
				}
			}
			// The property is worth something only if the rules split
			// the contacts often.
			if nonEmpty < 100 {
				t.Errorf("only %d of 400 definitions chose some but not all contacts", nonEmpty)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func firstDiff(got, want []Member) string {
	for i := range max(len(got), len(want)) {
		var g, w Member
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("at %d: got %+v, want %+v", i, g, w)
		}
	}
	return "none"
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

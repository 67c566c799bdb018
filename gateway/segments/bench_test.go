package segments

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// The benchmark's shop: 100,000 contacts (a tenth tagged vip, four in
// five confirmed subscribers) and about a million events over a year,
// stored once per process through the store's APIs.
const (
	benchContacts = 100_000
	benchEvents   = 10 // per contact, on average
)

var bench struct {
	once sync.Once
	dir  string
	db   *store.DB
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.db != nil {
		bench.db.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchDB(b *testing.B) *store.DB {
	bench.once.Do(func() {
		start := time.Now()
		bench.dir, bench.err = os.MkdirTemp("", "segments-bench")
		if bench.err != nil {
			return
		}
		bench.db, bench.err = store.Open(filepath.Join(bench.dir, "simgate.db"), store.WithNoSync())
		if bench.err != nil {
			return
		}
		bench.err = fillBench(bench.db)
		b.Logf("built %d contacts and ~%d events in %v", benchContacts, benchContacts*benchEvents, time.Since(start).Round(time.Second))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.db
}

func fillBench(db *store.DB) error {
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 1000
	langs := []string{"en", "en-US", "fr-CA", "es"}
	seq := 0
	for first := 0; first < benchContacts; first += batch {
		rows := make([]store.ContactUpsert, 0, batch)
		var evs []store.ShopEvent
		for i := first; i < first+batch; i++ {
			number := fmt.Sprintf("+1%03d555%04d", 201+i/10000, i%10000)
			c := store.Contact{Number: number, Name: fmt.Sprintf("Customer %d", i), TimeZone: "America/New_York",
				Language: langs[r.IntN(len(langs))], Attributes: map[string]string{"points": fmt.Sprint(r.IntN(500))}}
			if r.IntN(10) == 0 {
				c.Tags = []string{"vip"}
			}
			row := store.ContactUpsert{Contact: c}
			if r.IntN(5) > 0 {
				row.OptIn = &store.ConsentEvent{At: testNow}
			}
			rows = append(rows, row)
			for range r.IntN(2 * benchEvents) {
				seq++
				ev := store.ShopEvent{ID: fmt.Sprint(seq), Source: "api", Number: number, OccurredAt: randomAt(r, 365)}
				switch n := r.IntN(10); {
				case n < 2:
					ev.Type, ev.OrderID, ev.Total, ev.Currency = "order_placed", fmt.Sprint(seq), r.Int64N(20000), "USD"
				case n < 4:
					ev.Type, ev.CheckoutID = "checkout_started", fmt.Sprint("k", seq)
				default:
					ev.Type, ev.Properties = "product_viewed", []byte(fmt.Sprintf(`{"product_id":"p%d"}`, r.IntN(50)))
				}
				evs = append(evs, ev)
			}
		}
		if _, err := db.UpsertContacts(rows); err != nil {
			return err
		}
		for len(evs) > 0 {
			n := min(len(evs), 10000)
			if _, err := db.AppendEvents(evs[:n]); err != nil {
				return err
			}
			evs = evs[n:]
		}
	}
	return nil
}

// BenchmarkSegment100k evaluates segments over the 100,000 contacts:
//
//	go test -run '^$' -bench Segment100k -benchtime 10x ./gateway/segments/
func BenchmarkSegment100k(b *testing.B) {
	db := benchDB(b)
	svc := New(Config{DB: db, Region: "US", Clock: func() time.Time { return testNow }})
	ctx := context.Background()
	cases := []struct {
		name      string
		def       Definition
		marketing bool
		preview   bool
	}{
		{name: "vip_and_ordered_90d", def: Definition{Match: "all", Rules: []Rule{
			{Field: FieldTag, Op: "has", Value: "vip"}, {Field: FieldOrdered, Op: "within_days", Days: 90}}}, marketing: true},
		{name: "ordered_90d_preview", def: Definition{Match: "all", Rules: []Rule{
			{Field: FieldOrdered, Op: "within_days", Days: 90}}}, preview: true},
		{name: "viewed_3x_no_order_or_abandoned", def: Definition{Match: "any", Rules: []Rule{
			{Field: FieldViewedProduct, Count: ptr(int64(3)), Days: 30}, {Field: FieldAbandonedCheckout, Days: 7}}}, marketing: true},
		{name: "french_points_over_250", def: Definition{Match: "all", Rules: []Rule{
			{Field: FieldLanguage, Op: "is", Values: []string{"fr"}}, {Field: FieldAttribute, Key: "points", Type: "number", Op: "gt", Number: ptr(250.0)}}}, marketing: true},
		{name: "everyone_marketing", def: Definition{Match: "all"}, marketing: true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			members := 0
			b.ResetTimer()
			for range b.N {
				if tc.preview {
					p, err := svc.Preview(ctx, tc.def)
					if err != nil {
						b.Fatal(err)
					}
					members = p.Count
					continue
				}
				a, err := svc.Audience(ctx, tc.def, tc.marketing)
				if err != nil {
					b.Fatal(err)
				}
				members = len(a.Members)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/eval")
			b.ReportMetric(benchContacts, "contacts/eval")
			b.ReportMetric(float64(members), "members")
		})
	}
}

// Package yeartest builds the store of a shop with a history (a year of
// texts, contacts, consent and replies) through the store's own APIs, for
// benchmarks that compare a fresh box with an aged one.
package yeartest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// Year describes a year of a busy shop, for benchmarks that compare a
// fresh box with an aged one (BenchmarkYearOfShop).
type Year struct {
	End      time.Time     // the box's "now": the history ends here
	Span     time.Duration // how far back it starts; a year when zero
	Texts    int           // outbound texts, spread evenly over the span
	NoReport float64       // share of texts whose status report never came
	Contacts int           // contacts, each with an opt-in in the consent ledger
	Inbound  int           // received texts, replies from contacts
	Events   int           // shop events (products viewed, checkouts, orders)
	Modems   []string      // SIM names the texts went through
	// ReportWindow is the gateway's: unreported parts older than it have
	// left the report index (as the running box's sweep leaves them);
	// zero leaves every one waiting, as a box before the sweep had them.
	ReportWindow time.Duration
}

// start is when the history begins.
func (y Year) start() time.Time {
	if y.Span > 0 {
		return y.End.Add(-y.Span)
	}
	return y.End.AddDate(-1, 0, 0)
}

// FirstWeek is the same shop in its first week: the fresh box the aged
// one is compared with, with the same daily traffic.
func FirstWeek(end time.Time) Year {
	y := ShopYear(end)
	y.Span = 7 * 24 * time.Hour
	y.Texts, y.Contacts, y.Inbound, y.Events = y.Texts*7/365, y.Contacts*7/365, y.Inbound*7/365, y.Events*7/365
	return y
}

// ShopYear is the year of issue 14: 180,000 texts, 10 % of their reports
// never arriving, 50,000 contacts with their opt-ins, 20,000 replies and
// 1,000,000 shop events.
func ShopYear(end time.Time) Year {
	return Year{End: end, Texts: 180_000, NoReport: 0.10, Contacts: 50_000, Inbound: 20_000, Events: 1_000_000,
		Modems: []string{"sim1", "sim2"}, ReportWindow: 72 * time.Hour}
}

// ContactNumber is the number of contact i of a built year.
func ContactNumber(i int) string { return fmt.Sprintf("+1201%07d", 5_000_000+i) }

// yearSteps are the parts of a year, each writing through the store's own
// APIs. A new kind of record (the shop event log) is one more step.
var yearSteps = []struct {
	name string
	run  func(db *store.DB, y Year) error
}{
	{"contacts and their opt-ins", buildContacts},
	{"outbound texts", buildTexts},
	{"replies", buildInbound},
	{"shop events", buildEvents},
	{"the webhooks' cursor where a running box has it", catchUpChanges},
}

// catchUpChanges reads the change feed to its end as the webhooks'
// dispatcher of a running box would have (no endpoint: nothing is
// delivered), so a measurement does not start with a year of catching up.
func catchUpChanges(db *store.DB, _ Year) error {
	var next uint64
	for {
		_, n, more, err := db.DispatchChangesFrom(next, 5000)
		if err != nil {
			return err
		}
		next = n
		if !more {
			return nil
		}
	}
}

// BuildYear writes y into a new store at path, through the store's APIs
// from many goroutines (so writes share commits) and without fsync: the
// file is closed, and so synced, before it is used. A year of a busy shop
// takes tens of seconds on 2 cores, so callers build it once per run
// and copy the file for each measurement.
func BuildYear(tb testing.TB, path string, y Year) {
	tb.Helper()
	db, err := store.Open(path, store.WithNoSync(), store.WithClock(func() time.Time { return y.End }))
	if err != nil {
		tb.Fatal(err)
	}
	for _, step := range yearSteps {
		start := time.Now()
		if err := step.run(db, y); err != nil {
			db.Close()
			tb.Fatalf("build a year: %s: %v", step.name, err)
		}
		tb.Logf("year: %s in %v", step.name, time.Since(start).Round(time.Millisecond))
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

// parallel runs fn(i) for i in [0, n) from 64 goroutines and returns the
// first error.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	const workers = 64
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func buildContacts(db *store.DB, y Year) error {
	const batch = 1000
	start := y.start()
	return parallel((y.Contacts+batch-1)/batch, func(b int) error {
		var rows []store.ContactUpsert
		for i := b * batch; i < min((b+1)*batch, y.Contacts); i++ {
			at := start.Add(time.Duration(i) * (y.End.Sub(start) / time.Duration(max(y.Contacts, 1))))
			rows = append(rows, store.ContactUpsert{
				Contact: store.Contact{Number: ContactNumber(i), Name: fmt.Sprintf("Customer %d", i),
					TimeZone: "America/New_York", Source: "import", Tags: []string{"customer"}, CreatedAt: at, UpdatedAt: at},
				OptIn: &store.ConsentEvent{At: at, Source: "checkout.csv", Note: "ticked the box at checkout"},
			})
		}
		_, err := db.UpsertContacts(rows)
		return err
	})
}

// buildTexts writes the year's texts in their final states: delivered,
// failed, suppressed or expired, and `sent` for those whose report never
// came, which keep waiting in the report index only within the window.
func buildTexts(db *store.DB, y Year) error {
	start := y.start()
	step := y.End.Sub(start) / time.Duration(max(y.Texts, 1))
	return parallel(y.Texts, func(i int) error {
		rng := rand.New(rand.NewPCG(uint64(i), 14))
		at := start.Add(time.Duration(i) * step)
		modem := y.Modems[i%len(y.Modems)]
		kind := store.KindTransactional
		text := fmt.Sprintf("Hi! Your order #%d has shipped and arrives on Friday. Track it at https://shop.example/t/%d", 10_000+i, i)
		if i%10 < 3 {
			kind = store.KindMarketing
			text = fmt.Sprintf("Rosa's Bakery: 20%% off all cakes this weekend with code CAKE%d. Reply STOP to opt out.", i%100)
		}
		parts := 1
		if i%10 == 9 {
			parts = 2
			text += " Ask us anything by replying to this text: we answer between 9 am and 6 pm, Monday to Saturday. Thank you for shopping with us!"
		}
		m := store.Message{To: ContactNumber(rng.IntN(max(y.Contacts, 1))), Text: text, Kind: kind, Encoding: "GSM-7",
			CreatedAt: at, UpdatedAt: at.Add(time.Minute), ExpiresAt: at.Add(24 * time.Hour), NextAttemptAt: at,
			Modem: modem, ConcatRef: uint8(i)}
		if i%7 == 0 {
			m.IdempotencyKey, m.IdempotencyScope = fmt.Sprintf("order-%d", i), "token:1"
		}
		history := []store.Transition{{At: at, Status: store.StatusQueued},
			{At: at.Add(time.Second), Status: store.StatusSending, Note: "sending via " + modem}}
		status := store.StatusDelivered
		switch r := rng.Float64(); {
		case r < y.NoReport:
			status = store.StatusSent
		case r < y.NoReport+0.02:
			status = store.StatusFailed
		case r < y.NoReport+0.025:
			status = store.StatusSuppressed
		case r < y.NoReport+0.03:
			status = store.StatusExpired
		}
		for p := range parts {
			part := store.Part{Seq: p + 1, MR: (i*2 + p) % 256, Modem: modem, Status: status, SentAt: at.Add(2 * time.Second)}
			switch status {
			case store.StatusDelivered:
				part.DoneAt = at.Add(10 * time.Second)
			case store.StatusFailed:
				part.Error = "status report: TP-ST 0x41"
			case store.StatusSuppressed, store.StatusExpired:
				part = store.Part{Seq: p + 1, MR: -1, Status: store.StatusQueued}
			case store.StatusSent:
				if y.ReportWindow > 0 && y.End.Sub(part.SentAt) > y.ReportWindow {
					part.NoReport, part.Error = true, "no status report within 72 h"
				}
			}
			m.Parts = append(m.Parts, part)
		}
		switch status {
		case store.StatusSuppressed, store.StatusExpired:
			history = history[:1]
		default:
			history = append(history, store.Transition{At: at.Add(2 * time.Second), Status: store.StatusSent, Note: "accepted by the network via " + modem})
		}
		if status != store.StatusSent {
			history = append(history, store.Transition{At: at.Add(10 * time.Second), Status: status})
		}
		m.Status, m.History = status, history
		_, _, err := db.Enqueue(m)
		return err
	})
}

// buildInbound writes the replies, spread over the year, from contacts.
func buildInbound(db *store.DB, y Year) error {
	start := y.start()
	step := y.End.Sub(start) / time.Duration(max(y.Inbound, 1))
	return parallel(y.Inbound, func(i int) error {
		at := start.Add(time.Duration(i) * step)
		from := ContactNumber((i * 7919) % max(y.Contacts, 1))
		p := store.InboundPart{Modem: y.Modems[i%len(y.Modems)], From: from, Seq: 1, Total: 1,
			SCTS: at, Received: at, TPDU: fmt.Appendf(nil, "pdu-%d", i)}
		in, stored, err := db.AddInboundPart(p, func(parts []store.InboundPart) (store.Inbound, error) {
			return store.Inbound{Text: fmt.Sprintf("Thanks! Is the order #%d ready for pick-up?", i), ReceivedAt: at, SentAt: at}, nil
		})
		if err != nil || !stored {
			return err
		}
		// The keywords of a year-old reply were handled long ago.
		return db.MarkInboundHandled(in.ID)
	})
}

// buildEvents appends the year's shop events in batches of 1,000, as a
// shop's website posts them: of every 20, 14 products viewed, 4 checkouts
// started and 2 orders (the second of them ending its checkout), spread
// over the contacts and the span.
func buildEvents(db *store.DB, y Year) error {
	const batch = 1000
	start := y.start()
	step := y.End.Sub(start) / time.Duration(max(y.Events, 1))
	return parallel((y.Events+batch-1)/batch, func(b int) error {
		var evs []store.ShopEvent
		for i := b * batch; i < min((b+1)*batch, y.Events); i++ {
			ev := store.ShopEvent{ID: fmt.Sprintf("ev-%d", i), Source: "api", Number: ContactNumber(i % max(y.Contacts, 1)),
				OccurredAt: start.Add(time.Duration(i) * step)}
			switch k := i % 20; {
			case k < 14:
				ev.Type, ev.Properties = "product_viewed", []byte(`{"product_id":"p`+fmt.Sprint(i%500)+`","url":"https://shop.example/p/`+fmt.Sprint(i%500)+`"}`)
			case k < 18:
				ev.Type, ev.CheckoutID, ev.Total, ev.Currency = "checkout_started", fmt.Sprint("c", i), 4990, "USD"
				ev.Properties = []byte(`{"items":[{"name":"Sourdough loaf","price":"6.50","quantity":2}],"resume_url":"https://shop.example/c/` + fmt.Sprint(i) + `"}`)
			default:
				ev.Type, ev.OrderID, ev.CheckoutID, ev.Total, ev.Currency = "order_placed", fmt.Sprint("o", i), fmt.Sprint("c", i-2), 4990, "USD"
				ev.Ends = []string{"checkout:api:" + ev.CheckoutID}
			}
			evs = append(evs, ev)
		}
		_, err := db.AppendEvents(evs)
		return err
	})
}

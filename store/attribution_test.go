package store

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestOriginResultKeys(t *testing.T) {
	for origin, want := range map[string][]string{
		"campaign:5:variant:b":   {"campaign:5", "campaign:5:variant:b"},
		"campaign:5":             {"campaign:5"},
		"flow:3:entry:77:step:2": {"flow:3", "flow:3:step:2"},
		"flow:x:entry:77:step:2": nil,
		"console":                nil,
		"":                       nil,
		"campaign:5:variant:":    nil,
	} {
		if got := OriginResultKeys(origin); !slices.Equal(got, want) {
			t.Errorf("OriginResultKeys(%q) = %q, want %q", origin, got, want)
		}
	}
}

// modelText is a text as the attribution model sees it.
type modelText struct {
	id        uint64
	number    string
	kind      Kind
	origin    string
	status    Status
	parts     int
	sentAt    time.Time
	doneAt    time.Time
	price     int64
	linkCodes []string
}

type modelClick struct {
	number string
	text   *modelText
	at     time.Time
	order  int // the order it was stored in
}

type modelOrder struct {
	seq            uint64
	number, source string
	orderID        string
	total          int64
	at             time.Time
	dup            bool
	wantText       uint64
	wantCredit     string
	wantOrigin     string
}

// TestAttributionFollowsTheRule is the property test of issue 11: random
// contacts, consents, texts, clicks and orders, attributed by the store
// as the consumer runs, against an independent model of the documented
// rule applied to the final history. Every order is credited to at most
// one text, and every counter equals the model's sum.
func TestAttributionFollowsTheRule(t *testing.T) {
	for round := range 6 {
		seed := uint64(time.Now().UnixNano()) + uint64(round)
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { attributionProperty(t, seed) })
	}
}

func attributionProperty(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	numbers := []string{"+15550001", "+15550002", "+15550003", "+15550004"}
	origins := []string{"campaign:1:variant:a", "campaign:1:variant:b", "flow:2:entry:9:step:1", "flow:2:entry:10:step:2", "", "console"}
	if err := db.SetPartPrice(PartPrice{Modem: "m1", Price: 3, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	w := AttributionWindows{Click: time.Duration(1+rng.IntN(5)) * 24 * time.Hour, Delivery: time.Duration(6+rng.IntN(30)) * time.Hour}
	var texts []*modelText
	var clicks []modelClick
	var orders []*modelOrder
	type optOut struct {
		number string
		at     time.Time
	}
	var optOuts []optOut
	linkOf := map[string]*modelText{}
	codeN := 0
	attributed := map[uint64]Attribution{}
	run := func(max int) {
		for {
			pass, err := db.AttributeNext(w, max)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range pass.Attributed {
				if _, dup := attributed[a.EventSeq]; dup {
					t.Fatalf("order event %d attributed twice", a.EventSeq)
				}
				attributed[a.EventSeq] = a
			}
			if !pass.More {
				return
			}
		}
	}
	// Two campaigns plan members (the holdout included) now and then.
	type member struct {
		campaign uint64
		variant  string
		number   string
		at       time.Time
	}
	var members []member
	var campaigns []uint64
	for range 2 {
		c, err := db.CreateCampaign(Campaign{Name: "Sale", State: CampaignSending})
		if err != nil {
			t.Fatal(err)
		}
		campaigns = append(campaigns, c.ID)
	}
	isMember := map[string]bool{}
	for step := range 400 {
		clk.advance(time.Duration(1+rng.IntN(6*3600)) * time.Second)
		now := clk.now()
		if rng.IntN(12) == 0 {
			m := member{campaign: campaigns[rng.IntN(2)], variant: []string{"a", "b", HoldoutVariant}[rng.IntN(3)],
				number: numbers[rng.IntN(len(numbers))], at: now.Add(-time.Duration(rng.IntN(3600)) * time.Second)}
			k := fmt.Sprint(m.campaign, m.number)
			if !isMember[k] {
				isMember[k] = true
				members = append(members, m)
				if _, err := db.CommitCampaignBatch(CampaignBatch{Campaign: m.campaign, Plans: []CampaignPlan{{
					Member: CampaignMember{Variant: m.variant, Number: m.number, At: m.at}}}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		switch op := rng.IntN(10); {
		case op < 3: // a text, sent through m1 or m2, maybe delivered or failed
			mt := &modelText{number: numbers[rng.IntN(len(numbers))], kind: KindMarketing, origin: origins[rng.IntN(len(origins))],
				parts: 1 + rng.IntN(2)}
			if rng.IntN(4) == 0 {
				mt.kind = KindTransactional
			}
			modem := []string{"m1", "m2"}[rng.IntN(2)]
			key := fmt.Sprint("k", step)
			m := Message{To: mt.number, Text: "sale", Kind: mt.kind, Encoding: "GSM-7", Origin: mt.origin,
				IdempotencyKey: key, IdempotencyScope: "test", ExpiresAt: now.Add(time.Hour)}
			for i := range mt.parts {
				m.Parts = append(m.Parts, Part{Seq: i + 1, MR: -1, Status: StatusQueued})
			}
			stored, _, err := db.Enqueue(m)
			if err != nil {
				t.Fatal(err)
			}
			mt.id = stored.ID
			if rng.IntN(6) > 0 {
				mt.sentAt, mt.status = now, StatusSent
				if modem == "m1" {
					mt.price = 3
				}
				r := rng.IntN(10)
				switch {
				case r < 6:
					mt.status, mt.doneAt = StatusDelivered, now.Add(time.Duration(rng.IntN(600))*time.Second)
				case r < 8:
					mt.status, mt.doneAt = StatusFailed, now
				}
				_, err := db.Update(mt.id, func(m *Message) error {
					m.Status, m.Modem = mt.status, modem
					for i := range m.Parts {
						m.Parts[i].Status, m.Parts[i].Modem, m.Parts[i].SentAt, m.Parts[i].DoneAt = mt.status, modem, now, mt.doneAt
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			} else {
				mt.status = StatusQueued
			}
			if mt.origin != "" && rng.IntN(3) > 0 {
				ls, err := db.EnsureLinks([]Link{{URL: "https://shop.example/sale", Number: mt.number, Origin: mt.origin, MessageKey: key}},
					func() (string, error) { codeN++; return fmt.Sprintf("code%05d", codeN), nil })
				if err != nil {
					t.Fatal(err)
				}
				mt.linkCodes = append(mt.linkCodes, ls[0].Code)
				linkOf[ls[0].Code] = mt
			}
			texts = append(texts, mt)
		case op < 5: // a click on a link of a text already sent
			var withLinks []*modelText
			for _, x := range texts {
				if len(x.linkCodes) > 0 && !x.sentAt.IsZero() {
					withLinks = append(withLinks, x)
				}
			}
			if len(withLinks) == 0 {
				continue
			}
			x := withLinks[rng.IntN(len(withLinks))]
			at := now.Add(-time.Duration(rng.IntN(60)) * time.Second)
			if err := db.RecordClicks([]Click{{Code: x.linkCodes[0], At: at, Agent: "browser"}}); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(5) == 0 { // a preview never counts
				if err := db.RecordClicks([]Click{{Code: x.linkCodes[0], At: at, Agent: "Slackbot", Preview: true}}); err != nil {
					t.Fatal(err)
				}
			}
			clicks = append(clicks, modelClick{number: x.number, text: x, at: at, order: len(clicks)})
		case op < 8: // an order, sometimes one sent before again under a new event id
			o := &modelOrder{number: numbers[rng.IntN(len(numbers))], source: "api", orderID: fmt.Sprint("o", rng.IntN(60)),
				total: int64(1000 + rng.IntN(9000)), at: now.Add(-time.Duration(1+rng.IntN(3600)) * time.Second)}
			evs, err := db.AppendEvents([]ShopEvent{{ID: fmt.Sprint("ev", step), Source: o.source, Type: "order_placed", Number: o.number,
				OccurredAt: o.at, OrderID: o.orderID, Total: o.total, Currency: "USD"}})
			if err != nil {
				t.Fatal(err)
			}
			o.seq = evs[0].Seq
			orders = append(orders, o)
		case op < 9: // a STOP
			n := numbers[rng.IntN(len(numbers))]
			if _, _, _, err := db.AppendConsent(ConsentEvent{Number: n, Type: EventOptOut, Purpose: PurposeAll, Method: MethodKeyword, Keyword: "STOP"},
				func(c *Consent) error { return nil }); err != nil {
				t.Fatal(err)
			}
			optOuts = append(optOuts, optOut{n, now})
		default: // the consumer runs now and then, a page at a time
			run(1 + rng.IntN(4))
		}
	}
	run(3)

	// The model: the documented rule over the final history.
	seen := map[string]bool{}
	results := map[string]*OriginResults{}
	res := func(key string) *OriginResults {
		if results[key] == nil {
			results[key] = &OriginResults{}
		}
		return results[key]
	}
	ordered := map[string]bool{}
	for _, o := range orders {
		k := o.source + "/" + o.orderID
		if seen[k] {
			o.dup = true
			continue
		}
		seen[k] = true
		// Members who ordered within the click window after their
		// planned send, once per (campaign, variant), whatever the credit.
		for _, m := range members {
			if m.number != o.number || o.at.Before(m.at) || o.at.Sub(m.at) > w.Click || ordered[fmt.Sprint(m.campaign, m.variant, m.number)] {
				continue
			}
			ordered[fmt.Sprint(m.campaign, m.variant, m.number)] = true
			ck := fmt.Sprintf("campaign:%d", m.campaign)
			res(ck+":variant:"+m.variant).MembersOrdered++
			if m.variant != HoldoutVariant {
				res(ck).MembersOrdered++
			}
		}
		var best *modelClick
		for i := range clicks {
			c := &clicks[i]
			if c.number != o.number || c.text.kind != KindMarketing || c.at.After(o.at) || !c.at.After(o.at.Add(-w.Click)) {
				continue
			}
			if best == nil || c.at.After(best.at) || c.at.Equal(best.at) && c.order > best.order {
				best = c
			}
		}
		if best != nil {
			o.wantText, o.wantCredit, o.wantOrigin = best.text.id, CreditClick, best.text.origin
		} else {
			var bt *modelText
			for _, x := range texts {
				if x.number != o.number || x.kind != KindMarketing || x.status != StatusDelivered || x.doneAt.After(o.at) || !x.doneAt.After(o.at.Add(-w.Delivery)) {
					continue
				}
				if bt == nil || !x.doneAt.Before(bt.doneAt) {
					bt = x
				}
			}
			if bt != nil {
				o.wantText, o.wantCredit, o.wantOrigin = bt.id, CreditDelivery, bt.origin
			}
		}
		if o.wantText == 0 {
			continue
		}
		for _, key := range append([]string{ResultKeyAll}, OriginResultKeys(o.wantOrigin)...) {
			r := res(key)
			r.Orders++
			r.Revenue += o.total
			if o.wantCredit == CreditClick {
				r.OrdersByClick++
				r.RevenueByClick += o.total
			} else {
				r.OrdersByDelivery++
				r.RevenueByDelivery += o.total
			}
		}
	}
	for _, o := range orders {
		a, got := attributed[o.seq]
		if o.dup || o.wantText == 0 {
			if got {
				t.Errorf("order %s (event %d) credited to text %d, want no credit (duplicate %v)", o.orderID, o.seq, a.MessageID, o.dup)
			}
			continue
		}
		if !got || a.MessageID != o.wantText || a.Credit != o.wantCredit {
			t.Errorf("order %s (event %d) at %s: got %+v, want text %d by %s", o.orderID, o.seq, o.at, a, o.wantText, o.wantCredit)
		}
	}
	stored, err := db.Attributions(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(attributed) {
		t.Errorf("%d attribution records, the consumer reported %d", len(stored), len(attributed))
	}
	for _, oo := range optOuts {
		var bt *modelText
		for _, x := range texts {
			if x.number != oo.number || x.kind != KindMarketing || x.sentAt.IsZero() || x.sentAt.After(oo.at) || !x.sentAt.After(oo.at.Add(-OptOutWindow)) {
				continue
			}
			if bt == nil || !x.sentAt.Before(bt.sentAt) {
				bt = x
			}
		}
		if bt != nil {
			for _, key := range append([]string{ResultKeyAll}, OriginResultKeys(bt.origin)...) {
				res(key).OptOuts++
			}
		}
	}
	for _, x := range texts {
		for _, key := range OriginResultKeys(x.origin) {
			r := res(key)
			if !x.sentAt.IsZero() {
				r.Sent++
				r.Parts += int64(x.parts)
				r.Cost += x.price * int64(x.parts)
			}
			switch x.status {
			case StatusDelivered:
				r.Delivered++
			case StatusFailed:
				r.Failed++
			}
		}
	}
	clickers := map[string]bool{}
	for _, c := range clicks {
		for _, key := range append([]string{ResultKeyAll}, OriginResultKeys(c.text.origin)...) {
			if !clickers[key+"/"+c.number] {
				clickers[key+"/"+c.number] = true
				res(key).UniqueClicks++
			}
		}
	}
	for _, m := range members {
		ck := fmt.Sprintf("campaign:%d", m.campaign)
		res(ck+":variant:"+m.variant).Members++
		if m.variant != HoldoutVariant {
			res(ck).Members++
		}
	}
	for key, want := range results {
		got, err := db.OriginResults(key)
		if err != nil {
			t.Fatal(err)
		}
		got.Currency, got.RevenueByCurrency, got.CostByCurrency = "", nil, nil
		if !reflect.DeepEqual(got, *want) {
			t.Errorf("results of %s:\n got %+v\nwant %+v", key, got, *want)
		}
	}
	if bad, err := db.ResultsRecountCheck(); err != nil || len(bad) > 0 {
		t.Errorf("results apart from a recount: %v %v", bad, err)
	}
}

// TestAttributionResumesAfterCrash: the consumer's cursor and its effects
// commit together, so a box that stops between passes (here: closes and
// opens the file again) counts each order exactly once.
func TestAttributionResumesAfterCrash(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := db.Enqueue(Message{To: "+15550001", Text: "sale", Kind: KindMarketing, Encoding: "GSM-7", Origin: "campaign:4:variant:a",
		Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}})
	if err != nil {
		t.Fatal(err)
	}
	now := clk.now()
	if _, err := db.Update(m.ID, func(m *Message) error {
		m.Status, m.Parts[0].Status, m.Parts[0].SentAt, m.Parts[0].DoneAt = StatusDelivered, StatusDelivered, now, now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Hour)
	var evs []ShopEvent
	for i := range 5 {
		evs = append(evs, ShopEvent{ID: fmt.Sprint("e", i), Source: "api", Type: "order_placed", Number: "+15550001",
			OccurredAt: clk.now(), OrderID: fmt.Sprint("o", i), Total: 100, Currency: "EUR"})
	}
	if _, err := db.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	w := AttributionWindows{Click: DefaultClickWindow, Delivery: DefaultDeliveryWindow}
	pass, err := db.AttributeNext(w, 2)
	if err != nil || len(pass.Attributed) != 2 || !pass.More {
		t.Fatalf("first pass: %+v %v", pass, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total := 2
	for {
		pass, err := db.AttributeNext(w, 2)
		if err != nil {
			t.Fatal(err)
		}
		total += len(pass.Attributed)
		if !pass.More {
			break
		}
	}
	r, err := db.OriginResults("campaign:4")
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 || r.Orders != 5 || r.OrdersByDelivery != 5 || r.Revenue != 500 || r.Currency != "EUR" {
		t.Errorf("after the restart: %d attributed, results %+v; want 5 orders, 500 EUR", total, r)
	}
	changes, err := db.ChangesAfter(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range changes {
		if c.Kind == ChangeOrderAttributed {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d order.attributed changes, want 5", n)
	}
}

// TestCampaignMembersOrdered: every member a campaign planned, the holdout
// included, counts once per (campaign, variant) as having ordered when an
// order from its number comes within the click window after its planned
// send; members are the campaign's own planned counts.
func TestCampaignMembersOrdered(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	c, err := db.CreateCampaign(Campaign{Name: "Sale", State: CampaignSending})
	if err != nil {
		t.Fatal(err)
	}
	planned := clk.now()
	var plans []CampaignPlan
	for i, v := range []string{"a", "a", "b", HoldoutVariant, HoldoutVariant} {
		n := fmt.Sprintf("+1555000%04d", i)
		p := CampaignPlan{Member: CampaignMember{Variant: v, Number: n, At: planned}}
		if v != HoldoutVariant {
			p.Message = &Message{To: n, Text: "Sale", Kind: KindMarketing, Encoding: "GSM-7", Origin: fmt.Sprintf("campaign:%d:variant:%s", c.ID, v),
				Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}}
		}
		plans = append(plans, p)
	}
	if _, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: plans}); err != nil {
		t.Fatal(err)
	}
	w := AttributionWindows{Click: 48 * time.Hour, Delivery: DefaultDeliveryWindow}
	order := func(id, number string, at time.Time) ShopEvent {
		return ShopEvent{ID: id, Source: "api", Type: "order_placed", Number: number, OccurredAt: at, OrderID: id, Total: 100, Currency: "USD"}
	}
	clk.advance(72 * time.Hour)
	if _, err := db.AppendEvents([]ShopEvent{
		order("1", "+15550000000", planned.Add(time.Hour)),      // a, within the window
		order("2", "+15550000000", planned.Add(2*time.Hour)),    // a again: the member counts once
		order("3", "+15550000003", planned.Add(47*time.Hour)),   // holdout, within
		order("4", "+15550000004", planned.Add(49*time.Hour)),   // holdout, after the window
		order("5", "+15550000002", planned.Add(-time.Hour)),     // b, before the campaign
		order("6", "+15559999999", planned.Add(time.Hour)),      // no member
		order("1", "+15550000000", planned.Add(3*time.Hour)),    // order 1 sent again under its own id: stored once
		order("7", "+15550000001", planned.Add(24*time.Hour)),   // a, second member
		order("8", "+15550000001", planned.Add(24*time.Hour+1)), // a, second member again
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AttributeNext(w, 100); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][2]int64{
		fmt.Sprintf("campaign:%d", c.ID):                 {3, 2},
		fmt.Sprintf("campaign:%d:variant:a", c.ID):       {2, 2},
		fmt.Sprintf("campaign:%d:variant:b", c.ID):       {1, 0},
		fmt.Sprintf("campaign:%d:variant:holdout", c.ID): {2, 1},
	} {
		r, err := db.OriginResults(key)
		if err != nil {
			t.Fatal(err)
		}
		if r.Members != want[0] || r.MembersOrdered != want[1] {
			t.Errorf("%s: %d members, %d ordered; want %d, %d", key, r.Members, r.MembersOrdered, want[0], want[1])
		}
	}
	// Erasing a member's number leaves the counts and removes its mark.
	if _, err := db.EraseNumber("+15550000003"); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.OriginResults(fmt.Sprintf("campaign:%d:variant:holdout", c.ID)); r.MembersOrdered != 1 {
		t.Errorf("after erasure the holdout's ordered count is %d, want 1", r.MembersOrdered)
	}
}

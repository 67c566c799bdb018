package gateway

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// consentGW is a gateway (not running: no modems needed) over a real
// store, with compliance settings saved and disclosure "v1".
type consentGW struct {
	t     *testing.T
	db    *store.DB
	g     *Gateway
	clock *testClock
	s     ComplianceSettings
	next  uint64 // inbound ids for synthetic texts
}

// lintSettings are settings the reply linter accepts: the default
// templates with a brand, a frequency and a support contact.
func lintSettings() ComplianceSettings {
	s := compliance.Defaults()
	s.Brand = "Rosa's Bakery"
	s.Frequency = "up to 4 msgs/month"
	s.SupportContact = "help@rosas.example"
	return s
}

const disclosureV1 = "By ticking this box you agree to get recurring automated marketing texts from Rosa's Bakery, " +
	"up to 4 msgs/month. Consent is not a condition of purchase. Msg&data rates may apply. Reply HELP for help, STOP to cancel."

func newConsentGW(t *testing.T) *consentGW {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &testClock{t: time.Date(2026, 5, 4, 15, 0, 0, 0, time.UTC)}
	g, err := New(db, Config{Region: "US", Clock: clock.now, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	s := lintSettings()
	s.Disclosure = Disclosure{Version: "v1", Text: disclosureV1}
	if err := g.SaveComplianceSettings(s, "test"); err != nil {
		t.Fatalf("save settings: %v", err)
	}
	return &consentGW{t: t, db: db, g: g, clock: clock, s: g.ComplianceSettings(), next: 1000}
}

// text handles an inbound text from number as the inbound path does after
// storing it, and returns its id.
func (c *consentGW) text(number, body string) uint64 {
	c.t.Helper()
	c.next++
	in := store.Inbound{ID: c.next, Modem: "sim1", From: number, Text: body, ReceivedAt: c.clock.now()}
	if err := c.g.consent.HandleInbound(in); err != nil {
		c.t.Fatalf("handle %q: %v", body, err)
	}
	return in.ID
}

func (c *consentGW) consent(number string) store.Consent {
	c.t.Helper()
	con, err := c.db.Consent(number)
	if err != nil {
		c.t.Fatal(err)
	}
	return con
}

func (c *consentGW) events(number string) []store.ConsentEvent {
	c.t.Helper()
	evs, err := c.db.ConsentEvents(number)
	if err != nil {
		c.t.Fatal(err)
	}
	return evs
}

// replies are the texts queued to number, oldest first.
func (c *consentGW) replies(number string) []store.Message {
	c.t.Helper()
	all, _, err := c.db.List(store.ListFilter{Limit: 500})
	if err != nil {
		c.t.Fatal(err)
	}
	var out []store.Message
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].To == number {
			out = append(out, all[i])
		}
	}
	return out
}

func (c *consentGW) wantReplies(number string, texts ...string) {
	c.t.Helper()
	got := c.replies(number)
	if len(got) != len(texts) {
		var list []string
		for _, m := range got {
			list = append(list, m.Text)
		}
		c.t.Fatalf("%d texts queued to %s, want %d: %q", len(got), number, len(texts), list)
	}
	for i, m := range got {
		if m.Text != texts[i] {
			c.t.Errorf("text %d: %q, want %q", i, m.Text, texts[i])
		}
		if m.Kind != store.KindCompliance {
			c.t.Errorf("text %d: kind %v, want compliance", i, m.Kind)
		}
	}
}

func (c *consentGW) reply(kind string) string { return compliance.ReplyText(c.s, kind) }

func (c *consentGW) optIn(r OptInRequest) (ConsentEvent, Consent) {
	c.t.Helper()
	ev, con, err := c.g.OptIn(context.Background(), r)
	if err != nil {
		c.t.Fatalf("OptIn %+v: %v", r, err)
	}
	return ev, con
}

func webForm(number string) OptInRequest {
	return OptInRequest{Number: number, Method: MethodWebForm, Source: "https://rosas.example/join",
		DisclosureVersion: "v1", IP: "203.0.113.9", UserAgent: "Mozilla/5.0 test"}
}

const (
	numA = "+12125550101"
	numB = "+12125550102"
	numC = "+12125550103"
)

// TestOptInRequiresEvidence is R-OPTIN-1's test: an opt-in without a
// disclosure version or a consent method (or the other evidence fields) is
// refused naming the field, and nothing is stored or sent.
func TestOptInRequiresEvidence(t *testing.T) {
	c := newConsentGW(t)
	base := webForm(numA)
	cases := []struct {
		name  string
		edit  func(r *OptInRequest)
		field string
	}{
		{"no disclosure version", func(r *OptInRequest) { r.DisclosureVersion = "" }, "disclosure_version"},
		{"unknown disclosure version", func(r *OptInRequest) { r.DisclosureVersion = "v9" }, "disclosure_version"},
		{"no method", func(r *OptInRequest) { r.Method = "" }, "method"},
		{"bad method", func(r *OptInRequest) { r.Method = "carrier_pigeon" }, "method"},
		{"no source", func(r *OptInRequest) { r.Source = " " }, "source"},
		{"no number", func(r *OptInRequest) { r.Number = "" }, "number"},
		{"bad number", func(r *OptInRequest) { r.Number = "12" }, "number"},
		{"web form without ip", func(r *OptInRequest) { r.IP = "" }, "ip"},
		{"bad ip", func(r *OptInRequest) { r.IP = "300.1.1.1" }, "ip"},
		{"pos without terminal", func(r *OptInRequest) { r.Method = MethodPOS }, "terminal"},
		{"huge source", func(r *OptInRequest) { r.Source = strings.Repeat("x", consent.MaxSourceLen+1) }, "source"},
	}
	for _, tc := range cases {
		r := base
		tc.edit(&r)
		_, _, err := c.g.OptIn(context.Background(), r)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v, want a field error on %s", tc.name, err, tc.field)
		}
	}
	if evs := c.events(numA); len(evs) != 0 {
		t.Errorf("refused opt-ins wrote %d ledger entries", len(evs))
	}
	c.wantReplies(numA)
}

func TestOptInRefusedBeforeBrand(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g, err := New(db, Config{Region: "US"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.OptIn(context.Background(), webForm(numA))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "brand") {
		t.Errorf("opt-in on a box without a brand: got %v, want a conflict naming the brand", err)
	}
}

// TestOptInConfirmationFirst is R-OPTIN-2 and R-RECORD: a single opt-in
// confirms the number, queues the confirmation as its first text and
// records the evidence, the exact disclosure text included.
func TestOptInConfirmationFirst(t *testing.T) {
	c := newConsentGW(t)
	r := webForm(numA)
	r.CartReminders = true
	ev, con := c.optIn(r)
	if con.Marketing != MarketingConfirmed || !con.CartReminders || con.ConfirmedAt.IsZero() {
		t.Errorf("consent after opt-in: %+v", con)
	}
	if ev.Type != EventOptIn || ev.Method != MethodWebForm || ev.Source != r.Source || ev.DisclosureVersion != "v1" ||
		ev.DisclosureText != disclosureV1 || ev.IP != r.IP || ev.UserAgent != r.UserAgent || ev.MessageID == 0 ||
		ev.TimeZone != "America/New_York" {
		t.Errorf("ledger entry lacks evidence: %+v", ev)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn))
	if got := c.replies(numA)[0].ID; got != ev.MessageID {
		t.Errorf("ledger names message %d, the confirmation is %d", ev.MessageID, got)
	}
	// Opting in again (a second form) is evidence, not a second text.
	ev2, _ := c.optIn(OptInRequest{Number: numA, Method: MethodPOS, Source: "till 2", Terminal: "T2", DisclosureVersion: "v1"})
	if ev2.ID == 0 || !strings.Contains(ev2.Note, "already subscribed") {
		t.Errorf("second opt-in: %+v", ev2)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn))
}

// TestDoubleOptIn is R-DOI: pending gets one request; YES (or Y) confirms
// and gets the confirmation; a second request within 24 h is not sent.
func TestDoubleOptIn(t *testing.T) {
	c := newConsentGW(t)
	r := webForm(numA)
	r.DoubleOptIn, r.CartReminders = true, true
	ev, con := c.optIn(r)
	// What the request asks for waits for the YES (issue 15, point 3).
	if ev.Type != EventDOIRequest || con.Marketing != MarketingPending || con.CartReminders || !con.PendingCartReminders {
		t.Fatalf("after request: %+v %+v", ev, con)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyDOI))
	// The form again within 24 h: no second request (no texting a stranger over and over).
	ev, _ = c.optIn(r)
	if ev.ID != 0 {
		t.Errorf("second request within 24 h recorded: %+v", ev)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyDOI))

	id := c.text(numA, "Yes!")
	if con := c.consent(numA); con.Marketing != store.MarketingConfirmed || !con.CartReminders || con.PendingCartReminders {
		t.Errorf("after YES: %+v", con)
	}
	evs := c.events(numA)
	last := evs[len(evs)-1]
	if last.Type != EventDOIConfirm || last.InboundID != id || last.DisclosureText != disclosureV1 || last.Keyword != "YES" {
		t.Errorf("confirmation entry: %+v", last)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyDOI), c.reply(compliance.ReplyOptIn))
	c.text(numA, "yes") // not pending any more: an ordinary text
	c.wantReplies(numA, c.reply(compliance.ReplyDOI), c.reply(compliance.ReplyOptIn))

	// "Y" confirms too; YES from a number never asked does nothing.
	r.Number = numB
	c.optIn(r)
	c.text(numB, "y")
	if con := c.consent(numB); con.Marketing != store.MarketingConfirmed {
		t.Errorf("Y did not confirm: %+v", con)
	}
	c.text(numC, "YES")
	if con := c.consent(numC); con.Marketing != store.MarketingNone || len(c.events(numC)) != 0 {
		t.Errorf("YES from a stranger changed consent: %+v", con)
	}
}

// TestStopFamilyOptsOut is R-STOP-1: every token flips the number to
// opted_out (all texts), recorded with the keyword and the inbound id.
func TestStopFamilyOptsOut(t *testing.T) {
	c := newConsentGW(t)
	for i, tok := range []string{"STOP", "stopall", "Stop All", "UNSUBSCRIBE", "cancel", "End", "QUIT", "revoke",
		"OPTOUT", "opt out", "Opt-Out", "REMOVE", "arret", "TD"} {
		number := "+1212555" + string(rune('2'+i/10)) + string(rune('0'+i%10)) + "00"
		c.optIn(webForm(number))
		id := c.text(number, tok)
		con := c.consent(number)
		if con.Marketing != store.MarketingOptedOut || !con.OptedOutAll || !con.OptOutByKeyword {
			t.Errorf("%q: consent %+v", tok, con)
		}
		evs := c.events(number)
		last := evs[len(evs)-1]
		if last.Type != EventOptOut || last.Purpose != PurposeAll || last.InboundID != id || last.Keyword == "" || last.Method != MethodKeyword {
			t.Errorf("%q: ledger entry %+v", tok, last)
		}
	}
}

// TestStopConfirmationOnce is R-STOP-3: one confirmation; a second STOP
// within 24 h gets none; a STOP a day later is a new event and gets one.
func TestStopConfirmationOnce(t *testing.T) {
	c := newConsentGW(t)
	c.optIn(webForm(numA))
	c.text(numA, "STOP")
	c.text(numA, "stop")
	c.clock.add(23 * time.Hour)
	c.text(numA, "END")
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyStop))
	c.clock.add(2 * time.Hour)
	c.text(numA, "STOP")
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyStop), c.reply(compliance.ReplyStop))
	if n := len(c.events(numA)); n != 5 {
		t.Errorf("%d ledger entries, want 5 (opt-in and every STOP)", n)
	}
}

// TestStartOnlyAfterKeywordOptOut is R-START.
func TestStartOnlyAfterKeywordOptOut(t *testing.T) {
	c := newConsentGW(t)
	// Never subscribed: START creates nothing and gets no reply.
	c.text(numA, "START")
	if con := c.consent(numA); con.Marketing != store.MarketingNone || len(c.events(numA)) != 0 {
		t.Errorf("START from a stranger: %+v", con)
	}
	c.wantReplies(numA)

	// Keyword opt-out: START re-subscribes with the full confirmation.
	c.optIn(webForm(numB))
	c.text(numB, "STOP")
	id := c.text(numB, "unstop")
	con := c.consent(numB)
	if con.Marketing != store.MarketingConfirmed || con.OptedOutAll || con.OptOutByKeyword {
		t.Errorf("after UNSTOP: %+v", con)
	}
	evs := c.events(numB)
	if last := evs[len(evs)-1]; last.Type != EventResubscribe || last.InboundID != id {
		t.Errorf("resubscribe entry: %+v", last)
	}
	c.wantReplies(numB, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyStop), c.reply(compliance.ReplyOptIn))

	// An opt-out taken by phone (console) is not undone by START.
	c.optIn(webForm(numC))
	if _, _, err := c.g.OptOut(context.Background(), OptOutRequest{Number: numC, Purpose: PurposeAll, Method: MethodConsole, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	c.text(numC, "START")
	if con := c.consent(numC); con.Marketing != store.MarketingOptedOut {
		t.Errorf("START undid a console opt-out: %+v", con)
	}
}

// TestHelpReply is R-HELP: HELP, INFO and AIDE get the help text, opted-out
// numbers included, at most once an hour.
func TestHelpReply(t *testing.T) {
	c := newConsentGW(t)
	c.text(numA, "HELP")
	c.text(numA, "info") // within the hour: no second answer
	c.wantReplies(numA, c.reply(compliance.ReplyHelp))
	c.clock.add(61 * time.Minute)
	c.text(numA, "Aide")
	c.wantReplies(numA, c.reply(compliance.ReplyHelp), c.reply(compliance.ReplyHelp))
	if n := len(c.events(numA)); n != 0 {
		t.Errorf("HELP wrote %d ledger entries; consent did not change", n)
	}

	c.optIn(webForm(numB))
	c.text(numB, "STOP")
	c.text(numB, "help")
	c.wantReplies(numB, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyStop), c.reply(compliance.ReplyHelp))
}

func TestJoinKeyword(t *testing.T) {
	c := newConsentGW(t)
	id := c.text(numA, " join ")
	con := c.consent(numA)
	if con.Marketing != store.MarketingConfirmed {
		t.Fatalf("after JOIN: %+v", con)
	}
	ev := c.events(numA)[0]
	if ev.Type != EventOptIn || ev.Method != MethodKeyword || ev.Source != "keyword:JOIN" || ev.InboundID != id ||
		ev.DisclosureVersion != "v1" || ev.DisclosureText != disclosureV1 || ev.MessageID == 0 {
		t.Errorf("JOIN entry: %+v", ev)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn))
	c.text(numA, "JOIN") // already in: nothing more
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn))

	// A configured keyword replaces JOIN; a keyword opt-out can be undone by it.
	s := c.g.ComplianceSettings()
	s.JoinKeyword = "Bread"
	if err := c.g.SaveComplianceSettings(s, "test"); err != nil {
		t.Fatal(err)
	}
	c.text(numB, "JOIN")
	if con := c.consent(numB); con.Marketing != store.MarketingNone {
		t.Errorf("old keyword still works: %+v", con)
	}
	c.text(numA, "STOP")
	c.text(numA, "BREAD")
	if con := c.consent(numA); con.Marketing != store.MarketingConfirmed || con.OptedOutAll {
		t.Errorf("BREAD after STOP: %+v", con)
	}
}

// TestFuzzyOptOutReview is R-STOP-4: a text that reads like an opt-out
// pauses marketing and waits in the review queue, with no reply; a person
// then opts the number out (one confirmation) or keeps it.
func TestFuzzyOptOutReview(t *testing.T) {
	c := newConsentGW(t)
	for _, n := range []string{numA, numB} {
		c.optIn(webForm(n))
	}
	idA := c.text(numA, "please stop texting me")
	c.text(numB, "stpo")
	c.text(numC, "what time do you close?")
	con := c.consent(numA)
	if !con.Review || con.ReviewInboundID != idA || con.ReviewText != "please stop texting me" || con.Marketing != store.MarketingConfirmed {
		t.Errorf("review record: %+v", con)
	}
	evs := c.events(numA)
	if last := evs[len(evs)-1]; last.Type != EventOptOutReview || last.InboundID != idA {
		t.Errorf("review entry: %+v", last)
	}
	q, err := c.g.ReviewQueue()
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 {
		t.Fatalf("review queue has %d numbers, want 2: %+v", len(q), q)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn)) // no reply to a review
	if len(c.events(numC)) != 0 {
		t.Errorf("an ordinary text changed the ledger")
	}

	if _, _, err := c.g.ResolveReview(context.Background(), numA, ReviewOptOut, "ana"); err != nil {
		t.Fatal(err)
	}
	if con := c.consent(numA); con.Review || con.Marketing != store.MarketingOptedOut || !con.OptedOutAll {
		t.Errorf("after opt_out decision: %+v", con)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyStop))

	if _, _, err := c.g.ResolveReview(context.Background(), numB, ReviewKeep, "ana"); err != nil {
		t.Fatal(err)
	}
	if con := c.consent(numB); con.Review || con.Marketing != store.MarketingConfirmed {
		t.Errorf("after keep decision: %+v", con)
	}
	evs = c.events(numB)
	if last := evs[len(evs)-1]; last.Type != EventReviewResolved || last.Actor != "ana" {
		t.Errorf("keep entry: %+v", last)
	}
	if _, _, err := c.g.ResolveReview(context.Background(), numB, ReviewKeep, "ana"); !errors.Is(err, ErrConflict) {
		t.Errorf("resolving a closed review: %v, want a conflict", err)
	}
	var fe *FieldError
	if _, _, err := c.g.ResolveReview(context.Background(), numB, "maybe", "ana"); !errors.As(err, &fe) || fe.Field != "decision" {
		t.Errorf("bad decision: %v", err)
	}
}

// TestKeywordHandlingIdempotent: handling the same text twice (a crash
// before it was marked handled) writes one entry and queues one reply.
func TestKeywordHandlingIdempotent(t *testing.T) {
	c := newConsentGW(t)
	c.optIn(webForm(numA))
	in := store.Inbound{ID: 77, Modem: "sim1", From: numA, Text: "STOP"}
	for i := 0; i < 2; i++ {
		if err := c.g.consent.HandleInbound(in); err != nil {
			t.Fatal(err)
		}
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyStop))
	if n := len(c.events(numA)); n != 2 {
		t.Errorf("%d ledger entries, want 2", n)
	}
}

func TestOptInAfterOptOut(t *testing.T) {
	c := newConsentGW(t)
	c.optIn(webForm(numA))
	c.text(numA, "STOP")
	// Someone else's claim cannot re-subscribe a number that said STOP...
	_, _, err := c.g.OptIn(context.Background(), OptInRequest{Number: numA, Method: MethodAPI, Source: "crm", DisclosureVersion: "v1"})
	if !errors.Is(err, ErrOptedOut) {
		t.Fatalf("single opt-in after STOP: %v, want ErrOptedOut", err)
	}
	// ...but the person's own double opt-in can.
	r := webForm(numA)
	r.DoubleOptIn = true
	c.optIn(r)
	c.text(numA, "YES")
	if con := c.consent(numA); con.Marketing != store.MarketingConfirmed || con.OptedOutAll {
		t.Errorf("after double opt-in: %+v", con)
	}
}

func TestOptInSuppressedNumber(t *testing.T) {
	c := newConsentGW(t)
	if _, err := c.db.EraseNumber(numA); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.g.OptIn(context.Background(), OptInRequest{Number: numA, Method: MethodAPI, Source: "crm", DisclosureVersion: "v1"})
	if !errors.Is(err, ErrSuppressed) {
		t.Errorf("API opt-in of an erased number: %v, want ErrSuppressed", err)
	}
	c.wantReplies(numA)
	// The person coming back through the web form is allowed.
	r := webForm(numA)
	r.DoubleOptIn = true
	if _, _, err := c.g.OptIn(context.Background(), r); err != nil {
		t.Errorf("web form opt-in of an erased number: %v", err)
	}
}

func TestConsentEvidence(t *testing.T) {
	c := newConsentGW(t)
	c.optIn(webForm(numA))
	c.text(numA, "STOP")
	ev, err := c.g.ConsentEvidence("(212) 555-0101")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Number != numA || len(ev.Events) != 2 || ev.Disclosures["v1"].Text != disclosureV1 || ev.Consent.Marketing != MarketingOptedOut {
		t.Errorf("evidence: %+v", ev)
	}
}

// TestConsentLiveEvent: the console hears about consent changes.
func TestConsentLiveEvent(t *testing.T) {
	c := newConsentGW(t)
	sub := c.g.Hub().Subscribe(64)
	defer sub.Close()
	c.optIn(webForm(numA))
	for {
		select {
		case e := <-sub.C:
			if e.Type == "consent" {
				if e.Consent == nil || e.Consent.Number != numA {
					t.Fatalf("consent event: %+v", e)
				}
				return
			}
		default:
			t.Fatal("no consent event published")
		}
	}
}

// TestPendingInboundHandledAtStart: a STOP stored before a crash, but not
// yet applied, is applied when the gateway starts, before anything is sent.
func TestPendingInboundHandledAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}}})
		if err := r.g.SaveComplianceSettings(lintSettings(), "test"); err != nil {
			t.Fatal(err)
		}
		// What handleInbound stores, without the keyword handling after it.
		_, complete, err := r.db.AddInboundPart(store.InboundPart{Modem: "sim1", From: customer, Seq: 1, Total: 1, TPDU: []byte{1}},
			func([]store.InboundPart) (store.Inbound, error) {
				return store.Inbound{Modem: "sim1", From: customer, Text: "Stop", Parts: 1}, nil
			})
		if err != nil || !complete {
			t.Fatalf("store inbound: %v %v", complete, err)
		}
		r.start()
		// The consent change commits before the text is marked handled, so
		// wait for both: checking the pending list right after the first raced.
		r.waitFor("the stored STOP to be applied and marked handled", func() bool {
			c, err := r.db.Consent(customer)
			pending, err2 := r.db.PendingInbound()
			return err == nil && err2 == nil && c.OptedOutAll && len(pending) == 0
		})
	})
}

// TestStopBySimulator: a STOP texted into the simulator opts the number
// out and exactly one confirmation reaches the modem, however many STOPs
// follow, on any SIM.
func TestStopBySimulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{modems: []sim.Config{{Number: simA}, {Number: simB}}})
		if err := r.g.SaveComplianceSettings(lintSettings(), "test"); err != nil {
			t.Fatal(err)
		}
		r.start()
		// Three different texts: the same PDU twice on one modem is a
		// duplicate the store drops.
		for i, to := range []string{simA, simB, simA} {
			if err := r.net.Deliver(customer, to, []string{"STOP", "Stop", "stop."}[i]); err != nil {
				t.Fatal(err)
			}
		}
		r.waitFor("three STOPs handled", func() bool {
			p, err := r.db.PendingInbound()
			in, _, err2 := r.g.Inbox(0, 10)
			return err == nil && err2 == nil && len(in) == 3 && len(p) == 0
		})
		c, err := r.db.Consent(customer)
		if err != nil || !c.OptedOutAll || c.Marketing != store.MarketingOptedOut {
			t.Fatalf("consent after STOP: %+v %v", c, err)
		}
		var confirmations []store.Message
		r.waitFor("the confirmation to be sent", func() bool {
			all, _, err := r.db.List(store.ListFilter{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			confirmations = nil
			for _, m := range all {
				if m.To == customer && m.Kind == store.KindCompliance {
					confirmations = append(confirmations, m)
				}
			}
			return len(confirmations) == 1 && confirmations[0].Status != store.StatusQueued && confirmations[0].Status != store.StatusSending
		})
		if st := confirmations[0].Status; st != store.StatusSent && st != store.StatusDelivered {
			t.Errorf("confirmation %s, want sent", st)
		}
	})
}

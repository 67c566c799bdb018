package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func sendingCampaign(t *testing.T, db *DB) Campaign {
	t.Helper()
	c, err := db.CreateCampaign(Campaign{Name: "December sale", State: CampaignSending})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func campaignPlan(c Campaign, number, variant string, at time.Time) CampaignPlan {
	p := CampaignPlan{Member: CampaignMember{Variant: variant, Number: number, At: at}}
	if variant != HoldoutVariant {
		p.Message = &Message{To: number, Text: "Rosa's: sale " + variant, Kind: KindMarketing,
			ExitKey: CampaignExitKey(c.ID), Origin: fmt.Sprintf("campaign:%d:variant:%s", c.ID, variant),
			IdempotencyScope: fmt.Sprintf("campaign:%d", c.ID), IdempotencyKey: "number:" + number, NextAttemptAt: at}
	}
	return p
}

func TestCampaignBatchStoresOnce(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	c := sendingCampaign(t, db)
	at := clk.now().Add(time.Hour)
	batch := CampaignBatch{Campaign: c.ID, Cursor: "2", Plans: []CampaignPlan{
		campaignPlan(c, "+12125550101", "a", at),
		campaignPlan(c, "+12125550102", "b", at),
		campaignPlan(c, "+12125550103", HoldoutVariant, at),
	}, Skipped: map[string]int64{"no consent": 2}}
	res, err := db.CommitCampaignBatch(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 2 || res.Existing != 0 {
		t.Fatalf("first commit stored %d texts, %d existing; want 2, 0", len(res.Messages), res.Existing)
	}
	if res.Campaign.Cursor != "2" || res.Campaign.Planned["a"] != 1 || res.Campaign.Planned[HoldoutVariant] != 1 ||
		res.Campaign.Skipped["no consent"] != 2 {
		t.Errorf("campaign after commit %+v", res.Campaign)
	}
	// The same page again (a crash after the commit, before the caller
	// saw it): nothing new, even with other texts.
	batch.Plans[0].Message.Text = "Rosa's: changed"
	again, err := db.CommitCampaignBatch(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Messages) != 0 || again.Existing != 3 || again.Campaign.Planned["a"] != 1 {
		t.Fatalf("second commit stored %d texts, %d existing, planned %v", len(again.Messages), again.Existing, again.Campaign.Planned)
	}
	ids, err := db.IDsByStatus(StatusQueued)
	if err != nil || len(ids) != 2 {
		t.Fatalf("queued messages %v, %v; want 2", ids, err)
	}

	ms, err := db.CampaignMemberships("+12125550101")
	if err != nil || len(ms) != 1 {
		t.Fatalf("memberships %+v, %v", ms, err)
	}
	if m := ms[0]; m.Campaign != c.ID || m.Variant != "a" || m.MessageID != res.Messages[0].ID || !m.At.Equal(at) {
		t.Errorf("member %+v", m)
	}
	hold, ok, err := db.CampaignMemberOf(c.ID, "+12125550103")
	if err != nil || !ok || hold.MessageID != 0 || hold.Variant != HoldoutVariant {
		t.Errorf("holdout member %+v %v %v", hold, ok, err)
	}
	page, more, err := db.CampaignMembers(c.ID, "", 2)
	if err != nil || len(page) != 2 || !more || page[0].Number != "+12125550101" {
		t.Fatalf("first page %+v more=%v %v", page, more, err)
	}
	rest, more, err := db.CampaignMembers(c.ID, page[1].Number, 2)
	if err != nil || len(rest) != 1 || more || rest[0].Number != "+12125550103" {
		t.Fatalf("second page %+v more=%v %v", rest, more, err)
	}
}

func TestCampaignBatchFailsWhole(t *testing.T) {
	db := openTest(t)
	c := sendingCampaign(t, db)
	bad := campaignPlan(c, "+12125550102", "b", time.Now())
	bad.Member.Variant = ""
	_, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Cursor: "x", Plans: []CampaignPlan{
		campaignPlan(c, "+12125550101", "a", time.Now()), bad}})
	if err == nil {
		t.Fatal("a member without a variant was stored")
	}
	if ms, _ := db.CampaignMemberships("+12125550101"); len(ms) != 0 {
		t.Errorf("a failed batch left members %+v", ms)
	}
	if ids, _ := db.IDsByStatus(StatusQueued); len(ids) != 0 {
		t.Errorf("a failed batch left texts %v", ids)
	}
	if got, _ := db.GetCampaign(c.ID); got.Cursor != "" {
		t.Errorf("a failed batch moved the cursor to %q", got.Cursor)
	}
}

func TestCampaignBatchRefusedUnlessSending(t *testing.T) {
	db := openTest(t)
	c, err := db.CreateCampaign(Campaign{Name: "draft"})
	if err != nil || c.State != CampaignDraft {
		t.Fatalf("create: %+v %v", c, err)
	}
	_, err = db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: []CampaignPlan{campaignPlan(c, "+12125550101", "a", time.Now())}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("batch for a draft: %v, want ErrConflict", err)
	}
}

func TestCancelCampaignWithdrawsQueued(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	c := sendingCampaign(t, db)
	other := sendingCampaign(t, db)
	at := clk.now()
	res, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: []CampaignPlan{
		campaignPlan(c, "+12125550101", "a", at), campaignPlan(c, "+12125550102", "b", at)}})
	if err != nil {
		t.Fatal(err)
	}
	keep, err := db.CommitCampaignBatch(CampaignBatch{Campaign: other.ID, Plans: []CampaignPlan{campaignPlan(other, "+12125550101", "a", at)}})
	if err != nil {
		t.Fatal(err)
	}
	// One text was handed to a modem already: past recall.
	if _, err := db.Update(res.Messages[0].ID, func(m *Message) error { m.Status = StatusSent; return nil }); err != nil {
		t.Fatal(err)
	}
	got, withdrawn, err := db.CancelCampaign(c.ID, "cancelled by alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != CampaignCancelled || len(withdrawn) != 1 || withdrawn[0].ID != res.Messages[1].ID {
		t.Fatalf("cancel: %+v, withdrew %d", got, len(withdrawn))
	}
	for id, want := range map[uint64]Status{res.Messages[0].ID: StatusSent, res.Messages[1].ID: StatusSuppressed, keep.Messages[0].ID: StatusQueued} {
		if m, _ := db.Get(id); m.Status != want {
			t.Errorf("message %d is %s, want %s", id, m.Status, want)
		}
	}
	if _, _, err := db.CancelCampaign(c.ID, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("cancelling twice: %v, want ErrConflict", err)
	}
	if _, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: []CampaignPlan{campaignPlan(c, "+12125550103", "a", at)}}); !errors.Is(err, ErrConflict) {
		t.Errorf("planning a cancelled campaign: %v, want ErrConflict", err)
	}
}

func TestHoldAndReleaseCampaignTexts(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	c := sendingCampaign(t, db)
	early, later := clk.now(), clk.now().Add(3*time.Hour)
	res, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: []CampaignPlan{
		campaignPlan(c, "+12125550101", "a", early), campaignPlan(c, "+12125550102", "a", later),
		campaignPlan(c, "+12125550103", "b", early)}})
	if err != nil {
		t.Fatal(err)
	}
	var held int
	for more := true; more; {
		var ms []Message
		ms, more, err = db.HoldCampaignTexts(c.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		held += len(ms)
	}
	if held != 3 {
		t.Fatalf("held %d texts, want 3", held)
	}
	if due, _ := db.DueIDs(clk.now().Add(24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("held texts are due: %v", due)
	}
	if ms, _, _ := db.HoldCampaignTexts(c.ID, 10); len(ms) != 0 {
		t.Errorf("holding again changed %d texts", len(ms))
	}
	clk.advance(time.Hour)
	released, more, err := db.ReleaseCampaignTexts(c.ID, clk.now(), 10)
	if err != nil || more || len(released) != 3 {
		t.Fatalf("released %d (more %v): %v", len(released), more, err)
	}
	for _, m := range released {
		want := clk.now()
		if m.ID == res.Messages[1].ID {
			want = later // not before its own planned time
		}
		if !m.NextAttemptAt.Equal(want) || m.Hold != "" {
			t.Errorf("message %d due %v hold %q, want %v", m.ID, m.NextAttemptAt, m.Hold, want)
		}
	}
}

func TestSubjectExportAndErasureOfCampaignMembers(t *testing.T) {
	db := openTest(t)
	c := sendingCampaign(t, db)
	if _, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: []CampaignPlan{
		campaignPlan(c, "+12125550101", HoldoutVariant, time.Now()), campaignPlan(c, "+12125550102", "a", time.Now())}}); err != nil {
		t.Fatal(err)
	}
	// Before the erasure, the person's data export lists the membership
	// (GDPR Art. 15), holdout included.
	subject, err := db.Subject("+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	if ms := subject.CampaignMemberships; len(ms) != 1 || ms[0].Campaign != c.ID || ms[0].Variant != HoldoutVariant {
		t.Errorf("subject export's campaign memberships %+v, want the holdout of campaign %d", ms, c.ID)
	}
	rep, err := db.EraseNumber("+12125550101")
	if err != nil || rep.CampaignMembers != 1 {
		t.Fatalf("erase: %+v %v", rep, err)
	}
	if ms, _ := db.CampaignMemberships("+12125550101"); len(ms) != 0 {
		t.Errorf("erased number still a member: %+v", ms)
	}
	page, _, _ := db.CampaignMembers(c.ID, "", 10)
	if len(page) != 1 || page[0].Number != "+12125550102" {
		t.Errorf("members after erasure %+v", page)
	}
}

func TestBatchReadsForCampaigns(t *testing.T) {
	db := openTest(t)
	a, err := db.CreateContact(Contact{Number: "+12125550101", Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.AppendConsent(ConsentEvent{Number: a.Number, Type: EventOptIn, Purpose: PurposeMarketing, Method: MethodAPI, Source: "test"},
		func(c *Consent) error { c.Marketing = MarketingConfirmed; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EraseNumber("+12125550199"); err != nil {
		t.Fatal(err)
	}
	got, err := db.ContactsByID([]uint64{a.ID, 999})
	if err != nil || len(got) != 1 || got[a.ID].Name != "Ann" {
		t.Errorf("contacts %+v, %v", got, err)
	}
	st, err := db.ConsentsOf([]string{a.Number, "+12125550199", "+12125550100"})
	if err != nil {
		t.Fatal(err)
	}
	if st[a.Number].Consent.Marketing != MarketingConfirmed || st[a.Number].Suppressed {
		t.Errorf("consented number: %+v", st[a.Number])
	}
	if !st["+12125550199"].Suppressed || st["+12125550100"].Suppressed || st["+12125550100"].Consent.Marketing == MarketingConfirmed {
		t.Errorf("erased / unknown numbers: %+v", st)
	}
}

func TestCampaignBatchStoresLinksWithTexts(t *testing.T) {
	db := openTest(t)
	c := sendingCampaign(t, db)
	// A link already holds code "AAAAAAA": the batch's text that carries
	// it gets a new code, in the text too.
	if _, err := db.EnsureLinks([]Link{{URL: "https://shop.example/old", Number: "+12125550100", Origin: "x", MessageKey: "old"}},
		func() (string, error) { return "AAAAAAA", nil }); err != nil {
		t.Fatal(err)
	}
	plan := func(number, code string) CampaignPlan {
		p := campaignPlan(c, number, "a", time.Now())
		p.Message.Text = "Rosa's: sale https://go.example/l/" + code + " STOP"
		p.Links = []Link{{Code: code, URL: "https://shop.example/sale", Number: number, Origin: p.Message.Origin, MessageKey: p.Message.IdempotencyKey}}
		return p
	}
	res, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: []CampaignPlan{plan("+12125550101", "BBBBBBB"), plan("+12125550102", "AAAAAAA")},
		NewLinkCode: func() (string, error) { return "CCCCCCC", nil }})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"BBBBBBB", "CCCCCCC"} {
		m := res.Messages[i]
		if !strings.Contains(m.Text, "/l/"+want) {
			t.Errorf("text %d %q, want code %s", i, m.Text, want)
		}
		l, err := db.LinkByCode(want)
		if err != nil || l.Number != m.To || l.URL != "https://shop.example/sale" || l.MessageKey != m.IdempotencyKey {
			t.Errorf("link %s: %+v, %v", want, l, err)
		}
	}
	// A batch that fails stores none of its links.
	bad := plan("+12125550103", "DDDDDDD")
	bad.Member.Variant = ""
	if _, err := db.CommitCampaignBatch(CampaignBatch{Campaign: c.ID, Plans: []CampaignPlan{plan("+12125550104", "EEEEEEE"), bad}}); err == nil {
		t.Fatal("a bad batch was stored")
	}
	if _, err := db.LinkByCode("EEEEEEE"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed batch left its link: %v", err)
	}
}

package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/store"
)

const saleBody = "Rosa's: 20% off everything until Sunday: https://rosa.example/sale"

func saleAt10() Definition {
	return Definition{Name: "December sale", Audience: Audience{SegmentID: 7}, Template: Template{Body: saleBody},
		Schedule: Schedule{Mode: ScheduleLocal, Date: "2026-12-05", Time: "10:00"},
		Variants: []Variant{{Share: 45}, {Share: 45, Body: "Rosa's: the sale is on! https://rosa.example/sale"}}, Holdout: 10}
}

func TestBadInputNamesFieldAndStoresNothing(t *testing.T) {
	r := newRig(t)
	r.population(5)
	r.contact("+12125559999", "America/New_York", false, "cold")
	throttle0 := 0
	for _, tc := range []struct {
		name  string
		edit  func(d *Definition)
		field string
	}{
		{"no name", func(d *Definition) { d.Name = " " }, "name"},
		{"no audience", func(d *Definition) { d.Audience = Audience{} }, "audience"},
		{"unknown segment rule", func(d *Definition) { d.Audience = Audience{Segment: json.RawMessage(`{"colour":"red"}`)} }, "audience.segment.tag"},
		{"unknown saved segment", func(d *Definition) { d.Audience = Audience{SegmentID: 99} }, "audience.segment_id"},
		{"no consent-bearing member", func(d *Definition) { d.Audience = Audience{Segment: json.RawMessage(`{"tag":"cold"}`)} }, "audience"},
		{"schedule in the past", func(d *Definition) { d.Schedule = Schedule{Mode: ScheduleAt, At: "2026-12-01T10:00"} }, "schedule.at"},
		{"local date in the past", func(d *Definition) { d.Schedule.Date = "2026-12-02" }, "schedule.date"},
		{"bad mode", func(d *Definition) { d.Schedule.Mode = "soon" }, "schedule.mode"},
		{"shares over 100 with the holdout", func(d *Definition) { d.Variants[1].Share = 50 }, "variants"},
		{"shares under 100", func(d *Definition) { d.Variants[1].Share = 30 }, "variants"},
		{"one variant", func(d *Definition) { d.Variants = d.Variants[:1] }, "variants"},
		{"wrong key", func(d *Definition) { d.Variants[1].Key = "z" }, "variants[1].key"},
		{"end before start", func(d *Definition) { d.End = "2026-12-04T09:00" }, "end"},
		{"throttle zero", func(d *Definition) { d.Throttle = &throttle0 }, "throttle"},
		{"holdout too big", func(d *Definition) { d.Holdout = 80 }, "holdout"},
		{"template that does not parse", func(d *Definition) { d.Template.Body = "Rosa's: {{ .name" }, "template.body"},
		{"marketing without the brand", func(d *Definition) { d.Variants[1].Body = "Sale on now!" }, "variants[1].body"},
		{"test first without metric", func(d *Definition) { d.TestFirst = &TestFirst{Percent: 20, WaitHours: 4, Metric: "opens"} }, "test_first.metric"},
		{"variant time with now", func(d *Definition) { d.Schedule = Schedule{Mode: ScheduleNow}; d.Variants[0].Time = "09:00" }, "variants[0].time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := saleAt10()
			tc.edit(&def)
			_, err := r.svc.Create(context.Background(), def)
			var fe *store.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want a field error on %q", err, tc.field)
			}
			if _, err := r.svc.DryRun(context.Background(), def); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("dry run: %v, want a field error on %q", err, tc.field)
			}
		})
	}
	if cs, _ := r.db.Campaigns(); len(cs) != 0 {
		t.Errorf("refused input stored %d campaigns", len(cs))
	}
	if ms := r.messages(); len(ms) != 0 {
		t.Errorf("refused input queued %d texts", len(ms))
	}
}

// TestLocalTenOClockAcrossZones: every consented member gets exactly one
// text at 10:00 on their own clock, the holdout and the non-consented
// none, and the variants split as the shares say.
func TestLocalTenOClockAcrossZones(t *testing.T) {
	r := newRig(t)
	consented := r.population(60)
	c := r.create(saleAt10())
	if c.State != "draft" || c.Definition.Audience.SegmentName != "VIPs" || string(c.Definition.Audience.Segment) != `{"tag":"vip"}` {
		t.Fatalf("draft %+v", c)
	}
	r.send(c.ID)
	c = r.step(c.ID)
	if c.State != "sending" || c.Phase != "done" {
		t.Fatalf("after planning: state %s phase %s", c.State, c.Phase)
	}
	members := r.members(c.ID)
	if len(members) != len(consented) {
		t.Fatalf("%d members, want the %d consented", len(members), len(consented))
	}
	texts := map[string]store.Message{}
	for _, m := range r.messages() {
		if _, dup := texts[m.To]; dup {
			t.Errorf("%s got two texts", m.To)
		}
		texts[m.To] = m
	}
	holdout := 0
	for _, m := range members {
		zone, ok := consented[m.Number]
		if !ok {
			t.Errorf("%s has no consent but is a member", m.Number)
		}
		if m.Variant == store.HoldoutVariant {
			holdout++
			if _, got := texts[m.Number]; got || m.MessageID != 0 {
				t.Errorf("holdout member %s got a text", m.Number)
			}
			continue
		}
		msg, ok := texts[m.Number]
		if !ok || msg.ID != m.MessageID {
			t.Errorf("member %s: text %+v, member says %d", m.Number, msg.ID, m.MessageID)
			continue
		}
		loc, _ := time.LoadLocation(zone)
		if lt := msg.NextAttemptAt.In(loc); lt.Hour() != 10 || lt.Minute() != 0 || lt.Day() != 5 {
			t.Errorf("%s (%s) due %s local, want 10:00 on the 5th", m.Number, zone, lt)
		}
		if want := Origin(c.ID, m.Variant); msg.Origin != want || msg.ExitKey != store.CampaignExitKey(c.ID) {
			t.Errorf("%s: origin %q exit %q", m.Number, msg.Origin, msg.ExitKey)
		}
		if msg.Kind != store.KindMarketing || !strings.Contains(msg.Text, "https://go.rosa.example/l/") {
			t.Errorf("%s: %s text %q", m.Number, msg.Kind, msg.Text)
		}
		if m.Variant == "b" && !strings.HasPrefix(msg.Text, "Rosa's: the sale is on!") {
			t.Errorf("variant b text %q", msg.Text)
		}
	}
	if len(texts)+holdout != len(members) {
		t.Errorf("%d texts and %d in the holdout for %d members", len(texts), holdout, len(members))
	}
	if c.Texts != int64(len(texts)) || c.Holdout != int64(holdout) {
		t.Errorf("campaign counts %d texts, %d holdout; want %d, %d", c.Texts, c.Holdout, len(texts), holdout)
	}
	// Planning again (a restart) adds nothing.
	r.restart(nil)
	if _, err := r.db.UpdateCampaign(c.ID, func(sc *store.Campaign) error { sc.Phase, sc.Cursor = "", ""; return nil }); err != nil {
		t.Fatal(err)
	}
	r.step(c.ID)
	if n := len(r.messages()); n != len(texts) {
		t.Errorf("planning again made %d texts, want %d", n, len(texts))
	}
}

func TestAssignmentDeterministicAndShared(t *testing.T) {
	vs := []Variant{{Key: "a", Share: 30}, {Key: "b", Share: 60}}
	counts := map[string]int{}
	for i := range 20000 {
		key := MemberKey(uint64(i+1), "")
		v := Assign(5, key, 10, vs)
		if again := Assign(5, key, 10, vs); again != v {
			t.Fatalf("member %s: %s then %s", key, v, again)
		}
		counts[v]++
	}
	for v, want := range map[string]float64{"holdout": 0.10, "a": 0.30, "b": 0.60} {
		if got := float64(counts[v]) / 20000; math.Abs(got-want) > 0.015 {
			t.Errorf("variant %s got %.3f of members, want %.2f", v, got, want)
		}
	}
	other := 0
	for i := range 1000 {
		key := MemberKey(uint64(i+1), "")
		if Assign(5, key, 10, vs) != Assign(6, key, 10, vs) {
			other++
		}
	}
	if other < 300 {
		t.Errorf("another campaign reassigned only %d of 1000 members: the campaign ID is not in the hash", other)
	}
}

// failingPublish wraps the outbox and cancels planning after a number of
// batches, as a SIGKILL between two commits would stop it.
type failingPublish struct {
	*outbox.Queue
	after  int
	cancel context.CancelFunc
}

func (f *failingPublish) Published(ms []store.Message) {
	f.Queue.Published(ms)
	f.after--
	if f.after == 0 {
		f.cancel()
	}
}

func TestPlanningResumesWithoutDuplicates(t *testing.T) {
	r := newRig(t)
	consented := r.population(80)
	def := saleAt10()
	def.Schedule = Schedule{Mode: ScheduleNow}
	c := r.create(def)
	r.send(c.ID)
	ctx, cancel := context.WithCancel(context.Background())
	r.restart(&failingPublish{Queue: r.queue, after: 3, cancel: cancel})
	if err := r.svc.Step(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	stopped, _ := r.svc.Get(c.ID)
	if stopped.Phase == "done" || len(r.members(c.ID)) == 0 {
		t.Fatalf("the stop did not land mid-planning: phase %q, %d members", stopped.Phase, len(r.members(c.ID)))
	}
	// The cursor is lost too, as if the last commit's caller never saw it:
	// only the member records stand between a resume and a second text.
	if _, err := r.db.UpdateCampaign(c.ID, func(sc *store.Campaign) error { sc.Cursor = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	r.restart(nil)
	done := r.step(c.ID)
	if done.Phase != "done" {
		t.Fatalf("resumed planning ended in phase %q", done.Phase)
	}
	seen := map[string]bool{}
	for _, m := range r.messages() {
		if seen[m.To] {
			t.Errorf("%s texted twice", m.To)
		}
		seen[m.To] = true
	}
	if got := len(r.members(c.ID)); got != len(consented) {
		t.Errorf("%d members after resume, want %d", got, len(consented))
	}
	if done.Texts+done.Holdout != int64(len(consented)) || done.Texts != int64(len(seen)) {
		t.Errorf("counts %d texts + %d holdout, %d texts stored, %d consented", done.Texts, done.Holdout, len(seen), len(consented))
	}
}

func TestPauseResumeCancel(t *testing.T) {
	r := newRig(t)
	r.population(30)
	c := r.create(saleAt10())
	r.send(c.ID)
	r.step(c.ID)
	ctx := context.Background()
	queued := func() (due, held int) {
		for _, m := range r.messages() {
			if m.Status != store.StatusQueued {
				continue
			}
			if m.Hold == store.CampaignPausedHold {
				held++
			} else {
				due++
			}
		}
		return
	}
	due, _ := queued()
	if _, err := r.svc.Pause(ctx, c.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if d, h := queued(); d != 0 || h != due {
		t.Fatalf("paused: %d due, %d held; want 0, %d", d, h, due)
	}
	if ids, _ := r.db.DueIDs(r.clk.now().Add(48*time.Hour), 100); len(ids) != 0 {
		t.Errorf("paused texts are due: %v", ids)
	}
	if _, err := r.svc.Pause(ctx, c.ID, ""); !errors.Is(err, store.ErrConflict) {
		t.Errorf("pausing twice: %v", err)
	}
	if _, err := r.svc.Resume(ctx, c.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if d, h := queued(); d != due || h != 0 {
		t.Fatalf("resumed: %d due, %d held; want %d, 0", d, h, due)
	}
	for _, m := range r.members(c.ID) {
		if m.MessageID == 0 {
			continue
		}
		msg, _ := r.db.Get(m.MessageID)
		if !msg.NextAttemptAt.Equal(m.At) {
			t.Errorf("%s due %v after resume, planned %v", m.Number, msg.NextAttemptAt, m.At)
		}
	}
	got, err := r.svc.Cancel(ctx, c.ID, "alice")
	if err != nil || got.State != "cancelled" {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	for _, m := range r.messages() {
		if m.Status != store.StatusSuppressed {
			t.Errorf("%s is %s after cancel", m.To, m.Status)
		}
	}
}

func TestThrottleAndEnd(t *testing.T) {
	r := newRig(t)
	r.population(40)
	def := saleAt10()
	def.Schedule = Schedule{Mode: ScheduleAt, At: "2026-12-05T10:00"}
	perHour := 5
	def.Throttle = &perHour
	def.End = "2026-12-05T14:00"
	def.Holdout, def.Variants = 0, nil
	c := r.create(def)
	r.send(c.ID)
	r.clk.add(24 * time.Hour) // Saturday 12:00 New York: past the start
	c = r.step(c.ID)
	perClockHour := map[int]int{}
	for _, m := range r.messages() {
		lt := m.NextAttemptAt.In(r.ny)
		perClockHour[lt.Hour()]++
		if !m.ExpiresAt.Equal(time.Date(2026, 12, 5, 14, 0, 0, 0, r.ny)) {
			t.Errorf("expires %v, want the end", m.ExpiresAt)
		}
	}
	for h, n := range perClockHour {
		if n > perHour {
			t.Errorf("%d texts planned in the hour from %02d:00, the throttle is %d", n, h, perHour)
		}
	}
	if perClockHour[12] != 5 || perClockHour[13] != 5 || len(perClockHour) != 2 {
		t.Errorf("texts per hour %v; want 5 at 12 and 13 (the start has passed; 14:00 is the end)", perClockHour)
	}
	if c.Skipped[skipAfterEnd] != int64(32-10) {
		t.Errorf("skipped %v; want %d after the end", c.Skipped, 32-10)
	}
}

func TestTestFirstWinner(t *testing.T) {
	r := newRig(t)
	consented := r.population(200)
	def := saleAt10()
	def.Schedule = Schedule{Mode: ScheduleNow}
	def.TestFirst = &TestFirst{Percent: 30, WaitHours: 4, Metric: MetricClickRate}
	c := r.create(def)
	r.send(c.ID)
	c = r.step(c.ID)
	if c.Phase != "test" || c.DecideAt.IsZero() {
		t.Fatalf("after the test part: phase %q decide %v", c.Phase, c.DecideAt)
	}
	testTexts := c.Texts
	if testTexts == 0 || testTexts > int64(len(consented))/2 {
		t.Fatalf("the test part sent %d texts to %d members", testTexts, len(consented))
	}
	// Before the decision time nothing more happens.
	if again := r.step(c.ID); again.Texts != testTexts || again.Decision != nil {
		t.Fatalf("moved before its time: %+v", again)
	}
	r.results.set(Origin(c.ID, "a"), OriginResults{Sent: 200, UniqueClicks: 20})
	r.results.set(Origin(c.ID, "b"), OriginResults{Sent: 200, UniqueClicks: 60})
	r.clk.add(5 * time.Hour)
	r.step(c.ID)     // decides
	c = r.step(c.ID) // plans the rest
	if c.Decision == nil || c.Decision.Winner != "b" || c.Picked != "b" || c.Phase != "done" {
		t.Fatalf("after the decision: %+v", c)
	}
	perVariant := map[string]int{}
	for _, m := range r.members(c.ID) {
		perVariant[m.Variant]++
	}
	if int64(perVariant["a"]) != c.Planned["a"] || perVariant["a"] == 0 || perVariant["b"] <= perVariant["a"] {
		t.Errorf("members per variant %v, planned %v", perVariant, c.Planned)
	}
	if got := len(r.members(c.ID)); got != len(consented) {
		t.Errorf("%d members, want %d", got, len(consented))
	}
}

func TestTestFirstNoWinnerWaitsForPick(t *testing.T) {
	r := newRig(t)
	r.population(60)
	def := saleAt10()
	def.Schedule = Schedule{Mode: ScheduleNow}
	def.TestFirst = &TestFirst{Percent: 50, WaitHours: 1, Metric: MetricConversionRate}
	c := r.create(def)
	r.send(c.ID)
	r.step(c.ID)
	r.results.set(Origin(c.ID, "a"), OriginResults{Sent: 20, MembersOrdered: 2})
	r.results.set(Origin(c.ID, "b"), OriginResults{Sent: 20, MembersOrdered: 3})
	r.clk.add(2 * time.Hour)
	c = r.step(c.ID)
	if !c.AwaitingPick || c.Decision == nil || c.Decision.Winner != "" || !strings.Contains(c.Note, "no clear winner") {
		t.Fatalf("without significance: %+v", c)
	}
	before, beforeA := c.Texts, c.Planned["a"]
	if again := r.step(c.ID); again.Texts != before {
		t.Fatal("planned the rest without a pick")
	}
	if _, err := r.svc.Pick(context.Background(), c.ID, "z", "alice"); err == nil {
		t.Error("picked a variant that does not exist")
	}
	if _, err := r.svc.Pick(context.Background(), c.ID, "a", "alice"); err != nil {
		t.Fatal(err)
	}
	c = r.step(c.ID)
	if c.Phase != "done" || c.Texts <= before || c.Planned["a"]-beforeA != c.Texts-before {
		t.Fatalf("after the pick: %+v", c)
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name     string
		outcomes []VariantOutcome
		winner   string
		test     string
	}{
		{"clear z-test winner", []VariantOutcome{{"a", 1000, 50}, {"b", 1000, 90}}, "b", "two-proportion z-test"},
		{"not significant", []VariantOutcome{{"a", 1000, 50}, {"b", 1000, 60}}, "", "two-proportion z-test"},
		{"small counts use Fisher", []VariantOutcome{{"a", 12, 1}, {"b", 12, 7}}, "b", "Fisher's exact test"},
		{"small counts, no winner", []VariantOutcome{{"a", 10, 1}, {"b", 10, 3}}, "", "Fisher's exact test"},
		{"a tie", []VariantOutcome{{"a", 100, 10}, {"b", 100, 10}}, "", "two-proportion z-test"},
		{"nothing sent", []VariantOutcome{{"a", 0, 0}, {"b", 0, 0}}, "", ""},
		{"best of three vs runner-up", []VariantOutcome{{"a", 500, 20}, {"b", 500, 70}, {"c", 500, 25}}, "b", "two-proportion z-test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(MetricClickRate, tc.outcomes)
			if d.Winner != tc.winner || d.Test != tc.test {
				t.Errorf("winner %q by %q, want %q by %q (%s)", d.Winner, d.Test, tc.winner, tc.test, d.Summary)
			}
			if d.Winner != "" && d.Confidence < 0.95 {
				t.Errorf("a winner at %.3f confidence", d.Confidence)
			}
		})
	}
	// Known values: Fisher's exact test of [[1, 9], [11, 3]] is p = 0.00276
	// (two-sided); the z-test of 50/1000 against 90/1000 has z = 3.506,
	// p = 0.000456.
	if p := FisherExact(1, 9, 11, 3); math.Abs(p-0.002759) > 1e-5 {
		t.Errorf("Fisher p = %.6f, want 0.002759", p)
	}
	if p := TwoProportionZ(50, 1000, 90, 1000); math.Abs(p-0.000456) > 1e-6 {
		t.Errorf("z-test p = %.6f, want 0.000456", p)
	}
}

func TestDryRun(t *testing.T) {
	r := newRig(t)
	consented := r.population(50)
	def := saleAt10()
	def.End = "2026-12-05T18:00"
	out, err := r.svc.DryRun(context.Background(), def)
	if err != nil {
		t.Fatal(err)
	}
	if out.Audience != len(consented) || out.Recipients+out.Holdout != len(consented) {
		t.Errorf("audience %d, %d recipients + %d holdout; want %d", out.Audience, out.Recipients, out.Holdout, len(consented))
	}
	if out.LeftOut["no consent"] != 10 {
		t.Errorf("left out %v, want 10 without consent", out.LeftOut)
	}
	if out.Longest == nil || out.Parts < out.Recipients || !strings.Contains(out.Longest.Text, "https://go.rosa.example/l/") {
		t.Errorf("parts %d, longest %+v", out.Parts, out.Longest)
	}
	if out.SIMs != 0 || !anyContains(out.Warnings, "no SIM") || out.CostNote != "no price set" {
		t.Errorf("without SIMs: %+v", out)
	}
	if cs, _ := r.db.Campaigns(); len(cs) != 0 {
		t.Error("the dry run stored a campaign")
	}
	if ms := r.messages(); len(ms) != 0 {
		t.Error("the dry run queued texts")
	}
	// Unsaved, the split is drawn for a stand-in ID and says so; a saved
	// draft's dry run has its own, exact split.
	if split := len(def.Variants) > 1 || def.Holdout > 0; out.SplitEstimated != split {
		t.Errorf("unsaved dry run: split estimated %v, want %v", out.SplitEstimated, split)
	}
}

func anyContains(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func TestEstimateFinish(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, ny) // Monday
	sims := []outbox.ModemStatus{
		{Name: "a", Budget: &simlimits.Budget{Limits: simlimits.Limits{PerMinute: 60, PerDay: 500, UniquePerDay: 500}, RemainingToday: 500}},
		{Name: "b", Budget: &simlimits.Budget{Limits: simlimits.Limits{PerMinute: 60, PerDay: 500, UniquePerDay: 500}, RemainingToday: 500}},
	}
	at := make([]time.Time, 2500)
	parts := make([]int, 2500)
	for i := range at {
		at[i], parts[i] = now, 1
	}
	finish := estimateFinish(at, parts, sims, ny, now)
	// 1,000 a day: Monday, Tuesday, and the last 500 on Wednesday.
	if finish.In(ny).Weekday() != time.Wednesday {
		t.Errorf("finish %v, want Wednesday", finish.In(ny))
	}
	out := DryRun{Finish: finish, FirstAt: now, Recipients: 2500}
	p := plan{end: time.Date(2026, 12, 8, 23, 0, 0, 0, ny)}
	ws := warnings(out, p, sims, ny)
	if !anyContains(ws, "2 SIMs at 500 a day: the last text goes on Wednesday") || !anyContains(ws, "after your sale ends") {
		t.Errorf("warnings %q", ws)
	}
	_ = compliance.DefaultQuietWindow
}

// fakeBestHours: numbers' own best hours, and the audience's.
type fakeBestHours struct {
	own      map[string]int
	audience int
}

func (f fakeBestHours) BestHour(number string) (int, bool, error) {
	h, ok := f.own[number]
	return h, ok, nil
}
func (f fakeBestHours) BestHourOf([]string) (int, bool, error) {
	return f.audience, f.audience >= 0, nil
}

func TestBestHourSchedule(t *testing.T) {
	for _, tc := range []struct {
		name     string
		audience int
	}{
		{"own hours, else the audience's", 12},
		{"no click in the box: the schedule's time", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			consented := r.population(9)
			var night, evening string
			for n, z := range consented {
				if z == "America/New_York" && night == "" {
					night = n
				} else if z == "America/Chicago" && evening == "" {
					evening = n
				}
			}
			r.svc.cfg.BestHours = fakeBestHours{own: map[string]int{evening: 18, night: 23}, audience: tc.audience}
			def := saleAt10()
			def.Variants, def.Holdout = nil, 0
			def.Schedule = Schedule{Mode: ScheduleBestHour, Date: "2026-12-05", Time: "11:00"}
			c := r.create(def)
			r.send(c.ID)
			r.step(c.ID)
			for _, m := range r.members(c.ID) {
				loc, _ := time.LoadLocation(consented[m.Number])
				lt := m.At.In(loc)
				day, hour := 5, 11
				switch {
				case m.Number == evening:
					hour = 18
				case m.Number == night:
					// 23:00 is in quiet hours: the next allowed minute.
					day, hour = 6, 8
				case tc.audience >= 0:
					hour = tc.audience
				}
				if lt.Day() != day || lt.Hour() != hour || lt.Minute() != 0 {
					t.Errorf("%s (%s) planned %s local, want the %dth at %02d:00", m.Number, consented[m.Number], lt.Format(time.RFC3339), day, hour)
				}
			}
		})
	}
}

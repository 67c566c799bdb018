package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestUsageCountsAndPrunes(t *testing.T) {
	db := openTest(t)
	day1 := time.Date(2026, 10, 31, 23, 0, 0, 0, time.Local)
	day2 := day1.Add(2 * time.Hour) // 1 November: new day and new month
	for _, r := range []struct {
		sim, to string
		at      time.Time
		parts   int
	}{
		{"sim1", "+12015550123", day1, 1},
		{"sim1", "+12015550123", day1, 2},
		{"sim1", "+12015550124", day1, 1},
		{"sim2", "+12015550125", day1, 1},
	} {
		if err := db.RecordUsage(UsageDelta{SIM: r.sim, Recipient: r.to, At: r.at, Parts: r.parts}); err != nil {
			t.Fatal(err)
		}
	}
	u, err := db.LoadUsage("sim1", day1)
	if err != nil {
		t.Fatal(err)
	}
	if u.PartsToday != 4 || len(u.DayRecipients) != 2 || len(u.MonthRecipients) != 2 {
		t.Errorf("sim1 on day 1: got %+v, want 4 parts, 2 recipients today and this month", u)
	}
	if err := db.RecordUsage(UsageDelta{SIM: "sim1", Recipient: "+12015550126", At: day2, Parts: 1}); err != nil {
		t.Fatal(err)
	}
	u, err = db.LoadUsage("sim1", day2)
	if err != nil {
		t.Fatal(err)
	}
	if u.PartsToday != 1 || !slices.Equal(u.DayRecipients, []string{"+12015550126"}) || len(u.MonthRecipients) != 1 {
		t.Errorf("sim1 on day 2: got %+v, want a fresh day and month", u)
	}
	// The previous day was pruned by the write on the next one.
	u, _ = db.LoadUsage("sim1", day1)
	if u.PartsToday != 0 || len(u.DayRecipients) != 0 || len(u.MonthRecipients) != 0 {
		t.Errorf("old period not pruned: %+v", u)
	}
	// Other SIMs are untouched.
	u, _ = db.LoadUsage("sim2", day1)
	if u.PartsToday != 1 {
		t.Errorf("sim2: got %+v", u)
	}
	if err := db.RecordUsage(UsageDelta{Recipient: "+1", At: day1, Parts: 1}); err == nil {
		t.Error("empty sim accepted")
	}
}

func TestUpdateWithUsageIsOneCommit(t *testing.T) {
	db := openTest(t)
	m, _, err := db.Enqueue(Message{To: "+12015550123", Text: "x", Status: StatusQueued, Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	boom := errors.New("boom")
	if _, err := db.UpdateWithUsage(m.ID, UsageDelta{SIM: "sim1", Recipient: m.To, At: at, Parts: 1}, func(*Message) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if u, _ := db.LoadUsage("sim1", at); u.PartsToday != 0 {
		t.Errorf("a failed update still counted usage: %+v", u)
	}
	if _, err := db.UpdateWithUsage(m.ID, UsageDelta{SIM: "sim1", Recipient: m.To, At: at, Parts: 1}, func(m *Message) error {
		m.Parts[0].Status, m.Parts[0].MR = StatusSent, 9
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.LoadUsage("sim1", at); u.PartsToday != 1 || len(u.MonthRecipients) != 1 {
		t.Errorf("got %+v, want 1 part and 1 recipient", u)
	}
}

package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// joinParts is an assembler like the gateway's, with the PDU standing in
// for the decoded text.
func joinParts(parts []InboundPart) (Inbound, error) {
	var b strings.Builder
	for _, p := range parts {
		b.Write(p.TPDU)
	}
	return Inbound{Text: b.String()}, nil
}

func part(modem, from string, ref, seq, total int, pdu string) InboundPart {
	return InboundPart{Modem: modem, From: from, ConcatRef: ref, Seq: seq, Total: total, TPDU: []byte(pdu)}
}

func TestAddInboundPart(t *testing.T) {
	type step struct {
		p        InboundPart
		wantDone bool
		wantText string
	}
	tests := []struct {
		name      string
		steps     []step
		wantInbox []string // newest first
	}{
		{
			name:      "single part",
			steps:     []step{{part("m1", "+15550100", 0, 0, 1, "hello"), true, "hello"}},
			wantInbox: []string{"hello"},
		},
		{
			name:      "single part, Total 0",
			steps:     []step{{part("m1", "+15550100", 0, 0, 0, "hi"), true, "hi"}},
			wantInbox: []string{"hi"},
		},
		{
			name: "multipart out of order",
			steps: []step{
				{part("m1", "+15550100", 9, 3, 3, "C"), false, ""},
				{part("m1", "+15550100", 9, 1, 3, "A"), false, ""},
				{part("m1", "+15550100", 9, 2, 3, "B"), true, "ABC"},
			},
			wantInbox: []string{"ABC"},
		},
		{
			name: "duplicate segment with the same PDU",
			steps: []step{
				{part("m1", "+15550100", 9, 1, 2, "A"), false, ""},
				{part("m1", "+15550100", 9, 1, 2, "A"), false, ""},
				{part("m1", "+15550100", 9, 2, 2, "B"), true, "AB"},
			},
			wantInbox: []string{"AB"},
		},
		{
			name: "duplicate segment with another PDU (resent by the SMSC)",
			steps: []step{
				{part("m1", "+15550100", 9, 1, 2, "A"), false, ""},
				{part("m1", "+15550100", 9, 1, 2, "A'"), false, ""},
				{part("m1", "+15550100", 9, 2, 2, "B"), true, "AB"},
			},
			wantInbox: []string{"AB"},
		},
		{
			name: "interleaved texts from two senders and two refs",
			steps: []step{
				{part("m1", "+15550100", 1, 1, 2, "a1"), false, ""},
				{part("m1", "+15550200", 1, 1, 2, "b1"), false, ""},
				{part("m1", "+15550100", 2, 1, 2, "c1"), false, ""},
				{part("m1", "+15550200", 1, 2, 2, "b2"), true, "b1b2"},
				{part("m1", "+15550100", 1, 2, 2, "a2"), true, "a1a2"},
			},
			wantInbox: []string{"a1a2", "b1b2"},
		},
		{
			name: "same sender and ref on two modems are two texts",
			steps: []step{
				{part("m1", "+15550100", 1, 1, 2, "x1"), false, ""},
				{part("m2", "+15550100", 1, 2, 2, "y2"), false, ""},
				{part("m1", "+15550100", 1, 2, 2, "x2"), true, "x1x2"},
			},
			wantInbox: []string{"x1x2"},
		},
		{
			name: "redelivered single text",
			steps: []step{
				{part("m1", "+15550100", 0, 0, 1, "PDU-1"), true, "PDU-1"},
				{part("m1", "+15550100", 0, 0, 1, "PDU-1"), false, ""},
				{part("m2", "+15550100", 0, 0, 1, "PDU-1"), true, "PDU-1"},
			},
			wantInbox: []string{"PDU-1", "PDU-1"},
		},
		{
			name: "redelivered segment of an assembled text",
			steps: []step{
				{part("m1", "+15550100", 5, 1, 2, "A"), false, ""},
				{part("m1", "+15550100", 5, 2, 2, "B"), true, "AB"},
				{part("m1", "+15550100", 5, 1, 2, "A"), false, ""},
			},
			wantInbox: []string{"AB"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			db := openTest(t, WithClock(c.now))
			for i, st := range tt.steps {
				var got []InboundPart
				in, done, err := db.AddInboundPart(st.p, func(parts []InboundPart) (Inbound, error) {
					got = parts
					return joinParts(parts)
				})
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if done != st.wantDone || in.Text != st.wantText {
					t.Fatalf("step %d: got done=%v text=%q, want %v %q", i, done, in.Text, st.wantDone, st.wantText)
				}
				if done {
					for j, p := range got {
						if p.Total > 1 && p.Seq != j+1 {
							t.Errorf("step %d: assemble got seq %d at %d", i, p.Seq, j)
						}
					}
					if in.ID == 0 || in.Modem != st.p.Modem || in.From != st.p.From || in.Parts != max(st.p.Total, 1) ||
						!in.ReceivedAt.Equal(c.now()) {
						t.Errorf("step %d: stored %+v", i, in)
					}
				}
				c.advance(time.Second)
			}
			inbox, _, err := db.Inbox(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, in := range inbox {
				texts = append(texts, in.Text)
			}
			if !slices.Equal(texts, tt.wantInbox) {
				t.Errorf("inbox %q, want %q", texts, tt.wantInbox)
			}
		})
	}
}

func TestAddInboundPartSeenWindow(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	add := func(pdu string) bool {
		t.Helper()
		_, done, err := db.AddInboundPart(part("m1", "+15550100", 0, 0, 1, pdu), joinParts)
		if err != nil {
			t.Fatal(err)
		}
		return done
	}
	if !add("P") {
		t.Fatal("first delivery not stored")
	}
	c.advance(SeenWindow - time.Minute)
	if add("P") {
		t.Error("redelivery within the window stored again")
	}
	c.advance(2 * time.Minute)
	if !add("P") {
		t.Error("the same PDU after the window was ignored")
	}
	for i := range 5 {
		add(fmt.Sprint("Q", i))
	}
	if n := countKeys(t, db, bucketInboundSeen); n != 6 {
		t.Fatalf("%d seen entries, want 6", n)
	}
	// A week on, the next part prunes every older entry (bounded batches
	// of seenPruneBatch, so this is one call).
	c.advance(SeenWindow + time.Minute)
	add("R")
	if n := countKeys(t, db, bucketInboundSeen); n != 1 {
		t.Errorf("%d seen entries after pruning, want 1", n)
	}
	if n := countKeys(t, db, bucketInboundSeenTime); n != 1 {
		t.Errorf("%d seen time entries after pruning, want 1", n)
	}
}

func TestAddInboundPartAssembleError(t *testing.T) {
	db := openTest(t)
	boom := errors.New("undecodable")
	p := part("m1", "+15550100", 3, 1, 2, "A")
	if _, _, err := db.AddInboundPart(p, joinParts); err != nil {
		t.Fatal(err)
	}
	last := part("m1", "+15550100", 3, 2, 2, "B")
	if _, done, err := db.AddInboundPart(last, func([]InboundPart) (Inbound, error) { return Inbound{}, boom }); !errors.Is(err, boom) || done {
		t.Fatalf("got %v, %v; want boom", done, err)
	}
	// Nothing of the failed call stuck: not the part, not its PDU hash.
	if in, done, err := db.AddInboundPart(last, joinParts); err != nil || !done || in.Text != "AB" {
		t.Errorf("retry = %+v, %v, %v; want AB", in, done, err)
	}
}

func TestAddInboundPartInvalid(t *testing.T) {
	db := openTest(t)
	tests := []struct {
		p     InboundPart
		field string
	}{
		{part("", "+1", 0, 1, 1, "x"), "modem"},
		{part("m1", "+1", 0, 0, 3, "x"), "seq"},
		{part("m1", "+1", 0, 4, 3, "x"), "seq"},
		{part("m1", "+1", 0, 1, 256, "x"), "total"},
		{part("m1", "+1", 70000, 1, 2, "x"), "concat_ref"},
	}
	for _, tt := range tests {
		var fe *FieldError
		_, _, err := db.AddInboundPart(tt.p, joinParts)
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("AddInboundPart(%+v) = %v, want FieldError for %s", tt.p, err, tt.field)
		}
	}
}

func TestStaleInboundParts(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	t0 := c.now()
	for _, p := range []InboundPart{part("m1", "+1", 1, 1, 3, "A"), part("m1", "+1", 1, 3, 3, "C")} {
		if _, _, err := db.AddInboundPart(p, joinParts); err != nil {
			t.Fatal(err)
		}
	}
	c.advance(time.Hour)
	if _, _, err := db.AddInboundPart(part("m1", "+2", 1, 1, 2, "X"), joinParts); err != nil {
		t.Fatal(err)
	}
	stale, err := db.StaleInboundParts(t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 2 || stale[0].From != "+1" || !stale[0].Received.Equal(t0) {
		t.Fatalf("stale = %+v, want the two parts from +1", stale)
	}
	in, done, err := db.FlushInboundParts(stale[0], joinParts)
	if err != nil || !done || in.Text != "AC" || in.Parts != 2 {
		t.Fatalf("FlushInboundParts = %+v, %v, %v; want AC from 2 parts", in, done, err)
	}
	if _, done, _ := db.FlushInboundParts(stale[0], joinParts); done {
		t.Error("second flush found parts again")
	}
	left, _ := db.StaleInboundParts(c.now().Add(time.Minute))
	if len(left) != 1 || left[0].From != "+2" {
		t.Errorf("left %+v, want the part from +2", left)
	}
}

func TestInboxPagination(t *testing.T) {
	db := openTest(t)
	for i := range 5 {
		if _, _, err := db.AddInboundPart(part("m1", "+1", 0, 0, 1, fmt.Sprint(i)), joinParts); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var before uint64
	for range 5 {
		page, next, err := db.Inbox(before, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range page {
			got = append(got, in.Text)
		}
		if next == 0 {
			break
		}
		before = next
	}
	if want := []string{"4", "3", "2", "1", "0"}; !slices.Equal(got, want) {
		t.Errorf("inbox pages %v, want %v", got, want)
	}
}

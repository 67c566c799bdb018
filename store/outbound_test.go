package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// seed stores msgs in one transaction through the same code as Enqueue,
// without Batch's wait per call.
func seed(t testing.TB, db *DB, msgs ...Message) []Message {
	t.Helper()
	out := make([]Message, 0, len(msgs))
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		out = out[:0]
		for _, m := range msgs {
			s, _, err := db.enqueue(tx, m)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(msgs []Message) []uint64 {
	out := []uint64{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func TestEnqueueGetRoundTrip(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	in := Message{
		To: "+447700900123", Text: "Your order is ready", Kind: KindTransactional, Encoding: "GSM-7",
		Parts:         []Part{{Seq: 1, MR: -1, Status: StatusQueued}, {Seq: 2, MR: -1, Status: StatusQueued}},
		ExpiresAt:     c.now().Add(72 * time.Hour),
		NextAttemptAt: c.now(),
	}
	m, existed, err := db.Enqueue(in)
	if err != nil {
		t.Fatal(err)
	}
	if existed {
		t.Error("existed = true for a new message")
	}
	if m.ID == 0 {
		t.Fatal("no ID assigned")
	}
	if m.Status != StatusQueued {
		t.Errorf("status %v, want queued by default", m.Status)
	}
	if !m.CreatedAt.Equal(c.now()) || !m.UpdatedAt.Equal(c.now()) {
		t.Errorf("CreatedAt %v UpdatedAt %v, want %v", m.CreatedAt, m.UpdatedAt, c.now())
	}
	if len(m.History) != 1 || m.History[0].Status != StatusQueued || !m.History[0].At.Equal(c.now()) {
		t.Errorf("history %+v, want one queued transition", m.History)
	}

	got, err := db.Get(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.To != in.To || got.Text != in.Text || got.Kind != in.Kind || got.Encoding != in.Encoding ||
		!reflect.DeepEqual(got.Parts, in.Parts) || !got.ExpiresAt.Equal(in.ExpiresAt) ||
		!got.NextAttemptAt.Equal(in.NextAttemptAt) || len(got.History) != 1 {
		t.Errorf("Get = %+v\nwant the fields of %+v", got, in)
	}

	// A caller's history is kept as given.
	h := []Transition{{At: c.now(), Status: StatusSuppressed, Note: "opted out"}}
	s, _, err := db.Enqueue(Message{To: "+447700900124", Text: "x", Status: StatusSuppressed, History: h})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.History) != 1 || s.History[0].Note != "opted out" || s.ID == m.ID {
		t.Errorf("second message %+v", s)
	}
	if q, _ := db.IDsByStatus(StatusQueued); !slices.Equal(q, []uint64{m.ID}) {
		t.Errorf("queued IDs %v, want [%d]", q, m.ID)
	}

	if _, err := db.Get(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(999) error %v, want ErrNotFound", err)
	}
}

func TestIdempotency(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	enqueue := func(key, text string) (Message, bool) {
		t.Helper()
		m, existed, err := db.Enqueue(Message{To: "+15550100", Text: text, IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return m, existed
	}
	first, existed := enqueue("order-1", "first")
	if existed {
		t.Fatal("first use of a key reported existed")
	}
	steps := []struct {
		name        string
		advance     time.Duration
		key         string
		wantExisted bool
		wantText    string
	}{
		{"same key at once", 0, "order-1", true, "first"},
		{"other key", 0, "order-2", false, "other key"},
		{"same key after 23h59m", 23*time.Hour + 59*time.Minute, "order-1", true, "first"},
		{"same key after 24h", time.Minute, "order-1", false, "same key after 24h"},
		{"new holder of the key", time.Hour, "order-1", true, "same key after 24h"},
	}
	for _, st := range steps {
		c.advance(st.advance)
		m, existed := enqueue(st.key, st.name)
		if existed != st.wantExisted || m.Text != st.wantText {
			t.Errorf("%s: got existed=%v text=%q, want existed=%v text=%q", st.name, existed, m.Text, st.wantExisted, st.wantText)
		}
		if st.wantExisted && st.key == "order-1" && st.wantText == "first" && m.ID != first.ID {
			t.Errorf("%s: ID %d, want original %d", st.name, m.ID, first.ID)
		}
	}
	if n := countKeys(t, db, bucketMessages); n != 3 {
		t.Errorf("%d messages stored, want 3", n)
	}

	// Two days on, any Enqueue prunes the expired keys from both index
	// buckets, and the messages keep their key in the record.
	c.advance(48 * time.Hour)
	enqueue("", "unrelated")
	if n := countKeys(t, db, bucketMsgIdem); n != 0 {
		t.Errorf("%d idempotency keys left, want 0 after pruning", n)
	}
	if n := countKeys(t, db, bucketMsgIdemTime); n != 0 {
		t.Errorf("%d idempotency time entries left, want 0 after pruning", n)
	}
	if m, _ := db.Get(first.ID); m.IdempotencyKey != "order-1" {
		t.Errorf("record lost its key: %q", m.IdempotencyKey)
	}
	// Updating a message whose key expired does not bring the key back.
	if _, err := db.Update(first.ID, func(m *Message) error { m.Error = "x"; return nil }); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, db, bucketMsgIdem); n != 0 {
		t.Errorf("Update resurrected %d expired idempotency keys", n)
	}
}

func countKeys(t testing.TB, db *DB, bucket []byte) int {
	t.Helper()
	n := 0
	if err := db.bolt.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnqueueConcurrent(t *testing.T) {
	db := openTest(t)
	const n = 50
	var wg sync.WaitGroup
	got := make([]Message, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], _, errs[i] = db.Enqueue(Message{To: "+15550100", Text: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i, m := range got {
		if errs[i] != nil {
			t.Fatalf("Enqueue %d: %v", i, errs[i])
		}
		if seen[m.ID] {
			t.Errorf("ID %d handed out twice", m.ID)
		}
		seen[m.ID] = true
		s, err := db.Get(m.ID)
		if err != nil || s.Text != fmt.Sprint(i) {
			t.Errorf("Get(%d) = %q, %v; want %q", m.ID, s.Text, err, fmt.Sprint(i))
		}
	}
	if ids, _ := db.IDsByStatus(StatusQueued); len(ids) != n {
		t.Errorf("%d queued in the status index, want %d", len(ids), n)
	}
}

// TestBatchRerun mixes Enqueues with UpdateBatch calls that fail, which
// makes bbolt roll back the shared transaction and run the other functions
// again: each caller must still get exactly its own committed result, and
// the failures must reach only their own callers. (bbolt v1.5.0 re-runs the
// surviving prefix in the same order, so a stale captured result would look
// the same here; Enqueue resets its results anyway, as Batch's contract
// allows any re-run.)
func TestBatchRerun(t *testing.T) {
	db := openTest(t)
	const n = 20
	var wg sync.WaitGroup
	got := make([]Message, n)
	errs := make([]error, n)
	boom := errors.New("boom")
	for i := range n {
		wg.Go(func() {
			got[i], _, errs[i] = db.Enqueue(Message{To: "+15550100", Text: fmt.Sprint(i), IdempotencyKey: fmt.Sprint("k", i)})
		})
		wg.Go(func() {
			if _, err := db.UpdateBatch(uint64(1000+i), func(*Message) error { return nil }); !errors.Is(err, ErrNotFound) {
				t.Errorf("UpdateBatch of a missing message: %v, want ErrNotFound", err)
			}
			if _, err := db.UpdateBatch(1, func(*Message) error { return boom }); err != nil && !errors.Is(err, boom) && !errors.Is(err, ErrNotFound) {
				t.Errorf("UpdateBatch error %v, want boom", err)
			}
		})
	}
	wg.Wait()
	for i, m := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		s, err := db.Get(m.ID)
		if err != nil {
			t.Fatalf("Enqueue returned ID %d that was never committed: %v", m.ID, err)
		}
		if s.Text != m.Text || s.Text != fmt.Sprint(i) {
			t.Errorf("Enqueue %d returned %q, store holds %q", i, m.Text, s.Text)
		}
	}
	if c := countKeys(t, db, bucketMessages); c != n {
		t.Errorf("%d messages stored, want %d", c, n)
	}
}

func TestUpdateMaintainsIndexes(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	t0 := c.now()
	m := seed(t, db, Message{To: "+15550100", Text: "two parts", NextAttemptAt: t0,
		Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}, {Seq: 2, MR: -1, Status: StatusQueued}}})[0]
	anyMatch := func(Message, int, time.Time) bool { return true }

	type want struct {
		due     []uint64
		nextDue bool
		status  map[Status][]uint64
		report  map[int]int // MR → seq expected to be found
	}
	check := func(step string, w want) {
		t.Helper()
		due, err := db.Due(t0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(due); !slices.Equal(got, w.due) {
			t.Errorf("%s: Due = %v, want %v", step, got, w.due)
		}
		at, ok, err := db.NextDue()
		if err != nil || ok != w.nextDue || (ok && !at.Equal(t0)) {
			t.Errorf("%s: NextDue = %v, %v, %v; want %v at %v", step, at, ok, err, w.nextDue, t0)
		}
		for s := StatusQueued; s <= StatusExpired; s++ {
			got, err := db.IDsByStatus(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, w.status[s]) {
				t.Errorf("%s: IDsByStatus(%v) = %v, want %v", step, s, got, w.status[s])
			}
			listed, _, err := db.List(ListFilter{Status: s})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(listed); !slices.Equal(got, w.status[s]) {
				t.Errorf("%s: List(%v) = %v, want %v", step, s, got, w.status[s])
			}
		}
		for mr := range 4 {
			id, seq, ok, err := db.FindReport("m1", mr, time.Time{}, anyMatch)
			if err != nil {
				t.Fatal(err)
			}
			wantSeq, wantOK := w.report[mr]
			if ok != wantOK || (ok && (id != m.ID || seq != wantSeq)) {
				t.Errorf("%s: FindReport(m1, %d) = %d, %d, %v; want seq %d, %v", step, mr, id, seq, ok, wantSeq, wantOK)
			}
		}
	}
	update := func(fn func(m *Message)) {
		t.Helper()
		if _, err := db.Update(m.ID, func(m *Message) error { fn(m); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	id := m.ID
	check("queued", want{due: []uint64{id}, nextDue: true, status: map[Status][]uint64{StatusQueued: {id}}})

	update(func(m *Message) { m.Status, m.Parts[0].Status, m.Modem = StatusSending, StatusSending, "m1" })
	check("sending", want{due: nil, status: map[Status][]uint64{StatusSending: {id}}})

	update(func(m *Message) {
		m.Parts[0].Status, m.Parts[0].MR, m.Parts[0].SentAt = StatusSent, 1, c.now()
		m.Parts[1].Status, m.Parts[1].MR, m.Parts[1].SentAt, m.Parts[1].Modem = StatusSent, 2, c.now(), "m1"
		m.Status = StatusSent
	})
	check("sent", want{status: map[Status][]uint64{StatusSent: {id}}, report: map[int]int{1: 1, 2: 2}})

	update(func(m *Message) { m.Parts[0].Status = StatusDelivered })
	check("part 1 delivered", want{status: map[Status][]uint64{StatusSent: {id}}, report: map[int]int{2: 2}})

	update(func(m *Message) { m.Parts[1].Status, m.Status = StatusDelivered, StatusDelivered })
	check("delivered", want{status: map[Status][]uint64{StatusDelivered: {id}}})

	update(func(m *Message) { m.Status, m.NextAttemptAt = StatusQueued, t0 })
	check("requeued", want{due: []uint64{id}, nextDue: true, status: map[Status][]uint64{StatusQueued: {id}}})

	// UpdateBatch follows the same rules.
	if _, err := db.UpdateBatch(id, func(m *Message) error { m.Status = StatusFailed; return nil }); err != nil {
		t.Fatal(err)
	}
	check("failed by batch", want{status: map[Status][]uint64{StatusFailed: {id}}})
}

func TestUpdateFnErrorWritesNothing(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	m := seed(t, db, Message{To: "+15550100", Text: "x", NextAttemptAt: c.now()})[0]
	before, _ := db.Get(m.ID)
	c.advance(time.Minute)
	boom := errors.New("boom")
	for _, update := range []func(uint64, func(*Message) error) (Message, error){db.Update, db.UpdateBatch} {
		got, err := update(m.ID, func(m *Message) error {
			m.Status = StatusSending
			m.Text = "changed"
			m.History = append(m.History, Transition{Status: StatusSending})
			return boom
		})
		if err != boom {
			t.Errorf("error %v, want boom as is", err)
		}
		if got.ID != 0 {
			t.Errorf("returned %+v on error, want zero", got)
		}
	}
	after, _ := db.Get(m.ID)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("record changed:\n%+v\n%+v", before, after)
	}
	if q, _ := db.IDsByStatus(StatusQueued); !slices.Equal(q, []uint64{m.ID}) {
		t.Errorf("status index changed: queued %v", q)
	}
	if s, _ := db.IDsByStatus(StatusSending); len(s) != 0 {
		t.Errorf("status index changed: sending %v", s)
	}

	// A successful Update sets UpdatedAt and keeps the ID even if fn
	// touches it.
	got, err := db.Update(m.ID, func(m *Message) error { m.ID = 77; m.Text = "y"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || !got.UpdatedAt.Equal(c.now()) {
		t.Errorf("Update returned ID %d UpdatedAt %v, want %d at %v", got.ID, got.UpdatedAt, m.ID, c.now())
	}
	if _, err := db.Update(12345, func(*Message) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of missing message: %v, want ErrNotFound", err)
	}
}

func TestList(t *testing.T) {
	db := openTest(t)
	statuses := []Status{StatusQueued, StatusSent, StatusQueued, StatusFailed, StatusQueued, StatusSent, StatusQueued}
	var msgs []Message
	for _, s := range statuses {
		msgs = append(msgs, Message{To: "+15550100", Text: "x", Status: s})
	}
	seed(t, db, msgs...) // IDs 1..7

	type page struct {
		ids  []uint64
		next uint64
	}
	tests := []struct {
		name   string
		status Status
		limit  int
		pages  []page
	}{
		{"all by 3", 0, 3, []page{{[]uint64{7, 6, 5}, 5}, {[]uint64{4, 3, 2}, 2}, {[]uint64{1}, 0}}},
		{"all by 7 ends exactly", 0, 7, []page{{[]uint64{7, 6, 5, 4, 3, 2, 1}, 0}}},
		{"all by 10", 0, 10, []page{{[]uint64{7, 6, 5, 4, 3, 2, 1}, 0}}},
		{"queued by 2", StatusQueued, 2, []page{{[]uint64{7, 5}, 5}, {[]uint64{3, 1}, 0}}},
		{"queued by 3", StatusQueued, 3, []page{{[]uint64{7, 5, 3}, 3}, {[]uint64{1}, 0}}},
		{"sent", StatusSent, 0, []page{{[]uint64{6, 2}, 0}}},
		{"failed", StatusFailed, 1, []page{{[]uint64{4}, 0}}},
		{"none delivered", StatusDelivered, 5, []page{{[]uint64{}, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before uint64
			for i, p := range tt.pages {
				got, next, err := db.List(ListFilter{Status: tt.status, Before: before, Limit: tt.limit})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), p.ids) || next != p.next {
					t.Fatalf("page %d: got %v next %d, want %v next %d", i, ids(got), next, p.ids, p.next)
				}
				for _, m := range got {
					if tt.status != 0 && m.Status != tt.status {
						t.Errorf("message %d has status %v", m.ID, m.Status)
					}
				}
				before = next
			}
		})
	}
	// A cursor beyond the newest ID is the same as none.
	got, _, _ := db.List(ListFilter{Before: 1000, Limit: 2})
	if !slices.Equal(ids(got), []uint64{7, 6}) {
		t.Errorf("Before beyond newest: %v", ids(got))
	}
}

func TestListLimits(t *testing.T) {
	db := openTest(t, WithNoSync())
	msgs := make([]Message, MaxListLimit+10)
	for i := range msgs {
		msgs[i] = Message{To: "+15550100", Text: "x"}
	}
	seed(t, db, msgs...)
	for _, tt := range []struct{ limit, want int }{{0, DefaultListLimit}, {-1, DefaultListLimit}, {1000, MaxListLimit}, {7, 7}} {
		got, next, err := db.List(ListFilter{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want || next == 0 {
			t.Errorf("Limit %d: %d messages, next %d; want %d and a cursor", tt.limit, len(got), next, tt.want)
		}
	}
}

func TestDue(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	now := c.now()
	seed(t, db,
		Message{To: "a", NextAttemptAt: now.Add(time.Minute)}, // 1: future
		Message{To: "b", NextAttemptAt: now},                  // 2: due exactly now
		Message{To: "c", NextAttemptAt: now.Add(-time.Hour)},  // 3: oldest due
		Message{To: "d"}, // 4: zero time: due at once
		Message{To: "e", NextAttemptAt: now.Add(-time.Minute), Status: StatusSent}, // 5: not queued
		Message{To: "f", NextAttemptAt: now.Add(-time.Second)},                     // 6
	)
	tests := []struct {
		at    time.Time
		limit int
		want  []uint64
	}{
		{now, 10, []uint64{4, 3, 6, 2}},
		{now, 2, []uint64{4, 3}},
		{now, 0, []uint64{4, 3, 6, 2}},
		{now.Add(-2 * time.Hour), 10, []uint64{4}},
		{now.Add(time.Hour), 10, []uint64{4, 3, 6, 2, 1}},
	}
	for _, tt := range tests {
		got, err := db.Due(tt.at, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("Due(%v, %d) = %v, want %v", tt.at.Sub(now), tt.limit, ids(got), tt.want)
		}
	}
	at, ok, err := db.NextDue()
	if err != nil || !ok || !at.Equal(time.Unix(0, 0)) {
		t.Errorf("NextDue = %v, %v, %v; want the epoch for a zero due time", at, ok, err)
	}
}

func TestNextDueEmpty(t *testing.T) {
	db := openTest(t)
	if _, ok, err := db.NextDue(); ok || err != nil {
		t.Errorf("NextDue on empty = %v, %v; want false", ok, err)
	}
}

func TestFindReport(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	t0 := c.now()
	sent := func(to, modem string, mr int, at time.Time) Message {
		return Message{To: to, Status: StatusSent, Modem: modem,
			Parts: []Part{{Seq: 1, MR: mr, Status: StatusSent, SentAt: at}}}
	}
	old := sent("+15550001", "m1", 7, t0.Add(-3*time.Hour))
	newer := sent("+15550002", "m1", 7, t0.Add(-time.Hour))
	otherModem := sent("+15550002", "m2", 7, t0)
	multi := Message{To: "+15550003", Status: StatusSent, Modem: "m1", Parts: []Part{
		{Seq: 1, MR: 6, Status: StatusDelivered, SentAt: t0},
		{Seq: 2, MR: 7, Status: StatusSent, SentAt: t0.Add(-2 * time.Hour)},
	}}
	noMR := Message{To: "+15550004", Status: StatusSending, Modem: "m1", Parts: []Part{{Seq: 1, MR: -1, Status: StatusSending}}}
	got := seed(t, db, old, newer, otherModem, multi, noMR)
	oldID, newerID, multiID := got[0].ID, got[1].ID, got[3].ID

	tests := []struct {
		name    string
		modem   string
		mr      int
		match   func(m Message, seq int, at time.Time) bool
		wantID  uint64
		wantSeq int
		wantOK  bool
		wantSaw []uint64
	}{
		{name: "newest first", modem: "m1", mr: 7, match: func(Message, int, time.Time) bool { return true },
			wantID: newerID, wantSeq: 1, wantOK: true, wantSaw: []uint64{newerID}},
		{name: "recipient check skips newer", modem: "m1", mr: 7,
			match:  func(m Message, _ int, _ time.Time) bool { return m.To == "+15550001" },
			wantID: oldID, wantSeq: 1, wantOK: true, wantSaw: []uint64{newerID, multiID, oldID}},
		{name: "second part of a multipart", modem: "m1", mr: 7,
			match:  func(m Message, _ int, _ time.Time) bool { return m.To == "+15550003" },
			wantID: multiID, wantSeq: 2, wantOK: true, wantSaw: []uint64{newerID, multiID}},
		{name: "time window rejects all", modem: "m1", mr: 7,
			match:   func(_ Message, _ int, at time.Time) bool { return t0.Sub(at) < 30*time.Minute },
			wantSaw: []uint64{newerID, multiID, oldID}},
		{name: "other modem", modem: "m2", mr: 7, match: func(Message, int, time.Time) bool { return true },
			wantID: got[2].ID, wantSeq: 1, wantOK: true, wantSaw: []uint64{got[2].ID}},
		{name: "delivered part not waiting", modem: "m1", mr: 6, match: func(Message, int, time.Time) bool { return true }},
		{name: "unknown modem", modem: "m", mr: 7, match: func(Message, int, time.Time) bool { return true }},
		{name: "mr out of range", modem: "m1", mr: 263, match: func(Message, int, time.Time) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var saw []uint64
			id, seq, ok, err := db.FindReport(tt.modem, tt.mr, time.Time{}, func(m Message, seq int, at time.Time) bool {
				saw = append(saw, m.ID)
				// SentAt from the index is the part's.
				if !m.Parts[seq-1].SentAt.Equal(at) {
					t.Errorf("sentAt %v, part says %v", at, m.Parts[seq-1].SentAt)
				}
				return tt.match(m, seq, at)
			})
			if err != nil {
				t.Fatal(err)
			}
			if id != tt.wantID || seq != tt.wantSeq || ok != tt.wantOK {
				t.Errorf("got %d, %d, %v; want %d, %d, %v", id, seq, ok, tt.wantID, tt.wantSeq, tt.wantOK)
			}
			if !slices.Equal(saw, tt.wantSaw) {
				t.Errorf("match saw %v, want %v", saw, tt.wantSaw)
			}
		})
	}
}

func TestCountByStatus(t *testing.T) {
	db := openTest(t)
	seed(t, db, Message{Status: StatusQueued}, Message{Status: StatusQueued}, Message{Status: StatusSent}, Message{Status: StatusUnknown})
	got, err := db.CountByStatus()
	if err != nil {
		t.Fatal(err)
	}
	want := map[Status]int{StatusQueued: 2, StatusSent: 1, StatusUnknown: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountByStatus = %v, want %v", got, want)
	}
}

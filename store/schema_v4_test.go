package store

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// writeV3 makes a database at schema version 3 the way a version 3 binary
// left it: the v3 buckets, and messages and inbound texts without the
// per-number indexes that version 4 adds.
func writeV3(t *testing.T, path string, msgs []Message, inbound []Inbound) {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	err = raw.Update(func(tx *bbolt.Tx) error {
		if err := migrate(tx, migrations[:3]); err != nil {
			return err
		}
		for _, m := range msgs {
			id, _ := tx.Bucket(bucketMessages).NextSequence()
			m.ID = id
			v, _ := json.Marshal(m)
			if err := tx.Bucket(bucketMessages).Put(u64(id), v); err != nil {
				return err
			}
			if err := tx.Bucket(bucketMsgByStatus).Put(statusKey(m.Status, id), []byte{}); err != nil {
				return err
			}
		}
		for _, in := range inbound {
			id, _ := tx.Bucket(bucketInbound).NextSequence()
			in.ID = id
			v, _ := json.Marshal(in)
			if err := tx.Bucket(bucketInbound).Put(u64(id), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateV3ToV4(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	a, b, prefix := "+15550100", "+15550101", "+1555010" // prefix: a number that is a prefix of the others
	writeV3(t, path,
		[]Message{
			{To: a, Text: "a1", Status: StatusDelivered},
			{To: b, Text: "b1", Status: StatusSent},
			{To: a, Text: "a2", Status: StatusQueued},
			{To: prefix, Text: "p1", Status: StatusQueued},
		},
		[]Inbound{{From: a, Text: "hi"}, {From: b, Text: "STOP"}, {From: a, Text: "thanks"}})
	if v := readVersion(t, path); v != 3 {
		t.Fatalf("fixture at version %d, want 3", v)
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	msgs, next, err := db.MessagesTo(a, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(msgs); !slices.Equal(got, []string{"a2", "a1"}) || next != 0 {
		t.Errorf("MessagesTo(a) = %v next %d, want [a2 a1] next 0", got, next)
	}
	if msgs, _, _ := db.MessagesTo(prefix, 0, 10); !slices.Equal(texts(msgs), []string{"p1"}) {
		t.Errorf("MessagesTo(prefix) = %v, want [p1]", texts(msgs))
	}
	in, _, err := db.InboundFrom(a, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := inboundTexts(in); !slices.Equal(got, []string{"thanks", "hi"}) {
		t.Errorf("InboundFrom(a) = %v, want [thanks hi]", got)
	}
	// Texts from before version 4 were never keyword-handled and are not
	// made pending by the upgrade.
	if p, err := db.PendingInbound(); err != nil || len(p) != 0 {
		t.Errorf("PendingInbound after upgrade = %v, %v; want none", p, err)
	}
	var salt []byte
	db.bolt.View(func(tx *bbolt.Tx) error {
		salt = slices.Clone(tx.Bucket(bucketMeta).Get(keySuppressionSalt))
		for _, name := range [][]byte{bucketContacts, bucketContactsByNumber, bucketConsentEvents,
			bucketConsentByNumber, bucketConsentByInbound, bucketConsent, bucketConsentReview,
			bucketSuppression, bucketMsgByTo, bucketInboundByFrom, bucketInboundPending} {
			if tx.Bucket(name) == nil {
				t.Errorf("bucket %s missing after upgrade", name)
			}
		}
		return nil
	})
	if len(salt) != 32 {
		t.Errorf("suppression salt has %d bytes, want 32", len(salt))
	}
	// The index is kept from now on by the message's own writes.
	if _, err := db.Update(msgs[0].ID, func(m *Message) error { m.To = b; return nil }); err != nil {
		t.Fatal(err)
	}
	if msgs, _, _ := db.MessagesTo(a, 0, 10); !slices.Equal(texts(msgs), []string{"a1"}) {
		t.Errorf("after readdressing a2, MessagesTo(a) = %v, want [a1]", texts(msgs))
	}
	if msgs, _, _ := db.MessagesTo(b, 0, 10); !slices.Equal(texts(msgs), []string{"a2", "b1"}) {
		t.Errorf("after readdressing a2, MessagesTo(b) = %v, want [a2 b1]", texts(msgs))
	}
}

// TestSaltDiffersPerDatabase: the salt is random, so hashes from one box
// cannot be matched against another's.
func TestSaltDiffersPerDatabase(t *testing.T) {
	salts := map[string]bool{}
	for range 3 {
		db := openTest(t)
		db.bolt.View(func(tx *bbolt.Tx) error {
			salts[string(tx.Bucket(bucketMeta).Get(keySuppressionSalt))] = true
			return nil
		})
	}
	if len(salts) != 3 {
		t.Errorf("3 databases have %d distinct salts", len(salts))
	}
}

// TestFixtureV1History: the real version 1 file gets the per-number
// indexes on upgrade.
func TestFixtureV1History(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	unpackFixtureV1(t, path)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if msgs, _, err := db.MessagesTo("+15550102", 0, 10); err != nil || !slices.Equal(texts(msgs), []string{"sent"}) {
		t.Errorf("MessagesTo = %v, %v; want [sent]", texts(msgs), err)
	}
	if in, _, err := db.InboundFrom("+15550102", 0, 10); err != nil || !slices.Equal(inboundTexts(in), []string{"STOP"}) {
		t.Errorf("InboundFrom = %v, %v; want [STOP]", inboundTexts(in), err)
	}
}

func TestMessagesToPaging(t *testing.T) {
	db := openTest(t)
	var want []string
	for i := range 7 {
		to := "+15550100"
		if i%3 == 1 {
			to = "+15550199"
		}
		m := benchMessage(i)
		m.To, m.Text = to, string(rune('a'+i))
		if _, _, err := db.Enqueue(m); err != nil {
			t.Fatal(err)
		}
		if to == "+15550100" {
			want = append([]string{m.Text}, want...)
		}
	}
	var got []string
	var before uint64
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, next, err := db.MessagesTo("+15550100", before, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		got = append(got, texts(page)...)
		if next == 0 {
			break
		}
		before = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
}

func TestInboundPendingSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	stop, done, err := db.AddInboundPart(part("m1", "+15550100", 0, 0, 1, "STOP"), joinParts)
	if err != nil || !done {
		t.Fatalf("AddInboundPart = %v, %v", done, err)
	}
	// A multipart text whose last part never came, flushed.
	if _, _, err := db.AddInboundPart(part("m1", "+15550101", 7, 1, 2, "HE"), joinParts); err != nil {
		t.Fatal(err)
	}
	help, done, err := db.FlushInboundParts(part("m1", "+15550101", 7, 1, 2, ""), joinParts)
	if err != nil || !done {
		t.Fatalf("FlushInboundParts = %v, %v", done, err)
	}
	// The process dies before the keywords are handled.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.PendingInbound()
	if err != nil {
		t.Fatal(err)
	}
	if got := inboundTexts(p); !slices.Equal(got, []string{"STOP", "HE"}) {
		t.Fatalf("pending after reopen = %v, want [STOP HE]", got)
	}
	if err := db.MarkInboundHandled(stop.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkInboundHandled(stop.ID); err != nil {
		t.Errorf("second MarkInboundHandled: %v", err)
	}
	db.Close()

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err = db.PendingInbound()
	if err != nil || len(p) != 1 || p[0].ID != help.ID {
		t.Errorf("pending = %v, %v; want only the flushed text %d", p, err, help.ID)
	}
	if in, _, _ := db.InboundFrom("+15550101", 0, 0); !slices.Equal(inboundTexts(in), []string{"HE"}) {
		t.Errorf("InboundFrom = %v, want [HE]", inboundTexts(in))
	}
}

func texts(ms []Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

func inboundTexts(ins []Inbound) []string {
	out := []string{}
	for _, in := range ins {
		out = append(out, in.Text)
	}
	return out
}

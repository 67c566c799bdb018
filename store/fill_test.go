package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// TestAppendOnlyBucketsFillTheirPages: index entries written one by one
// in key order leave their pages about appendFill full, not half empty as
// with bbolt's default split (49 % here before). The messages bucket is
// logged, not checked: its pages stay ~61 % full either way (fill.go).
func TestAppendOnlyBucketsFillTheirPages(t *testing.T) {
	db := openTest(t, WithNoSync())
	for range 3000 {
		m, _, err := db.Enqueue(Message{To: "+15550001", Text: "Your order #1234 is ready for pick-up", Kind: KindTransactional,
			Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}, ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Update(m.ID, func(m *Message) error {
			m.Status, m.Parts[0].Status, m.Parts[0].MR = StatusSent, StatusSent, int(m.ID%256)
			m.History = append(m.History, Transition{At: time.Now(), Status: StatusSent, Note: "accepted by the network via sim1"})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := db.FileStats()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range st.Buckets {
		switch b.Name {
		case string(bucketMessages), string(bucketMsgByStatus), string(bucketMsgIdemTime):
			fill := float64(b.Used) / float64(b.Alloc)
			t.Logf("%s: %d keys, %d of %d bytes (%.0f %%)", b.Name, b.Keys, b.Used, b.Alloc, 100*fill)
			if b.Name != string(bucketMessages) && fill < 0.8 {
				t.Errorf("%s: pages %.0f %% full, want at least 80 %%", b.Name, 100*fill)
			}
		}
	}
	if st.FileBytes == 0 || st.Used == 0 || st.Fill() <= 0 || st.Fill() > 1 {
		t.Errorf("file stats %+v", st)
	}
}

// TestCompactEndsAtTheLastPage: the compacted file holds no bytes past its
// last page (bbolt grows a file up to 16 MiB ahead of its pages, which made
// the compacted year 1.11× its data), and opens with every record.
func TestCompactEndsAtTheLastPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path, WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	for range 2000 {
		if _, _, err := db.Enqueue(Message{To: "+15550001", Text: strings.Repeat("x", 300), Kind: KindTransactional,
			Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if _, _, err := Compact(path); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages int64
	if err := db.bolt.View(func(tx *bbolt.Tx) error { pages = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != pages {
		t.Errorf("compacted file %d bytes, its pages end at %d", st.Size(), pages)
	}
	if counts, err := db.CountByStatus(); err != nil || counts[StatusQueued] != 2000 {
		t.Errorf("after compaction: %v, %v", counts, err)
	}
}

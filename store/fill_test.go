package store

import (
	"testing"
	"time"
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

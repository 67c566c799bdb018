package store

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"go.etcd.io/bbolt"
)

// A lone write never waits for company: with or without group commit it
// commits at once (it used to wait out a 2 ms window on every request).
// The times are the bubble's fake clock, so they are exact: a write that
// waited on a timer would show its delay.
func TestLoneWriteDoesNotWait(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []Option
	}{
		{"group commit", nil},
		{"without group commit", []Option{WithoutGroupCommit()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				db := openTest(t, c.opts...)
				start := time.Now()
				if err := db.RecordUsage(UsageDelta{SIM: "sim1", Recipient: "+12015550123", At: start, Parts: 1}); err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got != 0 {
					t.Errorf("the batched write took %v of bubble time, want 0", got)
				}
				u, err := db.LoadUsage("sim1", start)
				if err != nil || u.PartsToday != 1 {
					t.Errorf("usage after the write: %+v, %v", u, err)
				}
			})
		})
	}
}

// Writes that arrive while a commit runs share the next one; a member that
// fails gets its own error and the others are still written.
func TestWritesShareACommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openTest(t)
		before := db.CommitStats()
		// Stand in for a commit in progress.
		db.bolt.group.turn <- struct{}{}
		errNo := errors.New("refused")
		results := make([]error, 10)
		done := make(chan struct{})
		for i := range results {
			go func() {
				results[i] = db.bolt.Batch(func(tx *bbolt.Tx) error {
					if i == 4 {
						return errNo
					}
					return tx.Bucket(bucketSettings).Put(fmt.Appendf(nil, "k%d", i), []byte("v"))
				})
				done <- struct{}{}
			}()
		}
		synctest.Wait() // all ten wait for their commit
		<-db.bolt.group.turn
		for range results {
			<-done
		}
		for i, err := range results {
			if want := error(nil); i == 4 {
				if !errors.Is(err, errNo) {
					t.Errorf("write %d: %v, want its own error", i, err)
				}
			} else if err != want {
				t.Errorf("write %d: %v", i, err)
			}
		}
		after := db.CommitStats()
		// The nine go in one transaction once the failing one has been
		// taken out; the failing one commits nothing.
		if commits, writes := after.Commits-before.Commits, after.Writes-before.Writes; commits != 1 || writes != 9 {
			t.Errorf("%d commits carried %d writes, want 1 and 9", commits, writes)
		}
		err := db.bolt.View(func(tx *bbolt.Tx) error {
			for i := range results {
				if got := tx.Bucket(bucketSettings).Get(fmt.Appendf(nil, "k%d", i)); (got != nil) != (i != 4) {
					t.Errorf("key %d stored: %v", i, got != nil)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

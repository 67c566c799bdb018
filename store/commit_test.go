package store

import (
	"testing"
	"testing/synctest"
	"time"
)

// A batched write waits batchDelay for other writers by default; with
// WithoutGroupCommit it commits at once. The times are the bubble's fake
// clock, so they are exact: what is checked is whether the write waits on
// a timer at all, which in a bubble it can do only once every goroutine is
// durably blocked (see WithoutGroupCommit).
func TestWithoutGroupCommit(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []Option
		wait time.Duration
	}{
		{"group commit", nil, batchDelay},
		{"without group commit", []Option{WithoutGroupCommit()}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				db := openTest(t, c.opts...)
				start := time.Now()
				if err := db.RecordUsage(UsageDelta{SIM: "sim1", Recipient: "+12015550123", At: start, Parts: 1}); err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got != c.wait {
					t.Errorf("the batched write took %v of bubble time, want %v", got, c.wait)
				}
				u, err := db.LoadUsage("sim1", start)
				if err != nil || u.PartsToday != 1 {
					t.Errorf("usage after the write: %+v, %v", u, err)
				}
			})
		})
	}
}

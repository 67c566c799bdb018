package consent

import (
	"context"
	"fmt"
	"time"
)

// Body purge tuning.
const (
	// purgeInterval: retention is counted in days, so hourly is precise
	// enough and costs nothing when there is nothing to do.
	purgeInterval = time.Hour
	// purgeBatch bounds one write transaction, so the purge never holds
	// the store's single writer long enough to delay a send or a STOP.
	purgeBatch = 500
)

// StartPurge runs the retention purge until ctx is done; the returned stop
// function ends it and waits for it (the gateway's Run defers it, so no
// purge outlives the store).
func (l *Ledger) StartPurge(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(purgeInterval)
		defer t.Stop()
		for {
			if _, err := l.PurgeBodies(ctx); err != nil && ctx.Err() == nil {
				l.log.Error("purge old message bodies", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// PurgeBodies blanks the text of messages (both ways) older than the
// body retention setting and returns how many it blanked; with retention
// 0 it does nothing. Rows, their status history and the consent ledger are
// never deleted: they are the 4-year evidence of R-RECORD.
func (l *Ledger) PurgeBodies(ctx context.Context) (int, error) {
	age := l.policy.Settings().BodyRetention()
	if age <= 0 {
		return 0, nil
	}
	before := l.now().Add(-age)
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := l.db.PurgeBodies(before, purgeBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("gateway: purge bodies: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	if total > 0 {
		l.log.Info("purged old message bodies", "count", total, "older_than", before.UTC().Format(time.RFC3339))
	}
	return total, nil
}

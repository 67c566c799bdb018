package store

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestInboxRead(t *testing.T) {
	db := openTest(t)
	const n = "+15550100"
	if id, err := db.InboxRead(n); err != nil || id != 0 {
		t.Fatalf("fresh marker = %d, %v; want 0, nil", id, err)
	}
	for _, step := range []struct{ mark, want uint64 }{{5, 5}, {3, 5}, {5, 5}, {9, 9}} {
		if err := db.MarkInboxRead(n, step.mark); err != nil {
			t.Fatal(err)
		}
		if id, err := db.InboxRead(n); err != nil || id != step.want {
			t.Errorf("after marking %d: %d, %v; want %d", step.mark, id, err, step.want)
		}
	}
	if id, _ := db.InboxRead(n + "1"); id != 0 {
		t.Errorf("another number's marker = %d, want 0", id)
	}
	var fe *FieldError
	if err := db.MarkInboxRead("", 1); !errors.As(err, &fe) || fe.Field != "number" {
		t.Errorf("MarkInboxRead without a number = %v, want a FieldError on number", err)
	}
}

// TestMarkInboxReadConcurrent: of marks racing on one number, the highest
// stays.
func TestMarkInboxReadConcurrent(t *testing.T) {
	db := openTest(t)
	const n, workers, marks = "+15550100", 16, 8
	highest := make([]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for range marks {
				id := 1 + rng.Uint64N(1000)
				highest[w] = max(highest[w], id)
				if err := db.MarkInboxRead(n, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, err := db.InboxRead(n); err != nil || got != slices.Max(highest) {
		t.Errorf("marker = %d, %v; want the highest marked, %d", got, err, slices.Max(highest))
	}
}

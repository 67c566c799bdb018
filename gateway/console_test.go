package gateway

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/simgate/simgate/store"
)

func TestInboxReadMarker(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g, err := New(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := g.InboxRead("+12015550123"); err != nil || id != 0 {
		t.Fatalf("fresh marker = %d, %v", id, err)
	}
	for _, step := range []struct{ mark, want uint64 }{{5, 5}, {3, 5}, {9, 9}} {
		if err := g.MarkInboxRead("+12015550123", step.mark); err != nil {
			t.Fatal(err)
		}
		if id, _ := g.InboxRead("+12015550123"); id != step.want {
			t.Errorf("after marking %d: %d, want %d", step.mark, id, step.want)
		}
	}
	if id, _ := g.InboxRead("+12015550999"); id != 0 {
		t.Errorf("other number's marker = %d", id)
	}
}

// TestMarkInboxReadRace: requests marking the same number at once (two
// console tabs, a double click) must leave the marker at the highest id any
// of them marked. A read followed by a separate write lets a request that
// read an old marker overwrite a higher one written in between.
func TestMarkInboxReadRace(t *testing.T) {
	g := newContactsGateway(t)
	const number, workers, marks = "+12015550123", 16, 8
	var wg sync.WaitGroup
	highest := make([]uint64, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range marks {
				id := 1 + rng.Uint64N(1000)
				highest[w] = max(highest[w], id)
				if err := g.MarkInboxRead(number, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := slices.Max(highest)
	if got, err := g.InboxRead(number); err != nil || got != want {
		t.Errorf("marker after concurrent marks = %d, %v; want the highest marked, %d", got, err, want)
	}
}

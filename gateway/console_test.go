package gateway

import (
	"path/filepath"
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

package gateway

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/simgate/simgate/store"
)

// contactsGateway is a gateway over a real bbolt file, without modems, and
// a clock the test moves.
type contactsGateway struct {
	*Gateway
	db    *store.DB
	clock *testClock
}

func newContactsGateway(t testing.TB, opts ...store.Option) *contactsGateway {
	t.Helper()
	cg := &contactsGateway{clock: &testClock{t: time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)}}
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), append(opts, store.WithClock(cg.clock.now))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cg.db = db
	g, err := New(db, Config{Region: "US", Log: testLog(), Clock: cg.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	cg.Gateway = g
	return cg
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a FieldError naming %q", err, field)
	}
	if fe.Field != field {
		t.Fatalf("FieldError names %q (%v), want %q", fe.Field, err, field)
	}
}

// consentOf reads a number's consent record and ledger.
func consentOf(t testing.TB, g *Gateway, number string) (Consent, []ConsentEvent) {
	t.Helper()
	c, err := g.Consent(number)
	if err != nil {
		t.Fatal(err)
	}
	events, err := g.ConsentEvents(number)
	if err != nil {
		t.Fatal(err)
	}
	return c, events
}

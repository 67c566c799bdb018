package store

import (
	"errors"
	"testing"
	"time"
)

// TestIdempotencyScopes: a key is looked up in its scope only, and a key
// sent again with another fingerprint is refused with nothing stored.
func TestIdempotencyScopes(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	enqueue := func(scope, key, fingerprint, text string) (Message, bool, error) {
		t.Helper()
		return db.Enqueue(Message{To: "+15550100", Text: text, IdempotencyKey: key,
			IdempotencyScope: scope, IdempotencyFingerprint: fingerprint})
	}
	first, existed, err := enqueue("token:1", "k", "fp-a", "first")
	if err != nil || existed {
		t.Fatalf("first: existed=%v err=%v", existed, err)
	}
	steps := []struct {
		name                    string
		scope, key, fingerprint string
		wantErr                 error
		wantExisted             bool
		wantID                  uint64 // 0: a new message
	}{
		{"same scope, key and fingerprint", "token:1", "k", "fp-a", nil, true, first.ID},
		{"same key, other fingerprint", "token:1", "k", "fp-b", ErrIdempotencyKeyReused, false, 0},
		{"same key, no fingerprint to compare", "token:1", "k", "", nil, true, first.ID},
		{"other scope", "token:2", "k", "fp-b", nil, false, 0},
		{"other scope, replayed", "token:2", "k", "fp-b", nil, true, 0},
	}
	for _, st := range steps {
		m, existed, err := enqueue(st.scope, st.key, st.fingerprint, st.name)
		switch {
		case !errors.Is(err, st.wantErr):
			t.Errorf("%s: error %v, want %v", st.name, err, st.wantErr)
		case existed != st.wantExisted:
			t.Errorf("%s: existed=%v, want %v", st.name, existed, st.wantExisted)
		case st.wantID != 0 && m.ID != st.wantID:
			t.Errorf("%s: message %d, want %d", st.name, m.ID, st.wantID)
		case err == nil && !existed && m.ID == first.ID:
			t.Errorf("%s: got the first message, want a new one", st.name)
		}
	}
	if n := countKeys(t, db, bucketMessages); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}

	// A day later the key is free again in its scope, whatever the
	// fingerprint, and the expired entries of both scopes are pruned.
	c.advance(IdempotencyWindow + time.Minute)
	if _, existed, err := enqueue("token:1", "k", "fp-c", "a day later"); err != nil || existed {
		t.Errorf("a day later: existed=%v err=%v, want a new message", existed, err)
	}
	if n := countKeys(t, db, bucketMsgIdem); n != 1 {
		t.Errorf("%d idempotency keys left, want 1 (the new one)", n)
	}
}

// TestIdempotencyLegacyKeys: a key stored before scopes and fingerprints
// (as the previous schema wrote it: bare, with neither) keeps answering
// as it did, from any scope and for any request, until it expires.
func TestIdempotencyLegacyKeys(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	legacy, _, err := db.Enqueue(Message{To: "+15550100", Text: "before the upgrade", IdempotencyKey: "order-9"})
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"token:1", "gateway"} {
		m, existed, err := db.Enqueue(Message{To: "+15550100", Text: "after the upgrade", IdempotencyKey: "order-9",
			IdempotencyScope: scope, IdempotencyFingerprint: "fp"})
		if err != nil || !existed || m.ID != legacy.ID {
			t.Errorf("scope %s: got message %d existed=%v err=%v, want the legacy message %d", scope, m.ID, existed, err, legacy.ID)
		}
	}
	c.advance(IdempotencyWindow)
	if _, existed, err := db.Enqueue(Message{To: "+15550100", Text: "a day on", IdempotencyKey: "order-9",
		IdempotencyScope: "token:1", IdempotencyFingerprint: "fp"}); err != nil || existed {
		t.Errorf("after the window: existed=%v err=%v, want a new message", existed, err)
	}
}

// TestPurgeDropsFingerprint: the fingerprint hashes the number with the
// words, so a short text could be found again from it; the purge that
// blanks the words drops it too.
func TestPurgeDropsFingerprint(t *testing.T) {
	c := newClock()
	db := openTest(t, WithClock(c.now))
	m, _, err := db.Enqueue(Message{To: "+15550100", Text: "code 1234", Status: StatusDelivered,
		IdempotencyKey: "k", IdempotencyScope: "token:1", IdempotencyFingerprint: "fp"})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(IdempotencyWindow + time.Minute)
	if n, err := db.PurgeBodies(c.now(), 0); err != nil || n != 1 {
		t.Fatalf("purged %d: %v", n, err)
	}
	got, err := db.Get(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "" || got.IdempotencyFingerprint != "" || got.IdempotencyKey != "k" {
		t.Errorf("after the purge: text %q fingerprint %q key %q, want both blank and the key kept", got.Text, got.IdempotencyFingerprint, got.IdempotencyKey)
	}
}

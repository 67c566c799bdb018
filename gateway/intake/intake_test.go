package intake

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

type brand string

func (b brand) Settings() compliance.Settings { return compliance.Settings{Brand: string(b)} }

func options(now time.Time) Options {
	return Options{Region: "US", MaxParts: 2, Policy: brand("Rosa's Bakery"), Now: now,
		TransactionalValidity: 72 * time.Hour, MarketingValidity: 24 * time.Hour}
}

// Each bad field of a request is a FieldError naming it.
func TestMessageNamesTheBadField(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		req   Request
		field string
	}{
		{"bad number", Request{To: "12", Text: "hi"}, "to"},
		{"empty text", Request{To: "+12015550123", Text: "  "}, "text"},
		{"invalid UTF-8", Request{To: "+12015550123", Text: "hi \xff"}, "text"},
		{"NUL", Request{To: "+12015550123", Text: "hi\x00"}, "text"},
		{"too many parts", Request{To: "+12015550123", Text: strings.Repeat("a", 3*153)}, "text"},
		{"long exit key", Request{To: "+12015550123", Text: "hi", ExitKey: strings.Repeat("k", store.MaxExitKeyLen+1)}, "exit_key"},
		{"callback without format", Request{To: "+12015550123", Text: "hi", Callback: &store.Callback{URL: "https://x.example/cb"}}, "callback.format"},
		{"callback not http", Request{To: "+12015550123", Text: "hi", Callback: &store.Callback{URL: "ftp://x.example/cb", Format: "twilio"}}, "callback.url"},
		{"long idempotency key", Request{To: "+12015550123", Text: "hi", IdempotencyKey: strings.Repeat("k", maxIdempotencyKey+1)}, "idempotency_key"},
		{"compliance kind", Request{To: "+12015550123", Text: "hi", Kind: store.KindCompliance}, "kind"},
		{"marketing without the brand", Request{To: "+12015550123", Text: "Sale today", Kind: store.KindMarketing}, "text"},
		{"expired", Request{To: "+12015550123", Text: "hi", ExpiresAt: now.Add(-time.Second)}, "expires_at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Message(c.req, options(now))
			var fe *store.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("got %v, want a FieldError for %q", err, c.field)
			}
		})
	}
}

// A good request becomes a queued record: E.164, one queued part per
// part, the kind's validity.
func TestMessageQueuesAGoodRequest(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	m, err := Message(Request{To: "(201) 555-0123", Text: "Rosa's Bakery: " + strings.Repeat("a", 160), Kind: store.KindMarketing}, options(now))
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "+12015550123" || m.Status != store.StatusQueued || len(m.Parts) != 2 || m.Parts[1].Seq != 2 || m.Parts[1].MR != -1 {
		t.Errorf("got %+v", m)
	}
	if !m.ExpiresAt.Equal(now.Add(24*time.Hour)) || !m.NextAttemptAt.Equal(now) {
		t.Errorf("expires %v, next attempt %v; want a day after %v and now", m.ExpiresAt, m.NextAttemptAt, now)
	}
}

// The fingerprint tells texts apart by number, kind and words, and
// nothing else.
func TestFingerprint(t *testing.T) {
	base := store.Message{To: "+12015550123", Kind: store.KindTransactional, Text: "hi"}
	later := base
	later.ExpiresAt = time.Now()
	if Fingerprint(base) != Fingerprint(later) {
		t.Error("the expiry changed the fingerprint")
	}
	for _, m := range []store.Message{
		{To: "+12015550124", Kind: store.KindTransactional, Text: "hi"},
		{To: "+12015550123", Kind: store.KindMarketing, Text: "hi"},
		{To: "+12015550123", Kind: store.KindTransactional, Text: "hi!"},
	} {
		if Fingerprint(m) == Fingerprint(base) {
			t.Errorf("%+v has the fingerprint of %+v", m, base)
		}
	}
}

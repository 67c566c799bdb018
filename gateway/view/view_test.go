package view

import (
	"testing"

	"github.com/simgate/simgate/store"
)

// TestViewNamesAreTheStoreNames: every status, kind and marketing state view
// names is one the store converts to, so a constant webui compares
// with can match a converted record.
func TestViewNamesAreTheStoreNames(t *testing.T) {
	for _, st := range []Status{StatusQueued, StatusSending, StatusSent, StatusDelivered, StatusFailed,
		StatusUnknown, StatusSuppressed, StatusExpired} {
		if rec, ok := store.ParseStatus(string(st)); !ok || Status(rec.String()) != st {
			t.Errorf("status %q is not a store status", st)
		}
	}
	for _, k := range []Kind{KindTransactional, KindMarketing, KindCompliance} {
		if rec, ok := store.ParseKind(string(k)); !ok || Kind(rec.String()) != k {
			t.Errorf("kind %q is not a store kind", k)
		}
	}
	for rec, want := range map[store.MarketingState]MarketingState{store.MarketingNone: MarketingNone,
		store.MarketingPending: MarketingPending, store.MarketingConfirmed: MarketingConfirmed, store.MarketingOptedOut: MarketingOptedOut} {
		if got := FromConsent(store.Consent{Marketing: rec}).Marketing; got != want {
			t.Errorf("marketing state %d: got %q, want %q", rec, got, want)
		}
	}
	if _, ok := ParseStatus("bogus"); ok {
		t.Error("ParseStatus accepted bogus")
	}
	if _, ok := ParseKind("bulk"); ok {
		t.Error("ParseKind accepted bulk")
	}
}

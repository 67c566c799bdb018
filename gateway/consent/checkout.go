package consent

import (
	"context"
	"fmt"
	"time"

	"github.com/simgate/simgate/store"
)

// CheckoutOptIn enters consent given at the shop's checkout in the ledger
// through OptIn, so its rules hold: a number that opted out stays out, an
// erased one stays erased, and the opt-in confirmation is the number's
// first text. The disclosure on record is the one saved in Settings →
// Compliance, which the shop's checkout must show (docs/compliance.md).
// source names the shop, note is the shop's own words and at when the
// shop dates the consent (zero: unknown).
func (l *Ledger) CheckoutOptIn(ctx context.Context, number, source, note string, at time.Time) error {
	d := l.policy.Settings().Disclosure
	if d.Version == "" {
		return fmt.Errorf("%w: no disclosure is saved in Settings → Compliance, so the consent has no text to point to", store.ErrConflict)
	}
	if !at.IsZero() {
		note += "; the shop dates it " + at.UTC().Format("2006-01-02T15:04:05Z")
	}
	_, _, err := l.OptIn(ctx, OptInRequest{Number: number, Method: store.MethodCheckout, Source: source,
		DisclosureVersion: d.Version, Actor: "shop", Note: note})
	return err
}

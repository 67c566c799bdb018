package consent

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// disclosureText is long enough for the settings' rule on disclosures.
const disclosureText = "Shop: recurring automated marketing texts, up to 4 msgs/month. Msg&data rates may apply. " +
	"Reply STOP to end, HELP for help. Consent is not a condition of purchase."

// A saved disclosure version keeps its text: saving other text under it is
// refused naming the field, and neither the settings nor the disclosure
// change, also for a policy that reads them afresh.
func TestSaveKeepsDisclosureText(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := LoadPolicy(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	s := compliance.Defaults()
	s.Brand, s.SupportContact, s.Frequency = "Rosa's Bakery", "rosa@example.com", "up to 4 msgs/month"
	s.Disclosure = compliance.Disclosure{Version: "v1", Text: disclosureText}
	if err := p.Save(s, "ana"); err != nil {
		t.Fatal(err)
	}

	changed := s
	changed.Brand = "Someone Else"
	changed.Disclosure.Text = disclosureText + " Now with more texts."
	var fe *store.FieldError
	if err := p.Save(changed, "ben"); !errors.As(err, &fe) || fe.Field != "disclosure.version" {
		t.Fatalf("new text under v1: %v, want a FieldError on disclosure.version", err)
	}
	for _, policy := range []*Policy{p, reload(t, db)} {
		if got := policy.Settings(); got.Brand != s.Brand || got.UpdatedBy != "ana" {
			t.Errorf("settings after the refused save = %+v, want those saved by ana", got)
		}
	}
	// The same text under a new version is a new disclosure.
	changed.Disclosure.Version = "v2"
	if err := p.Save(changed, "ben"); err != nil {
		t.Fatal(err)
	}

	for _, policy := range []*Policy{p, reload(t, db)} {
		if got := policy.Settings(); got.Brand != changed.Brand || got.Disclosure != changed.Disclosure || got.UpdatedBy != "ben" {
			t.Errorf("settings = %+v, want those saved with v2", got)
		}
		for version, text := range map[string]string{"v1": s.Disclosure.Text, "v2": changed.Disclosure.Text} {
			if d, ok, err := policy.DisclosureVersion(version); err != nil || !ok || d.Text != text {
				t.Errorf("DisclosureVersion(%s) = %+v, %v, %v; want text %q", version, d, ok, err, text)
			}
		}
	}
}

// reload reads the policy afresh from db, as a restarted gateway would.
func reload(t *testing.T, db *store.DB) *Policy {
	t.Helper()
	p, err := LoadPolicy(db, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

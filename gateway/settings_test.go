package gateway

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/simgate/simgate/store"
)

// A saved disclosure version keeps its text: saving other text under it is
// refused naming the field, and neither the settings nor the disclosure
// change, also for a gateway that reads them afresh.
func TestSaveComplianceSettingsKeepsDisclosureText(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g, err := New(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings()
	s.Disclosure = Disclosure{Version: "v1", Text: testDisclosure}
	if err := g.SaveComplianceSettings(s, "ana"); err != nil {
		t.Fatal(err)
	}

	changed := s
	changed.Brand = "Someone Else"
	changed.Disclosure.Text = testDisclosure + " Now with more texts."
	var fe *FieldError
	if err := g.SaveComplianceSettings(changed, "ben"); !errors.As(err, &fe) || fe.Field != "disclosure.version" {
		t.Fatalf("new text under v1: %v, want a FieldError on disclosure.version", err)
	}
	// The same text under a new version is a new disclosure.
	changed.Disclosure.Version = "v2"
	if err := g.SaveComplianceSettings(changed, "ben"); err != nil {
		t.Fatal(err)
	}

	fresh, err := New(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, gw := range []*Gateway{g, fresh} {
		if got := gw.ComplianceSettings(); got.Brand != changed.Brand || got.Disclosure != changed.Disclosure || got.UpdatedBy != "ben" {
			t.Errorf("settings = %+v, want those saved with v2", got)
		}
		for version, text := range map[string]string{"v1": s.Disclosure.Text, "v2": changed.Disclosure.Text} {
			if d, ok, err := gw.DisclosureVersion(version); err != nil || !ok || d.Text != text {
				t.Errorf("DisclosureVersion(%s) = %+v, %v, %v; want text %q", version, d, ok, err, text)
			}
		}
	}
}

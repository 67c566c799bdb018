package store

import (
	"errors"
	"strings"
	"testing"
)

// A disclosure's text, long enough to look like one.
const (
	disclosureV1 = "Rosa's: recurring automated marketing texts, up to 4/month. Consent not required. Msg&data rates may apply. STOP to end."
	disclosureV2 = "Rosa's Bakery: recurring automated marketing texts, up to 4/month. Consent not required. Msg&data rates may apply. STOP to end."
)

func TestComplianceSettingsSave(t *testing.T) {
	db := openTest(t)
	if doc, err := db.ComplianceSettings(); err != nil || doc != nil {
		t.Fatalf("ComplianceSettings on a new box = %s, %v; want nil, nil", doc, err)
	}
	v1 := Disclosure{Version: "v1", Text: disclosureV1}
	if err := db.SaveComplianceSettings([]byte(`{"brand":"Rosa's"}`), v1); err != nil {
		t.Fatal(err)
	}
	// Saving again with the same text is fine, and settings without a
	// disclosure keep the saved versions.
	if err := db.SaveComplianceSettings([]byte(`{"brand":"Rosa's","frequency":"4/month"}`), v1); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveComplianceSettings([]byte(`{"brand":"Rosa's Bakery"}`), Disclosure{}); err != nil {
		t.Fatal(err)
	}
	if doc, err := db.ComplianceSettings(); err != nil || string(doc) != `{"brand":"Rosa's Bakery"}` {
		t.Errorf("ComplianceSettings = %s, %v", doc, err)
	}
	if d, ok, err := db.Disclosure("v1"); err != nil || !ok || d != v1 {
		t.Errorf("Disclosure(v1) = %+v, %v, %v; want %+v", d, ok, err, v1)
	}
	if d, ok, err := db.Disclosure("v2"); err != nil || ok {
		t.Errorf("Disclosure(v2) = %+v, %v, %v; want not found", d, ok, err)
	}
	if err := db.SaveComplianceSettings([]byte(`{"brand":`), v1); err == nil {
		t.Error("a document that is not JSON was saved")
	}
}

// TestComplianceSettingsSaveWritesNeither: a save that fails leaves both
// the settings and the disclosures as they were, whichever part fails.
func TestComplianceSettingsSaveWritesNeither(t *testing.T) {
	db := openTest(t)
	const before = `{"brand":"Rosa's"}`
	if err := db.SaveComplianceSettings([]byte(before), Disclosure{Version: "v1", Text: disclosureV1}); err != nil {
		t.Fatal(err)
	}

	// A saved version's text cannot change: ledger entries name it.
	err := db.SaveComplianceSettings([]byte(`{"brand":"changed"}`), Disclosure{Version: "v1", Text: disclosureV2})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "disclosure.version" {
		t.Errorf("new text under v1: %v, want a FieldError on disclosure.version", err)
	}
	// A version bbolt cannot store as a key fails after the settings were
	// put in the same transaction.
	huge := Disclosure{Version: strings.Repeat("v", 40000), Text: disclosureV2}
	if err := db.SaveComplianceSettings([]byte(`{"brand":"changed"}`), huge); err == nil {
		t.Error("a 40000-byte disclosure version was saved")
	}

	if doc, _ := db.ComplianceSettings(); string(doc) != before {
		t.Errorf("settings after failed saves = %s, want %s", doc, before)
	}
	if d, _, _ := db.Disclosure("v1"); d.Text != disclosureV1 {
		t.Errorf("v1 text after failed saves = %q", d.Text)
	}
	if _, ok, _ := db.Disclosure(huge.Version); ok {
		t.Error("the huge disclosure version was stored")
	}
}

package store

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestHookLogKeepsTheNewest(t *testing.T) {
	db := openTest(t)
	for i := 1; i <= HookLogSize+7; i++ {
		if _, err := db.AppendHookDelivery(HookDelivery{Source: "shopify", Topic: fmt.Sprintf("t%d", i), Status: 200, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.HookDeliveries()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != HookLogSize {
		t.Fatalf("%d deliveries kept, want %d", len(got), HookLogSize)
	}
	if got[0].Topic != fmt.Sprintf("t%d", HookLogSize+7) || got[len(got)-1].Topic != "t8" {
		t.Errorf("kept %s .. %s, want the newest t%d .. t8", got[0].Topic, got[len(got)-1].Topic, HookLogSize+7)
	}
	if got[0].At.IsZero() || got[0].ID == 0 {
		t.Errorf("delivery not stamped: %+v", got[0])
	}
}

func TestIntegrationSettingsRoundTrip(t *testing.T) {
	db := openTest(t)
	doc, err := db.IntegrationSettings()
	if err != nil || doc != nil {
		t.Fatalf("new box: %s, %v; want nothing", doc, err)
	}
	if err := db.SaveIntegrationSettings(json.RawMessage(`{"shopify_secret":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveIntegrationSettings(json.RawMessage(`{not json`)); err == nil {
		t.Error("a document that is not JSON was saved")
	}
	if doc, _ = db.IntegrationSettings(); string(doc) != `{"shopify_secret":"x"}` {
		t.Errorf("read back %s", doc)
	}
}

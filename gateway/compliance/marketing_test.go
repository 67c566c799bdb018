package compliance

import (
	"errors"
	"strings"
	"testing"

	"github.com/simgate/simgate/store"
)

func TestCheckMarketingBrand(t *testing.T) {
	s := testSettings()
	for _, tc := range []struct {
		text, field string // field "" = accepted
		settings    Settings
	}{
		{"Rosa's Bakery: fresh bread today", "", s},
		{"rosa's bakery: lower case is fine", "", s},
		{"Fresh bread at Rosa's Bakery", "text", s},
		{"Anything", "kind", Defaults()}, // no brand saved: no marketing at all
	} {
		err := CheckMarketingBrand("text", tc.text, tc.settings)
		var fe *store.FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%q: %v, want accepted", tc.text, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%q: %v, want a FieldError on %s", tc.text, err, tc.field)
		}
	}
}

func TestWithOptOut(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Rosa's: 10% off. Reply STOP to opt out", "Rosa's: 10% off. Reply STOP to opt out"},
		{"Rosa's: 10% off. Text stop to end", "Rosa's: 10% off. Text stop to end"},
		{"Rosa's: 10% off \n", "Rosa's: 10% off\n" + OptOutLine},
		{"Rosa's: unstoppable deals", "Rosa's: unstoppable deals\n" + OptOutLine}, // a word, not a substring
	} {
		if got := WithOptOut(tc.in); got != tc.want {
			t.Errorf("WithOptOut(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !HasOptOut(WithOptOut(tc.in)) || !strings.Contains(WithOptOut(tc.in), "STOP") && !strings.Contains(tc.in, "stop") {
			t.Errorf("WithOptOut(%q) has no opt-out", tc.in)
		}
	}
}

package compliance

import (
	"errors"
	"testing"

	"github.com/simgate/simgate/store"
)

// Problems reports every bad field at once (the console marks them all on
// one save); Validate still answers with the first.
func TestProblemsReportsEveryField(t *testing.T) {
	s := Defaults()
	s.Brand, s.SupportContact, s.Frequency = "Rosa's", "", ""
	s.MarketingPer24h = 9
	s.JoinKeyword = "two words"
	s.Replies.Help = "Call us"
	ps := s.Problems()
	var fields []string
	for _, p := range ps {
		var fe *store.FieldError
		if !errors.As(p, &fe) {
			t.Fatalf("%v is not a field error", p)
		}
		fields = append(fields, fe.Field)
	}
	want := []string{"marketing_per_24h", "join_keyword", "frequency", "support_contact", "replies.help"}
	for _, w := range want {
		found := false
		for _, f := range fields {
			found = found || f == w
		}
		if !found {
			t.Errorf("no problem reported for %s (got %v)", w, fields)
		}
	}
	if err := s.Validate(); err == nil || err.Error() != ps[0].Error() {
		t.Errorf("Validate = %v, want the first problem %v", err, ps[0])
	}
	good := Defaults()
	good.Brand, good.SupportContact, good.Frequency = "Rosa's", "help@rosas.example", "up to 4 msgs/month"
	if ps := good.Problems(); len(ps) != 0 {
		t.Errorf("good settings have problems: %v", ps)
	}
}

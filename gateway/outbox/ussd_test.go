package outbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// The outbox answers the allow-list's refusals in the API's terms: a
// FieldError on the field the caller can fix, and for a refused code where
// the list can change. The list's rules are tested in package modem.
func TestUSSDRefusalsAreFieldErrors(t *testing.T) {
	for _, c := range []struct {
		code, says string
		where      bool
	}{
		{"100#", "start with * or #", false},
		{"*21#", "call forwarding", true},
		{"*100*1*2#", "not among the allowed", true},
	} {
		err := checkUSSD(modem.USSDAllowList{}, c.code)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "code" || !strings.Contains(fe.Message, c.says) ||
			strings.Contains(fe.Message, "ussd_allow in simgate.toml") != c.where {
			t.Errorf("%s: %v, want a FieldError on code saying %q (where to change the list: %v)", c.code, err, c.says, c.where)
		}
	}
	if err := checkUSSD(modem.USSDAllowList{}, "*100#"); err != nil {
		t.Errorf("*100#: %v, want it allowed", err)
	}
	_, err := ParseUSSDAllowList([]string{"*N#", "*1N#"})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "ussd_allow[2]" || !strings.Contains(fe.Message, "*1N#") {
		t.Errorf("a bad second pattern: %v, want a FieldError on ussd_allow[2] naming it", err)
	}
}

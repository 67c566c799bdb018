package outbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/simgate/simgate/store"
)

func TestUSSDAllowList(t *testing.T) {
	custom, err := ParseUSSDAllowList([]string{"*#10#", "**21*N#", "*100*N*N#"})
	if err != nil {
		t.Fatal(err)
	}
	off, err := ParseUSSDAllowList([]string{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		list USSDAllowList
		code string
		ok   bool
		why  string // in the refusal
	}{
		{USSDAllowList{}, "*100#", true, ""},
		{USSDAllowList{}, "*101*1#", true, ""},
		{USSDAllowList{}, "*2100#", true, ""}, // 21 as a prefix of a longer group is no service code
		{USSDAllowList{}, "*21#", false, "21: call forwarding"},
		{USSDAllowList{}, "*21*12015550199#", false, "call forwarding"},
		{USSDAllowList{}, "**21*12015550199#", false, "call forwarding"},
		{USSDAllowList{}, "**002*12015550199#", false, "002: call forwarding"},
		{USSDAllowList{}, "*330*0000#", false, "call barring"},
		{USSDAllowList{}, "*31#", false, "caller ID"},
		{USSDAllowList{}, "*43#", false, "call waiting"},
		{USSDAllowList{}, "**04*1234*5678*5678#", false, "SIM PIN"},
		{USSDAllowList{}, "*#06#", false, "IMEI"},
		{USSDAllowList{}, "#100#", false, "not among the allowed"},
		{USSDAllowList{}, "*#100#", false, "not among the allowed"},
		{USSDAllowList{}, "*100*1*2#", false, "*N#, *N*N#"},
		{custom, "*#10#", true, ""},
		{custom, "**21*12015550199#", true, ""}, // named literally by the owner
		{custom, "*21*12015550199#", false, "call forwarding"},
		{custom, "*100*1*2#", true, ""},
		{custom, "*100#", false, "*#10#, **21*N#, *100*N*N#"},
		{off, "*100#", false, "USSD is turned off"},
	}
	for _, c := range cases {
		err := c.list.Check(c.code)
		if c.ok {
			if err != nil {
				t.Errorf("%v %s: %v, want allowed", c.list.Patterns(), c.code, err)
			}
			continue
		}
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "code" {
			t.Errorf("%v %s: %v, want a FieldError on code", c.list.Patterns(), c.code, err)
			continue
		}
		if !strings.Contains(fe.Message, c.why) || !strings.Contains(fe.Message, "ussd_allow") {
			t.Errorf("%v %s: message %q, want it to say %q and where to change the list", c.list.Patterns(), c.code, fe.Message, c.why)
		}
	}
}

func TestParseUSSDAllowList(t *testing.T) {
	for _, c := range []struct{ pattern, field, says string }{
		{"100", "ussd_allow[2]", "start with * or #"},
		{"*1N#", "ussd_allow[2]", "whole group"},
		{"*NN#", "ussd_allow[2]", "whole group"},
		{"*n#", "ussd_allow[2]", "only digits"},
		{"*100", "ussd_allow[2]", "end with #"},
	} {
		_, err := ParseUSSDAllowList([]string{"*N#", c.pattern})
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Message, c.says) || !strings.Contains(fe.Message, c.pattern) {
			t.Errorf("%q: %v, want a FieldError on %s saying %q", c.pattern, err, c.field, c.says)
		}
	}
	if got := (USSDAllowList{}).Patterns(); strings.Join(got, " ") != "*N# *N*N#" {
		t.Errorf("the zero list is %v, want the default", got)
	}
}

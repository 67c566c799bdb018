package modem

import (
	"errors"
	"strings"
	"testing"
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
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%v %s: %v, want a refusal saying %q", c.list.Patterns(), c.code, err, c.why)
		}
	}
}

func TestParseUSSDAllowList(t *testing.T) {
	for _, c := range []struct{ pattern, says string }{
		{"100", "start with * or #"},
		{"*1N#", "whole group"},
		{"*NN#", "whole group"},
		{"*n#", "only digits"},
		{"*100", "end with #"},
	} {
		_, err := ParseUSSDAllowList([]string{"*N#", c.pattern})
		var pe *USSDPatternError
		if !errors.As(err, &pe) || pe.Index != 1 || !strings.Contains(pe.Message, c.says) || !strings.Contains(pe.Message, c.pattern) {
			t.Errorf("%q: %v, want a USSDPatternError on the second pattern saying %q", c.pattern, err, c.says)
		}
	}
	if got := (USSDAllowList{}).Patterns(); strings.Join(got, " ") != "*N# *N*N#" {
		t.Errorf("the zero list is %v, want the default", got)
	}
}

func TestCheckUSSDCode(t *testing.T) {
	for _, c := range []struct{ code, says string }{
		{"*100#", ""},
		{"#31#", ""},
		{"*", "2 to 32 characters"},
		{"*" + strings.Repeat("1", 31) + "#", "2 to 32 characters"},
		{"100#", "start with * or #"},
		{"*100", "end with #"},
		{"*10a#", "only digits"},
	} {
		err := CheckUSSDCode(c.code)
		if c.says == "" {
			if err != nil {
				t.Errorf("%q: %v, want it accepted", c.code, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%q: %v, want an error saying %q", c.code, err, c.says)
		}
	}
}

package modem

import (
	"errors"
	"fmt"
	"strings"
)

// The USSD allow-list. A USSD box is there to read a SIM's balance or
// data bundle, but the same string a phone dials can also be a
// supplementary-service request (3GPP TS 22.030, formerly GSM 02.30):
// **21*number# forwards every call of the shop's number to someone else,
// *33*pin# bars calls. A stolen API token must not be able to do that, so
// codes are checked against a list of patterns the owner sets.
//
// A pattern is written like a code: digits, * and #, plus N, which stands
// for one group of digits. N never stands for a supplementary-service code
// (below) in the place where a phone reads one, the first group: *N# lets
// *100# through but not *21#. A pattern that names such a code literally
// (**21*N#) allows it, for an owner who really wants that.

// DefaultUSSDAllow is the allow-list when none is configured: the forms
// balance and information codes take (*100#, *101*1#). A code starting
// with ** # or *# is a registration, deactivation or interrogation of a
// supplementary service (TS 22.030 §6.5.2) and matches neither.
var DefaultUSSDAllow = []string{"*N#", "*N*N#"}

// serviceCodes are the service codes a phone reads as something other than
// USSD, with what they do, for the refusal's message: 3GPP TS 22.030 Annex
// B (supplementary services), §6.5.4 (barring password) and §6.6 (PIN,
// PUK, IMEI).
var serviceCodes = map[string]string{
	"21": "call forwarding", "67": "call forwarding", "61": "call forwarding", "62": "call forwarding",
	"002": "call forwarding", "004": "call forwarding",
	"33": "call barring", "331": "call barring", "332": "call barring", "35": "call barring",
	"351": "call barring", "330": "call barring", "333": "call barring", "353": "call barring",
	"03": "the call barring password",
	"30": "caller ID", "31": "caller ID", "76": "caller ID", "77": "caller ID", "300": "caller ID",
	"43":  "call waiting",
	"360": "user-to-user signalling", "361": "user-to-user signalling", "362": "user-to-user signalling",
	"363": "user-to-user signalling",
	"96":  "call transfer", "37": "completion of calls", "214": "follow-me", "66": "call deflection",
	"75": "call priority", "750": "call priority", "751": "call priority", "752": "call priority",
	"753": "call priority", "754": "call priority",
	"591": "multiple subscriber profiles", "592": "multiple subscriber profiles",
	"593": "multiple subscriber profiles", "594": "multiple subscriber profiles",
	"88": "multicall",
	"04": "the SIM PIN", "042": "the SIM PIN", "05": "the SIM PIN", "052": "the SIM PIN",
	"06": "the IMEI",
}

// CheckUSSDCode accepts what a phone's dialler would send: digits, * and
// #, starting with * or # and ending with #. The error says what is wrong
// with code, for a person to read.
func CheckUSSDCode(code string) error {
	if len(code) < 2 || len(code) > 32 {
		return errors.New("must be 2 to 32 characters, like *100#")
	}
	if code[0] != '*' && code[0] != '#' || code[len(code)-1] != '#' {
		return errors.New("must start with * or # and end with #, like *100#")
	}
	for _, c := range code {
		if (c < '0' || c > '9') && c != '*' && c != '#' {
			return fmt.Errorf("may contain only digits, * and #, not %q", c)
		}
	}
	return nil
}

// USSDAllowList is a parsed allow-list. Its zero value is
// DefaultUSSDAllow; an empty list from ParseUSSDAllowList allows nothing.
type USSDAllowList struct {
	set      bool
	patterns []ussdPattern
	text     []string
}

// ussdPattern is a pattern cut into tokens: runs of * and #, and groups
// ("N" or digits).
type ussdPattern []string

// A USSDPatternError is a pattern ParseUSSDAllowList cannot use.
type USSDPatternError struct {
	Index   int    // the pattern's place in the list, from 0
	Message string // names the pattern and what is wrong with it
}

func (e *USSDPatternError) Error() string { return e.Message }

// ParseUSSDAllowList checks patterns. The error for the first one that
// cannot be used is a *USSDPatternError.
func ParseUSSDAllowList(patterns []string) (USSDAllowList, error) {
	l := USSDAllowList{set: true, text: append([]string{}, patterns...)}
	for i, p := range patterns {
		if err := CheckUSSDCode(strings.ReplaceAll(p, "N", "0")); err != nil {
			return USSDAllowList{}, &USSDPatternError{Index: i, Message: fmt.Sprintf("%q %s (N stands for digits)", p, err)}
		}
		toks := tokenizeUSSD(p)
		for _, t := range toks {
			if strings.Contains(t, "N") && t != "N" {
				return USSDAllowList{}, &USSDPatternError{Index: i, Message: fmt.Sprintf(
					"%q: N stands for a whole group of digits, so write it alone between * or # (like *N#)", p)}
			}
		}
		l.patterns = append(l.patterns, toks)
	}
	return l, nil
}

// defaultUSSDAllowList is DefaultUSSDAllow parsed.
var defaultUSSDAllowList = func() USSDAllowList {
	l, err := ParseUSSDAllowList(DefaultUSSDAllow)
	if err != nil {
		panic(err)
	}
	return l
}()

func (l USSDAllowList) effective() USSDAllowList {
	if !l.set {
		return defaultUSSDAllowList
	}
	return l
}

// Patterns returns the list as written.
func (l USSDAllowList) Patterns() []string {
	return append([]string{}, l.effective().text...)
}

// Check returns nil when code, already accepted by CheckUSSDCode, matches
// a pattern, and otherwise an error saying why it is refused and what is
// allowed, for a person to read.
func (l USSDAllowList) Check(code string) error {
	l = l.effective()
	toks := tokenizeUSSD(code)
	for _, p := range l.patterns {
		if p.matches(toks) {
			return nil
		}
	}
	allowed := "none (USSD is turned off)"
	if len(l.text) > 0 {
		allowed = strings.Join(l.text, ", ") + " (N: any digits)"
	}
	if len(toks) > 1 {
		if what, ok := serviceCodes[toks[1]]; ok {
			return fmt.Errorf(
				"%s is a network service code (%s: %s), not a balance or information code: refused so that nobody can change the SIM's calls or security from here. Allowed: %s",
				code, toks[1], what, allowed)
		}
	}
	return fmt.Errorf("%s is not among the allowed USSD codes: %s", code, allowed)
}

// matches reports whether a code's tokens fit the pattern.
func (p ussdPattern) matches(code []string) bool {
	if len(p) != len(code) {
		return false
	}
	for i, t := range p {
		switch {
		case t == "N":
			// Group 1 is where a phone reads a service code.
			if i == 1 && serviceCodes[code[i]] != "" {
				return false
			}
		case t != code[i]:
			return false
		}
	}
	return true
}

// tokenizeUSSD cuts s into alternating runs of * and # and of other
// characters; a valid code starts with a run of * and #, so group i sits
// at index 2i-1.
func tokenizeUSSD(s string) []string {
	var toks []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isUSSDSep(s[i]) != isUSSDSep(s[start]) {
			toks = append(toks, s[start:i])
			start = i
		}
	}
	return toks
}

func isUSSDSep(c byte) bool { return c == '*' || c == '#' }

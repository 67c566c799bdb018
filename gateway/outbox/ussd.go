package outbox

import (
	"errors"
	"fmt"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// The USSD allow-list's rules are modem's (modem/ussdallow.go): which codes
// are supplementary-service requests is protocol knowledge. The outbox
// holds the owner's list, checks every code against it before a runner
// dials it, and answers in the API's terms.

// ussdWhere tells the person refused where the list can change: the config
// file, never the API, which is what the list guards against.
const ussdWhere = "; the owner can change ussd_allow in simgate.toml"

// ParseUSSDAllowList checks patterns. Errors are *store.FieldError for
// "ussd_allow[i]", i counted from 1.
func ParseUSSDAllowList(patterns []string) (modem.USSDAllowList, error) {
	l, err := modem.ParseUSSDAllowList(patterns)
	var pe *modem.USSDPatternError
	if errors.As(err, &pe) {
		return l, &store.FieldError{Field: fmt.Sprintf("ussd_allow[%d]", pe.Index+1), Message: pe.Message}
	}
	return l, err
}

// checkUSSD returns nil when code is a USSD string the allow-list lets
// through, and otherwise a *store.FieldError for "code" saying why.
func checkUSSD(allow modem.USSDAllowList, code string) error {
	if err := modem.CheckUSSDCode(code); err != nil {
		return &store.FieldError{Field: "code", Message: err.Error()}
	}
	if err := allow.Check(code); err != nil {
		return &store.FieldError{Field: "code", Message: err.Error() + ussdWhere}
	}
	return nil
}

// CheckUSSDCode returns nil when code may be sent (a USSD string the
// allow-list lets through), and otherwise a *store.FieldError for "code"
// saying why: a balance check is refused when set, not at its first run.
func (q *Queue) CheckUSSDCode(code string) error { return checkUSSD(q.cfg.USSDAllow, code) }

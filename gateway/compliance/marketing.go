package compliance

import (
	"fmt"
	"strings"

	"github.com/simgate/simgate/store"
)

// The rules of docs/compliance.md R-ID for the words of a marketing text,
// in one place: the outbox refuses a text that breaks the brand rule, and
// the template linter (gateway/msgtemplate) reports both rules when a
// template is saved and adds the opt-out line when a marketing text is
// rendered without one.

// OptOutLine is what a marketing text without STOP instructions gets at its
// end (R-ID: "Reply STOP to opt out").
const OptOutLine = "Reply STOP to opt out"

// CheckMarketingBrand returns nil when text starts with the brand, as R-ID
// asks of every marketing text, or a *store.FieldError on field saying
// what is wrong. With no brand saved, marketing cannot start at all
// (ErrNoBrand, on "kind").
func CheckMarketingBrand(field, text string, s Settings) error {
	if s.Brand == "" {
		return &store.FieldError{Field: "kind", Message: ErrNoBrand.Error()}
	}
	if !strings.HasPrefix(strings.ToLower(text), strings.ToLower(s.Brand)) {
		return &store.FieldError{Field: field, Message: fmt.Sprintf(
			"a marketing text must start with the brand name, as in %q", s.Brand+": ...")}
	}
	return nil
}

// HasOptOut reports whether text tells the customer how to opt out: it
// names the word STOP, as the HELP reply's check does.
func HasOptOut(text string) bool { return checkStop.ok(text, Settings{}) }

// WithOptOut returns text with OptOutLine on a line of its own at the end
// when it has no STOP instructions, and text unchanged otherwise.
func WithOptOut(text string) string {
	if HasOptOut(text) {
		return text
	}
	return strings.TrimRight(text, " \n") + "\n" + OptOutLine
}

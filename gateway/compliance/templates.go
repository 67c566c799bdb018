package compliance

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/simgate/simgate/store"
)

// The box's own replies are short templates with three placeholders,
// filled from the compliance settings when a reply is queued. The linter
// below checks the filled text, not the template, so "{brand}" counts as
// naming the brand only because the settings give one.

// placeholder matches {word}; only the three below are known.
var placeholder = regexp.MustCompile(`\{[a-zA-Z_]+\}`)

// renderReply fills {brand}, {frequency} and {support} from s. Before a
// brand is saved an opt-out confirmation still goes (R-STOP-3 outranks
// style), without the empty "{brand}: " in front.
func renderReply(tmpl string, s Settings) string {
	text := strings.NewReplacer(
		"{brand}", s.Brand,
		"{frequency}", s.Frequency,
		"{support}", s.SupportContact,
	).Replace(tmpl)
	return strings.TrimLeft(text, ": ")
}

// What the linter looks for, case-insensitively. Each is generous about
// spacing and wording where carriers accept variants, and strict about the
// words that must appear.
var (
	// "Msg&data rates may apply", "Msg & data rates may apply", "Message
	// and data rates may apply".
	ratesNotice = regexp.MustCompile(`(?i)\b(msg|message)s?\s*(&|and)\s*data\s+rates\s+may\s+apply`)
	// The recurring-messages notice of R-OPTIN-2 ("recurring automated
	// marketing texts"); "recurring" is the word CTIA's handbook asks for.
	recurringNotice = regexp.MustCompile(`(?i)\brecurring\b`)
	// "no more texts", "no further messages", "will not receive",
	// "won't get", "unsubscribed", "opted out".
	noMoreNotice = regexp.MustCompile(`(?i)\bno\s+(more|further)\b|\b(will\s+not|won't|wont)\s+(get|receive|be\s+sent)\b|\bunsubscribed\b|\bopted\s+out\b`)
	// A link in any common spelling: the opt-out confirmation must not carry
	// one (R-STOP-3: nothing that invites a click is "no marketing").
	linkPattern = regexp.MustCompile(`(?i)https?://|\bwww\.|\b[a-z0-9-]+\.(com|net|org|io|co|shop|store|ly|me|app|biz|info|us|uk|fr|de|link|page)\b`)
	// Words that make a text promotional; an opt-out confirmation may use
	// none of them.
	marketingWords = regexp.MustCompile(`(?i)\b(sale|sales|discount|discounts|offer|offers|deal|deals|free|coupon|coupons|promo|promotion|code|shop\s+now|buy|save|order\s+now|new\s+arrivals|limited\s+time|exclusive)\b|%\s*off\b`)
)

// word reports whether the filled text contains w as a whole word,
// case-insensitively ("HELP" in "Reply HELP for help" but not in "helpful").
func hasWord(text, w string) bool {
	return regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(w) + `\b`).MatchString(text)
}

// replyCheck is one item a template must (or must not) contain.
type replyCheck struct {
	item string // what is missing, in the error
	ok   func(filled string, s Settings) bool
}

func containsFold(text, sub string) bool {
	return sub != "" && strings.Contains(strings.ToLower(text), strings.ToLower(sub))
}

var (
	checkBrand = replyCheck{"the brand name ({brand})", func(t string, s Settings) bool { return containsFold(t, s.Brand) }}
	checkFreq  = replyCheck{"the message frequency ({frequency})", func(t string, s Settings) bool {
		return containsFold(t, s.Frequency)
	}}
	checkRates     = replyCheck{`"Msg&data rates may apply"`, func(t string, _ Settings) bool { return ratesNotice.MatchString(t) }}
	checkHelp      = replyCheck{"HELP instructions (the word HELP)", func(t string, _ Settings) bool { return hasWord(t, "HELP") }}
	checkStop      = replyCheck{"STOP instructions (the word STOP)", func(t string, _ Settings) bool { return hasWord(t, "STOP") }}
	checkYes       = replyCheck{"the word YES to reply with", func(t string, _ Settings) bool { return hasWord(t, "YES") }}
	checkRecurring = replyCheck{`a recurring-messages notice (the word "recurring")`, func(t string, _ Settings) bool {
		return recurringNotice.MatchString(t)
	}}
	checkSupport = replyCheck{"a support contact ({support})", func(t string, s Settings) bool { return containsFold(t, s.SupportContact) }}
	checkNoMore  = replyCheck{`that no more messages will be sent (e.g. "you will get no more texts")`, func(t string, _ Settings) bool {
		return noMoreNotice.MatchString(t)
	}}
)

// replyRule is what one reply template must contain.
type replyRule struct {
	field  string
	text   string
	checks []replyCheck
	noAds  bool // R-STOP-3: no link and no marketing words
}

// replyRules lists, per template, its API field and what it must contain:
// R-OPTIN-2 (six items), R-DOI, R-STOP-3 and R-HELP.
func replyRules(r ReplyTemplates) []replyRule {
	return []replyRule{
		{"replies.opt_in_confirmation", r.OptInConfirmation, []replyCheck{checkBrand, checkRecurring, checkFreq, checkRates, checkHelp, checkStop}, false},
		{"replies.double_opt_in_request", r.DoubleOptInRequest, []replyCheck{checkBrand, checkYes, checkRates, checkStop}, false},
		{"replies.opt_out_confirmation", r.OptOutConfirmation, []replyCheck{checkBrand, checkNoMore}, true},
		{"replies.help", r.Help, []replyCheck{checkBrand, checkSupport, checkFreq, checkRates, checkStop}, false},
	}
}

// validateReplyTemplates checks the reply texts against docs/compliance.md
// R-OPTIN-2, R-DOI, R-STOP-3 and R-HELP, after filling the placeholders
// from s. The first failure is returned as a *store.FieldError naming the
// template and the missing item.
//
// The brand, frequency and support contact are required whenever settings
// are saved: the defaults of a new box have none, which is why marketing and
// opt-ins wait until the first save.
func validateReplyTemplates(s Settings) error {
	if ps := replyTemplateProblems(s); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// replyTemplateProblems is validateReplyTemplates for every field: the
// first problem of each.
func replyTemplateProblems(s Settings) []error {
	var ps []error
	if strings.TrimSpace(s.Brand) == "" {
		ps = append(ps, &store.FieldError{Field: "brand", Message: "is required: every reply and marketing text must name it"})
	}
	if strings.TrimSpace(s.Frequency) == "" {
		ps = append(ps, &store.FieldError{Field: "frequency", Message: `is required, such as "up to 4 msgs/month": the opt-in confirmation and HELP reply must state it`})
	}
	if strings.TrimSpace(s.SupportContact) == "" {
		ps = append(ps, &store.FieldError{Field: "support_contact", Message: "is required (a phone number, email or web address): the HELP reply must give it"})
	}
	for _, rule := range replyRules(s.Replies) {
		if err := replyProblem(rule, s); err != nil {
			ps = append(ps, err)
		}
	}
	return ps
}

// replyProblem is the first problem of one reply template, or nil.
func replyProblem(rule replyRule, s Settings) error {
	if strings.TrimSpace(rule.text) == "" {
		return &store.FieldError{Field: rule.field, Message: "must not be empty"}
	}
	for _, ph := range placeholder.FindAllString(rule.text, -1) {
		switch ph {
		case "{brand}", "{frequency}", "{support}":
		default:
			return &store.FieldError{Field: rule.field, Message: fmt.Sprintf("unknown placeholder %s: use {brand}, {frequency} or {support}", ph)}
		}
	}
	filled := renderReply(rule.text, s)
	for _, c := range rule.checks {
		if !c.ok(filled, s) {
			return &store.FieldError{Field: rule.field, Message: "must contain " + c.item}
		}
	}
	if rule.noAds {
		if l := linkPattern.FindString(filled); l != "" {
			return &store.FieldError{Field: rule.field, Message: fmt.Sprintf("must not contain a link (found %q): an opt-out confirmation carries no marketing", l)}
		}
		if w := marketingWords.FindString(filled); w != "" {
			return &store.FieldError{Field: rule.field, Message: fmt.Sprintf("must not contain marketing words (found %q): an opt-out confirmation carries no marketing", w)}
		}
	}
	return nil
}

// defaultReplyTemplates are the replies a new box starts with.
func defaultReplyTemplates() ReplyTemplates {
	return ReplyTemplates{
		OptInConfirmation:  "{brand}: Thanks for joining! Recurring automated marketing texts, {frequency}. Msg&data rates may apply. Reply HELP for help, STOP to cancel.",
		DoubleOptInRequest: "{brand}: Reply YES to get recurring automated marketing texts ({frequency}). Consent is not a condition of purchase. Msg&data rates may apply. Reply HELP for help, STOP to cancel.",
		OptOutConfirmation: "{brand}: You are unsubscribed and will get no more texts from us. Reply START to resubscribe.",
		Help:               "{brand}: Help at {support}. {frequency}. Msg&data rates may apply. Reply STOP to cancel.",
	}
}

package compliance

import (
	"errors"
	"strings"
	"testing"

	"github.com/simgate/simgate/store"
)

// lintSettings are settings the linter accepts: the default templates with
// a brand, a frequency and a support contact.
func lintSettings() Settings {
	s := Defaults()
	s.Brand = "Rosa's Bakery"
	s.Frequency = "up to 4 msgs/month"
	s.SupportContact = "help@rosas.example"
	return s
}

func TestDefaultTemplatesPassLinter(t *testing.T) {
	if err := validateReplyTemplates(lintSettings()); err != nil {
		t.Fatalf("default templates rejected: %v", err)
	}
}

// TestReplyTemplateLinter is the test of R-OPTIN-2 (six items), R-DOI,
// R-STOP-3 and R-HELP: each template missing each required item, or
// carrying a forbidden one, is refused with a *store.FieldError naming the
// template and the item.
func TestReplyTemplateLinter(t *testing.T) {
	type edit func(s *Settings)
	optIn := func(text string) edit { return func(s *Settings) { s.Replies.OptInConfirmation = text } }
	doi := func(text string) edit { return func(s *Settings) { s.Replies.DoubleOptInRequest = text } }
	optOut := func(text string) edit { return func(s *Settings) { s.Replies.OptOutConfirmation = text } }
	help := func(text string) edit { return func(s *Settings) { s.Replies.Help = text } }
	cases := []struct {
		name  string
		edit  edit
		field string
		want  string // in the message
	}{
		// R-OPTIN-2: brand, recurring notice, frequency, rates, HELP, STOP.
		{"opt-in without brand", optIn("Thanks! Recurring texts, {frequency}. Msg&data rates may apply. Reply HELP for help, STOP to cancel."), "replies.opt_in_confirmation", "brand"},
		{"opt-in without recurring", optIn("{brand}: Thanks! Texts {frequency}. Msg&data rates may apply. Reply HELP for help, STOP to cancel."), "replies.opt_in_confirmation", "recurring"},
		{"opt-in without frequency", optIn("{brand}: Thanks! Recurring texts. Msg&data rates may apply. Reply HELP for help, STOP to cancel."), "replies.opt_in_confirmation", "frequency"},
		{"opt-in without rates", optIn("{brand}: Thanks! Recurring texts, {frequency}. Reply HELP for help, STOP to cancel."), "replies.opt_in_confirmation", "rates"},
		{"opt-in without HELP", optIn("{brand}: Thanks! Recurring texts, {frequency}. Msg&data rates may apply. Reply STOP to cancel."), "replies.opt_in_confirmation", "HELP"},
		{"opt-in without STOP", optIn("{brand}: Thanks! Recurring texts, {frequency}. Msg&data rates may apply. Reply HELP for help."), "replies.opt_in_confirmation", "STOP"},
		{"opt-in with HELP only inside a word", optIn("{brand}: Recurring texts, {frequency}. Msg&data rates may apply. Helpful? STOP to cancel."), "replies.opt_in_confirmation", "HELP"},
		{"opt-in rates misspelt", optIn("{brand}: Recurring texts, {frequency}. Msg rates may apply. HELP for help, STOP to cancel."), "replies.opt_in_confirmation", "rates"},
		{"opt-in empty", optIn("  "), "replies.opt_in_confirmation", "empty"},
		{"opt-in unknown placeholder", optIn("{brand} {name}: Recurring texts, {frequency}. Msg&data rates may apply. HELP, STOP."), "replies.opt_in_confirmation", "{name}"},
		// R-DOI: brand, YES, rates, STOP.
		{"doi without brand", doi("Reply YES for recurring texts. Msg&data rates may apply. STOP to cancel."), "replies.double_opt_in_request", "brand"},
		{"doi without YES", doi("{brand}: Reply Y for recurring texts. Msg&data rates may apply. STOP to cancel."), "replies.double_opt_in_request", "YES"},
		{"doi without rates", doi("{brand}: Reply YES for recurring texts. STOP to cancel."), "replies.double_opt_in_request", "rates"},
		{"doi without STOP", doi("{brand}: Reply YES for recurring texts. Msg&data rates may apply."), "replies.double_opt_in_request", "STOP"},
		// R-STOP-3: brand, "no more messages", no link, no marketing.
		{"opt-out without brand", optOut("You are unsubscribed and will get no more texts."), "replies.opt_out_confirmation", "brand"},
		{"opt-out without no-more notice", optOut("{brand}: Thanks for your message."), "replies.opt_out_confirmation", "no more messages"},
		{"opt-out with a link", optOut("{brand}: You will get no more texts. Come back at https://rosas.example/join"), "replies.opt_out_confirmation", "link"},
		{"opt-out with a bare domain", optOut("{brand}: You will get no more texts. See rosas.shop"), "replies.opt_out_confirmation", "link"},
		{"opt-out with a discount", optOut("{brand}: You will get no more texts. Here is 20% off your next visit."), "replies.opt_out_confirmation", "marketing"},
		{"opt-out with an offer", optOut("{brand}: Unsubscribed. One last offer: free croissant!"), "replies.opt_out_confirmation", "marketing"},
		{"opt-out with a code", optOut("{brand}: Unsubscribed. Use code BYE10."), "replies.opt_out_confirmation", "marketing"},
		// R-HELP: brand, support, frequency, rates, STOP.
		{"help without brand", help("Help at {support}. {frequency}. Msg&data rates may apply. Reply STOP to cancel."), "replies.help", "brand"},
		{"help without support", help("{brand}: {frequency}. Msg&data rates may apply. Reply STOP to cancel."), "replies.help", "support"},
		{"help without frequency", help("{brand}: Help at {support}. Msg&data rates may apply. Reply STOP to cancel."), "replies.help", "frequency"},
		{"help without rates", help("{brand}: Help at {support}. {frequency}. Reply STOP to cancel."), "replies.help", "rates"},
		{"help without STOP", help("{brand}: Help at {support}. {frequency}. Msg&data rates may apply."), "replies.help", "STOP"},
		// Settings every template depends on.
		{"no brand", func(s *Settings) { s.Brand = " " }, "brand", "required"},
		{"no frequency", func(s *Settings) { s.Frequency = "" }, "frequency", "required"},
		{"no support contact", func(s *Settings) { s.SupportContact = "" }, "support_contact", "required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := lintSettings()
			tc.edit(&s)
			err := validateReplyTemplates(s)
			var fe *store.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *store.FieldError, got %v", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Message, tc.want) {
				t.Errorf("got %s: %s; want field %s mentioning %q", fe.Field, fe.Message, tc.field, tc.want)
			}
		})
	}
}

// TestReplyTemplateLinterAcceptsVariants: the wordings carriers accept
// pass, so the linter does not force one phrasing.
func TestReplyTemplateLinterAcceptsVariants(t *testing.T) {
	variants := []func(s *Settings){
		func(s *Settings) {
			s.Replies.OptInConfirmation = "{brand} alerts: recurring msgs, {frequency}. Msg & data rates may apply. Text HELP for help. Text STOP to opt out."
		},
		func(s *Settings) {
			s.Replies.OptInConfirmation = "{brand}: RECURRING texts {frequency}. Message and data rates may apply. help? reply help. stop? reply stop."
		},
		func(s *Settings) {
			s.Replies.OptOutConfirmation = "{brand}: You have opted out and won't receive any further texts."
		},
		func(s *Settings) {
			s.Replies.OptOutConfirmation = "{brand}: No further messages will be sent."
		},
		func(s *Settings) {
			s.Replies.Help = "{brand} help: email {support}; {frequency}; msg&data rates may apply; STOP to end."
		},
	}
	for i, v := range variants {
		s := lintSettings()
		v(&s)
		if err := validateReplyTemplates(s); err != nil {
			t.Errorf("variant %d refused: %v", i, err)
		}
	}
}

func TestRenderReply(t *testing.T) {
	s := lintSettings()
	got := renderReply("{brand}: help at {support}, {frequency}.", s)
	if want := "Rosa's Bakery: help at help@rosas.example, up to 4 msgs/month."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	s.Brand = ""
	if got := renderReply("{brand}: You are unsubscribed.", s); got != "You are unsubscribed." {
		t.Errorf("without a brand: got %q", got)
	}
}

package gateway

// validateReplyTemplates checks the reply texts against COMPLIANCE.md
// R-OPTIN-2, R-STOP-3 and R-HELP.
func validateReplyTemplates(s ComplianceSettings) error {
	return nil // TODO(issue 5): the template linter (helper B)
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

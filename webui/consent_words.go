package webui

import (
	"strings"

	"github.com/simgate/simgate/gateway"
)

// consentLine tells one consent ledger entry as a sentence a shop owner
// reads ("Agreed to marketing texts in the shop (till 3), consent text v1,
// recorded by ana"), instead of the ledger's field names.
func consentLine(ev gateway.ConsentEvent) string {
	var b strings.Builder
	b.WriteString(consentWhat(ev))
	if how := methodWords[ev.Method]; how != "" && ev.Type != gateway.EventErasure {
		b.WriteString(" " + how)
	}
	if ev.Terminal != "" {
		b.WriteString(" (" + ev.Terminal + ")")
	} else if ev.Source != "" && ev.Method != gateway.MethodKeyword {
		b.WriteString(" (" + ev.Source + ")")
	}
	if ev.Keyword != "" {
		b.WriteString(", texting “" + ev.Keyword + "”")
	}
	if ev.DisclosureVersion != "" {
		b.WriteString(", consent text " + ev.DisclosureVersion)
	}
	if ev.Actor != "" {
		b.WriteString(", recorded by " + actorWords(ev.Actor))
	}
	if ev.Note != "" {
		b.WriteString(". " + strings.TrimSuffix(ev.Note, ".") + ".")
	} else {
		b.WriteString(".")
	}
	return b.String()
}

func consentWhat(ev gateway.ConsentEvent) string {
	all := ev.Purpose == gateway.PurposeAll
	switch ev.Type {
	case gateway.EventOptIn:
		return "Agreed to marketing texts"
	case gateway.EventDOIRequest:
		return "Was sent a text asking to reply YES to confirm"
	case gateway.EventDOIConfirm:
		return "Replied YES: marketing texts confirmed"
	case gateway.EventOptOut:
		if all {
			return "Opted out of all texts"
		}
		return "Opted out of marketing texts"
	case gateway.EventOptOutReview:
		return "Sent a reply that reads like an opt-out: marketing paused until you decide"
	case gateway.EventReviewResolved:
		return "Kept subscribed after you reviewed their reply"
	case gateway.EventResubscribe:
		return "Asked to get texts again"
	case gateway.EventErasure:
		return "Their data was erased on request"
	}
	return string(ev.Type)
}

var methodWords = map[gateway.ConsentMethod]string{
	gateway.MethodWebForm: "on a web form",
	gateway.MethodKeyword: "by text message",
	gateway.MethodPOS:     "in the shop",
	gateway.MethodImport:  "in an imported list",
	gateway.MethodAPI:     "through your website or shop system",
	gateway.MethodConsole: "as recorded in the console",
}

// actorWords names who recorded an entry: "api:website" is a token.
func actorWords(actor string) string {
	if t, ok := strings.CutPrefix(actor, "api:"); ok {
		return "the token “" + t + "”"
	}
	if actor == "gateway" || actor == "system" {
		return "the gateway"
	}
	return actor
}

package gateway

import (
	"fmt"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// Automatic replies (opt-in and opt-out confirmations, double opt-in
// requests, HELP answers) are queued as KindCompliance texts: the guard
// lets them through quiet hours, caps and opt-outs, because the rules
// require them (R-STOP-3, R-HELP, R-OPTIN-2) and they carry no marketing.

// queueReply commits the reply of kind to number to the outbox, through
// the same path as Submit (validation, durable enqueue, live event, wake
// the dispatcher). key is derived from what caused the reply
// ("reply:<inbound id>:stop"), so handling the same cause again after a
// crash finds the first reply instead of queueing a second (the outbox
// keeps idempotency keys for 24 h).
func (g *Gateway) queueReply(number, kind, key string, s ComplianceSettings) (store.Message, error) {
	text := compliance.ReplyText(s, kind)
	m, err := g.newMessage(SubmitRequest{To: number, Text: text, IdempotencyKey: key})
	if err != nil {
		return store.Message{}, fmt.Errorf("gateway: %s reply: %w", kind, err)
	}
	m.Kind = store.KindCompliance
	m.History[0].Note = "automatic " + replyLabel(kind)
	stored, existing, err := g.db.Enqueue(m)
	if err != nil {
		return store.Message{}, fmt.Errorf("gateway: enqueue %s reply: %w", kind, err)
	}
	if !existing {
		g.publishMessage(stored)
		g.kick()
	}
	return stored, nil
}

func replyLabel(kind string) string {
	switch kind {
	case compliance.ReplyStop:
		return "opt-out confirmation"
	case compliance.ReplyHelp:
		return "HELP reply"
	case compliance.ReplyOptIn:
		return "opt-in confirmation"
	case compliance.ReplyDOI:
		return "double opt-in request"
	}
	return kind + " reply"
}

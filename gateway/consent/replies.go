package consent

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
func (l *Ledger) queueReply(number, kind, key string, s compliance.Settings) (store.Message, error) {
	m, err := l.outbox.NewReply(number, compliance.ReplyText(s, kind), key, "automatic "+replyLabel(kind))
	if err != nil {
		return store.Message{}, fmt.Errorf("gateway: %s reply: %w", kind, err)
	}
	stored, _, err := l.outbox.Enqueue(m)
	if err != nil {
		return store.Message{}, fmt.Errorf("gateway: enqueue %s reply: %w", kind, err)
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

package outbox

import (
	"fmt"

	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Receive persists one received segment; when it completes a text (or is
// a whole text) the reassembled message is stored in the same transaction,
// published and handed to the inbound handler. Only after this returns nil
// does the modem delete the message from its storage.
func (q *Queue) Receive(modemName string, p modem.InboundPart) error {
	from := p.From
	if n, err := contacts.Normalize(p.From, q.cfg.Region); err == nil {
		from = n
	}
	now := q.now()
	part := store.InboundPart{
		Modem:     modemName,
		From:      from,
		ConcatRef: p.ConcatRef,
		Seq:       max(p.Seq, 1),
		Total:     max(p.Total, 1),
		SCTS:      p.SCTS,
		TPDU:      p.TPDU,
		Received:  now,
	}
	in, complete, err := q.db.AddInboundPart(part, func(parts []store.InboundPart) (store.Inbound, error) {
		tpdus := make([][]byte, len(parts))
		for i, pp := range parts {
			tpdus[i] = pp.TPDU
		}
		text, err := modem.DecodeParts(tpdus)
		if err != nil {
			// Keep the evidence rather than refuse it forever: the raw PDUs
			// are not lost, only their text could not be read.
			text = fmt.Sprintf("[simgate could not decode this text: %v]", err)
		}
		return store.Inbound{
			Modem:      modemName,
			From:       from,
			Text:       text,
			SentAt:     parts[0].SCTS,
			ReceivedAt: now,
			Parts:      len(parts),
		}, nil
	})
	if err != nil {
		return fmt.Errorf("store inbound: %w", err)
	}
	if complete {
		q.log.Info("inbound text", "modem", modemName, "id", in.ID, "parts", in.Parts)
		q.notify.InboundReceived(in)
		// The text is durable and marked pending by the store; a failure
		// here leaves it pending for the next start, so the modem may
		// delete it either way.
		if err := q.inbound.HandleInbound(in); err != nil {
			q.log.Error("handle inbound keywords; will retry at the next start", "id", in.ID, "error", err)
		}
	}
	return nil
}

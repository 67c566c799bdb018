package consent

import (
	"context"
	"fmt"

	"github.com/simgate/simgate/store"
)

// ExportSubject gathers everything stored about a contact's number: the
// profile, its consent record and ledger, the texts sent to it and received
// from it (GDPR Art. 15 and 20, R-GDPR-1). The ledger and texts are found
// by number, so they are included even where no contact existed when they
// were written.
func (l *Ledger) ExportSubject(ctx context.Context, id uint64) (store.SubjectData, error) {
	if err := ctx.Err(); err != nil {
		return store.SubjectData{}, err
	}
	c, err := l.db.GetContact(id)
	if err != nil {
		return store.SubjectData{}, err
	}
	d, err := l.db.Subject(c.Number)
	if err != nil {
		return store.SubjectData{}, fmt.Errorf("gateway: export contact %d: %w", id, err)
	}
	return d, nil
}

// EraseContact erases a person on request (GDPR Art. 17, R-GDPR-2): the
// contact, the texts to and from the number and its consent record go; the
// ledger entries stay as pseudonymised evidence, and a salted hash of the
// number is kept in the suppression list so that a later import or API
// call yields suppressed instead of silently subscribing it again.
func (l *Ledger) EraseContact(ctx context.Context, id uint64, actor string) (store.EraseReport, error) {
	if err := ctx.Err(); err != nil {
		return store.EraseReport{}, err
	}
	c, err := l.db.GetContact(id)
	if err != nil {
		return store.EraseReport{}, err
	}
	rep, err := l.db.EraseNumber(c.Number)
	if err != nil {
		return store.EraseReport{}, fmt.Errorf("gateway: erase contact %d: %w", id, err)
	}
	// The number is not logged: the log would otherwise keep what was
	// erased. The hash ties the entry to the suppression list.
	l.log.Info("contact erased on request", "contact", id, "hash", rep.Hash, "by", actor,
		"messages", rep.Messages, "inbound", rep.Inbound, "consent_events", rep.ConsentEvents)
	return rep, nil
}

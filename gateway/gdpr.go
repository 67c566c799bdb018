package gateway

import (
	"context"
	"fmt"
)

// ExportSubject gathers everything stored about a contact's number: the
// profile, its consent record and ledger, the texts sent to it and received
// from it (GDPR Art. 15 and 20, R-GDPR-1). The ledger and texts are found
// by number, so they are included even where no contact existed when they
// were written.
func (g *Gateway) ExportSubject(ctx context.Context, id uint64) (SubjectData, error) {
	if err := ctx.Err(); err != nil {
		return SubjectData{}, err
	}
	c, err := g.db.GetContact(id)
	if err != nil {
		return SubjectData{}, err
	}
	d, err := g.db.Subject(c.Number)
	if err != nil {
		return SubjectData{}, fmt.Errorf("gateway: export contact %d: %w", id, err)
	}
	return d, nil
}

// EraseContact erases a person on request (GDPR Art. 17, R-GDPR-2): the
// contact, the texts to and from the number and its consent record go; the
// ledger entries stay as pseudonymised evidence, and a salted hash of the
// number is kept in the suppression list so that a later import or API
// call yields suppressed instead of silently subscribing it again.
func (g *Gateway) EraseContact(ctx context.Context, id uint64, actor string) (EraseReport, error) {
	if err := ctx.Err(); err != nil {
		return EraseReport{}, err
	}
	c, err := g.db.GetContact(id)
	if err != nil {
		return EraseReport{}, err
	}
	rep, err := g.db.EraseNumber(c.Number)
	if err != nil {
		return EraseReport{}, fmt.Errorf("gateway: erase contact %d: %w", id, err)
	}
	// The number is not logged: the log would otherwise keep what was
	// erased. The hash ties the entry to the suppression list.
	g.log.Info("contact erased on request", "contact", id, "hash", rep.Hash, "by", actor,
		"messages", rep.Messages, "inbound", rep.Inbound, "consent_events", rep.ConsentEvents)
	return rep, nil
}

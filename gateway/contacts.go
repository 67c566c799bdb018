package gateway

import (
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/view"
)

// Contacts is the room of the address book (package contacts): the
// contacts and their CSV import and export.
func (g *Gateway) Contacts() *contacts.API { return g.contactsAPI }

// ContactMessages lists the texts sent to a number, newest first, with
// the cursor of the next page (0 at the end).
func (g *Gateway) ContactMessages(number string, before uint64, limit int) ([]Message, uint64, error) {
	return view.Page(view.FromMessage)(g.contacts.Messages(number, before, limit))
}

// ContactInbound lists the texts received from a number, newest first.
func (g *Gateway) ContactInbound(number string, before uint64, limit int) ([]Inbound, uint64, error) {
	return view.Page(view.FromInbound)(g.contacts.Inbound(number, before, limit))
}

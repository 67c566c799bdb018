package gateway

import "fmt"

// InboxRead returns the highest inbound ID from number marked as read (0
// when none). The console counts newer texts as unread.
func (g *Gateway) InboxRead(number string) (uint64, error) {
	id, err := g.db.InboxRead(number)
	if err != nil {
		return 0, fmt.Errorf("gateway: read marker: %w", err)
	}
	return id, nil
}

// MarkInboxRead records that texts from number up to id were seen. The
// marker never moves back, so a stale page cannot mark newer texts unread,
// even when two requests mark at once.
func (g *Gateway) MarkInboxRead(number string, id uint64) error {
	return g.db.MarkInboxRead(number, id)
}

package gateway

import "fmt"

// kvInboxRead is the kv namespace of the console's read markers: number →
// the highest inbound ID the operator has seen from that number.
const kvInboxRead = "inbox_read"

// InboxRead returns the highest inbound ID from number marked as read (0
// when none). The console counts newer texts as unread.
func (g *Gateway) InboxRead(number string) (uint64, error) {
	var id uint64
	if _, err := g.db.GetJSON(kvInboxRead, number, &id); err != nil {
		return 0, fmt.Errorf("gateway: read marker: %w", err)
	}
	return id, nil
}

// MarkInboxRead records that texts from number up to id were seen. The
// marker never moves back, so a stale page cannot mark newer texts unread.
func (g *Gateway) MarkInboxRead(number string, id uint64) error {
	cur, err := g.InboxRead(number)
	if err != nil {
		return err
	}
	if id <= cur {
		return nil
	}
	return g.db.PutJSON(kvInboxRead, number, id)
}

package webui

import (
	"net/http"

	"github.com/simgate/simgate/gateway"
)

// inboxList is a page of received texts, newest first.
type inboxList struct {
	Messages   []gateway.Inbound `json:"messages"`
	NextCursor *string           `json:"next_cursor"`
}

// inbox answers GET /api/v1/inbox?limit=&cursor=.
func (s *server) inbox(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r.URL.Query())
	if err != nil {
		return err
	}
	msgs, next, err := s.gw.Inbox(page.cursor, page.limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inboxList{Messages: msgs, NextCursor: cursorString(next)})
}

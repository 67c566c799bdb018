package webui

import (
	"net/http"
	"time"

	"github.com/simgate/simgate/gateway"
)

// inboundView is how the API shows one received text.
type inboundView struct {
	ID         uint64    `json:"id"`
	Modem      string    `json:"modem"`
	From       string    `json:"from"`
	Text       string    `json:"text"`
	SentAt     time.Time `json:"sent_at"`
	ReceivedAt time.Time `json:"received_at"`
	Parts      int       `json:"parts"`
}

func newInboundView(m gateway.Inbound) inboundView {
	return inboundView{
		ID:         m.ID,
		Modem:      m.Modem,
		From:       m.From,
		Text:       m.Text,
		SentAt:     m.SentAt.UTC(),
		ReceivedAt: m.ReceivedAt.UTC(),
		Parts:      m.Parts,
	}
}

// inboxList is a page of received texts, newest first.
type inboxList struct {
	Messages   []inboundView `json:"messages"`
	NextCursor *string       `json:"next_cursor"`
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
	out := inboxList{Messages: make([]inboundView, len(msgs)), NextCursor: cursorString(next)}
	for i, m := range msgs {
		out.Messages[i] = newInboundView(m)
	}
	return writeJSON(w, http.StatusOK, out)
}

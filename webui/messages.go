package webui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
)

// getMessage answers GET /api/v1/messages/{id}.
func (s *server) getMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := s.gw.Message(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

// messageList is a page of messages, newest first.
type messageList struct {
	Messages   []gateway.Message `json:"messages"`
	NextCursor *string           `json:"next_cursor"`
}

// listMessages answers GET /api/v1/messages?status=&limit=&cursor=.
func (s *server) listMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := parsePage(q)
	if err != nil {
		return err
	}
	f := gateway.ListFilter{Before: page.cursor, Limit: page.limit}
	if name := q.Get("status"); name != "" {
		st, ok := gateway.ParseStatus(name)
		if !ok {
			return invalid("status", "must be one of %s", statusNames())
		}
		f.Status = st
	}
	msgs, next, err := s.gw.Messages(f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, messageList{Messages: msgs, NextCursor: cursorString(next)})
}

// statusNames lists the status filter values, for the error message.
func statusNames() string {
	all := []gateway.Status{
		gateway.StatusQueued, gateway.StatusSending, gateway.StatusSent, gateway.StatusDelivered,
		gateway.StatusFailed, gateway.StatusUnknown, gateway.StatusSuppressed, gateway.StatusExpired,
	}
	names := make([]string, len(all))
	for i, st := range all {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// pathID reads the {id} path value of an API route about a what
// ("message", "contact"). An id that is not a positive number names no
// record, so it is a 404 like any other unknown id.
func pathID(r *http.Request, what string) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such " + what}
	}
	return id, nil
}

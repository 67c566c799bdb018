package webui

import (
	"net/http"
)

// resend answers POST /api/v1/messages/{id}/resend: an unknown, failed or
// expired message goes back to the queue (409 for any other state).
func (s *server) resend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := s.gw.Resend(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

// drop answers POST /api/v1/messages/{id}/drop: a queued or unknown message
// ends as failed without being sent (again); 409 for any other state.
func (s *server) drop(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := s.gw.Drop(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

package webui

import "net/http"

// health answers GET /healthz for load balancers and systemd checks. It
// needs no token: it says only that the process serves HTTP.
func (s *server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

package webui

import (
	"errors"
	"net/http"

	"github.com/simgate/simgate/gateway"
)

// health answers GET /healthz for load balancers and monitoring. It needs
// no token. 200 {"status":"ok"} while the gateway can store new work; 503
// {"status":"unhealthy"} with a reason while it cannot (a full disk, a
// damaged database file). The reason names the condition only: details
// stay in the log and the console's alerts.
func (s *server) health(w http.ResponseWriter, r *http.Request) error {
	problem := s.gw.Writable()
	if problem == nil {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
	body := map[string]string{"status": "unhealthy", "reason": codeDiskFull,
		"message": "the disk that holds the database is full: new texts are refused until there is room"}
	if errors.Is(problem, gateway.ErrDamaged) {
		body["reason"] = codeStoreDamaged
		body["message"] = "the database file is damaged: writes are stopped until it is checked and restored"
	}
	return writeJSON(w, http.StatusServiceUnavailable, body)
}

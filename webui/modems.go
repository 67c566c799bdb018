package webui

import (
	"net/http"

	"github.com/simgate/simgate/gateway"
)

// modems answers GET /api/v1/modems with every configured modem's state,
// identity and last health reading.
func (s *server) modems(w http.ResponseWriter, r *http.Request) error {
	list := s.gw.Modems()
	if list == nil {
		list = []gateway.ModemStatus{} // [] rather than null for clients
	}
	return writeJSON(w, http.StatusOK, struct {
		Modems []gateway.ModemStatus `json:"modems"`
	}{list})
}

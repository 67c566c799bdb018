package webui

import (
	"net/http"

	"github.com/simgate/simgate/gateway"
)

// modems answers GET /api/v1/modems with every configured modem's state,
// identity and last health reading.
func (s *server) modems(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, struct {
		Modems []gateway.ModemStatus `json:"modems"` // never null: Modems returns an empty list
	}{s.gw.Modems()})
}

// ussdRequest is the body of POST /api/v1/modems/{name}/ussd.
type ussdRequest struct {
	Code string `json:"code"`
}

// ussd sends a USSD code (a balance check such as *100#) through one modem
// and answers with the network's decoded reply. It waits for a submit in
// flight on that modem, since both share its port.
func (s *server) ussd(w http.ResponseWriter, r *http.Request) error {
	var req ussdRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	reply, err := s.gw.USSD(r.Context(), r.PathValue("name"), req.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reply)
}

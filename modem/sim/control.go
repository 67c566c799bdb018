package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxControlBody bounds control API request bodies.
const maxControlBody = 1 << 20

// ControlHandler serves the JSON control API used by tests and
// `simgate modemsim`:
//
//	GET  /modems       [{"index","number","imei","imsi","iccid","profile","link"}]
//	GET  /submissions  every accepted SMS-SUBMIT part
//	GET  /messages     submissions reassembled into messages
//	GET  /rejections   submits answered with an injected +CMS ERROR
//	POST /inbound      {"to": <index or number>, "from": "+1666…", "text": "…"} → 204
//	POST /faults       {"modem": <index or number>, "cms_error_to": {"+1…": 500},
//	                    "cms_error_rate": 0.1, "cms_error_code": 500, "hang": true,
//	                    "late_cmgs": "5s"} → 204; only "modem" clears the faults
//	POST /outcomes     {"number": "+1…", "outcome": "delivered|failed|none"} → 204
//
// Errors are {"error": {"code": "...", "field": "...", "message": "..."}}.
func ControlHandler(n *Network) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /modems", func(w http.ResponseWriter, r *http.Request) {
		infos := []Info{}
		for _, m := range n.Modems() {
			infos = append(infos, m.Info())
		}
		writeJSON(w, http.StatusOK, infos)
	})
	mux.HandleFunc("GET /submissions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, orEmpty(n.Submissions()))
	})
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, orEmpty(n.Messages()))
	})
	mux.HandleFunc("GET /rejections", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, orEmpty(n.Rejections()))
	})
	mux.HandleFunc("POST /inbound", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			To   json.RawMessage `json:"to"`
			From string          `json:"from"`
			Text string          `json:"text"`
		}
		if !decodeBody(w, r, &req) {
			return
		}
		m, err := resolveModem(n, req.To)
		if err != nil {
			writeError(w, http.StatusBadRequest, "to", err.Error())
			return
		}
		if strings.TrimSpace(req.From) == "" {
			writeError(w, http.StatusBadRequest, "from", "from is required")
			return
		}
		if a := senderAddress(req.From); a.Addr == "" {
			writeError(w, http.StatusBadRequest, "from", "want a number or an alphanumeric sender")
			return
		} else if _, err := a.MarshalBinary(); err != nil {
			writeError(w, http.StatusBadRequest, "from", "not encodable as a sender address: "+err.Error())
			return
		}
		if req.Text == "" {
			writeError(w, http.StatusBadRequest, "text", "text is required")
			return
		}
		if err := n.Deliver(req.From, m.Number(), req.Text); err != nil {
			writeError(w, http.StatusBadRequest, "text", err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Modem        json.RawMessage `json:"modem"`
			CMSErrorTo   map[string]int  `json:"cms_error_to"`
			CMSErrorRate float64         `json:"cms_error_rate"`
			CMSErrorCode int             `json:"cms_error_code"`
			Hang         bool            `json:"hang"`
			LateCMGS     string          `json:"late_cmgs"`
		}
		if !decodeBody(w, r, &req) {
			return
		}
		m, err := resolveModem(n, req.Modem)
		if err != nil {
			writeError(w, http.StatusBadRequest, "modem", err.Error())
			return
		}
		if req.CMSErrorRate < 0 || req.CMSErrorRate > 1 {
			writeError(w, http.StatusBadRequest, "cms_error_rate", "must be between 0 and 1")
			return
		}
		if req.CMSErrorCode < 0 || req.CMSErrorCode > 999 {
			writeError(w, http.StatusBadRequest, "cms_error_code", "must be between 0 and 999")
			return
		}
		for num, code := range req.CMSErrorTo {
			if normalizeNumber(num) == "" || code <= 0 || code > 999 {
				writeError(w, http.StatusBadRequest, "cms_error_to", fmt.Sprintf("bad entry %q: %d", num, code))
				return
			}
		}
		f := Fault{CMSErrorTo: req.CMSErrorTo, CMSErrorRate: req.CMSErrorRate, CMSErrorCode: req.CMSErrorCode, Hang: req.Hang}
		if req.LateCMGS != "" {
			d, err := time.ParseDuration(req.LateCMGS)
			if err != nil || d < 0 {
				writeError(w, http.StatusBadRequest, "late_cmgs", "want a duration such as \"5s\"")
				return
			}
			f.LateCMGS = d
		}
		m.SetFault(f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /outcomes", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Number  string `json:"number"`
			Outcome string `json:"outcome"`
		}
		if !decodeBody(w, r, &req) {
			return
		}
		if num := normalizeNumber(req.Number); num == "" || num == "+" {
			writeError(w, http.StatusBadRequest, "number", "want a phone number")
			return
		}
		o, err := ParseOutcome(req.Outcome)
		if err != nil {
			writeError(w, http.StatusBadRequest, "outcome", err.Error())
			return
		}
		n.SetOutcome(req.Number, o)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// resolveModem accepts a modem's index (JSON number) or phone number (JSON
// string).
func resolveModem(n *Network, raw json.RawMessage) (*Modem, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("required: a modem index or number")
	}
	modems := n.Modems()
	var idx int
	if err := json.Unmarshal(raw, &idx); err == nil {
		if idx < 0 || idx >= len(modems) {
			return nil, fmt.Errorf("no modem with index %d (have %d)", idx, len(modems))
		}
		return modems[idx], nil
	}
	var num string
	if err := json.Unmarshal(raw, &num); err != nil {
		return nil, errors.New("want a modem index (number) or phone number (string)")
	}
	for _, m := range modems {
		if sameNumber(m.Number(), num) {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no simulated modem has number %q", num)
}

// decodeBody reads a JSON object strictly; on failure it has answered.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			field = te.Field
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field, _ = strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		writeError(w, http.StatusBadRequest, field, "bad JSON body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "", "bad JSON body: trailing data")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	type body struct {
		Code    string `json:"code"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	}
	writeJSON(w, status, map[string]body{"error": {Code: "bad_request", Field: field, Message: msg}})
}

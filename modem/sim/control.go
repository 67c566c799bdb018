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
//	GET  /modems       [Info]: identity, "link", "pty", "state" (up, rebooting,
//	                   hung, unplugged), "faults", "sim", "cfun", "registration",
//	                   "last_mr", "stored", "storage_size", "held"
//	GET  /submissions  every accepted SMS-SUBMIT part
//	GET  /messages     submissions reassembled into messages
//	GET  /rejections   submits answered with +CMS ERROR
//	POST /inbound      {"to": <index or number>, "from": "+1666…", "text": "…"} → 204
//	POST /faults       {"modem": <index or number>, "cms_error_to": {"+1…": 500},
//	                    "cms_error_rate": 0.1, "cms_error_code": 500, "hang": true,
//	                    "hang_until_reboot": true, "no_prompt": true, "late_cmgs": "5s",
//	                    "network_loss": true, "network_loss_for": "30s",
//	                    "sim_removed": true, "storage_full": true, "unplug": true,
//	                    "replug_after": "3s", "reboot": true, "cnma_timeout": "2s",
//	                    "per_minute_limit": 10} → 204. The body replaces all faults
//	                   (only "modem" clears them) unless "merge": true, which keeps
//	                   those it does not name. "reboot" and "storage_full" are
//	                   actions (see Fault).
//	POST /replug       {"modem": …} → 204: plug back in now, or power cycle
//	POST /ussd         {"modem": …, "replies": {"*100#": "Balance…"}} → 204
//	POST /outcomes     {"number": "+1…", "outcome": "delivered|failed|none"} → 204
//
// Errors are {"error": {"code": "...", "field": "...", "message": "..."}}.
func ControlHandler(n *Network) http.Handler {
	api := &controlAPI{n: n}
	mux := http.NewServeMux()
	for _, route := range []struct {
		pattern string
		handler http.HandlerFunc
	}{
		{"GET /modems", api.modems},
		{"GET /submissions", api.submissions},
		{"GET /messages", api.messages},
		{"GET /rejections", api.rejections},
		{"POST /inbound", api.inbound},
		{"POST /faults", api.faults},
		{"POST /replug", api.replug},
		{"POST /ussd", api.ussd},
		{"POST /outcomes", api.outcomes},
	} {
		mux.HandleFunc(route.pattern, route.handler)
	}
	return mux
}

// controlAPI serves ControlHandler's routes, one method each, for one
// network.
type controlAPI struct {
	n *Network
}

func (api *controlAPI) modems(w http.ResponseWriter, r *http.Request) {
	infos := []Info{}
	for _, m := range api.n.Modems() {
		infos = append(infos, m.Info())
	}
	writeJSON(w, http.StatusOK, infos)
}

func (api *controlAPI) submissions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, orEmpty(api.n.Submissions()))
}

func (api *controlAPI) messages(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, orEmpty(api.n.Messages()))
}

func (api *controlAPI) rejections(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, orEmpty(api.n.Rejections()))
}

// inbound delivers a text from a phone to a simulated modem.
func (api *controlAPI) inbound(w http.ResponseWriter, r *http.Request) {
	var req struct {
		To   json.RawMessage `json:"to"`
		From string          `json:"from"`
		Text string          `json:"text"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	m, found := api.modem(w, "to", req.To)
	if !found {
		return
	}
	if err := checkSender(req.From); err != nil {
		writeError(w, http.StatusBadRequest, "from", err.Error())
		return
	}
	if req.Text == "" {
		writeError(w, http.StatusBadRequest, "text", "text is required")
		return
	}
	if err := api.n.Deliver(req.From, m.Number(), req.Text); err != nil {
		writeError(w, http.StatusBadRequest, "text", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkSender validates the "from" of POST /inbound: a phone number or an
// alphanumeric sender that fits a TP-OA.
func checkSender(from string) error {
	if strings.TrimSpace(from) == "" {
		return errors.New("from is required")
	}
	a := senderAddress(from)
	if a.Addr == "" {
		return errors.New("want a number or an alphanumeric sender")
	}
	if _, err := a.MarshalBinary(); err != nil {
		return errors.New("not encodable as a sender address: " + err.Error())
	}
	return nil
}

// faults replaces (or with "merge", changes) a modem's faults.
func (api *controlAPI) faults(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req faultRequest
	if field, err := decodeJSON(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, field, err.Error())
		return
	}
	m, found := api.modem(w, "modem", req.Modem)
	if !found {
		return
	}
	if req.Merge {
		// Start from the faults in force; the body changes what it names.
		req = newFaultRequest(m.Fault())
		if field, err := decodeJSON(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, field, err.Error())
			return
		}
	}
	f, field, err := req.fault()
	if err != nil {
		writeError(w, http.StatusBadRequest, field, err.Error())
		return
	}
	m.SetFault(f)
	w.WriteHeader(http.StatusNoContent)
}

// replug plugs an unplugged modem back in now, or power cycles it.
func (api *controlAPI) replug(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Modem json.RawMessage `json:"modem"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	m, found := api.modem(w, "modem", req.Modem)
	if !found {
		return
	}
	m.Replug()
	w.WriteHeader(http.StatusNoContent)
}

// ussd sets the network's answers to a modem's USSD codes.
func (api *controlAPI) ussd(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Modem   json.RawMessage   `json:"modem"`
		Replies map[string]string `json:"replies"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	m, found := api.modem(w, "modem", req.Modem)
	if !found {
		return
	}
	if req.Replies == nil {
		writeError(w, http.StatusBadRequest, "replies", `required: {"<code>": "<text>"}`)
		return
	}
	for code, text := range req.Replies {
		if strings.TrimSpace(code) == "" || strings.ContainsAny(code+text, "\"\r\n") {
			writeError(w, http.StatusBadRequest, "replies", fmt.Sprintf("bad entry %q: codes must not be empty, and neither may contain quotes or line breaks", code))
			return
		}
	}
	m.SetUSSDReplies(req.Replies)
	w.WriteHeader(http.StatusNoContent)
}

// outcomes sets what the network does with texts to a number.
func (api *controlAPI) outcomes(w http.ResponseWriter, r *http.Request) {
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
	api.n.SetOutcome(req.Number, o)
	w.WriteHeader(http.StatusNoContent)
}

// modem resolves the modem a request names in field; when there is none
// it has answered with the reason.
func (api *controlAPI) modem(w http.ResponseWriter, field string, raw json.RawMessage) (*Modem, bool) {
	m, err := resolveModem(api.n, raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, field, err.Error())
		return nil, false
	}
	return m, true
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
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if field, err := decodeJSON(body, v); err != nil {
		writeError(w, http.StatusBadRequest, field, err.Error())
		return false
	}
	return true
}

// readBody reads a bounded request body; on failure it has answered.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "", "bad body: "+err.Error())
		return nil, false
	}
	return b, true
}

// decodeJSON decodes one JSON object strictly into v; the error names the
// offending field when it can.
func decodeJSON(body []byte, v any) (field string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			field = te.Field
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field, _ = strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return field, errors.New("bad JSON body: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("bad JSON body: trailing data")
	}
	return "", nil
}

// faultRequest is the body of POST /faults.
type faultRequest struct {
	Modem           json.RawMessage `json:"modem"`
	Merge           bool            `json:"merge"`
	CMSErrorTo      map[string]int  `json:"cms_error_to"`
	CMSErrorRate    float64         `json:"cms_error_rate"`
	CMSErrorCode    int             `json:"cms_error_code"`
	Hang            bool            `json:"hang"`
	HangUntilReboot bool            `json:"hang_until_reboot"`
	NoPrompt        bool            `json:"no_prompt"`
	LateCMGS        string          `json:"late_cmgs"`
	NetworkLoss     bool            `json:"network_loss"`
	NetworkLossFor  string          `json:"network_loss_for"`
	SIMRemoved      bool            `json:"sim_removed"`
	StorageFull     bool            `json:"storage_full"`
	Unplug          bool            `json:"unplug"`
	ReplugAfter     string          `json:"replug_after"`
	Reboot          bool            `json:"reboot"`
	CNMATimeout     string          `json:"cnma_timeout"`
	PerMinuteLimit  int             `json:"per_minute_limit"`
}

// newFaultRequest renders faults in force as a request, for "merge".
func newFaultRequest(f Fault) faultRequest {
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return faultRequest{
		CMSErrorTo: f.CMSErrorTo, CMSErrorRate: f.CMSErrorRate, CMSErrorCode: f.CMSErrorCode,
		Hang: f.Hang, HangUntilReboot: f.HangUntilReboot, NoPrompt: f.NoPrompt,
		LateCMGS: dur(f.LateCMGS), NetworkLoss: f.NetworkLoss, NetworkLossFor: dur(f.NetworkLossFor),
		SIMRemoved: f.SIMRemoved, Unplug: f.Unplug, ReplugAfter: dur(f.ReplugAfter),
		CNMATimeout: dur(f.CNMATimeout), PerMinuteLimit: f.PerMinuteLimit,
	}
}

// fault validates the request; on error it names the field.
func (req faultRequest) fault() (Fault, string, error) {
	if req.CMSErrorRate < 0 || req.CMSErrorRate > 1 {
		return Fault{}, "cms_error_rate", errors.New("must be between 0 and 1")
	}
	if req.CMSErrorCode < 0 || req.CMSErrorCode > 999 {
		return Fault{}, "cms_error_code", errors.New("must be between 0 and 999")
	}
	for num, code := range req.CMSErrorTo {
		if normalizeNumber(num) == "" || code <= 0 || code > 999 {
			return Fault{}, "cms_error_to", fmt.Errorf("bad entry %q: %d", num, code)
		}
	}
	if req.PerMinuteLimit < 0 {
		return Fault{}, "per_minute_limit", errors.New("must not be negative")
	}
	f := Fault{
		CMSErrorTo: req.CMSErrorTo, CMSErrorRate: req.CMSErrorRate, CMSErrorCode: req.CMSErrorCode,
		Hang: req.Hang, HangUntilReboot: req.HangUntilReboot, NoPrompt: req.NoPrompt,
		NetworkLoss: req.NetworkLoss, SIMRemoved: req.SIMRemoved, StorageFull: req.StorageFull,
		Unplug: req.Unplug, Reboot: req.Reboot, PerMinuteLimit: req.PerMinuteLimit,
	}
	for _, d := range []struct {
		field, value string
		dst          *time.Duration
		needs        bool
		needsName    string
	}{
		{"late_cmgs", req.LateCMGS, &f.LateCMGS, true, ""},
		{"network_loss_for", req.NetworkLossFor, &f.NetworkLossFor, req.NetworkLoss, "network_loss"},
		{"replug_after", req.ReplugAfter, &f.ReplugAfter, req.Unplug, "unplug"},
		{"cnma_timeout", req.CNMATimeout, &f.CNMATimeout, true, ""},
	} {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil || v < 0 {
			return Fault{}, d.field, errors.New(`want a duration such as "5s"`)
		}
		if !d.needs {
			return Fault{}, d.field, fmt.Errorf("only goes with %q: true", d.needsName)
		}
		*d.dst = v
	}
	return f, "", nil
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

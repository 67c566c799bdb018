package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
)

// SMSEagle's APIs (issue 12 §1): API v1's send_sms (GET, access_token or
// login/pass, "OK; ID=[n]") and API v2's POST /api/v2/messages/sms (the
// access-token header, a JSON body, a JSON array answer). Access tokens are
// simgate tokens; login/pass a token's name and secret.

// SMSEagle v1's answers in words, as its clients compare them.
const (
	eagleBadLogin  = "Invalid login or password"
	eagleBadToken  = "Invalid access token"
	eagleWrongArgs = "Wrong parameters"
)

// eagleV1Send answers GET /index.php/http_api/send_sms and
// /http_api/send_sms. Several numbers are separated by commas; each gets
// an "OK; ID=[n]" line. responsetype=extended answers SMSEagle's JSON.
func (s *server) eagleV1Send(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	extended := q.Get("responsetype") == "extended"
	type result struct {
		MessageID string `json:"message_id,omitempty"`
		Status    string `json:"status"`
		ErrorText string `json:"error_text,omitempty"`
	}
	// SMSEagle answers 200 whatever happened; clients read the words.
	answer := func(results []result) {
		if extended {
			var body any = map[string]any{"result": results}
			if len(results) == 1 {
				body = map[string]any{"result": results[0]}
			}
			_ = writeJSON(w, http.StatusOK, body)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var lines []string
		for _, res := range results {
			if res.Status == "ok" {
				lines = append(lines, "OK; ID=["+res.MessageID+"]")
			} else {
				lines = append(lines, res.ErrorText)
			}
		}
		fmt.Fprint(w, strings.Join(lines, "\n"))
	}
	refuse := func(text string) { answer([]result{{Status: "error", ErrorText: text}}) }

	var tok access.Token
	if at := q.Get("access_token"); at != "" {
		t, err := s.gw.Access().CheckToken(at)
		if err != nil {
			if !errors.Is(err, gateway.ErrNotFound) {
				s.log.Error("smseagle send_sms failed", "err", err)
			}
			refuse(eagleBadToken)
			return
		}
		tok = t
	} else {
		t, ok, err := s.checkNameSecret(q.Get("login"), q.Get("pass"))
		if err != nil {
			s.log.Error("smseagle send_sms failed", "err", err)
		}
		if !ok {
			refuse(eagleBadLogin)
			return
		}
		tok = t
	}
	var numbers []string
	for _, n := range strings.Split(q.Get("to"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			numbers = append(numbers, n)
		}
	}
	text := q.Get("message")
	if len(numbers) == 0 || strings.TrimSpace(text) == "" {
		refuse(eagleWrongArgs)
		return
	}
	var results []result
	for _, n := range numbers {
		m, _, err := s.compatSubmit(r.Context(), tok, n, text, r.Header.Get("Idempotency-Key"), len(numbers) > 1, nil)
		if err != nil {
			var field *gateway.FieldError
			if !errors.As(err, &field) {
				s.log.Error("smseagle send_sms failed", "err", err)
			}
			results = append(results, result{Status: "error", ErrorText: eagleWrongArgs})
			continue
		}
		results = append(results, result{Status: "ok", MessageID: strconv.FormatUint(m.ID, 10)})
	}
	answer(results)
}

// eagleV2Request is API v2's body for sending texts.
type eagleV2Request struct {
	To   []string `json:"to"`
	Text string   `json:"text"`
	// Test simulates the send: nothing is queued and every id is 0.
	Test bool `json:"test"`
}

// eagleV2Status is one recipient's answer.
type eagleV2Status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Number  string `json:"number"`
	ID      uint64 `json:"id"`
}

// eagleV2Send answers POST /api/v2/messages/sms.
func (s *server) eagleV2Send(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.gw.Access().CheckToken(r.Header.Get("access-token"))
	if err != nil {
		if errors.Is(err, gateway.ErrNotFound) {
			return &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized, Message: "invalid or missing access-token header"}
		}
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	var req eagleV2Request
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return invalid("", "the body must be JSON: %v", err)
	}
	if len(req.To) == 0 {
		return invalid("to", "must list at least one number")
	}
	if strings.TrimSpace(req.Text) == "" {
		return invalid("text", "must not be empty")
	}
	out := make([]eagleV2Status, 0, len(req.To))
	for _, n := range req.To {
		if req.Test {
			out = append(out, eagleV2Status{Status: "queued", Message: "OK", Number: n})
			continue
		}
		m, _, err := s.compatSubmit(r.Context(), tok, n, req.Text, r.Header.Get("Idempotency-Key"), len(req.To) > 1, nil)
		if err != nil {
			var field *gateway.FieldError
			if !errors.As(err, &field) {
				return err
			}
			out = append(out, eagleV2Status{Status: "error", Message: field.Error(), Number: n})
			continue
		}
		out = append(out, eagleV2Status{Status: "queued", Message: "OK", Number: m.To, ID: m.ID})
	}
	return writeJSON(w, http.StatusOK, out)
}

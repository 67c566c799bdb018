package webui

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/simgate/simgate/gateway"
)

// submitRequest is the body of POST /api/v1/messages. ExpiresAt is a string
// so that a bad timestamp can be reported against its field name.
type submitRequest struct {
	To             string `json:"to"`
	Text           string `json:"text"`
	IdempotencyKey string `json:"idempotency_key"`
	ExpiresAt      string `json:"expires_at"`
	// Kind is "transactional" (the default) or "marketing", which needs
	// the number's consent and waits for quiet hours and the frequency cap.
	Kind string `json:"kind"`
}

// submitResponse is the answer to a submit: enough for the caller to show
// what the text will cost (encoding, parts) and why (ucs2_chars).
type submitResponse struct {
	ID        uint64   `json:"id"`
	Status    string   `json:"status"`
	To        string   `json:"to"`
	Encoding  string   `json:"encoding"`
	Parts     int      `json:"parts"`
	UCS2Chars []string `json:"ucs2_chars,omitempty"`
	Kind      string   `json:"kind"`
}

// submit queues one text. It answers 202 for a new message, committed to
// disk before the answer. A replay of an idempotency key answers 200 (the
// request did not create anything) with the original message in its current
// state and the header Idempotent-Replayed: true; the key sent again with a
// different text answers 422.
func (s *server) submit(w http.ResponseWriter, r *http.Request) error {
	var req submitRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	key := req.IdempotencyKey
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if key != "" && key != h {
			return invalid("idempotency_key", "differs from the Idempotency-Key header; send one or make them equal")
		}
		key = h
	}
	var expires time.Time
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return invalid("expires_at", "must be an RFC 3339 time such as 2030-01-02T15:04:05Z")
		}
		expires = t
	}
	kind := gateway.KindTransactional
	if req.Kind != "" {
		k, ok := gateway.ParseKind(req.Kind)
		if !ok || k == gateway.KindCompliance {
			return invalid("kind", "must be \"transactional\" or \"marketing\"")
		}
		kind = k
	}
	m, existing, err := s.gw.Submit(r.Context(), gateway.SubmitRequest{
		To:             req.To,
		Text:           req.Text,
		IdempotencyKey: key,
		// Each token's keys are its own: another client's "order-7"
		// neither replays this one's message nor blocks its own.
		IdempotencyScope: "token:" + strconv.FormatUint(callerToken(r).ID, 10),
		ExpiresAt:        expires,
		Kind:             kind,
	})
	if err != nil {
		return err
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "message submitted",
		slog.Uint64("id", m.ID), slog.Bool("replay", existing), slog.String("token", callerToken(r).Name))

	w.Header().Set("Location", "/api/v1/messages/"+strconv.FormatUint(m.ID, 10))
	status := http.StatusAccepted
	if existing {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	}
	return writeJSON(w, status, submitResponse{
		ID:        m.ID,
		Status:    string(m.Status),
		To:        m.To,
		Encoding:  m.Encoding,
		Parts:     len(m.Parts),
		UCS2Chars: m.UCS2Chars,
		Kind:      string(m.Kind),
	})
}

package webui

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// messageView is how the API shows an outbound message. It is its own type,
// not the store record, so the wire format stays put when storage changes.
// Unknown values are null rather than zero ("mr": null, not -1).
type messageView struct {
	ID        uint64     `json:"id"`
	Status    string     `json:"status"`
	Kind      string     `json:"kind"`
	To        string     `json:"to"`
	Text      string     `json:"text"`
	Encoding  string     `json:"encoding"`
	UCS2Chars []string   `json:"ucs2_chars,omitempty"`
	Parts     []partView `json:"parts"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Error     *string    `json:"error"`
	// Hold says why a queued text waits (quiet hours, frequency cap, an
	// opt-out review); null when it is not held.
	Hold    *string          `json:"hold"`
	History []transitionView `json:"history"`
}

type partView struct {
	Seq    int        `json:"seq"`
	MR     *int       `json:"mr"`
	Modem  *string    `json:"modem"`
	Status string     `json:"status"`
	SentAt *time.Time `json:"sent_at"`
	DoneAt *time.Time `json:"done_at"`
	Error  *string    `json:"error"`
}

type transitionView struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

func newMessageView(m gateway.Message) messageView {
	v := messageView{
		ID:        m.ID,
		Status:    m.Status.String(),
		Kind:      m.Kind.String(),
		To:        m.To,
		Text:      m.Text,
		Encoding:  m.Encoding,
		UCS2Chars: ucs2Chars(m),
		Parts:     make([]partView, len(m.Parts)),
		CreatedAt: m.CreatedAt.UTC(),
		UpdatedAt: m.UpdatedAt.UTC(),
		ExpiresAt: optTime(m.ExpiresAt),
		Error:     optString(m.Error),
		Hold:      optString(m.Hold),
		History:   make([]transitionView, len(m.History)),
	}
	for i, p := range m.Parts {
		pv := partView{
			Seq:    p.Seq,
			Modem:  optString(p.Modem),
			Status: p.Status.String(),
			SentAt: optTime(p.SentAt),
			DoneAt: optTime(p.DoneAt),
			Error:  optString(p.Error),
		}
		if p.MR >= 0 { // the store uses -1 until +CMGS answered
			mr := p.MR
			pv.MR = &mr
		}
		v.Parts[i] = pv
	}
	for i, t := range m.History {
		v.History[i] = transitionView{At: t.At.UTC(), Status: t.Status.String(), Note: t.Note}
	}
	return v
}

// ucs2Chars lists the characters that forced m into UCS-2, for the caller
// to fix its text; nil for GSM-7.
func ucs2Chars(m gateway.Message) []string {
	if m.Encoding != "UCS-2" {
		return nil
	}
	return gateway.PlanText(m.Text).UCS2Chars
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

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
	return writeJSON(w, http.StatusOK, newMessageView(m))
}

// messageList is a page of messages, newest first.
type messageList struct {
	Messages   []messageView `json:"messages"`
	NextCursor *string       `json:"next_cursor"`
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
	out := messageList{Messages: make([]messageView, len(msgs)), NextCursor: cursorString(next)}
	for i, m := range msgs {
		out.Messages[i] = newMessageView(m)
	}
	return writeJSON(w, http.StatusOK, out)
}

// statusNames lists the status filter values, for the error message.
func statusNames() string {
	all := []gateway.Status{
		gateway.StatusQueued, gateway.StatusSending, gateway.StatusSent, gateway.StatusDelivered,
		gateway.StatusFailed, gateway.StatusUnknown, gateway.StatusSuppressed, gateway.StatusExpired,
	}
	names := make([]string, len(all))
	for i, st := range all {
		names[i] = st.String()
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

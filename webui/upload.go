package webui

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultUploadIdleTimeout is how long an upload may send nothing before it
// is given up with 408. The daemon's http.Server ReadTimeout (30 s) covers a
// whole request, which is right for small JSON bodies but cut off any CSV
// import that took longer than that in all, however steadily it arrived.
// Uploads get the same 30 s as a deadline per read instead, moved on each
// time data arrives: the model of nginx's client_body_timeout ("between two
// successive read operations", 60 s there).
const DefaultUploadIdleTimeout = 30 * time.Second

// uploadBody replaces r.Body with one whose read deadline is idle from
// each read, in place of the server's deadline for the whole request.
func (s *server) uploadBody(w http.ResponseWriter, r *http.Request) {
	r.Body = &idleDeadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: s.uploadIdle}
}

// idleDeadlineBody is a request body read under a deadline per read. A read
// that times out returns an *apiError (408) naming the stall.
type idleDeadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

func (b *idleDeadlineBody) Read(p []byte) (int, error) {
	// An error means a ResponseWriter that is not a connection's (handler
	// tests) or a connection already gone; the read then says what holds.
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = &apiError{Status: http.StatusRequestTimeout, Code: codeRequestTimeout,
			Message: "the upload stalled: nothing arrived for " + b.idle.String() + "; send the file again"}
	}
	return n, err
}

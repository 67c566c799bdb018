package webui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
)

// Live updates: GET /api/v1/stream upgrades to a websocket, sends one
// snapshot and then every hub event as JSON text frames. The server only
// writes; the client's frames are read and dropped (that keeps pongs and
// close frames flowing).
const (
	// streamBuffer is how many events may wait for one slow client before
	// the hub drops it; a page reconnects and gets a fresh snapshot.
	streamBuffer = 64
	// writeWait bounds one frame's write, so a stuck TCP peer cannot hold
	// the goroutine.
	writeWait = 10 * time.Second
	// maxClientFrame bounds what a client may send (it has nothing to say).
	maxClientFrame = 512
)

// errForeignOrigin refuses a websocket opened by a page on another site.
var errForeignOrigin = &apiError{Status: http.StatusForbidden, Code: codeForbidden,
	Message: "Origin does not match the console's host"}

// snapshot is the first frame: everything a page needs to be current.
type snapshot struct {
	Type   string                `json:"type"` // "snapshot"
	At     time.Time             `json:"at"`
	Modems []gateway.ModemStatus `json:"modems"`
	Alerts []gateway.Alert       `json:"alerts"`
	Counts counts                `json:"counts"`
	// Labels are the plain words for each status, so the script shows the
	// same words as the server-rendered page.
	Labels map[string]string `json:"labels"`
}

// sameOrigin reports whether a browser's Origin header names the host the
// request was sent to. A missing Origin means a non-browser client, which
// must then hold a token or cookie anyway.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// streamRoute is the live stream's pattern (GET /metrics times every
// route but this one, whose requests last while the browser stays).
const streamRoute = "GET /api/v1/stream"

// stream answers GET /api/v1/stream.
func (s *server) stream(w http.ResponseWriter, r *http.Request) {
	// A page on another site could otherwise open the socket with the
	// shop's cookie (cross-site websocket hijacking). Checked before the
	// credentials, so the answer says nothing about them.
	if !sameOrigin(r) {
		s.fail(w, r, errForeignOrigin)
		return
	}
	cred, err := s.streamCredential(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cred.watch.Stop()
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	s.serveStream(conn, cred)
}

// streamCred is what a stream was opened with: the watch that ends with
// its session or token, and when a session expires by itself.
type streamCred struct {
	watch   *access.Watch
	expires time.Time // zero for a token, which does not expire
	ended   string    // the close reason once the watch has ended
}

// streamCredential authenticates a stream by its session cookie or, failing
// that, its bearer token, and watches that credential: a stream must not
// outlive a logout or a revoked token (it carries texts and numbers).
func (s *server) streamCredential(r *http.Request) (streamCred, error) {
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		sess, watch, err := s.gw.Access().WatchSession(c.Value)
		if err == nil {
			return streamCred{watch: watch, expires: sess.ExpiresAt, ended: "session ended"}, nil
		}
		if !errors.Is(err, gateway.ErrNotFound) {
			s.log.Error("session check failed", "err", err)
		}
	}
	plaintext, err := bearerToken(r)
	if err != nil {
		return streamCred{}, err
	}
	_, watch, err := s.gw.Access().WatchToken(plaintext)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		return streamCred{}, errBadToken
	case err != nil:
		return streamCred{}, err
	}
	return streamCred{watch: watch, ended: "token revoked"}, nil
}

// serveStream runs one client until it leaves, falls behind, its
// credential ends or the server closes.
func (s *server) serveStream(conn *websocket.Conn, cred streamCred) {
	defer conn.Close()
	s.metrics.streams.Add(1)
	defer s.metrics.streams.Add(-1)
	sub := s.gw.Hub().Subscribe(streamBuffer)
	defer sub.Close()

	// Reader: the only reads are pongs and close frames. The read deadline
	// is renewed by each pong, so a vanished peer ends the stream within
	// pongWait.
	pongWait := s.pingInterval * 2
	conn.SetReadLimit(maxClientFrame)
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()

	snap := snapshot{Type: "snapshot", At: s.now(), Modems: s.gw.Modems(), Alerts: s.gw.Alerts(), Labels: map[string]string{}}
	if snap.Alerts == nil {
		snap.Alerts = []gateway.Alert{}
	}
	for _, n := range consoleStatuses() {
		snap.Labels[n] = labelFor(n)
	}
	c, err := s.todayCounts(s.now())
	if err != nil {
		s.log.Error("stream snapshot", "err", err)
	}
	snap.Counts = c
	if s.writeJSONFrame(conn, snap) != nil {
		return
	}

	// The end of the credential is a channel the loop selects on, so a
	// logout closes the stream at once, idle or busy, at no cost per frame.
	ended := cred.watch.Ended()
	hangUp := func() {
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.ClosePolicyViolation, cred.ended), time.Now().Add(time.Second))
	}
	ping := time.NewTicker(s.pingInterval)
	defer ping.Stop()
	for {
		select {
		case ev := <-sub.C:
			// An event and the end may be ready together, and select picks
			// either: after the end not one more frame may go out.
			select {
			case <-ended:
				hangUp()
				return
			default:
			}
			if s.writeJSONFrame(conn, ev) != nil {
				return
			}
		case <-ended:
			hangUp()
			return
		case <-sub.Done():
			// Dropped by the hub for falling behind: say so and hang up;
			// the page reconnects and starts from a fresh snapshot.
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too slow"), time.Now().Add(time.Second))
			return
		case <-ping.C:
			// An expiring session has no event; the ping's tick is where
			// it is noticed, within one interval.
			if !cred.expires.IsZero() && !s.now().Before(cred.expires) {
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "session expired"), time.Now().Add(time.Second))
				return
			}
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case <-readerDone:
			return
		case <-s.done:
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, "server stopping"), time.Now().Add(time.Second))
			return
		}
	}
}

func (s *server) writeJSONFrame(conn *websocket.Conn, v any) error {
	body, err := encodeJSON(v)
	if err != nil {
		return err
	}
	_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
	err = conn.WriteMessage(websocket.TextMessage, body)
	if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		s.log.Debug("stream write", "err", err)
	}
	return err
}

package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/simgate/simgate/gateway"
)

// liveStream is an open stream read by its own goroutine, as a browser
// does: a gorilla client answers pings only while it reads, and a test that
// pauses for a login would otherwise be dropped as a silent peer.
type liveStream struct {
	frames chan frame
	err    chan error // how the stream ended, after the last frame
}

// dialStream opens the stream with hdr (a cookie or a bearer token) and
// reads its snapshot.
func (l *liveRig) dialStream(t *testing.T, hdr http.Header) *liveStream {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(l.srv.URL, "http")+"/api/v1/stream", hdr)
	if err != nil {
		t.Fatalf("dial stream: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	ls := &liveStream{frames: make(chan frame, 1024), err: make(chan error, 1)}
	go func() {
		for {
			var f frame
			if err := c.ReadJSON(&f); err != nil {
				ls.err <- err
				close(ls.frames)
				return
			}
			ls.frames <- f
		}
	}()
	if f := ls.next(t); f.Type != "snapshot" {
		t.Fatalf("first frame %q, want snapshot", f.Type)
	}
	return ls
}

// next is the next frame; the limit is a hang guard, not a speed assertion.
func (ls *liveStream) next(t *testing.T) frame {
	t.Helper()
	select {
	case f, ok := <-ls.frames:
		if !ok {
			t.Fatalf("stream ended: %v", <-ls.err)
		}
		return f
	case <-time.After(30 * time.Second):
		t.Fatal("no frame within 30 s")
		return frame{}
	}
}

func cookieHeader(c *http.Cookie) http.Header {
	return http.Header{"Cookie": {c.Name + "=" + c.Value}}
}

// wantClosedWithout reads the stream until the server closes it and fails
// if a frame about message id arrives first, or if the close is not code.
func wantClosedWithout(t *testing.T, what string, ls *liveStream, id uint64, code int) {
	t.Helper()
	for {
		select {
		case f, ok := <-ls.frames:
			if !ok {
				if err := <-ls.err; !websocket.IsCloseError(err, code) {
					t.Errorf("%s: stream ended with %v, want a close %d from the server", what, err, code)
				}
				return
			}
			if f.Message != nil && f.Message.ID == id {
				t.Fatalf("%s: a frame with the text %q to %s arrived after the credential ended", what, f.Message.Text, f.Message.To)
			}
		case <-time.After(30 * time.Second): // a hang guard, not a speed assertion
			t.Fatalf("%s: the stream is still open", what)
		}
	}
}

// Issue 15, point 4: a stream opened with a session ends when that session
// is logged out, and one opened with a token ends when the token is revoked,
// before any later event reaches them. A stream of another session goes on.
func TestStreamEndsWhenCredentialEnds(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)

	control := l.dialStream(t, cookieHeader(l.cookie))
	doomed := newSession(t, l.consoleRig)
	bySession := l.dialStream(t, cookieHeader(doomed))
	plaintext, tok, err := l.gw.Access().CreateToken("website")
	if err != nil {
		t.Fatal(err)
	}
	byToken := l.dialStream(t, http.Header{"Authorization": {"Bearer " + plaintext}})
	everywhere := newSession(t, l.consoleRig)
	byUser := l.dialStream(t, cookieHeader(everywhere))

	// Log out through the console, as a person would, and revoke the token
	// on the settings page.
	out := &consoleRig{rig: l.rig, cookie: doomed}
	wantRedirect(t, out.post("/logout", url.Values{}), "/login?bye=1")
	wantRedirect(t, l.post(fmt.Sprintf("/settings/tokens/%d/revoke", tok.ID), url.Values{}), "/settings?done=revoked")

	// A text published after both: the control stream sees it delivered;
	// the ended streams must have been closed without seeing it.
	m, _, err := l.gw.Submit(context.Background(), gateway.SubmitRequest{To: liveCustomer, Text: "Your code is 4711"})
	if err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; {
		f := control.next(t)
		seen = f.Type == "message" && f.Message.ID == m.ID && f.Message.Status == gateway.StatusDelivered
	}
	wantClosedWithout(t, "after logout", bySession, m.ID, websocket.ClosePolicyViolation)
	wantClosedWithout(t, "after revoke", byToken, m.ID, websocket.ClosePolicyViolation)

	// "Log out everywhere" ends the streams of every session of the user,
	// the control stream's included.
	other := &consoleRig{rig: l.rig, cookie: everywhere}
	wantRedirect(t, other.post("/logout", url.Values{"everywhere": {"1"}}), "/login?bye=1")
	m2, _, err := l.gw.Submit(context.Background(), gateway.SubmitRequest{To: liveCustomer, Text: "Your code is 0815"})
	if err != nil {
		t.Fatal(err)
	}
	wantClosedWithout(t, "after logging out everywhere", byUser, m2.ID, websocket.ClosePolicyViolation)
	wantClosedWithout(t, "the control stream after logging out everywhere", control, m2.ID, websocket.ClosePolicyViolation)
	l.waitFor("no subscribers left", func() bool { return l.gw.Hub().Subscribers() == 0 })
}

// A session that expires on its own ends its stream at the next ping.
func TestStreamEndsWhenSessionExpires(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)
	// Long enough to open the stream, short enough to wait for.
	id, _, err := l.db.CreateSession(testUser, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ls := l.dialStream(t, cookieHeader(&http.Cookie{Name: cookieName, Value: id}))
	wantClosedWithout(t, "after expiry", ls, 0, websocket.ClosePolicyViolation)
}

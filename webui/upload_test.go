package webui

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// daemonReadTimeout stands in for the daemon's http.Server ReadTimeout
// (30 s in cmd/simgate), scaled down so that a test can be slower than it.
const daemonReadTimeout = 500 * time.Millisecond

// serveOverTCP serves h on 127.0.0.1 as the daemon does, with its
// whole-request read timeout, and returns the address.
func serveOverTCP(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: daemonReadTimeout, ReadTimeout: daemonReadTimeout}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// slowImport posts an import body of Content-Type ctype in the given
// chunks, writing them one at a time with pause between them, like a client
// on a slow uplink. After sending stallAfter chunks (when < len(chunks)) it
// stops writing and only waits for the answer, like a client whose link
// died.
func slowImport(t *testing.T, addr, token, ctype string, chunks []string, pause time.Duration, stallAfter int) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	size := 0
	for _, c := range chunks {
		size += len(c)
	}
	fmt.Fprintf(conn, "POST /api/v1/contacts/import?file_name=slow.csv HTTP/1.1\r\nHost: %s\r\n"+
		"Authorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", addr, token, ctype, size)
	for i, c := range chunks {
		if i == stallAfter {
			break
		}
		if i > 0 {
			time.Sleep(pause)
		}
		if _, err := io.WriteString(conn, c); err != nil {
			break // the server answered early and closed: read what it said
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func csvChunks(n int) []string {
	chunks := []string{"phone,name\n"}
	for i := range n {
		chunks = append(chunks, fmt.Sprintf("+1201555%04d,Customer %d\n", 1000+i, i))
	}
	return chunks
}

// TestSlowUpload (issue 15, point 9): an upload that takes longer than the
// server's whole-request read timeout, but keeps sending, is accepted: the
// deadline applies to each read and moves on as data arrives.
func TestSlowUpload(t *testing.T) {
	r := newRig(t)
	addr := serveOverTCP(t, r.h)
	chunks := csvChunks(12) // 12 pauses of 100 ms: over twice daemonReadTimeout
	resp := slowImport(t, addr, r.token, "text/csv", chunks, 100*time.Millisecond, len(chunks))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("slow upload: got %d %s, want 202", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), `"file_name":"slow.csv"`) {
		t.Errorf("answer %s does not describe the job", body)
	}
}

func withUploadIdle(d time.Duration) rigOption { return func(c *Config) { c.UploadIdleTimeout = d } }

// TestStalledUpload (issue 15, point 9): an upload that stops sending is
// refused with 408 and a message, not a 500, wherever the stall is: in a
// CSV body, or in a multipart file part, a part's header or a form field;
// nothing is imported.
func TestStalledUpload(t *testing.T) {
	r := newRig(t, withUploadIdle(300*time.Millisecond))
	addr := serveOverTCP(t, r.h)

	rows := strings.Join(csvChunks(20), "")
	form, ctype := multipartBody(t, "stalled.csv", rows, map[string]string{"number_column": "phone"})
	fileAt := strings.Index(form, "phone,name")
	fieldAt := strings.Index(form, "\r\n\r\nphone\r\n") + len("\r\n\r\nph") // inside number_column's value
	if fileAt < 0 || fieldAt < len("\r\n\r\nph") {
		t.Fatalf("unexpected multipart layout:\n%s", form)
	}
	for _, tc := range []struct {
		name   string
		ctype  string
		chunks []string
	}{
		{"csv body", "text/csv", []string{rows[:len(rows)/2], rows[len(rows)/2:]}},
		{"inside the file part", ctype, []string{form[:fileAt+40], form[fileAt+40:]}},
		{"in the file part's header", ctype, []string{form[:fileAt-60], form[fileAt-60:]}},
		{"inside a form field", ctype, []string{form[:fieldAt], form[fieldAt:]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := slowImport(t, addr, r.token, tc.ctype, tc.chunks, 0, 1)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("got %d %s, want 408", resp.StatusCode, body)
			}
			if !strings.Contains(string(body), `"code":"request_timeout"`) || !strings.Contains(string(body), "stalled") {
				t.Errorf("answer %s does not say the upload stalled", body)
			}
		})
	}
	if w := r.do("GET", "/api/v1/contacts", ""); !strings.Contains(w.Body.String(), `"contacts":[]`) {
		t.Errorf("a stalled upload imported contacts: %s", w.Body)
	}
}

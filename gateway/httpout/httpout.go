// Package httpout makes the box's outgoing HTTP requests to addresses its
// owner typed in (webhook endpoints, per-message callbacks): one attempt at
// a time, bounded in time and in what is read back, never following a
// redirect, and refusing loopback, link-local, private and the box's own
// addresses unless the target allows private addresses, both when the
// URL is saved (CheckURL) and at every connection (a name can move).
//
// It lives outside package gateway, which speaks no HTTP; cmd hands a
// Client to the gateway, whose webhooks part sees it as an interface.
package httpout

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// SnippetBytes is how much of a response body is kept: enough for an
// error message, never a page.
const SnippetBytes = 512

// Client posts requests; its zero value is not usable, use New.
type Client struct {
	public, private *http.Client
}

// New returns a Client whose attempts give up after timeout. A non-nil rt
// replaces the network for both kinds of target (tests).
func New(timeout time.Duration, rt http.RoundTripper) *Client {
	return &Client{public: newClient(timeout, false, rt), private: newClient(timeout, true, rt)}
}

// newClient never follows redirects (a redirect to a private address would
// get around the check) and ignores proxy settings for the same reason.
func newClient(timeout time.Duration, allowPrivate bool, rt http.RoundTripper) *http.Client {
	if rt == nil {
		d := &net.Dialer{Timeout: timeout}
		if !allowPrivate {
			d.Control = dialControl
		}
		rt = &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: timeout,
			ResponseHeaderTimeout: timeout, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
	}
	return &http.Client{Transport: rt, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Check applies the rule at save to rawURL.
func (c *Client) Check(ctx context.Context, rawURL string, allowPrivate bool) error {
	return CheckURL(ctx, rawURL, allowPrivate)
}

// Send makes one request ("" method: POST) and returns the status and the
// start of the response body as valid UTF-8.
func (c *Client) Send(ctx context.Context, method, rawURL string, header map[string][]string, body []byte, allowPrivate bool) (int, string, error) {
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	req.Header.Set("User-Agent", "simgate-webhooks/1")
	hc := c.public
	if allowPrivate {
		hc = c.private
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, SnippetBytes))
	// Drain a little more so the connection can be reused; a receiver that
	// sends megabytes gets its connection closed instead.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return resp.StatusCode, strings.ToValidUTF8(string(snippet), "\uFFFD"), nil
}

package httpout

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBlockedAddresses(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "::1", "169.254.169.254", "fe80::1", "10.0.0.1", "172.16.3.4",
		"192.168.1.1", "fd00:ec2::254", "0.0.0.0", "::ffff:127.0.0.1", "224.0.0.1"} {
		if blockedReason(netip.MustParseAddr(a)) == "" {
			t.Errorf("%s is not blocked", a)
		}
	}
	for _, a := range []string{"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"} {
		if why := blockedReason(netip.MustParseAddr(a)); why != "" {
			t.Errorf("%s blocked: %s", a, why)
		}
	}
	if err := dialControl("tcp", "169.254.169.254:80", nil); err == nil {
		t.Error("a dial to the metadata address was allowed")
	}
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1/h", "http://localhost/h", "ftp://example.com/", "http:///x", "https://user:pw@93.184.215.14/"} {
		if err := CheckURL(ctx, u, false); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := CheckURL(ctx, "https://93.184.215.14/hook", false); err != nil {
		t.Errorf("public address refused: %v", err)
	}
	if err := CheckURL(ctx, "http://127.0.0.1:9/h", true); err != nil {
		t.Errorf("allowed private refused: %v", err)
	}
}

// TestSendRefusesPrivateAtDial: the real client, not allowed private
// addresses, never reaches a receiver on loopback; allowed, it does, and
// reads back a bounded snippet without following a redirect.
func TestSendRefusesPrivateAtDial(t *testing.T) {
	reached := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Write([]byte(strings.Repeat("é", SnippetBytes)))
	}))
	defer srv.Close()
	c := New(5*time.Second, nil)
	if _, _, err := c.Send(context.Background(), "", srv.URL, nil, nil, false); err == nil || !strings.Contains(err.Error(), "refused to connect") {
		t.Errorf("loopback without allow: %v", err)
	}
	if reached != 0 {
		t.Fatal("the receiver was reached")
	}
	status, snippet, err := c.Send(context.Background(), "", srv.URL, map[string][]string{"webhook-id": {"x"}}, []byte("{}"), true)
	if err != nil || status != 200 || len(snippet) > SnippetBytes+3 || !strings.HasPrefix(snippet, "éé") {
		t.Errorf("allowed: %d %q %v", status, snippet, err)
	}
	if status, _, _ := c.Send(context.Background(), "", srv.URL+"/redirect", nil, nil, true); status != http.StatusFound || reached != 2 {
		t.Errorf("redirect: status %d, reached %d", status, reached)
	}
}

package webui

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserJoinChallenge (issue 15, point 1): when the page asks for a
// proof of work, a real browser solves it at the real difficulty with
// static/join.js and the sign-up counts; its SHA-256 agrees with Go's on
// inputs around the block boundaries.
func TestBrowserJoinChallenge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	r.start()
	srv := httptest.NewServer(r.h)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)

	// Two sign-ups from this address: the third must carry a solution.
	for i := range joinFreePerWindow {
		resp := r.join("127.0.0.1", signUp(fmt.Sprintf("+1212555%04d", 960+i), false))
		if resp.Code != http.StatusSeeOther {
			t.Fatalf("sign-up %d: %d", i, resp.Code)
		}
	}
	do(t, ctx, "join page", chromedp.Navigate(srv.URL+"/join"), chromedp.WaitVisible(chromedp.CSS("#join-form")))
	if eval[int](t, ctx, `parseInt(document.querySelector('input[name="challenge"]').dataset.bits, 10)`) != challengeBits {
		t.Fatal("the page carries no challenge at the real difficulty")
	}
	for _, n := range []int{0, 1, 55, 56, 63, 64, 119, 120} {
		in := strings.Repeat("a", n)
		got := eval[[]float64](t, ctx, fmt.Sprintf(`window.simgateSHA256(%q).map(function (w) { return w >>> 0 })`, in))
		sum := sha256.Sum256([]byte(in))
		for i := range 8 {
			if i >= len(got) || uint32(got[i]) != binary.BigEndian.Uint32(sum[4*i:]) {
				t.Fatalf("join.js SHA-256 of %d bytes: %v, Go: %x", n, got, sum)
			}
		}
	}
	number := "+12125550970"
	do(t, ctx, "sign up", chromedp.SendKeys(chromedp.CSS("#join-number"), number),
		chromedp.Click(chromedp.CSS("#join-consent")), chromedp.Click(chromedp.CSS(`#join-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#join-sent")))
	r.waitFor("the sign-up's request", func() bool { return len(r.textsTo(number)) == 1 })
}

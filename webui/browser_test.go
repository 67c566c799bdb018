package webui

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package installs the browser
// (.ci/run installs it with apt).
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless chromium with a fresh profile. Locally the
// test skips when chromium is absent; under CI it must run.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing: install chromium", chromiumPath)
		}
		t.Skipf("%s not installed", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners have no user namespaces
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A hang guard for the whole browser session, not a speed assertion.
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc() // waits for the browser process to exit
	})
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript predicate until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// TestBrowser drives the console in a real browser: log in, compose a
// UCS-2 text, watch it turn delivered without a reload, receive a text
// live in the inbox, and fit a phone screen.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	// Status reports take 1.5 s, so the messages page is open (and live)
	// before the text is delivered.
	l := newLiveRigDelay(t, 1500*time.Millisecond)
	ctx := newBrowser(t)
	base := l.srv.URL

	do(t, ctx, "log in",
		chromedp.Navigate(base+"/compose"), // not logged in: to the login page, and back after
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#name"), testUser),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#compose")),
	)

	// The counter follows the text as it is typed: a UCS-2 character
	// switches the encoding and is highlighted.
	do(t, ctx, "compose", chromedp.SendKeys(chromedp.CSS("#to"), liveCustomer),
		chromedp.SendKeys(chromedp.CSS("#text"), "Your order is ready"))
	waitJS(t, ctx, "GSM-7 counter", `document.getElementById("c-enc").dataset.encoding === "GSM-7" && document.getElementById("c-enc").textContent === "plain characters" && document.getElementById("c-chars").textContent === "19"`)
	do(t, ctx, "type UCS-2", chromedp.SendKeys(chromedp.CSS("#text"), " ✓"))
	waitJS(t, ctx, "UCS-2 counter", `document.getElementById("c-enc").dataset.encoding === "UCS-2" && document.getElementById("c-enc").textContent === "special characters" && !document.getElementById("ucs2").hidden && document.querySelector("#ucs2-chars mark").textContent === "✓"`)

	do(t, ctx, "send", chromedp.Click(chromedp.CSS(`button[value=send]`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	msgs, _, err := l.gw.Messages(gatewayFilterAll())
	if err != nil || len(msgs) != 1 || msgs[0].Encoding != "UCS-2" || msgs[0].Text != "Your order is ready ✓" {
		t.Fatalf("stored %+v, %v", msgs, err)
	}
	id := strconv.FormatUint(msgs[0].ID, 10)

	// The messages page turns the state to Delivered by itself.
	do(t, ctx, "messages page", chromedp.Navigate(base+"/messages"), chromedp.WaitVisible(chromedp.CSS(`tr[data-msg-id="`+id+`"]`)))
	waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
	first := eval[string](t, ctx, `window.loadMarker = "same page"; document.querySelector('tr[data-msg-id="`+id+`"] [data-status]').textContent`)
	if first == "Delivered" {
		t.Fatalf("already delivered when the page loaded: the test would prove nothing (raise the report delay)")
	}
	waitJS(t, ctx, "Delivered", `document.querySelector('tr[data-msg-id="`+id+`"] [data-status]').textContent === "Delivered"`)
	if eval[string](t, ctx, `window.loadMarker || "reloaded"`) != "same page" {
		t.Error("the page reloaded instead of updating in place")
	}

	// The detail page's timeline grows by itself too.
	m2, _, err := l.gw.Submit(context.Background(), gatewaySubmit(liveCustomer, "Second text"))
	if err != nil {
		t.Fatal(err)
	}
	id2 := strconv.FormatUint(m2.ID, 10)
	do(t, ctx, "detail page", chromedp.Navigate(base+"/messages/"+id2), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
	if eval[string](t, ctx, `window.loadMarker = "same page"; document.querySelector("#message [data-status]").textContent`) == "Delivered" {
		t.Fatal("already delivered when the detail page loaded")
	}
	waitJS(t, ctx, "Delivered in the timeline", `document.querySelector("#message [data-status]").textContent === "Delivered" &&
		document.querySelector("#timeline li:last-child .status").textContent === "Delivered"`)
	if eval[string](t, ctx, `window.loadMarker || "reloaded"`) != "same page" {
		t.Error("the detail page reloaded instead of updating in place")
	}

	// An inbound text appears in the inbox without a reload.
	do(t, ctx, "inbox", chromedp.Navigate(base+"/inbox"), chromedp.WaitVisible(chromedp.CSS("#conversations")))
	waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
	_ = eval[string](t, ctx, `window.loadMarker = "same page"`)
	if err := l.net.Deliver(liveCustomer, liveSimA, "Is my order ready?"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "inbound in the inbox", `(function(){var li = document.querySelector('#conversations li[data-number="`+liveCustomer+`"]');
		return !!li && li.querySelector(".last").textContent === "Is my order ready?" && li.querySelector(".unread-count").textContent === "1 new"})()`)
	if eval[string](t, ctx, `window.loadMarker || "reloaded"`) != "same page" {
		t.Error("the inbox reloaded instead of updating in place")
	}

	// A phone: the overview fits without scrolling sideways.
	do(t, ctx, "phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-modem="sim1"]`)))
	// The totals follow live events.
	waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
	before := eval[string](t, ctx, `document.querySelector('[data-count="inbound"]').textContent`)
	if err := l.net.Deliver(liveCustomer, liveSimB, "One more thing"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "inbound total +1", `document.querySelector('[data-count="inbound"]').textContent === "`+incr(t, before)+`"`)
	sw := eval[int](t, ctx, `document.documentElement.scrollWidth`)
	iw := eval[int](t, ctx, `window.innerWidth`)
	if iw != 375 || sw > iw {
		t.Errorf("at 375 px: scrollWidth %d, innerWidth %d", sw, iw)
	}
	// innerWidth must stay 375 too: a mobile browser zooms out to fit a
	// page that is too wide, and then scrollWidth never exceeds it.
	wantNoSideScroll(t, ctx, base, 375, "/messages", "/inbox", "/modems", "/settings", "/compose")
}

func incr(t *testing.T, n string) string {
	t.Helper()
	v, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("count %q: %v", n, err)
	}
	return strconv.Itoa(v + 1)
}

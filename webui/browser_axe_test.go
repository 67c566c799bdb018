package webui

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/gateway/webhooks"
)

// axe-core (npm) scans every console page in chromium at a desktop and a
// phone width; a serious or critical finding fails the test. .ci/run
// installs the pinned version into testdata/node_modules; SIMGATE_AXE
// may name another copy of axe.min.js.
const axeDefault = "testdata/node_modules/axe-core/axe.min.js"

// loadAxe returns axe.min.js, skipping the test when it is not installed
// (failing instead under CI=true, where .ci/run must have installed it).
func loadAxe(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SIMGATE_AXE")
	if p == "" {
		p = axeDefault
	}
	src, err := os.ReadFile(filepath.Clean(p))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but axe-core is missing (%v): .ci/run installs it with npm", err)
		}
		t.Skipf("axe-core not installed (%v): run `npm install --no-save --no-package-lock --prefix webui/testdata axe-core@%s` or set SIMGATE_AXE", err, axeVersion)
	}
	return string(src)
}

// axeVersion is the pinned axe-core; .ci/run installs the same.
const axeVersion = "4.10.2"

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// axeScan runs axe on the page open in ctx and fails on serious or
// critical findings; lesser ones are logged.
func axeScan(t *testing.T, ctx context.Context, axe, where string) {
	t.Helper()
	if !eval[bool](t, ctx, `typeof window.axe === "object"`) {
		// Evaluated through the DevTools protocol, which the page's
		// Content-Security-Policy does not apply to.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+"\n;0")); err != nil {
			t.Fatalf("inject axe-core: %v", err)
		}
	}
	raw := evalAwait[string](t, ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result: %v", err)
	}
	for _, v := range vs {
		var nodes []string
		for _, n := range v.Nodes {
			nodes = append(nodes, n.HTML)
		}
		msg := where + ": " + v.Impact + " " + v.ID + " (" + v.Help + "): " + strings.Join(nodes, " | ")
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// One test per width: each has its own browser, whose session is bounded
// by newBrowser's hang guard.
func TestBrowserAxeDesktop(t *testing.T) { browserAxe(t, 1280) }
func TestBrowserAxePhone(t *testing.T)   { browserAxe(t, 375) }

func browserAxe(t *testing.T, width int64) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	axe := loadAxe(t)
	l := newLiveRig(t)
	ctx := newBrowser(t)
	base := l.srv.URL

	// Pages with something on them: a contact, a delivered text, a
	// refused one, a received text and an opt-out waiting for review.
	c, err := l.gw.Contacts().Create(context.Background(), contacts.Contact{Number: liveCustomer, Name: "Ana Lima"})
	if err != nil {
		t.Fatal(err)
	}
	cs := l.gw.ComplianceSettings()
	cs.Brand, cs.SupportContact, cs.Frequency = "Rosa's Bakery", "help@rosas.example", "up to 4 msgs/month"
	cs.Disclosure = gateway.Disclosure{Version: "v1", Text: disclosureV1}
	if err := l.gw.SaveComplianceSettings(cs, "test"); err != nil {
		t.Fatal(err)
	}
	m, _, err := l.gw.Submit(context.Background(), gatewaySubmit(liveCustomer, "Your order is ready ✓"))
	if err != nil {
		t.Fatal(err)
	}
	refused, _, err := l.gw.Submit(context.Background(), gateway.SubmitRequest{To: "+12015550144", Text: "Rosa's Bakery: 20% off today. Reply STOP to opt out", Kind: gateway.KindMarketing})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.net.Deliver(liveCustomer, liveSimA, "Is my order ready?"); err != nil {
		t.Fatal(err)
	}
	if err := l.net.Deliver("+12015550155", liveSimA, "please stop texting me"); err != nil {
		t.Fatal(err)
	}
	hook, err := l.gw.Webhooks().CreateEndpoint(context.Background(), webhooks.EndpointInput{URL: ptr("http://127.0.0.1:9/hook"),
		Description: ptr("CRM"), Kinds: ptr([]string{"message.status", "modem.down"}), AllowPrivate: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.gw.Webhooks().SendTest(hook.ID); err != nil {
		t.Fatal(err)
	}
	l.waitFor("texts in", func() bool {
		in, _, err := l.gw.Inbox(0, 10)
		return err == nil && len(in) == 2
	})

	flow, err := l.gw.Flows().EnablePreset("abandoned_cart", flows.PresetOptions{SecondText: true})
	if err != nil {
		t.Fatal(err)
	}

	// A saved segment, a draft campaign (its page shows the dry run and
	// Send) and a sent one (progress, variants, results) to the consented
	// customer.
	seg, err := l.gw.Segments().Save(context.Background(), 0, segments.Input{Name: "VIP buyers",
		Definition: json.RawMessage(`{"match":"all","rules":[{"field":"tag","op":"has","value":"vip"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	consented(t, l.rig, liveCustomer)
	sale := campaigns.Definition{Name: "December sale", Audience: campaigns.Audience{Numbers: []string{liveCustomer}},
		Template: campaigns.Template{Body: "Rosa's Bakery: 20% off all bread until Sunday. Reply STOP to opt out"},
		Schedule: campaigns.Schedule{Mode: campaigns.ScheduleNow}}
	draft, err := l.gw.Campaigns().Create(context.Background(), sale)
	if err != nil {
		t.Fatal(err)
	}
	sale.Name = "Weekend sale"
	sent, err := l.gw.Campaigns().Create(context.Background(), sale)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.gw.Campaigns().Send(context.Background(), sent.ID); err != nil {
		t.Fatal(err)
	}

	// Logged out first: the login page and the public sign-up page.
	do(t, ctx, "viewport", chromedp.EmulateViewport(width, 900))
	at := " at " + strconv.FormatInt(width, 10) + " px"
	for _, p := range []string{"/login", "/join"} {
		do(t, ctx, p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main")))
		axeScan(t, ctx, axe, p+at)
	}
	browserSession(t, ctx, l)
	csvPath := importFile(t)
	pages := []string{"/", "/compose", "/messages", "/messages/" + strconv.FormatUint(m.ID, 10),
		"/messages/" + strconv.FormatUint(refused.ID, 10), "/messages?state=unknown", "/inbox", "/inbox/" + liveCustomer,
		"/contacts", "/contacts/" + strconv.FormatUint(c.ID, 10), "/contacts/new", "/contacts/import", "/consent/review",
		"/consent/" + liveCustomer, "/modems", "/settings", "/settings/compliance",
		"/flows", "/flows/" + strconv.FormatUint(flow.ID, 10),
		"/settings/webhooks", "/settings/webhooks/" + strconv.FormatUint(hook.ID, 10)}
	scan := func(ctx context.Context, pages []string) {
		for _, p := range pages {
			do(t, ctx, p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main")))
			// Live pages first settle: axe must see what a person sees.
			if p == "/" || strings.HasPrefix(p, "/messages") || strings.HasPrefix(p, "/inbox") || p == "/modems" ||
				strings.HasPrefix(p, "/campaigns/") && p != "/campaigns/new" {
				waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
			}
			axeScan(t, ctx, axe, p+at)
		}
	}
	scan(ctx, pages)
	// The import preview, which only an upload opens.
	do(t, ctx, "import preview", chromedp.Navigate(base+"/contacts/import"), chromedp.WaitVisible(chromedp.CSS("#import-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csvPath}, chromedp.NodeReady),
		chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#import-preview")))
	axeScan(t, ctx, axe, "import preview"+at)

	// The segments, campaigns and analytics pages in a browser of their
	// own: newBrowser's hang guard bounds one session, and one session for
	// every page ran past it under the race detector.
	ctx = newBrowser(t)
	do(t, ctx, "viewport", chromedp.EmulateViewport(width, 900))
	browserSession(t, ctx, l)
	scan(ctx, []string{"/segments", "/segments/" + strconv.FormatUint(seg.ID, 10),
		"/campaigns", "/campaigns/new", "/campaigns/" + strconv.FormatUint(draft.ID, 10), "/campaigns/" + strconv.FormatUint(sent.ID, 10),
		"/analytics"})
}

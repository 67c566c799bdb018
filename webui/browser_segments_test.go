package webui

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simgate/simgate/gateway/segments"
)

// liveCount waits until the editor's live count shows want.
func liveCount(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	waitJS(t, ctx, "the live count "+want, `document.getElementById("live-count").textContent === "`+want+`"`)
}

// TestBrowserSegmentBuilder builds "placed an order in the last 90 days
// and tagged vip" with the rule builder and sees the count follow each
// rule, then saves it. The helpers and skip rules are browser_test.go's.
func TestBrowserSegmentBuilder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	l := newLiveRig(t)
	seedShop(t, l.db, 12) // 8 consented; vip 0,2,4,6,8,10; ordered 0..5
	ctx := newBrowser(t)
	browserSession(t, ctx, l)
	do(t, ctx, "new segment", chromedp.Navigate(l.srv.URL+"/segments/new"), chromedp.WaitVisible(chromedp.CSS("#add-rule")))
	liveCount(t, ctx, "8") // no rules yet: every subscriber

	do(t, ctx, "tagged vip",
		chromedp.Click(chromedp.CSS("#add-rule")),
		chromedp.SendKeys(chromedp.CSS("#rules li:nth-child(1) .r-value"), "vip"))
	liveCount(t, ctx, "4")

	do(t, ctx, "add a rule", chromedp.Click(chromedp.CSS("#add-rule")))
	// A select's value set by script fires no event of its own.
	eval[bool](t, ctx, `(function () {
		var f = document.querySelector("#rules li:nth-child(2) .r-field");
		f.value = "ordered";
		f.dispatchEvent(new Event("change", { bubbles: true }));
		return true;
	})()`)
	if op := eval[string](t, ctx, `document.querySelector("#rules li:nth-child(2) .r-op").selectedOptions[0].textContent`); op != "in the last … days" {
		t.Errorf("the ordered rule starts with %q", op)
	}
	do(t, ctx, "in the last 90 days", chromedp.SendKeys(chromedp.CSS("#rules li:nth-child(2) .r-days"), "90"))
	liveCount(t, ctx, "2")
	if matched := eval[string](t, ctx, `document.getElementById("live-matched").textContent`); matched != "3" {
		t.Errorf("matched %s, want 3", matched)
	}
	if left := eval[string](t, ctx, `document.getElementById("live-left-out").textContent`); !strings.Contains(left, "1 left out: never agreed to marketing texts") {
		t.Errorf("left out: %q", left)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#live-members tbody tr").length`); n != 2 {
		t.Errorf("%d members listed, want 2", n)
	}

	do(t, ctx, "save",
		chromedp.SendKeys(chromedp.CSS("#s-name"), "VIP buyers"),
		chromedp.Click(chromedp.CSS("#s-save")),
		chromedp.WaitVisible(chromedp.CSS("#s-csv")))
	list, err := l.gw.Segments().List()
	if err != nil || len(list) != 1 {
		t.Fatalf("saved segments %+v, %v", list, err)
	}
	d := list[0].Definition
	if list[0].Name != "VIP buyers" || d.Match != "all" || len(d.Rules) != 2 ||
		d.Rules[0].Field != segments.FieldTag || d.Rules[0].Value != "vip" ||
		d.Rules[1].Field != segments.FieldOrdered || d.Rules[1].Op != "within_days" || d.Rules[1].Days != 90 {
		t.Errorf("saved %+v", list[0])
	}
	liveCount(t, ctx, "2") // the saved segment's page counts the same
	t.Run("axe", func(t *testing.T) { axeScan(t, ctx, loadAxe(t), "segment editor") })
	do(t, ctx, "segments list", chromedp.Navigate(l.srv.URL+"/segments"), chromedp.WaitVisible(chromedp.CSS("#segments")))
	waitJS(t, ctx, "the list's count", `document.querySelector("#segments .seg-count").textContent === "2"`)
	t.Run("axe list", func(t *testing.T) { axeScan(t, ctx, loadAxe(t), "segments list") })
}

package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/store"
)

const (
	saleText    = "Rosa's Bakery: fresh bread 20% off until Sunday. Reply STOP to opt out"
	saleTextB   = "Rosa's Bakery: two loaves for the price of one until Sunday. Reply STOP to opt out"
	vipShoppers = 30 // seedShop's contacts: 15 tagged vip, 10 of them consented
)

// progressLine matches the campaign page's progress sentence.
var progressLine = regexp.MustCompile(`(\d+) of (\d+) texts sent, (\d+) delivered`)

// TestBrowserCampaign: a shop owner makes an A/B campaign with a holdout
// for a saved segment, checks the dry run, sends it, watches the first
// text turn delivered on the campaign page without a reload, then pauses
// and cancels it. The helpers and skip rules are browser_test.go's.
func TestBrowserCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	// Status reports take 1.5 s, so the campaign page is open (and live)
	// before the first text is delivered.
	l := newLiveRigDelay(t, 1500*time.Millisecond)
	cs := l.gw.ComplianceSettings()
	cs.Brand, cs.SupportContact, cs.Frequency = "Rosa's Bakery", "help@rosas.example", "up to 4 msgs/month"
	cs.Disclosure = gateway.Disclosure{Version: "v1", Text: disclosureV1}
	// Quiet hours all day long would hold the texts whenever the test runs
	// at night in New York; an allowed window of the whole day keeps what
	// the owner sees independent of the clock.
	cs.QuietDefault = gateway.Window{Start: 0, End: 24 * 60}
	if err := l.gw.SaveComplianceSettings(cs, "test"); err != nil {
		t.Fatal(err)
	}
	seedShop(t, l.db, vipShoppers)
	if _, err := l.gw.Segments().Save(context.Background(), 0, segments.Input{Name: "VIP buyers",
		Definition: json.RawMessage(`{"match":"all","rules":[{"field":"tag","op":"has","value":"vip"}]}`)}); err != nil {
		t.Fatal(err)
	}
	var consentedVIP, unconsentedVIP []string
	for i := 0; i < vipShoppers; i += 2 {
		if i%3 == 0 {
			unconsentedVIP = append(unconsentedVIP, shopNumber(i))
		} else {
			consentedVIP = append(consentedVIP, shopNumber(i))
		}
	}

	ctx := newBrowser(t)
	base := l.srv.URL
	do(t, ctx, "log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#name"), testUser),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/campaigns"]`)))
	do(t, ctx, "Campaigns", chromedp.Click(chromedp.CSS(`nav a[href="/campaigns"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/campaigns/new"]`)))
	do(t, ctx, "New campaign", chromedp.Click(chromedp.CSS(`a[href="/campaigns/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#c-name")))

	segValue := eval[string](t, ctx, `(function () {
		var o = Array.prototype.find.call(document.querySelectorAll("#c-seg option"), function (o) { return o.textContent === "VIP buyers"; });
		return o ? o.value : "";
	})()`)
	if segValue == "" {
		t.Fatal("the saved segment is not offered as an audience")
	}
	if !eval[bool](t, ctx, `document.querySelector('input[name=mode][value=now]').checked`) {
		t.Error("the form does not start on sending now")
	}
	do(t, ctx, "fill the form",
		chromedp.SendKeys(chromedp.CSS("#c-name"), "Bread sale"),
		chromedp.SetValue(chromedp.CSS("#c-seg"), segValue),
		chromedp.SendKeys(chromedp.CSS("#c-body"), saleText),
		chromedp.SetValue(chromedp.CSS("#c-holdout"), "20"),
		chromedp.SendKeys(chromedp.CSS("#va-share"), "40"),
		chromedp.SendKeys(chromedp.CSS("#vb-share"), "40"),
		chromedp.SendKeys(chromedp.CSS("#vb-body"), saleTextB),
		// One text an hour: the first goes now and the rest wait, so the
		// campaign is still sending when the owner pauses it.
		chromedp.SendKeys(chromedp.CSS("#c-throttle"), "1"),
		chromedp.Click(chromedp.CSS(`button[value=dry_run]`)),
		chromedp.WaitVisible(chromedp.CSS("#dry-run")))

	// The dry run in words: who gets a text, who is left out and why,
	// and how many SMS parts that is.
	checkDryRun(t, ctx, len(consentedVIP), len(unconsentedVIP))
	if n := len(messagesIn(t, l)); n != 0 {
		t.Fatalf("the dry run queued %d texts", n)
	}
	// Unsaved, the split between versions is not the one the campaign will
	// get, and the page says so.
	if !eval[bool](t, ctx, `document.querySelector("#dry-run").textContent.includes("drawn when you save")`) {
		t.Error("the unsaved dry run does not say its split between versions is drawn when saved")
	}

	do(t, ctx, "save as draft", chromedp.Click(chromedp.CSS(`button[value=save]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/send"] button`)))
	if notice := pageText(t, ctx); !strings.Contains(notice, "Saved as a draft") || !strings.Contains(notice, "Draft") {
		t.Errorf("the draft's page says: %.300s", notice)
	}
	// The draft's own dry run is the split its sending will use (the
	// form's, made before the campaign had an ID, may split differently).
	recipients, holdout := checkDryRun(t, ctx, len(consentedVIP), len(unconsentedVIP))
	id, err := strconv.ParseUint(strings.TrimPrefix(eval[string](t, ctx, `location.pathname`), "/campaigns/"), 10, 64)
	if err != nil {
		t.Fatalf("the draft's page: %v", err)
	}

	do(t, ctx, "Send", chromedp.Click(chromedp.CSS(`form[action$="/send"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/pause"] button`)))
	waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
	if text := pageText(t, ctx); !strings.Contains(text, "Sending: texts go out at their planned times.") {
		t.Errorf("after Send the page says: %.300s", text)
	}
	first := eval[string](t, ctx, `window.loadMarker = "same page"; document.getElementById("campaign-live").textContent`)
	if m := progressLine.FindStringSubmatch(first); m != nil && m[3] != "0" {
		t.Fatalf("a text was already delivered when the page loaded: the test would prove nothing (raise the report delay)")
	}
	// The first text is sent and its report arrives: the page follows.
	waitJS(t, ctx, "a delivered text on the page", `(function () {
		var m = /(\d+) of (\d+) texts sent, (\d+) delivered/.exec(document.getElementById("campaign-live").textContent);
		return !!m && m[2] === "`+strconv.Itoa(recipients)+`" && +m[3] >= 1;
	})()`)
	if eval[string](t, ctx, `window.loadMarker || "reloaded"`) != "same page" {
		t.Error("the campaign page reloaded instead of updating in place")
	}
	live := eval[string](t, ctx, `document.getElementById("campaign-live").textContent`)
	m := progressLine.FindStringSubmatch(live)
	if sent, _ := strconv.Atoi(m[1]); sent >= recipients {
		t.Errorf("all %d texts sent at once despite one an hour: %q", recipients, m[0])
	}
	if !strings.Contains(live, "Sending") || !strings.Contains(live, strconv.Itoa(holdout)+" people in the holdout get nothing") {
		t.Errorf("the progress says: %s", strings.Join(strings.Fields(live), " "))
	}

	do(t, ctx, "Pause", chromedp.Click(chromedp.CSS(`form[action$="/pause"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/resume"] button`)))
	if text := pageText(t, ctx); !strings.Contains(text, "Paused: texts not yet handed to a SIM wait until you resume.") ||
		stateWord(t, ctx) != "Paused" {
		t.Errorf("after Pause the page says: %.300s", text)
	}
	// The paused page has the same regions: wait for one without Resume.
	do(t, ctx, "Cancel", chromedp.Click(chromedp.CSS(`form[action$="/cancel"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`main:not(:has(form[action$="/resume"])) #campaign-live`)))
	if text := pageText(t, ctx); !strings.Contains(text, "Cancelled: every text not yet handed to a SIM was withdrawn.") ||
		stateWord(t, ctx) != "Cancelled" {
		t.Errorf("after Cancel the page says: %.300s", text)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('form[action$="/pause"], form[action$="/resume"], form[action$="/cancel"]').length`); n != 0 {
		t.Errorf("a cancelled campaign still offers %d of pause, resume and cancel", n)
	}

	// Against the gateway: one text per planned member, to that member,
	// with their variant's words; nobody else got one.
	members, _, err := l.gw.Campaigns().Members(id, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{} // message ID → "number text"
	var planned []string
	for _, mb := range members {
		planned = append(planned, mb.Number)
		switch mb.Variant {
		case "a":
			want[mb.MessageID] = mb.Number + " " + saleText
		case "b":
			want[mb.MessageID] = mb.Number + " " + saleTextB
		case store.HoldoutVariant:
			if mb.MessageID != 0 {
				t.Errorf("holdout member %s has text %d", mb.Number, mb.MessageID)
			}
		default:
			t.Errorf("member %+v in an unknown variant", mb)
		}
	}
	sort.Strings(planned)
	sort.Strings(consentedVIP)
	if strings.Join(planned, ",") != strings.Join(consentedVIP, ",") {
		t.Errorf("planned %v, want the consented VIPs %v", planned, consentedVIP)
	}
	msgs := messagesIn(t, l)
	if len(msgs) != recipients || len(want) != recipients {
		t.Errorf("%d texts queued and %d members with a text, want %d", len(msgs), len(want), recipients)
	}
	for _, msg := range msgs {
		if got := msg.To + " " + msg.Text; want[msg.ID] != got {
			t.Errorf("text %d queued as %q, want %q", msg.ID, got, want[msg.ID])
		}
	}
}

// checkDryRun reads the dry run on the page as the owner does and checks
// it against the audience: consented people split between texts and the
// holdout, both variants used, the others left out for want of consent,
// one SMS part a text. It returns the texts and the holdout.
func checkDryRun(t *testing.T, ctx context.Context, consented, unconsented int) (recipients, holdout int) {
	t.Helper()
	dry := eval[map[string]string](t, ctx, `(function () {
		var out = {};
		document.querySelectorAll("#dry-run dt").forEach(function (dt) { out[dt.textContent.trim()] = dt.nextElementSibling.textContent.trim(); });
		return out;
	})()`)
	texts := regexp.MustCompile(`^(\d+) of (\d+) people in the audience \((\d+) in the holdout get nothing\)$`).FindStringSubmatch(dry["Texts"])
	if texts == nil {
		t.Fatalf("dry run %v", dry)
	}
	recipients, _ = strconv.Atoi(texts[1])
	holdout, _ = strconv.Atoi(texts[3])
	if texts[2] != strconv.Itoa(consented) || recipients+holdout != consented || holdout == 0 || recipients == 0 {
		t.Errorf("dry run texts %q: want the %d consented VIPs split between texts and a holdout", dry["Texts"], consented)
	}
	if dry["Left out: no consent"] != strconv.Itoa(unconsented) {
		t.Errorf("dry run left out %v, want %d without consent", dry, unconsented)
	}
	a, _ := strconv.Atoi(dry["Variant a"])
	b, _ := strconv.Atoi(dry["Variant b"])
	if a == 0 || b == 0 || a+b != recipients {
		t.Errorf("dry run variants a %q b %q, want both used and %d in all", dry["Variant a"], dry["Variant b"], recipients)
	}
	if dry["SMS parts in all"] != strconv.Itoa(recipients) { // each text fits one part
		t.Errorf("dry run parts %q, want %d", dry["SMS parts in all"], recipients)
	}
	return recipients, holdout
}

// shopNumber is seedShop's number of contact i.
func shopNumber(i int) string { return fmt.Sprintf("+1212555%04d", i) }

func messagesIn(t *testing.T, l *liveRig) []gateway.Message {
	t.Helper()
	msgs, _, err := l.gw.Messages(gatewayFilterAll())
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// pageText is the main part of the page as a person reads it.
func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return strings.Join(strings.Fields(eval[string](t, ctx, `document.querySelector("main").innerText`)), " ")
}

// stateWord is the campaign's state as its page says it.
func stateWord(t *testing.T, ctx context.Context) string {
	t.Helper()
	s := eval[string](t, ctx, `document.querySelector("#campaign-live .hint").textContent`)
	word, _, _ := strings.Cut(s, " ·")
	return strings.TrimSpace(word)
}

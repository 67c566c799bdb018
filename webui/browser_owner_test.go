package webui

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
)

// The forms a new shop owner meets, in a real browser (issue 13 points 9,
// 10, 12, 13, 14 and 17): the first-run checklist, Send with a contact
// picker and errors at their field, compliance settings that report every
// problem, recording a customer's consent on their page, Settings on a
// phone.
func TestBrowserOwnerForms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	l := newLiveRig(t)
	ctx := newBrowser(t)
	base := l.srv.URL
	browserSession(t, ctx, l)
	ana, err := l.gw.Contacts().Create(context.Background(), contacts.Contact{Number: liveCustomer, Name: "Ana Lima"})
	if err != nil {
		t.Fatal(err)
	}

	// 10. A new box: the checklist names what is missing, with a link.
	do(t, ctx, "overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#overview-live")))
	todo := eval[string](t, ctx, `Array.from(document.querySelectorAll(".checklist li.todo")).map(function(li){return li.textContent}).join("|")`)
	if !strings.Contains(todo, "Name your shop") || !strings.Contains(todo, "Send a first test text") || strings.Contains(todo, "modem") {
		t.Errorf("checklist to do: %q", todo)
	}
	if eval[string](t, ctx, `document.querySelector(".page-actions a.button").getAttribute("href")`) != "/compose" {
		t.Error("no Send a text action on the overview")
	}

	// 12 and 9. Send: the picker offers the contact by name; a number
	// without a country code is refused at its field with how to fix it.
	do(t, ctx, "compose", chromedp.Navigate(base+"/compose"), chromedp.WaitVisible(chromedp.CSS("#compose")))
	if got := eval[string](t, ctx, `document.querySelector('#contact-list option[value="`+liveCustomer+`"]').textContent`); got != "Ana Lima" {
		t.Errorf("picker offers %q", got)
	}
	do(t, ctx, "bad number", chromedp.SendKeys(chromedp.CSS("#to"), "55"), chromedp.SendKeys(chromedp.CSS("#text"), "Hello"),
		chromedp.Click(chromedp.CSS(`button[value=send]`)), chromedp.WaitVisible(chromedp.CSS("#to-error")))
	if msg := eval[string](t, ctx, `document.getElementById("to-error").textContent`); !strings.Contains(msg, "Add the country code, e.g. +1 201") {
		t.Errorf("number error: %q", msg)
	}
	if eval[string](t, ctx, `document.getElementById("to").getAttribute("aria-describedby")`) != "to-error" {
		t.Error("the error is not tied to its field")
	}
	do(t, ctx, "send to Ana", chromedp.SetValue(chromedp.CSS("#to"), liveCustomer), chromedp.Click(chromedp.CSS(`button[value=send]`)),
		chromedp.WaitVisible(chromedp.CSS("#message")))
	if got := eval[string](t, ctx, `document.querySelector("h1").textContent`); got != "Text to Ana Lima ("+liveCustomer+")" {
		t.Errorf("message page title %q", got)
	}

	// 14. Compliance: three problems, all reported on one save.
	// (Fields the browser itself requires are filled: its own check would
	// stop the form before the gateway sees it.)
	do(t, ctx, "compliance", chromedp.Navigate(base+"/settings/compliance"), chromedp.WaitVisible(chromedp.CSS("#compliance-form")),
		chromedp.SendKeys(chromedp.CSS("#brand"), "Rosa's Bakery"),
		chromedp.SendKeys(chromedp.CSS("#support_contact"), "help@rosas.example"),
		chromedp.SendKeys(chromedp.CSS("#frequency"), "up to 4 msgs/month"),
		chromedp.SetValue(chromedp.CSS("#reply_help"), "{brand}: call us. Msg&data rates may apply. STOP to end."),
		chromedp.SendKeys(chromedp.CSS("#disclosure_version"), "v1"),
		chromedp.SetValue(chromedp.CSS("#disclosure_text"), disclosureV1),
		chromedp.SetValue(chromedp.CSS("#quiet_default"), "8am-9pm"),
		chromedp.SetValue(chromedp.CSS("#body_retention_days"), "3"),
		chromedp.Click(chromedp.CSS(`#compliance-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error[role=alert]`)))
	errs := eval[string](t, ctx, `Array.from(document.querySelectorAll("#compliance-form p.error")).map(function(p){return p.previousElementSibling.id}).join(",")`)
	for _, id := range []string{"reply_help", "quiet_default", "body_retention_days"} {
		if !strings.Contains(","+errs+",", ","+id+",") {
			t.Errorf("no error next to %s (errors next to %s)", id, errs)
		}
	}
	do(t, ctx, "fix and save",
		chromedp.SetValue(chromedp.CSS("#reply_help"), l.gw.ComplianceSettings().Replies.Help), // the default, which passes
		chromedp.SetValue(chromedp.CSS("#quiet_default"), "09:00-20:00"),
		chromedp.SetValue(chromedp.CSS("#body_retention_days"), "0"),
		chromedp.Click(chromedp.CSS(`#compliance-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)))

	// 13. Ana's page records her consent, given at the till.
	page := base + "/contacts/" + strconv.FormatUint(ana.ID, 10)
	do(t, ctx, "contact", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#opt-in")),
		chromedp.SendKeys(chromedp.CSS("#oi-source"), "sign-up sheet"),
		chromedp.SendKeys(chromedp.CSS("#oi-terminal"), "till 1"),
		chromedp.Click(chromedp.CSS(`#opt-in input[name=double_opt_in]`)), // single opt-in: she signed the sheet
		chromedp.Click(chromedp.CSS(`#opt-in button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)))
	if cons, err := l.gw.Consent(liveCustomer); err != nil || cons.Marketing != gateway.MarketingConfirmed {
		t.Fatalf("consent after the form: %+v, %v", cons, err)
	}
	if tl := eval[string](t, ctx, `document.querySelector("#consent-timeline li").textContent`); !strings.Contains(tl, "Agreed to marketing texts in the shop (till 1), consent text v1") {
		t.Errorf("consent history: %q", tl)
	}

	// 17. Settings and contacts on a phone: tables become cards, nothing
	// scrolls sideways.
	do(t, ctx, "phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("#tokens")))
	if d := eval[string](t, ctx, `getComputedStyle(document.querySelector("#tokens table.reflow tbody tr")).display`); d != "block" {
		t.Errorf("the tokens table does not reflow on a phone (row display %q)", d)
	}
	do(t, ctx, "messages on a phone", chromedp.Navigate(base+"/messages"), chromedp.WaitVisible(chromedp.CSS("#messages-live")))
	if eval[bool](t, ctx, `document.querySelector("details.fold").open`) {
		t.Error("the messages filters are not folded on a phone")
	}
	do(t, ctx, "filtered messages on a phone", chromedp.Navigate(base+"/messages?state=queued"), chromedp.WaitVisible(chromedp.CSS("#messages-live")))
	if !eval[bool](t, ctx, `document.querySelector("details.fold").open`) {
		t.Error("filters in use are folded away")
	}
	wantNoSideScroll(t, ctx, base, 375, "/settings", "/contacts", "/contacts/"+strconv.FormatUint(ana.ID, 10), "/settings/compliance")
}

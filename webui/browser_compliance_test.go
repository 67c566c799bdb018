package webui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// The contacts, consent and compliance pages in a real browser (issue 5).
// The helpers (newBrowser, do, eval, waitJS) and the skip rules are
// browser_test.go's.

const (
	joinTyped   = "(201) 555-0177" // typed on /join as a person would
	joinNumber  = "+12015550177"
	limaNumber  = "+12015550188" // Ana Lima, in the imported file
	importRows  = 300            // good rows in the file
	vipEvery    = 100            // every 100th good row is tagged vip
	badRowCount = 4              // three unreadable numbers and one duplicate
)

// browserSession gives the browser the console session the rig logged in
// with through /login, so these tests start on the page they are about.
func browserSession(t *testing.T, ctx context.Context, l *liveRig) {
	t.Helper()
	do(t, ctx, "session cookie", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: l.cookie.Name, Value: l.cookie.Value, URL: l.srv.URL, HTTPOnly: new(true)})
		return err
	}))
}

// wantNoSideScroll opens each page in a viewport width px wide and fails
// when it scrolls sideways. A mobile browser zooms out to fit a page wider
// than the screen, which widens innerWidth, so that must stay width too.
func wantNoSideScroll(t *testing.T, ctx context.Context, base string, width int, paths ...string) {
	t.Helper()
	for _, p := range paths {
		do(t, ctx, p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main")))
		if sw, iw := eval[int](t, ctx, `document.documentElement.scrollWidth`), eval[int](t, ctx, `window.innerWidth`); iw != width || sw > iw {
			t.Errorf("%s at %d px: scrollWidth %d, innerWidth %d", p, width, sw, iw)
		}
	}
}

// evalAwait evaluates an expression that returns a promise.
func evalAwait[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// importFile writes the CSV the import step uploads: importRows good rows,
// Ana Lima among them, three rows whose number cannot be read and one
// repeating an earlier number.
func importFile(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("phone,name,tags,email\n")
	for i := range importRows {
		number, name, tags := fmt.Sprintf("+1201700%04d", i), fmt.Sprintf("Customer %03d", i), "newsletter"
		if i == 42 {
			number, name = limaNumber, "Ana Lima"
		}
		if i%vipEvery == 7 {
			tags = "newsletter;vip"
		}
		fmt.Fprintf(&b, "%s,%s,%s,c%d@example.com\n", number, name, tags, i)
		switch i {
		case 10:
			b.WriteString("12,Too Short,,\n")
		case 20:
			b.WriteString("not a number,Bad Number,,\n")
		case 30:
			b.WriteString(",No Number,newsletter,\n")
		case 40:
			b.WriteString("+12017000005,Customer 005 again,,\n") // duplicate of the row with Customer 005
		}
	}
	path := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var errHeld = errors.New("held on purpose; nothing written")

// holdStoreWrites keeps the store's single write transaction open until
// the returned func is called: an import then stays "running" at its
// write, so the job page is seen going from running to its report by
// itself rather than loading already finished. Reads go on meanwhile.
func holdStoreWrites(t *testing.T, db *store.DB) (release func()) {
	t.Helper()
	held, free, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, _, _, err := db.AppendConsent(store.ConsentEvent{Number: "+12015550199", Type: "opt_out_review",
			Purpose: "marketing", Method: "keyword"}, func(*store.Consent) error {
			close(held)
			<-free
			return errHeld
		})
		done <- err
	}()
	<-held
	release = sync.OnceFunc(func() {
		close(free)
		if err := <-done; !errors.Is(err, errHeld) {
			t.Errorf("holding the store: %v", err)
		}
	})
	t.Cleanup(release) // a failed test must not leave the store locked
	return release
}

// TestBrowserCompliance drives the issue-5 pages: compliance settings with
// an error next to its field, a CSV import watched live, the contacts list
// and a contact's consent timeline, the public sign-up page, the opt-out
// review queue, and all of them on a phone.
func TestBrowserCompliance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	l := newLiveRig(t)
	ctx := newBrowser(t)
	base := l.srv.URL
	browserSession(t, ctx, l)

	// 1. Settings → Compliance. A window that cannot be is refused next to
	// its field and nothing is saved; the typed values stay in the form.
	do(t, ctx, "compliance page", chromedp.Navigate(base+"/settings/compliance"), chromedp.WaitVisible(chromedp.CSS("#compliance-form")))
	do(t, ctx, "fill compliance",
		chromedp.SendKeys(chromedp.CSS("#brand"), "Rosa's Bakery"),
		chromedp.SendKeys(chromedp.CSS("#support_contact"), "help@rosas.example"),
		chromedp.SendKeys(chromedp.CSS("#frequency"), "up to 4 msgs/month"),
		chromedp.SendKeys(chromedp.CSS("#disclosure_version"), "v1"),
		chromedp.SetValue(chromedp.CSS("#disclosure_text"), disclosureV1),
		chromedp.SetValue(chromedp.CSS("#quiet_default"), "25:00-08:00"),
		chromedp.Click(chromedp.CSS(`#compliance-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#quiet_default + p.error`)),
	)
	if msg := eval[string](t, ctx, `document.querySelector("#quiet_default + p.error").textContent`); !strings.Contains(msg, "start before end") {
		t.Errorf("error next to the allowed hours: %q", msg)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#compliance-form p.error").length`); n != 1 {
		t.Errorf("%d field errors shown, want 1 (next to the allowed hours)", n)
	}
	if top := eval[string](t, ctx, `document.querySelector('p.error[role=alert]').textContent`); !strings.Contains(top, "Nothing was saved") {
		t.Errorf("page error: %q", top)
	}
	if s := l.gw.ComplianceSettings(); s.Brand != "" || !s.UpdatedAt.IsZero() {
		t.Fatalf("settings saved despite the bad window: %+v", s)
	}
	if v := eval[string](t, ctx, `document.getElementById("brand").value + "|" + document.getElementById("disclosure_text").value`); v != "Rosa's Bakery|"+disclosureV1 {
		t.Errorf("typed values not kept in the refused form: %q", v)
	}
	do(t, ctx, "fix the window and save",
		chromedp.SetValue(chromedp.CSS("#quiet_default"), "09:00-20:00"),
		chromedp.Click(chromedp.CSS(`#compliance-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)),
	)
	s := l.gw.ComplianceSettings()
	if s.Brand != "Rosa's Bakery" || s.SupportContact != "help@rosas.example" || s.Frequency != "up to 4 msgs/month" ||
		s.Disclosure.Version != "v1" || s.Disclosure.Text != disclosureV1 || s.QuietDefault.String() != "09:00-20:00" || s.UpdatedBy != testUser {
		t.Fatalf("saved settings: %+v", s)
	}

	// 2. Import a CSV through the form. The store is held while the import
	// starts, so the job page opens with the import running and must turn
	// into the report by itself.
	csvPath := importFile(t)
	do(t, ctx, "import form", chromedp.Navigate(base+"/contacts/import"), chromedp.WaitVisible(chromedp.CSS("#import-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csvPath}, chromedp.NodeReady))
	// The upload shows how each column will be used; nothing is written
	// before "Import" (issue 13 point 15).
	do(t, ctx, "upload", chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#import-preview`)))
	if n, _ := l.gw.Contacts().Count(); n != 0 {
		t.Fatalf("%d contacts written before the import was confirmed", n)
	}
	release := holdStoreWrites(t, l.db)
	do(t, ctx, "import", chromedp.Click(chromedp.CSS(`#import-preview button[value=import]`)),
		chromedp.WaitVisible(chromedp.CSS(`#import-job`)))
	waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
	if st := eval[string](t, ctx, `document.getElementById("import-job").dataset.state + "|" + document.querySelector('#import-job [data-field="state"]').textContent`); st != "running|Importing…" {
		t.Fatalf("job page opened as %q: the test would prove nothing", st)
	}
	if eval[bool](t, ctx, `!document.getElementById("import-progress")`) {
		t.Error("no progress bar on a running import")
	}
	release()
	do(t, ctx, "the report appears by itself",
		chromedp.WaitVisible(chromedp.CSS(`#import-job[data-state="done"] a[href^="/contacts/import/rejected.csv"]`)))
	got := eval[string](t, ctx, `["rows_read", "imported", "updated", "invalid"].map(function (f) {
		return document.querySelector('#import-job [data-field="' + f + '"]').textContent }).join(" ")`)
	if want := fmt.Sprintf("%d %d 0 %d", importRows+badRowCount, importRows, badRowCount); got != want {
		t.Errorf("rows read, imported, updated, refused: %q, want %q", got, want)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#import-job tbody tr").length`); n != badRowCount {
		t.Errorf("%d rejected rows listed, want %d", n, badRowCount)
	}
	if dup := eval[string](t, ctx, `document.querySelector("#import-job tbody tr:last-child").textContent`); !strings.Contains(dup, "duplicate of row") {
		t.Errorf("last rejected row: %q, want the duplicate", dup)
	}
	// The download link answers a CSV of the refused rows.
	type download struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}
	dl := evalAwait[download](t, ctx, `fetch(document.querySelector('a[href^="/contacts/import/rejected.csv"]').href, {credentials: "same-origin"})
		.then(function (r) { return r.text().then(function (b) { return {status: r.status, type: r.headers.get("Content-Type"), body: b}; }); })`)
	lines := strings.Split(strings.TrimSpace(dl.Body), "\n")
	if dl.Status != 200 || !strings.HasPrefix(dl.Type, "text/csv") || len(lines) != badRowCount+1 ||
		!strings.HasPrefix(lines[0], "row,number,reason,phone,name,tags,email") || !strings.Contains(dl.Body, "Too Short") {
		t.Errorf("rejected rows download: %d %q\n%s", dl.Status, dl.Type, dl.Body)
	}

	// 3. The list narrows by search and by tag; a contact's page shows the
	// consent timeline once the gateway records an opt-in.
	do(t, ctx, "contacts", chromedp.Navigate(base+"/contacts"), chromedp.WaitVisible(chromedp.CSS("table.contacts")))
	if n := eval[int](t, ctx, `document.querySelectorAll("table.contacts tr[data-contact-id]").length`); n != defaultLimit {
		t.Errorf("first page: %d rows, want %d", n, defaultLimit)
	}
	do(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#c-q"), "lima"), chromedp.Submit(chromedp.CSS("#c-q")),
		chromedp.WaitVisible(chromedp.CSS(`#c-q[value="lima"]`)))
	if rows := eval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll("table.contacts tr[data-contact-id]"), function (tr) { return tr.cells[1].textContent }).join("|")`); rows != "Ana Lima" {
		t.Errorf("search for lima: %q", rows)
	}
	do(t, ctx, "tag filter", chromedp.Clear(chromedp.CSS("#c-q")), chromedp.SendKeys(chromedp.CSS("#c-tag"), "vip"),
		chromedp.Submit(chromedp.CSS("#c-tag")), chromedp.WaitVisible(chromedp.CSS(`#c-tag[value="vip"]`)))
	vips := eval[[]string](t, ctx, `Array.prototype.map.call(document.querySelectorAll("table.contacts tr[data-contact-id]"), function (tr) { return tr.cells[1].textContent + ":" + tr.cells[2].textContent.trim() })`)
	if want := importRows / vipEvery; len(vips) != want {
		t.Errorf("tag vip: %d rows, want %d", len(vips), want)
	}
	for _, v := range vips {
		if !strings.Contains(v, "vip") {
			t.Errorf("row without the vip tag: %q", v)
			break
		}
	}
	lima, err := l.gw.Contacts().ByNumber(limaNumber)
	if err != nil {
		t.Fatal(err)
	}
	contactURL := base + "/contacts/" + strconv.FormatUint(lima.ID, 10)
	do(t, ctx, "open the contact", chromedp.Clear(chromedp.CSS("#c-tag")), chromedp.SendKeys(chromedp.CSS("#c-q"), "Ana"),
		chromedp.Submit(chromedp.CSS("#c-q")), chromedp.WaitVisible(chromedp.CSS(`#c-q[value="Ana"]`)),
		chromedp.Click(chromedp.CSS(`table.contacts tr[data-contact-id="`+strconv.FormatUint(lima.ID, 10)+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS("#consent-timeline")))
	if tl := eval[string](t, ctx, `document.getElementById("consent-timeline").textContent`); !strings.Contains(tl, "No consent recorded") {
		t.Errorf("timeline before any opt-in: %q", tl)
	}
	if _, _, err := l.gw.OptIn(context.Background(), gateway.OptInRequest{Number: limaNumber, Method: gateway.MethodAPI,
		Source: "till receipt", DisclosureVersion: "v1", Actor: "api:test"}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "contact after opt-in", chromedp.Navigate(contactURL), chromedp.WaitVisible(chromedp.CSS("#consent-timeline")))
	if tl := eval[string](t, ctx, `document.querySelector("#consent-timeline li").textContent`); !strings.Contains(tl, "Agreed to marketing texts") ||
		!strings.Contains(tl, "through your website or shop system") || !strings.Contains(tl, "till receipt") || !strings.Contains(tl, "consent text v1") {
		t.Errorf("timeline after the opt-in: %q", tl)
	}
	if c := eval[string](t, ctx, `document.querySelector("main section.card dl dd").textContent`); c != "Marketing: yes" {
		t.Errorf("consent shown: %q", c)
	}
	if eval[int](t, ctx, `document.querySelectorAll("table.messages tr[data-msg-id]").length`) != 1 {
		t.Error("the opt-in confirmation text is not in the contact's texts")
	}

	// 4. /join, as a stranger: a browser context with no cookies.
	jctx, cancelJoin := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelJoin()
	do(t, jctx, "join page", chromedp.Navigate(base+"/join"), chromedp.WaitVisible(chromedp.CSS("#join-form")))
	if eval[bool](t, jctx, `document.getElementById("join-consent").checked || !!(document.getElementById("join-cart") || {}).checked`) {
		t.Error("a box on the sign-up page is ticked in advance")
	}
	if d := eval[string](t, jctx, `document.getElementById("join-disclosure").textContent`); d != disclosureV1 {
		t.Errorf("disclosure shown: %q", d)
	}
	if eval[bool](t, jctx, `!!document.getElementById("live")`) {
		t.Error("the public page carries the console's chrome")
	}
	// The browser itself refuses the unticked box (it is required) ...
	_ = eval[bool](t, jctx, `document.getElementById("join-consent").addEventListener("invalid", function () { window.sawInvalid = true }); true`)
	do(t, jctx, "sign up unticked", chromedp.SendKeys(chromedp.CSS("#join-number"), joinTyped),
		chromedp.Click(chromedp.CSS(`#join-form button[type=submit]`)))
	waitJS(t, jctx, "the browser's check of the box", `window.sawInvalid === true`)
	// ... and so does the server, for a browser that does not check.
	_ = eval[bool](t, jctx, `document.getElementById("join-form").noValidate = true`)
	do(t, jctx, "sign up unticked, unchecked by the browser", chromedp.Click(chromedp.CSS(`#join-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error[role=alert]`)))
	if msg := eval[string](t, jctx, `document.querySelector("p.error[role=alert]").textContent`); !strings.Contains(msg, "Tick the box") {
		t.Errorf("unticked sign-up: %q", msg)
	}
	if v := eval[string](t, jctx, `document.getElementById("join-number").value`); v != joinTyped {
		t.Errorf("the typed number was lost: %q", v)
	}
	if c, err := l.gw.Consent(joinNumber); err != nil || c.Marketing != gateway.MarketingNone {
		t.Fatalf("consent after an unticked sign-up: %+v %v", c, err)
	}
	do(t, jctx, "sign up", chromedp.Click(chromedp.CSS("#join-consent")), chromedp.Click(chromedp.CSS(`#join-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#join-sent")))
	// The gateway acts on the sign-up after the answer (issue 15, point 13).
	waitUntil(t, "the sign-up handled", func() bool {
		c, err := l.gw.Consent(joinNumber)
		return err == nil && c.Marketing == gateway.MarketingPending
	})
	evs, err := l.gw.ConsentEvents(joinNumber)
	if err != nil || len(evs) != 1 || evs[0].Type != "doi_request" || evs[0].Method != gateway.MethodWebForm ||
		evs[0].Source != joinSourceUnconfigured || evs[0].IP == "" || !strings.Contains(evs[0].UserAgent, "Chrome") || evs[0].DisclosureVersion != "v1" {
		t.Errorf("ledger after the sign-up: %+v %v", evs, err)
	}
	doi, _, err := l.gw.ContactMessages(joinNumber, 0, 10)
	if err != nil || len(doi) != 1 || doi[0].Kind != gateway.KindCompliance || !strings.Contains(doi[0].Text, "YES") {
		t.Errorf("double opt-in request: %+v %v", doi, err)
	}
	cancelJoin()

	// 5. "please stop texting me" from a subscriber lands in the review
	// queue; "Keep subscribed" takes it out.
	if err := l.net.Deliver(limaNumber, liveSimA, "please stop texting me"); err != nil {
		t.Fatal(err)
	}
	l.waitFor("the text in the review queue", func() bool {
		c, err := l.gw.Consent(limaNumber)
		return err == nil && c.Review
	})
	row := `#review tr[data-number="` + limaNumber + `"]`
	do(t, ctx, "review page", chromedp.Navigate(base+"/consent/review"), chromedp.WaitVisible(chromedp.CSS(row)))
	if txt := eval[string](t, ctx, `document.querySelector('`+row+` td.text').textContent`); txt != "please stop texting me" {
		t.Errorf("review row text: %q", txt)
	}
	do(t, ctx, "keep subscribed", chromedp.Click(chromedp.CSS(row+` button.secondary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)))
	if eval[int](t, ctx, `document.querySelectorAll('`+row+`').length`) != 0 {
		t.Error("the number is still listed after Keep subscribed")
	}
	if c, err := l.gw.Consent(limaNumber); err != nil || c.Review || c.Marketing != gateway.MarketingConfirmed {
		t.Errorf("consent after Keep subscribed: %+v %v", c, err)
	}

	// 6. A phone: none of the pages scrolls sideways.
	do(t, ctx, "phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	wantNoSideScroll(t, ctx, base, 375, "/contacts", "/contacts/import", "/consent/review", "/settings/compliance", "/join",
		"/contacts/"+strconv.FormatUint(lima.ID, 10), "/consent/"+limaNumber)
}

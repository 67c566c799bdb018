package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
)

// endlessCSV is a contacts file of n valid rows made as it is read, so an
// import of it is still running when a test cancels it.
type endlessCSV struct {
	n, i   int
	header bool
	unread []byte
}

func (e *endlessCSV) Read(p []byte) (int, error) {
	for len(e.unread) == 0 {
		switch {
		case !e.header:
			e.unread, e.header = []byte("phone,name\n"), true
		case e.i == e.n:
			return 0, io.EOF
		default:
			e.unread = fmt.Appendf(e.unread[:0], "+1%03d555%04d,Customer %d\n", 201+e.i/10000, e.i%10000, e.i)
			e.i++
		}
	}
	n := copy(p, e.unread)
	e.unread = e.unread[n:]
	return n, nil
}

// runningImport starts a large import and returns its id once it has
// written a batch; the limit is a hang guard.
func runningImport(t *testing.T, gw *gateway.Gateway) string {
	t.Helper()
	job, err := gw.Contacts().Import(context.Background(), &endlessCSV{n: 1_000_000}, contacts.ImportOptions{FileName: "big.csv"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = gw.Contacts().Cancel(context.Background(), job.ID, "cleanup") })
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		j, err := gw.Contacts().Job(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != contacts.ImportRunning {
			t.Fatalf("the import ended (%s) before the test could cancel it", j.State)
		}
		if j.Report.Imported > 0 {
			return job.ID
		}
		if time.Now().After(deadline) {
			t.Fatal("the import wrote nothing")
		}
	}
}

func TestCancelImportAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	id := runningImport(t, r.gw)
	target := "/api/v1/contacts/import/" + id + "/cancel"
	if w := r.do("POST", target, "", "Authorization", "-"); w.Code != http.StatusUnauthorized {
		t.Errorf("cancel without a token: %d, want 401", w.Code)
	}
	w := r.do("POST", target, "")
	if w.Code != http.StatusOK {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}
	var job contacts.ImportJob
	decodeBody(t, w, &job)
	n, _ := r.gw.Contacts().Count()
	if job.ID != id || job.State != contacts.ImportCancelled || job.Report.Imported == 0 || job.Report.Imported != n {
		t.Errorf("cancelled job %+v with %d contacts stored", job, n)
	}
	w = r.do("GET", "/api/v1/contacts/import/"+id, "")
	var got struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.State != "cancelled" {
		t.Errorf("GET after cancel: %s", w.Body)
	}
	if w := r.do("POST", target, ""); w.Code != http.StatusConflict || apiErr(t, w).Code != codeConflict {
		t.Errorf("second cancel: %d %s, want 409", w.Code, w.Body)
	}
	if w := r.do("POST", "/api/v1/contacts/import/nope/cancel", ""); w.Code != http.StatusNotFound {
		t.Errorf("cancel of an unknown job: %d %s, want 404", w.Code, w.Body)
	}
}

func TestCancelImportConsole(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	id := runningImport(t, c.gw)
	page := c.get("/contacts/import?job=" + id)
	wantBody(t, page, http.StatusOK, "Importing", `action="/contacts/import/cancel"`, `name="job" value="`+id+`"`, "Cancel import")
	form := url.Values{"job": {id}}

	// A form posted from another site is refused before anything else.
	q := httptest.NewRequest(http.MethodPost, "/contacts/import/cancel", strings.NewReader(form.Encode()))
	q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	q.Header.Set("Sec-Fetch-Site", "cross-site")
	q.AddCookie(c.cookie)
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, q)
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site cancel: %d, want 403", w.Code)
	}
	if j, _ := c.gw.Contacts().Job(id); j.State != contacts.ImportRunning {
		t.Fatalf("a refused cancel stopped the job: %s", j.State)
	}

	wantRedirect(t, c.post("/contacts/import/cancel", form), "/contacts/import?job="+url.QueryEscape(id))
	wantBody(t, c.get("/contacts/import?job="+id), http.StatusOK, "Cancelled", "were written and stay")
	if strings.Contains(c.get("/contacts/import?job="+id).Body.String(), "Cancel import") {
		t.Error("a cancelled job still offers to cancel it")
	}
	wantBody(t, c.post("/contacts/import/cancel", form), http.StatusConflict, "already ended", "Cancelled")
	wantBody(t, c.post("/contacts/import/cancel", url.Values{"job": {"nope"}}), http.StatusNotFound, "no longer in the list")
	wantBody(t, c.get("/contacts/import/status?job="+id), http.StatusOK, `"state":"cancelled"`)

	c.cookie = nil
	wantRedirect(t, c.post("/contacts/import/cancel", form), "/login")
}

// TestBrowserImportCancel: in a real browser, an open import page says
// "Cancelled" by itself when the job is cancelled elsewhere, and its
// "Cancel import" button stops a running job.
func TestBrowserImportCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium: skipped under -short")
	}
	t.Parallel()
	l := newLiveRig(t)
	ctx := newBrowser(t)
	base := l.srv.URL
	do(t, ctx, "log in",
		chromedp.Navigate(base+"/contacts/import"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#name"), testUser),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#import-form")),
	)
	stateIs := func(s string) string {
		return `(function(){var el = document.querySelector('#import-job [data-field="state"]'); return !!el && el.textContent === "` + s + `"})()`
	}

	id := runningImport(t, l.gw)
	do(t, ctx, "job page", chromedp.Navigate(base+"/contacts/import?job="+id), chromedp.WaitVisible(chromedp.CSS("#import-cancel")))
	waitJS(t, ctx, "websocket", `document.body.dataset.live === "1"`)
	waitJS(t, ctx, "running", stateIs("Importing…"))
	if _, err := l.gw.Contacts().Cancel(context.Background(), id, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	// The page reloads by itself (the script, on the job's last event)
	// into the cancelled job's report.
	do(t, ctx, "cancelled without a click", chromedp.WaitVisible(chromedp.CSS(`#import-job[data-state="cancelled"]`)))
	waitJS(t, ctx, "cancelled state", stateIs("Cancelled")+` && !document.getElementById("import-cancel")`)

	id = runningImport(t, l.gw)
	do(t, ctx, "second job page", chromedp.Navigate(base+"/contacts/import?job="+id), chromedp.WaitVisible(chromedp.CSS("#import-cancel")))
	do(t, ctx, "click cancel", chromedp.Click(chromedp.CSS("#import-cancel button")))
	do(t, ctx, "cancelled by the button", chromedp.WaitVisible(chromedp.CSS(`#import-job[data-state="cancelled"]`)))
	waitJS(t, ctx, "cancelled state", stateIs("Cancelled")+` && !document.getElementById("import-cancel")`)
	if j, err := l.gw.Contacts().Job(id); err != nil || j.State != contacts.ImportCancelled {
		t.Errorf("job after the button: %+v, %v", j, err)
	}
}

// TestImportTemplateStates renders the job page in each state: only a
// running job offers "Cancel import"; a job that stopped early says how
// and that its rows stay.
func TestImportTemplateStates(t *testing.T) {
	t.Parallel()
	s := newRig(t).h.(*server)
	now := time.Date(2025, 3, 14, 15, 4, 5, 0, time.UTC)
	job := func(state, errText string) *contacts.ImportJob {
		return &contacts.ImportJob{ID: "ab12", State: state, FileName: "shop.csv", RowsRead: 1000, BytesRead: 500, TotalBytes: 1000,
			Columns: map[string]string{"phone": "number"}, StartedAt: now, FinishedAt: now, Error: errText}
	}
	for _, tc := range []struct {
		job       *contacts.ImportJob
		want      []string
		cancel    bool
		progressV string
	}{
		{job(contacts.ImportRunning, ""), []string{"Importing…"}, true, `value="50"`},
		{job(contacts.ImportCancelled, ""), []string{"Cancelled", "were written and stay"}, false, `value="50"`},
		{job(contacts.ImportInterrupted, "the gateway stopped"), []string{"Interrupted: the gateway stopped", "were written and stay"}, false, `value="50"`},
		{job(contacts.ImportFailed, "line 4 is longer than 64 KiB"), []string{"Stopped: line 4 is longer than 64 KiB", "were written and stay"}, false, `value="100"`},
		{job(contacts.ImportDone, ""), []string{"Finished"}, false, `value="100"`},
	} {
		w := httptest.NewRecorder()
		if err := s.render(w, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "import", view{Title: "Import", Data: &importPageData{Job: tc.job}}); err != nil {
			t.Fatalf("%s: %v", tc.job.State, err)
		}
		body := w.Body.String()
		for _, want := range append(tc.want, tc.progressV) {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q", tc.job.State, want)
			}
		}
		if got := strings.Contains(body, "Cancel import"); got != tc.cancel {
			t.Errorf("%s: offers to cancel: %v, want %v", tc.job.State, got, tc.cancel)
		}
	}
}

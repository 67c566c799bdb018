package webui

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/shopevents"
)

// multipartBody builds a form with fields and a "file" part (last, so the
// server must not depend on the order).
func multipartBody(t testing.TB, fileName, content string, fields map[string]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", fileName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), mw.FormDataContentType()
}

// contactGets and contactPosts are the contact console routes.
var (
	contactGets  = []string{"/contacts", "/contacts/new", "/contacts/1", "/contacts/1/erase", "/contacts/import", "/contacts/import?job=x"}
	contactPosts = []string{"/contacts/new", "/contacts/1", "/contacts/1/erase", "/contacts/import"}
)

func TestContactPagesNeedLogin(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	if _, err := c.gw.Contacts().Create(context.Background(), contacts.Contact{Number: "+12015550101"}); err != nil {
		t.Fatal(err)
	}
	c.cookie = nil
	for _, p := range append(contactGets, "/contacts/1/export", "/contacts/export", "/contacts/import/rejected.csv?job=x", "/contacts/import/status?job=x") {
		loc := wantRedirect(t, c.get(p), "/login")
		if loc != "/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s → %s", p, loc)
		}
	}
	for _, p := range contactPosts {
		wantRedirect(t, c.post(p, url.Values{"number": {"+12015550102"}, "confirm": {"yes"}}), "/login")
	}
	if n, _ := c.gw.Contacts().Count(); n != 1 {
		t.Errorf("%d contacts after unauthenticated posts, want 1", n)
	}
}

func TestContactPostsRefuseCrossOrigin(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	if _, err := c.gw.Contacts().Create(context.Background(), contacts.Contact{Number: "+12015550101"}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"number": {"+12015550102"}, "name": {"x"}, "confirm": {"yes"}}
	for _, p := range contactPosts {
		for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
			w := c.page(http.MethodPost, p, form, hdr...)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "sent from another website") {
				t.Errorf("POST %s with %v: %d, want 403", p, hdr, w.Code)
			}
		}
	}
	if got, err := c.gw.Contacts().Get(1); err != nil || got.Name != "" {
		t.Errorf("contact after cross-origin posts: %+v, %v", got, err)
	}
	if n, _ := c.gw.Contacts().Count(); n != 1 {
		t.Errorf("%d contacts, want 1", n)
	}
}

func TestContactPagesNoInlineCode(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	ct, err := c.gw.Contacts().Create(context.Background(), contacts.Contact{Number: "+12015550101", Name: "Ana", Tags: []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	job := consoleImport(t, c, "phone\n+12015550102\nbad\n")
	for _, p := range []string{"/contacts", "/contacts/new", fmt.Sprintf("/contacts/%d", ct.ID), fmt.Sprintf("/contacts/%d/erase", ct.ID),
		"/contacts/import", "/contacts/import?job=" + job} {
		w := c.get(p)
		wantBody(t, w, http.StatusOK)
		if m := inlineCode.FindString(w.Body.String()); m != "" {
			t.Errorf("%s: inline code %q", p, m)
		}
		if w.Header().Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Errorf("%s: no CSP", p)
		}
	}
}

func TestContactConsoleCreateEditList(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	wantBody(t, c.get("/contacts"), http.StatusOK, "No contacts match.", "Add a contact")
	w := c.post("/contacts/new", url.Values{"number": {"201 555 0101"}, "name": {"Ana"}, "tags": {"VIP, summer"},
		"attributes": {"email = ana@example.com\nshoe_size=38"}})
	loc := wantRedirect(t, w, "/contacts/")
	wantBody(t, c.get(loc), http.StatusOK, "The contact is saved", "No consent recorded", "+12015550101", "ana@example.com", "America/New_York (from the number)")
	ct, err := c.gw.Contacts().ByNumber("+12015550101")
	if err != nil {
		t.Fatal(err)
	}
	if ct.Attributes["shoe_size"] != "38" || strings.Join(ct.Tags, ",") != "summer,vip" || ct.Source != "console" {
		t.Errorf("created %+v", ct)
	}
	// Bad input: the form comes back with the typed values and the reason.
	w = c.post("/contacts/new", url.Values{"number": {"+12015550102"}, "time_zone": {"Mars/Base"}, "name": {"Bo"}})
	wantBody(t, w, http.StatusBadRequest, "The time zone", "Mars/Base", `value="Bo"`, `aria-invalid="true"`)
	w = c.post("/contacts/new", url.Values{"number": {"+1 201 555 0101"}})
	wantBody(t, w, http.StatusBadRequest, fmt.Sprintf("already belongs to contact %d", ct.ID))
	w = c.post("/contacts/new", url.Values{"number": {"+12015550102"}, "attributes": {"no equals sign"}})
	wantBody(t, w, http.StatusBadRequest, "The other details line 1")

	// Edit: an empty time zone stays derived; a change is saved.
	p := fmt.Sprintf("/contacts/%d", ct.ID)
	wantRedirect(t, c.post(p, url.Values{"number": {ct.Number}, "name": {"Ana Lima"}, "tags": {"vip"}, "time_zone": {""}, "language": {"pt-br"}}), p)
	got, _ := c.gw.Contacts().Get(ct.ID)
	if got.Name != "Ana Lima" || got.Language != "pt-BR" || !got.TimeZoneDerived || len(got.Attributes) != 0 || len(got.Tags) != 1 {
		t.Errorf("edited %+v", got)
	}
	wantBody(t, c.post(p, url.Values{"number": {"nope"}}), http.StatusBadRequest, "The phone number")

	// List: search, tag filter, paging.
	for i := range defaultLimit + 1 {
		if _, err := c.gw.Contacts().Create(context.Background(), contacts.Contact{Number: fmt.Sprintf("+1201555%04d", 2000+i), Tags: []string{"bulk"}}); err != nil {
			t.Fatal(err)
		}
	}
	w = c.get("/contacts?q=lima")
	wantBody(t, w, http.StatusOK, "Ana Lima", "No marketing consent")
	if strings.Contains(w.Body.String(), "+12015552000") {
		t.Error("search for lima shows other contacts")
	}
	w = c.get("/contacts?tag=bulk")
	wantBody(t, w, http.StatusOK, "+12015552000", "Next page")
	if strings.Contains(w.Body.String(), "Ana Lima") {
		t.Error("tag filter shows an untagged contact")
	}
	next := regexpFind(t, w.Body.String(), `href="(/contacts\?after=[^"]+)"`)
	wantBody(t, c.get(strings.ReplaceAll(next, "&amp;", "&")), http.StatusOK, fmt.Sprintf("+1201555%04d", 2000+defaultLimit))
}

func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in %.2000s", pattern, s)
	}
	return m[1]
}

func TestContactConsoleEraseNeedsConfirmation(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	ctx := context.Background()
	ct, err := c.gw.Contacts().Create(ctx, contacts.Contact{Number: "+12015550101", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.gw.Submit(ctx, gateway.SubmitRequest{To: ct.Number, Text: "Your order is ready"}); err != nil {
		t.Fatal(err)
	}
	p := fmt.Sprintf("/contacts/%d", ct.ID)
	wantBody(t, c.get(p), http.StatusOK, "Download data (JSON)", p+"/erase", "Your order is ready")

	// The JSON download is one click (R-GDPR-1).
	w := c.get(p + "/export")
	wantBody(t, w, http.StatusOK, `"profile"`, `"consent_events"`, `"messages"`, "Your order is ready")
	if !strings.Contains(w.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("export is not a download: %v", w.Header())
	}

	wantBody(t, c.get(p+"/erase"), http.StatusOK, "Erase this person", "Yes, erase everything", `name="confirm" value="yes"`)
	// A POST without the confirmation only shows the confirmation.
	wantBody(t, c.post(p+"/erase", url.Values{}), http.StatusOK, "Yes, erase everything")
	if _, err := c.gw.Contacts().Get(ct.ID); err != nil {
		t.Fatalf("erased without confirmation: %v", err)
	}
	wantRedirect(t, c.post(p+"/erase", url.Values{"confirm": {"yes"}}), "/contacts?done=erased")
	if _, err := c.gw.Contacts().Get(ct.ID); err == nil {
		t.Error("contact still there after confirmed erasure")
	}
	wantBody(t, c.get("/contacts?done=erased"), http.StatusOK, "was erased")
	wantBody(t, c.get(p), http.StatusNotFound)
	wantBody(t, c.post("/contacts/new", url.Values{"number": {"+12015550101"}}), http.StatusBadRequest, "erased at its owner's request")
}

// consoleUpload uploads a file through the console form and returns the
// preview page it answers with.
func consoleUpload(t *testing.T, c *consoleRig, content string, fields ...string) *httptest.ResponseRecorder {
	t.Helper()
	f := map[string]string{}
	for i := 0; i+1 < len(fields); i += 2 {
		f[fields[i]] = fields[i+1]
	}
	body, ctype := multipartBody(t, "shop.csv", content, f)
	q := httptest.NewRequest(http.MethodPost, "/contacts/import", strings.NewReader(body))
	q.Header.Set("Content-Type", ctype)
	q.Header.Set("Sec-Fetch-Site", "same-origin")
	q.AddCookie(c.cookie)
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, q)
	return w
}

var (
	previewUpload   = regexp.MustCompile(`name="upload" value="([0-9a-f]+)"`)
	previewSelected = regexp.MustCompile(`name="use\.(\d+)">(?:<option value="[^"]*">[^<]*</option>)*<option value="([^"]*)" selected>`)
	previewConsent  = regexp.MustCompile(`id="preview-disclosure" name="disclosure_version" value="([^"]*)"`)
)

// confirmPreview submits a preview page as a person who accepts its
// choices would, with change overriding some (use.N → value).
func confirmPreview(t *testing.T, c *consoleRig, preview string, action string, change map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	m := previewUpload.FindStringSubmatch(preview)
	if m == nil {
		t.Fatalf("no upload id in the preview: %.2000s", preview)
	}
	form := url.Values{"upload": {m[1]}, "action": {action}}
	for _, sel := range previewSelected.FindAllStringSubmatch(preview, -1) {
		form.Set("use."+sel[1], sel[2])
	}
	if d := previewConsent.FindStringSubmatch(preview); d != nil {
		form.Set("disclosure_version", html.UnescapeString(d[1]))
	}
	for k, v := range change {
		form.Set(k, v)
	}
	return c.post("/contacts/import/confirm", form)
}

// consoleImport uploads a file through the console form, accepts the
// preview as it stands and returns the job id once the job ended.
func consoleImport(t *testing.T, c *consoleRig, content string, fields ...string) string {
	t.Helper()
	w := consoleUpload(t, c, content, fields...)
	wantBody(t, w, http.StatusOK, `id="import-preview"`)
	loc := wantRedirect(t, confirmPreview(t, c, w.Body.String(), "import", nil), "/contacts/import?job=")
	id := strings.TrimPrefix(loc, "/contacts/import?job=")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.gw.Contacts().Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestContactConsoleImport(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	wantBody(t, c.get("/contacts/import"), http.StatusOK, `enctype="multipart/form-data"`, "Column with the phone number")
	id := consoleImport(t, c, "Handy,Name\n+12015550101,Ana\nbad,Bo\n+12015550101,Ana again\n", "number_column", "Handy")
	w := c.get("/contacts/import?job=" + id)
	wantBody(t, w, http.StatusOK, "Finished", "Download rejected rows", "duplicate of row 2", "number: is not a phone number", "Handy → Phone number")
	if strings.Contains(w.Body.String(), `<progress id="import-progress" max="100">`) {
		t.Error("a finished job shows an indeterminate progress bar")
	}
	w = c.get("/contacts/import/rejected.csv?job=" + id)
	wantBody(t, w, http.StatusOK, "row,number,reason,Handy,Name", `3,bad,"number: is not a phone number: ""bad""",bad,Bo`, "duplicate of row 2")
	wantBody(t, c.get("/contacts/import/status?job="+id), http.StatusOK, `"state":"done"`)
	wantBody(t, c.get("/contacts/import?job=gone"), http.StatusNotFound, "no longer in the list")
	wantBody(t, c.get("/contacts/import"), http.StatusOK, "Recent imports", "shop.csv")

	// A consent column without a disclosure version is refused on the
	// preview, which keeps the file for a second try.
	w = consoleUpload(t, c, "phone,consent\n+12015550102,yes\n", "disclosure_version", "")
	wantBody(t, w, http.StatusOK, `id="import-preview"`)
	refused := confirmPreview(t, c, w.Body.String(), "import", map[string]string{"disclosure_version": ""})
	wantBody(t, refused, http.StatusBadRequest, "Name the consent text", `id="import-preview"`)
	if n, _ := c.gw.Contacts().Count(); n != 1 {
		t.Errorf("%d contacts after a refused import, want 1", n)
	}

	w = c.get("/contacts/export")
	wantBody(t, w, http.StatusOK, "number,name,time_zone", "+12015550101,Ana")
}

// contactFixtures are TestRenderEveryTemplate's data for the contact
// pages, filling every branch.
func contactFixtures(now time.Time, msgs []gateway.Message) map[string]view {
	c := contacts.Contact{ID: 7, Number: "+12015550123", Name: "<b>Ana</b>", Tags: []string{"vip"}, TimeZone: "America/New_York",
		TimeZoneDerived: true, Attributes: map[string]string{"email": "ana@example.com"}, Source: "import", CreatedAt: now, UpdatedAt: now}
	purged := msgs[0]
	purged.Text, purged.BodyPurged = "", true
	contactPage := &contactData{Contact: &c, Form: formFromContact(c), Marketing: "Marketing: yes", DerivedTZ: c.TimeZone,
		Messages: append([]gateway.Message{purged}, msgs...), Inbound: []gateway.Inbound{{ID: 1, From: c.Number, Text: "hi", ReceivedAt: now}},
		Events: []gateway.ConsentEvent{{ID: 1, Number: c.Number, At: now, Type: "opt_in", Purpose: "marketing", Method: "import",
			Source: "shop.csv", DisclosureVersion: "v1", Actor: "ana", Keyword: "JOIN", Note: "n"}}, FieldError: "name",
		ShopEvents: []shopevents.Event{{Seq: 2, Type: "order_placed", Source: "shopify", OccurredAt: now, OrderID: "1001", CheckoutID: "98", Total: 19900, Currency: "USD"},
			{Seq: 1, Type: "<script>alert(1)</script>", Source: "api", OccurredAt: now}}}
	running := contacts.ImportJob{ID: "ab12", State: contacts.ImportRunning, FileName: "shop.csv", RowsRead: 10, BytesRead: 50, TotalBytes: 100,
		Columns: map[string]string{"Mobile": "number"}, IgnoredColumns: []string{"City", "Zip"}, StartedAt: now}
	done := running
	done.State, done.FinishedAt = contacts.ImportDone, now
	done.Report = contacts.ImportReport{Imported: 5, Updated: 2, Invalid: 1, Suppressed: 1, ConsentKept: 1, RejectedTruncated: true,
		Rejected: []contacts.ImportRejection{{Row: 3, Number: "bad", Reason: "number: is not a phone number"}}}
	return map[string]view{
		"contacts": {Title: "Contacts", Notice: "saved", Data: &contactsData{Q: "a", Tag: "vip", Total: 1, Next: "/contacts?after=7",
			Rows: []contactRow{{Contact: c, Marketing: "Marketing: yes"}}}},
		"contact": {Title: "Ana", Error: "The name is too long.", Data: contactPage},
		"import":  {Title: "Import", Data: &importPageData{Job: &done, Jobs: []contacts.ImportJob{running, done}, Disclosure: "v1"}},
	}
}

// TestContactTemplatesEveryBranch renders the branches the shared
// fixtures leave out.
func TestContactTemplatesEveryBranch(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := r.h.(*server)
	now := time.Date(2025, 3, 14, 15, 4, 5, 0, time.UTC)
	f := contactFixtures(now, []gateway.Message{{ID: 2, To: "+12015550123", Text: "hello", Status: gateway.StatusSent, CreatedAt: now}})
	contact := f["contact"].Data.(*contactData)
	confirm := *contact
	confirm.Confirm = true
	imp := f["import"].Data.(*importPageData)
	running := imp.Jobs[0]
	for _, tc := range []struct {
		name string
		v    view
		want []string
	}{
		{"contacts", f["contacts"], []string{"&lt;b&gt;Ana&lt;/b&gt;", "Marketing: yes", "Next page", `href="/contacts?tag=vip"`}},
		{"contact", f["contact"], []string{"text removed after the retention period", "Agreed to marketing texts in an imported list (shop.csv)", "Download data (JSON)", `aria-invalid="true"`}},
		{"contact", view{Title: "Erase", Data: &confirm}, []string{"Yes, erase everything", "cannot be undone"}},
		{"contact", view{Title: "New", Data: &contactData{}}, []string{`action="/contacts/new"`}},
		{"import", f["import"], []string{"Finished", "Download rejected rows", "first 10,000", "Not imported: City, Zip", "Mobile → Phone number"}},
		{"import", view{Title: "Import", Data: &importPageData{Job: &running}}, []string{"Importing", `value="50"`, "Refresh"}},
		{"import", view{Title: "Import", Data: &importPageData{Jobs: imp.Jobs, Disclosure: "v1"}}, []string{"Recent imports", `value="v1"`, "multipart/form-data"}},
	} {
		w := httptest.NewRecorder()
		if err := s.render(w, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, tc.name, tc.v); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("%s (%s) lacks %q", tc.name, tc.v.Title, want)
			}
		}
		if m := inlineCode.FindString(w.Body.String()); m != "" {
			t.Errorf("%s: inline code %q", tc.name, m)
		}
	}
}

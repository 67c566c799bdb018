package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
)

// createContactAPI posts a contact and returns it, failing unless the
// answer is want.
func (r *rig) createContactAPI(body string, want int) contacts.Contact {
	r.t.Helper()
	w := r.do("POST", "/api/v1/contacts", body)
	if w.Code != want {
		r.t.Fatalf("POST contact %s: %d, want %d: %s", body, w.Code, want, w.Body)
	}
	var c contacts.Contact
	if want == http.StatusCreated {
		decodeBody(r.t, w, &c)
	}
	return c
}

func TestContactAPIValidationNamesTheField(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, tc := range []struct{ body, field string }{
		{`{"name":"Ana"}`, "number"},
		{`{"number":"not a phone"}`, "number"},
		{`{"number":"+12015550123","name":"` + strings.Repeat("n", 101) + `"}`, "name"},
		{`{"number":"+12015550123","tags":["ok",""]}`, "tags"},
		{`{"number":"+12015550123","time_zone":"Moon/Base"}`, "time_zone"},
		{`{"number":"+12015550123","language":"klingon!"}`, "language"},
		{`{"number":"+12015550123","attributes":{"Bad Key":"x"}}`, "attributes"},
		{`{"number":"+12015550123","attributes":{"note":"` + strings.Repeat("x", 501) + `"}}`, "attributes.note"},
		{`{"number":"+12015550123","colour":"red"}`, "colour"},
		{`{"number":12015550123}`, "number"},
	} {
		w := r.do("POST", "/api/v1/contacts", tc.body)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.body, w.Code)
			continue
		}
		if e := apiErr(t, w); e.Field != tc.field || e.Code != codeInvalidRequest {
			t.Errorf("%.60s: error %+v, want field %q", tc.body, e, tc.field)
		}
	}
	if w := r.do("GET", "/api/v1/contacts", ""); !strings.Contains(w.Body.String(), `"contacts":[]`) {
		t.Errorf("bad input stored contacts: %s", w.Body)
	}
}

func TestContactAPICrud(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	c := r.createContactAPI(`{"number":"(201) 555-0123","name":"Ana","tags":["VIP"],"attributes":{"email":"ana@example.com"},"language":"en-us"}`, http.StatusCreated)
	if c.ID == 0 || c.Number != "+12015550123" || c.Tags[0] != "vip" || c.Language != "en-US" || c.TimeZone != "America/New_York" || !c.TimeZoneDerived || c.Source != "api" {
		t.Fatalf("created %+v", c)
	}
	// The same number in another format is a conflict.
	w := r.do("POST", "/api/v1/contacts", `{"number":"+1 201 555 0123"}`)
	if w.Code != http.StatusConflict || apiErr(t, w).Code != codeConflict {
		t.Errorf("duplicate number: %d %s, want 409 conflict", w.Code, w.Body)
	}
	path := fmt.Sprintf("/api/v1/contacts/%d", c.ID)
	w = r.do("PATCH", path, `{"name":"Ana Lima"}`)
	var got contacts.Contact
	decodeBody(t, w, &got)
	if w.Code != http.StatusOK || got.Name != "Ana Lima" || got.Tags[0] != "vip" || got.Attributes["email"] != "ana@example.com" || got.Language != "en-US" {
		t.Errorf("PATCH name: %d %+v; the other fields must stay", w.Code, got)
	}
	w = r.do("PATCH", path, `{"time_zone":"Europe/Paris","tags":[]}`)
	decodeBody(t, w, &got)
	if got.TimeZone != "Europe/Paris" || got.TimeZoneDerived || len(got.Tags) != 0 || got.Name != "Ana Lima" {
		t.Errorf("PATCH zone and tags: %+v", got)
	}
	w = r.do("PATCH", path, `{"language":"!!"}`)
	if w.Code != http.StatusBadRequest || apiErr(t, w).Field != "language" {
		t.Errorf("PATCH bad language: %d %s", w.Code, w.Body)
	}
	w = r.do("GET", path, "")
	decodeBody(t, w, &got)
	if got.Language != "en-US" {
		t.Errorf("a refused PATCH changed the contact: %+v", got)
	}
	for _, p := range []string{"/api/v1/contacts/999", "/api/v1/contacts/abc", "/api/v1/contacts/0"} {
		if w := r.do("GET", p, ""); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	if w := r.do("GET", path, "", "Authorization", "-"); w.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", w.Code)
	}
	if w := r.do("DELETE", path, ""); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	if w := r.do("GET", path, ""); w.Code != http.StatusNotFound {
		t.Errorf("after DELETE: %d", w.Code)
	}
}

func TestContactAPIListFiltersAndCursor(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for i := range 7 {
		tags := `["retail"]`
		if i%2 == 0 {
			tags = `["vip","retail"]`
		}
		r.createContactAPI(fmt.Sprintf(`{"number":"+1201555%04d","name":"Customer %c","tags":%s}`, 100+i, 'A'+i, tags), http.StatusCreated)
	}
	list := func(q string) contactList {
		t.Helper()
		w := r.do("GET", "/api/v1/contacts"+q, "")
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", q, w.Code, w.Body)
		}
		var l contactList
		decodeBody(t, w, &l)
		return l
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := "?limit=3"
		if cursor != "" {
			q += "&after=" + cursor
		}
		l := list(q)
		if len(l.Contacts) > 3 || pages > 5 {
			t.Fatalf("page of %d (page %d)", len(l.Contacts), pages)
		}
		for _, c := range l.Contacts {
			seen = append(seen, c.Name)
		}
		if l.NextCursor == nil {
			break
		}
		cursor = *l.NextCursor
	}
	if strings.Join(seen, ",") != "Customer A,Customer B,Customer C,Customer D,Customer E,Customer F,Customer G" {
		t.Errorf("paging saw %v, want all 7 once, oldest first", seen)
	}
	if l := list("?tag=VIP"); len(l.Contacts) != 4 {
		t.Errorf("tag=vip: %d contacts, want 4", len(l.Contacts))
	}
	if l := list("?q=customer%20c"); len(l.Contacts) != 1 || l.Contacts[0].Name != "Customer C" {
		t.Errorf("q=customer c: %+v", l.Contacts)
	}
	if l := list("?q=5550103"); len(l.Contacts) != 1 || l.Contacts[0].Name != "Customer D" {
		t.Errorf("q by number: %+v", l.Contacts)
	}
	for q, field := range map[string]string{"?limit=0": "limit", "?limit=x": "limit", "?after=-1": "after"} {
		w := r.do("GET", "/api/v1/contacts"+q, "")
		if w.Code != http.StatusBadRequest || apiErr(t, w).Field != field {
			t.Errorf("GET %s: %d %s, want 400 naming %s", q, w.Code, w.Body, field)
		}
	}
}

// TestSubjectExportAndEraseAPI is R-GDPR-1 and R-GDPR-2 over the API.
func TestSubjectExportAndEraseAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	c := r.createContactAPI(`{"number":"+12015550123","name":"Ana"}`, http.StatusCreated)
	r.submit(`{"to":"+12015550123","text":"Your order is ready"}`, http.StatusAccepted)
	path := fmt.Sprintf("/api/v1/contacts/%d", c.ID)
	w := r.do("GET", path+"/export", "")
	if w.Code != http.StatusOK {
		t.Fatalf("export: %d %s", w.Code, w.Body)
	}
	var doc map[string]json.RawMessage
	decodeBody(t, w, &doc)
	for _, k := range []string{"profile", "consent", "consent_events", "messages", "inbound", "exported_at"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("export lacks %q: %s", k, w.Body)
		}
	}
	var v gateway.SubjectData
	decodeBody(t, w, &v)
	if v.Profile == nil || v.Profile.Name != "Ana" || len(v.Messages) != 1 || v.Messages[0].Text != "Your order is ready" || v.Consent.Marketing != "none" {
		t.Errorf("export %s", w.Body)
	}
	if w := r.do("GET", "/api/v1/contacts/999/export", ""); w.Code != http.StatusNotFound {
		t.Errorf("export of unknown contact: %d", w.Code)
	}
	if w := r.do("GET", path+"/nothing", ""); w.Code != http.StatusNotFound {
		t.Errorf("GET %s/nothing: %d, want 404", path, w.Code)
	}

	w = r.do("POST", path+"/erase", "")
	if w.Code != http.StatusOK {
		t.Fatalf("erase: %d %s", w.Code, w.Body)
	}
	var rep gateway.EraseReport
	decodeBody(t, w, &rep)
	if !rep.Contact || rep.Messages != 1 || rep.Hash == "" {
		t.Errorf("erase report %+v", rep)
	}
	if w := r.do("GET", path, ""); w.Code != http.StatusNotFound {
		t.Errorf("contact after erasure: %d", w.Code)
	}
	w = r.do("POST", "/api/v1/contacts", `{"number":"+12015550123"}`)
	if w.Code != http.StatusConflict || apiErr(t, w).Code != codeSuppressed {
		t.Errorf("create after erasure: %d %s, want 409 suppressed", w.Code, w.Body)
	}
}

// importCSV posts a CSV body and waits for the job to end.
func (r *rig) importCSV(query, body string) contacts.ImportJob {
	r.t.Helper()
	w := r.do("POST", "/api/v1/contacts/import"+query, body, "Content-Type", "text/csv")
	if w.Code != http.StatusAccepted {
		r.t.Fatalf("import: %d %s", w.Code, w.Body)
	}
	var job contacts.ImportJob
	decodeBody(r.t, w, &job)
	if loc := w.Header().Get("Location"); loc != "/api/v1/contacts/import/"+job.ID {
		r.t.Errorf("Location %q", loc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.gw.Contacts().Wait(ctx, job.ID); err != nil {
		r.t.Fatal(err)
	}
	w = r.do("GET", "/api/v1/contacts/import/"+job.ID, "")
	if w.Code != http.StatusOK {
		r.t.Fatalf("job: %d %s", w.Code, w.Body)
	}
	decodeBody(r.t, w, &job)
	return job
}

func TestContactImportAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	// An erased number, to come back as suppressed.
	gone := r.createContactAPI(`{"number":"+12015550199"}`, http.StatusCreated)
	if w := r.do("POST", fmt.Sprintf("/api/v1/contacts/%d/erase", gone.ID), ""); w.Code != http.StatusOK {
		t.Fatal(w.Body)
	}
	file := "Cell,Full Name,Groups\n" +
		"+12015550101,Ana,vip|summer\n" + // 2
		"oops,Bo,\n" + // 3 bad number
		"201-555-0101,Ana twice,\n" + // 4 duplicate
		"+12015550199,Erased,\n" + // 5 suppressed
		"+12015550102,Cy,\n" // 6
	job := r.importCSV("?file_name=shop.csv&map.Groups=tags", file)
	if job.State != contacts.ImportDone || job.FileName != "shop.csv" {
		t.Fatalf("job %+v", job)
	}
	rep := job.Report
	if rep.Imported != 2 || rep.Invalid != 2 || rep.Suppressed != 1 || len(rep.Rejected) != 3 {
		t.Fatalf("report %+v", rep)
	}
	want := map[int]string{3: "number", 4: "duplicate of row 2", 5: "suppressed: erased on request"}
	for _, rej := range rep.Rejected {
		if !strings.Contains(rej.Reason, want[rej.Row]) || want[rej.Row] == "" {
			t.Errorf("rejection %+v, want for row %d: %q", rej, rej.Row, want[rej.Row])
		}
	}
	w := r.do("GET", "/api/v1/contacts?tag=summer", "")
	if !strings.Contains(w.Body.String(), "+12015550101") {
		t.Errorf("mapped tags column not imported: %s", w.Body)
	}
	w = r.do("GET", "/api/v1/contacts/import/"+job.ID+"/rejected.csv", "")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(w.Body.String(), "row,number,reason,Cell,Full Name,Groups\n3,oops,\"number: is not a phone number: \"\"oops\"\"\",oops,Bo,\n") {
		t.Errorf("rejected.csv: %d %q", w.Code, w.Body)
	}
	if w := r.do("GET", "/api/v1/contacts/import/nope", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown job: %d", w.Code)
	}
	if w := r.do("GET", "/api/v1/contacts/import/nope/rejected.csv", ""); w.Code != http.StatusNotFound {
		t.Errorf("unknown job's rejected rows: %d", w.Code)
	}
}

func TestContactImportAPIRefusals(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, tc := range []struct {
		query, body, ctype string
		status             int
		field              string
	}{
		{"", "phone,consent\n+12015550101,yes\n", "text/csv", http.StatusBadRequest, "disclosure_version"},
		{"?disclosure_version=v7", "phone,consent\n+12015550101,yes\n", "text/csv", http.StatusBadRequest, "disclosure_version"},
		{"", "name\nAna\n", "text/csv", http.StatusBadRequest, "columns"},
		{"?map.name=shoe", "phone,name\n+12015550101,Ana\n", "text/csv", http.StatusBadRequest, "columns.name"},
		{"", "", "text/csv", http.StatusBadRequest, "file"},
		{"", `{"number":"+12015550101"}`, "application/json", http.StatusUnsupportedMediaType, ""},
	} {
		w := r.do("POST", "/api/v1/contacts/import"+tc.query, tc.body, "Content-Type", tc.ctype)
		if w.Code != tc.status {
			t.Errorf("%s %q: %d %s, want %d", tc.query, tc.body, w.Code, w.Body, tc.status)
			continue
		}
		if e := apiErr(t, w); e.Field != tc.field {
			t.Errorf("%s %q: field %q, want %q", tc.query, tc.body, e.Field, tc.field)
		}
	}
	if w := r.do("GET", "/api/v1/contacts", ""); !strings.Contains(w.Body.String(), `"contacts":[]`) {
		t.Errorf("refused imports stored contacts: %s", w.Body)
	}
}

// TestContactImportAPILargeStreamed sends 5,000 rows (well over the 64 KiB
// request limit, which must not apply to uploads) as a multipart form.
func TestContactImportAPILargeStreamed(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	var b strings.Builder
	b.WriteString("Mobile,Name\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "+1201%03d%04d,Customer %d\n", 200+i/10000, i%10000, i)
	}
	if b.Len() <= DefaultMaxBodyBytes {
		t.Fatalf("test file of %d bytes does not exceed the body limit", b.Len())
	}
	body, ctype := multipartBody(t, "big.csv", b.String(), map[string]string{"number_column": "Mobile"})
	q := httptest.NewRequest("POST", "/api/v1/contacts/import", strings.NewReader(body))
	q.Header.Set("Authorization", "Bearer "+r.token)
	q.Header.Set("Content-Type", ctype)
	w := r.serve(q)
	if w.Code != http.StatusAccepted {
		t.Fatalf("multipart import: %d %s", w.Code, w.Body)
	}
	var job contacts.ImportJob
	decodeBody(t, w, &job)
	if job.FileName != "big.csv" || job.TotalBytes != int64(b.Len()) {
		t.Errorf("job %+v", job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done, err := r.gw.Contacts().Wait(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Report.Imported != 5000 || done.RowsRead != 5000 || done.BytesRead != int64(b.Len()) {
		t.Errorf("finished job %+v", done)
	}
	if n, _ := r.gw.Contacts().Count(); n != 5000 {
		t.Errorf("%d contacts, want 5000", n)
	}
}

func TestContactExportAPI(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.createContactAPI(`{"number":"+12015550101","name":"=HYPERLINK(\"x\")","attributes":{"city":"Paris"}}`, http.StatusCreated)
	r.createContactAPI(`{"number":"+12015550102","name":"Bo","tags":["vip"]}`, http.StatusCreated)
	w := r.do("GET", "/api/v1/contacts/export", "")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", w.Code, w.Header())
	}
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if len(lines) != 3 || lines[0] != "number,name,time_zone,language,tags,marketing,created_at,attr:city" {
		t.Fatalf("export %q", lines)
	}
	if !strings.HasPrefix(lines[1], `+12015550101,"'=HYPERLINK(""x"")",America/New_York,,,none,`) || !strings.HasSuffix(lines[1], ",Paris") {
		t.Errorf("row 1 %q (formulas must be defused)", lines[1])
	}
	if !strings.Contains(lines[2], ",vip,none,") {
		t.Errorf("row 2 %q", lines[2])
	}
}

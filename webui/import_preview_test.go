package webui

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Import (issue 13 point 15): the upload shows how each column will be
// used before anything is written; a "Marketing OK" column the gateway
// would leave out is shown as left out, and chosen as consent it is used.
func TestImportPreviewShowsEveryColumn(t *testing.T) {
	c := newConsoleRig(t)
	openForMarketing(t, c.gw)
	file := "Mobile,Full Name,Marketing OK,Loyalty Card #\n+12015550123,Ana Lima,yes,A-17\n+12015550124,Bo,no,\n"
	w := consoleUpload(t, c, file)
	body := w.Body.String()
	wantBody(t, w, http.StatusOK, `id="import-preview"`, "Nothing is imported yet", "Ana Lima · Bo", `data-header="Marketing OK" class="left-out"`)
	if n, _ := c.gw.Contacts().Count(); n != 0 {
		t.Fatalf("%d contacts written by the preview", n)
	}
	for i, want := range map[int]string{0: "number", 1: "name", 2: "", 3: ""} {
		m := previewSelected.FindAllStringSubmatch(body, -1)
		if len(m) != 4 || m[i][2] != want {
			t.Fatalf("column %d preselected as %v, want %q", i, m, want)
		}
	}
	// "Check again" shows the new choices without importing.
	w = confirmPreview(t, c, body, "check", map[string]string{"use.2": "consent", "use.3": "keep"})
	wantBody(t, w, http.StatusOK, `id="import-preview"`)
	if strings.Contains(w.Body.String(), `class="left-out"`) {
		t.Error("a chosen column still shows as left out")
	}
	w = confirmPreview(t, c, w.Body.String(), "import", nil)
	loc := wantRedirect(t, w, "/contacts/import?job=")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := c.gw.Contacts().Wait(ctx, strings.TrimPrefix(loc, "/contacts/import?job="))
	if err != nil || job.Report.Imported != 2 {
		t.Fatalf("job %+v, %v", job, err)
	}
	ana, err := c.gw.Contacts().ByNumber("+12015550123")
	if err != nil || ana.Attributes["loyalty_card"] != "A-17" {
		t.Errorf("Ana: %+v, %v", ana, err)
	}
	if cons, _ := c.gw.Consent("+12015550123"); cons.Marketing != "confirmed" {
		t.Errorf("the consent column was not used: %+v", cons)
	}
	if cons, _ := c.gw.Consent("+12015550124"); cons.Marketing == "confirmed" {
		t.Error("a row saying no was opted in")
	}
	// The upload is gone once imported; cancel removes one too.
	wantBody(t, confirmPreview(t, c, body, "import", nil), http.StatusNotFound, "no longer waiting")
	w = consoleUpload(t, c, file)
	wantRedirect(t, confirmPreview(t, c, w.Body.String(), "cancel", nil), "/contacts/import")
	wantBody(t, confirmPreview(t, c, w.Body.String(), "import", nil), http.StatusNotFound, "no longer waiting")
}

package webui

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/store"
)

// seedShop stores n contacts (even ones tagged vip, every third without
// consent) and an order in the last week for the first half.
func seedShop(t *testing.T, db *store.DB, n int) {
	t.Helper()
	var rows []store.ContactUpsert
	var evs []store.ShopEvent
	for i := range n {
		number := fmt.Sprintf("+1212555%04d", i)
		row := store.ContactUpsert{Contact: store.Contact{Number: number, Name: fmt.Sprintf("Customer %d", i), TimeZone: "America/New_York"}}
		if i%2 == 0 {
			row.Contact.Tags = []string{"vip"}
		}
		if i == 2 {
			row.Contact.Name = "=cmd|' /C calc'!A0"
		}
		if i%3 != 0 {
			row.OptIn = &store.ConsentEvent{At: time.Now()}
		}
		rows = append(rows, row)
		if i < n/2 {
			evs = append(evs, store.ShopEvent{ID: fmt.Sprint("o", i), Source: "api", Type: "order_placed", Number: number,
				OrderID: fmt.Sprint(i), Total: 1000, Currency: "USD", OccurredAt: time.Now().Add(-24 * time.Hour)})
		}
	}
	if _, err := db.UpsertContacts(rows); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
}

const vipOrdered = `{"match":"all","rules":[{"field":"ordered","op":"within_days","days":90},{"field":"tag","op":"has","value":"vip"}]}`

func TestSegmentsAPI(t *testing.T) {
	r := newRig(t)
	seedShop(t, r.db, 12)
	// Contacts 0..5 ordered; of them 0, 2, 4 are vip; 0 has no consent.
	w := r.do("POST", "/api/v1/segments/preview", `{"definition":`+vipOrdered+`}`)
	var p segments.Preview
	decodeBody(t, w, &p)
	if w.Code != http.StatusOK || p.Matched != 3 || p.Count != 2 || p.LeftOut[segments.ReasonNoConsent] != 1 || len(p.Members) != 2 {
		t.Fatalf("preview: %d %+v", w.Code, p)
	}
	// Bad rules are refused naming the field; nothing is stored.
	w = r.do("POST", "/api/v1/segments", `{"name":"x","definition":{"rules":[{"field":"tag","op":"has","value":"a"},{"field":"shoe_size"}]}}`)
	if e := apiErr(t, w); w.Code != http.StatusBadRequest || e.Field != "definition.rules[1].field" {
		t.Fatalf("bad rule: %d %+v", w.Code, e)
	}
	w = r.do("POST", "/api/v1/segments/preview", `{"definition":{"rules":[{"field":"ordered","op":"within_days","days":"ninety"}]}}`)
	if e := apiErr(t, w); w.Code != http.StatusBadRequest || e.Field != "definition.rules[0].days" {
		t.Fatalf("bad preview: %d %+v", w.Code, e)
	}
	w = r.do("GET", "/api/v1/segments", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"segments":[]`) {
		t.Fatalf("list after refusals: %d %s", w.Code, w.Body)
	}
	// Create, read, update, export, delete.
	w = r.do("POST", "/api/v1/segments", `{"name":"VIP buyers","definition":`+vipOrdered+`}`)
	var seg segments.Segment
	decodeBody(t, w, &seg)
	if w.Code != http.StatusCreated || seg.ID == 0 || len(seg.Definition.Rules) != 2 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	path := fmt.Sprintf("/api/v1/segments/%d", seg.ID)
	w = r.do("PUT", path, `{"name":"VIPs","definition":`+vipOrdered+`}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"name":"VIPs"`) {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	w = r.do("GET", path+"/members.csv", "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %s", w.Code, w.Header())
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv rows %q, %v", rows, err)
	}
	if rows[2][1] != "+12125550002" || rows[2][2] != "'=cmd|' /C calc'!A0" || rows[1][5] != "none" {
		t.Errorf("csv %q", rows)
	}
	if w := r.do("GET", path+"/members.csv", "", "Authorization", "-"); w.Code != http.StatusUnauthorized {
		t.Errorf("csv without a token: %d", w.Code)
	}
	if w := r.do("DELETE", path, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if w := r.do("GET", path, ""); w.Code != http.StatusNotFound {
		t.Errorf("get after delete: %d", w.Code)
	}
}

// livePreview posts the editor's JSON to /segments/preview.
func livePreview(t *testing.T, c *consoleRig, body string) *httptest.ResponseRecorder {
	t.Helper()
	q := httptest.NewRequest(http.MethodPost, "/segments/preview", strings.NewReader(body))
	q.Header.Set("Content-Type", "application/json")
	q.AddCookie(c.cookie)
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, q)
	return w
}

func TestSegmentsConsole(t *testing.T) {
	c := newConsoleRig(t)
	seedShop(t, c.db, 12)
	wantBody(t, c.get("/segments"), http.StatusOK, "No segments yet", `href="/segments/new"`)
	wantBody(t, c.get("/segments/new"), http.StatusOK, `id="builder"`, `{&#34;match&#34;:&#34;all&#34;,&#34;rules&#34;:[]}`)
	// The live preview says who is left out, in words.
	wantBody(t, livePreview(t, c, `{"definition":`+vipOrdered+`}`), http.StatusOK,
		`"count":2`, `"matched":3`, `"words":"never agreed to marketing texts"`)
	wantBody(t, livePreview(t, c, `{"definition":{"rules":[{"field":"tag","op":"has"}]}}`), http.StatusBadRequest,
		`"error":"Rule 1: value must be a tag of 1 to 40 characters."`)
	// A bad save names the rule and keeps what was typed.
	w := c.post("/segments/new", url.Values{"name": {"VIP buyers"}, "definition": {`{"rules":[{"field":"ordered","op":"lately","days":9}]}`}, "action": {"save"}})
	wantBody(t, w, http.StatusBadRequest, "Rule 1: op must be one of", "lately")
	w = c.post("/segments/new", url.Values{"name": {"VIP buyers"}, "definition": {vipOrdered}, "action": {"save"}})
	loc := wantRedirect(t, w, "/segments/")
	wantBody(t, c.get(loc), http.StatusOK, "The segment is saved", `value="VIP buyers"`, `id="live-count">2</strong>`,
		"1 left out: never agreed to marketing texts", "+12125550002", "members.csv")
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/segments/")
	wantBody(t, c.get("/segments"), http.StatusOK, "VIP buyers", `data-segment="`+id+`"`)
	w = c.get("/segments/" + id + "/count")
	var p segments.Preview
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Count != 2 {
		t.Errorf("count: %s", w.Body)
	}
	wantBody(t, c.get("/segments/"+id+"/members.csv"), http.StatusOK, "contact_id,number,name")
	// A segment a campaign uses is not deleted.
	c.gw.Segments().SetInUse(func(uint64) (string, bool) { return "campaign 3", true })
	wantBody(t, c.post("/segments/"+id, url.Values{"action": {"delete"}}), http.StatusConflict, "cannot be deleted", "campaign 3")
	c.gw.Segments().SetInUse(func(uint64) (string, bool) { return "", false })
	wantRedirect(t, c.post("/segments/"+id, url.Values{"action": {"delete"}}), "/segments?done=deleted")
	wantBody(t, c.get("/segments"), http.StatusOK, "No segments yet")
	anon := &consoleRig{rig: c.rig}
	if w := anon.get("/segments"); w.Code != http.StatusSeeOther {
		t.Errorf("/segments without a session: %d", w.Code)
	}
	if w := c.page(http.MethodPost, "/segments/new", url.Values{"name": {"x"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); w.Code != http.StatusForbidden {
		t.Errorf("cross-site post: %d", w.Code)
	}
}

func TestSegmentFormErrorWords(t *testing.T) {
	for field, want := range map[string]string{
		"name":                               "The name must not be empty.",
		"definition":                         "The rules must not be empty.",
		"definition.match":                   "The rules' match must not be empty.",
		"definition.rules[2].days":           "Rule 3: days must not be empty.",
		"definition.rules[0].rules[1].field": "Rule 1, its rule 2: field must not be empty.",
		"definition.rules[1].values[0]":      "Rule 2: values[0] must not be empty.",
		"definition.rules[0]":                "Rule 1: must not be empty.",
	} {
		if got := segmentFormError(&store.FieldError{Field: field, Message: "must not be empty"}); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
}

// segmentFixtures fill every branch of the Segments pages for
// TestRenderEveryTemplate.
func segmentFixtures(now time.Time) map[string]view {
	p := withWords(segments.Preview{Matched: 3, Count: 1, LeftOut: map[string]int{segments.ReasonOptedOut: 2},
		Members: []segments.Member{{ContactID: 1, Number: "+12125550100", Name: "<b>Ana</b>", TimeZone: "America/New_York", Language: "es"}}})
	return map[string]view{
		"segments": {Title: "Segments", Notice: "The segment is saved.", Data: segmentsData{Segments: []segments.Segment{
			{ID: 1, Name: "<VIP>", Definition: segments.Definition{Match: "all"}, UpdatedAt: now}}}},
		"segment": {Title: "Segment: VIP", Error: "Rule 1: days must be a number.", Data: segmentEditData{ID: 1, Name: "VIP",
			Definition: vipOrdered, Preview: &p}},
	}
}

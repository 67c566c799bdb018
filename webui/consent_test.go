package webui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/store"
)

const (
	consentNumber = "+12125550101"
	disclosureV1  = "By signing up you agree to get recurring automated marketing texts from Rosa's Bakery, up to 4 msgs/month. " +
		"Consent is not a condition of purchase. Msg&data rates may apply. Reply HELP for help, STOP to cancel."
)

// openForConsent saves the settings a box needs before anyone can opt in.
func openForConsent(t *testing.T, r *rig) gateway.ComplianceSettings {
	t.Helper()
	s := r.gw.ComplianceSettings()
	s.Brand, s.Frequency, s.SupportContact = "Rosa's Bakery", "up to 4 msgs/month", "help@rosas.example"
	s.Disclosure = gateway.Disclosure{Version: "v1", Text: disclosureV1}
	if err := r.gw.SaveComplianceSettings(s, "test"); err != nil {
		t.Fatal(err)
	}
	return r.gw.ComplianceSettings()
}

type consentReply struct {
	Event *struct {
		ID             uint64 `json:"id"`
		Type           string `json:"type"`
		DisclosureText string `json:"disclosure_text"`
		IP             string `json:"ip"`
		MessageID      uint64 `json:"message_id"`
	} `json:"event"`
	Consent struct {
		Number    string `json:"number"`
		Marketing string `json:"marketing"`
		Review    bool   `json:"review"`
	} `json:"consent"`
}

func (r *rig) consentCall(method, target, body string, want int) consentReply {
	r.t.Helper()
	w := r.do(method, target, body)
	if w.Code != want {
		r.t.Fatalf("%s %s %s: got %d, want %d; %s", method, target, body, w.Code, want, w.Body)
	}
	var out consentReply
	decodeBody(r.t, w, &out)
	return out
}

// TestConsentAPIRequiresEvidence is R-OPTIN-1 through the API: a subscribe
// without disclosure_version or method is a 400 naming it; nothing is
// stored and no text is queued.
func TestConsentAPIRequiresEvidence(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	openForConsent(t, r)
	cases := []struct{ body, field string }{
		{`{"number":"+12125550101","method":"api","source":"crm"}`, "disclosure_version"},
		{`{"number":"+12125550101","source":"crm","disclosure_version":"v1"}`, "method"},
		{`{"number":"+12125550101","method":"api","disclosure_version":"v1"}`, "source"},
		{`{"number":"+12125550101","method":"api","source":"crm","disclosure_version":"v7"}`, "disclosure_version"},
		{`{"number":"+12125550101","method":"web_form","source":"https://x/join","disclosure_version":"v1"}`, "ip"},
		{`{"number":"nope","method":"api","source":"crm","disclosure_version":"v1"}`, "number"},
		{`{"number":"+12125550101","method":"api","source":"crm","disclosure_version":"v1","color":"red"}`, "color"},
	}
	for _, c := range cases {
		w := r.do("POST", "/api/v1/consent", c.body)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("%s: got %d, want 400; %s", c.body, w.Code, w.Body)
		}
		if e := apiErr(t, w); e.Field != c.field || e.Code != codeInvalidRequest {
			t.Errorf("%s: field %q code %q, want %q", c.body, e.Field, e.Code, c.field)
		}
	}
	if n := r.count(); n != 0 {
		t.Errorf("%d texts queued by refused opt-ins", n)
	}
	if evs, _ := r.gw.ConsentEvents(consentNumber); len(evs) != 0 {
		t.Errorf("refused opt-ins wrote %d ledger entries", len(evs))
	}
	if w := r.do("POST", "/api/v1/consent", `{}`, "Authorization", "-"); w.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", w.Code)
	}
}

func TestConsentAPIFlow(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	openForConsent(t, r)
	got := r.consentCall("POST", "/api/v1/consent", `{"number":"(212) 555-0101","method":"web_form","source":"https://rosas.example/join",
		"disclosure_version":"v1","ip":"203.0.113.9","user_agent":"Mozilla/5.0","cart_reminders":true}`, http.StatusCreated)
	if got.Event == nil || got.Event.Type != "opt_in" || got.Event.DisclosureText != disclosureV1 || got.Event.IP != "203.0.113.9" ||
		got.Event.MessageID == 0 || got.Consent.Marketing != "confirmed" || got.Consent.Number != consentNumber {
		t.Errorf("opt-in answer: %+v %+v", got.Event, got.Consent)
	}
	if n := r.count(); n != 1 {
		t.Errorf("%d texts queued, want the one confirmation", n)
	}

	// The state and the ledger, by number (escaped + or not).
	for _, target := range []string{"/api/v1/consent/%2B12125550101", "/api/v1/consent/+12125550101"} {
		w := r.do("GET", target, "")
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
		var ev struct {
			Consent     struct{ Marketing string }       `json:"consent"`
			Events      []struct{ Type string }          `json:"events"`
			Disclosures map[string]struct{ Text string } `json:"disclosures"`
		}
		decodeBody(t, w, &ev)
		if ev.Consent.Marketing != "confirmed" || len(ev.Events) != 1 || ev.Disclosures["v1"].Text != disclosureV1 {
			t.Errorf("GET %s: %+v", target, ev)
		}
	}
	if w := r.do("GET", "/api/v1/consent/12", ""); w.Code != http.StatusBadRequest {
		t.Errorf("GET a non-number: %d", w.Code)
	}

	// Opt-out, then a single opt-in is refused (409) but a double opt-in is not.
	got = r.consentCall("POST", "/api/v1/consent/opt-out", `{"number":"+12125550101","purpose":"all","note":"asked by phone"}`, http.StatusCreated)
	if got.Consent.Marketing != "opted_out" || got.Event.Type != "opt_out" {
		t.Errorf("opt-out answer: %+v", got)
	}
	w := r.do("POST", "/api/v1/consent", `{"number":"+12125550101","method":"api","source":"crm","disclosure_version":"v1"}`)
	if w.Code != http.StatusConflict {
		t.Errorf("single opt-in after opt-out: %d %s", w.Code, w.Body)
	}
	got = r.consentCall("POST", "/api/v1/consent", `{"number":"+12125550101","method":"api","source":"crm","disclosure_version":"v1","double_opt_in":true}`, http.StatusCreated)
	if got.Event.Type != "doi_request" || got.Consent.Marketing != "pending" {
		t.Errorf("double opt-in answer: %+v", got)
	}
	// Again within a day: nothing recorded, nothing sent, 200.
	got = r.consentCall("POST", "/api/v1/consent", `{"number":"+12125550101","method":"api","source":"crm","disclosure_version":"v1","double_opt_in":true}`, http.StatusOK)
	if got.Event != nil {
		t.Errorf("second request recorded: %+v", got.Event)
	}
	if w := r.do("POST", "/api/v1/consent/opt-out", `{"number":"+12125550101","purpose":"everything"}`); w.Code != http.StatusBadRequest || apiErr(t, w).Field != "purpose" {
		t.Errorf("bad purpose: %d %s", w.Code, w.Body)
	}
}

// flagForReview puts number in the review queue the way a text reading
// like an opt-out does (the store's own append, as the gateway uses it).
func flagForReview(t *testing.T, r *rig, number, text string, inbound uint64) {
	t.Helper()
	_, _, _, err := r.db.AppendConsent(store.ConsentEvent{Number: number, Type: "opt_out_review", Purpose: "marketing",
		Method: "keyword", InboundID: inbound}, func(c *store.Consent) error {
		c.Review, c.ReviewInboundID, c.ReviewText = true, inbound, text
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConsentAPIReview(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	openForConsent(t, r)
	flagForReview(t, r, consentNumber, "please stop texting me", 5)
	w := r.do("GET", "/api/v1/consent/review", "")
	var q struct {
		Review []struct {
			Number     string `json:"number"`
			ReviewText string `json:"review_text"`
		} `json:"review"`
	}
	decodeBody(t, w, &q)
	if len(q.Review) != 1 || q.Review[0].Number != consentNumber || q.Review[0].ReviewText != "please stop texting me" {
		t.Fatalf("review queue: %s", w.Body)
	}
	if w := r.do("POST", "/api/v1/consent/review/%2B12125550101", `{"decision":"later"}`); w.Code != http.StatusBadRequest || apiErr(t, w).Field != "decision" {
		t.Errorf("bad decision: %d %s", w.Code, w.Body)
	}
	got := r.consentCall("POST", "/api/v1/consent/review/%2B12125550101", `{"decision":"opt_out"}`, http.StatusOK)
	if got.Consent.Marketing != "opted_out" || got.Consent.Review {
		t.Errorf("after decision: %+v", got.Consent)
	}
	if w := r.do("POST", "/api/v1/consent/review/%2B12125550101", `{"decision":"keep"}`); w.Code != http.StatusConflict {
		t.Errorf("deciding a closed review: %d %s", w.Code, w.Body)
	}
}

// joinPost posts the sign-up form as a same-origin browser would.
func (c *consoleRig) joinPost(form url.Values, hdr ...string) *http.Response {
	c.t.Helper()
	h := append([]string{"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com", "User-Agent", "TestBrowser/1.0"}, hdr...)
	saved := c.cookie
	c.cookie = nil // a visitor, not a console user
	defer func() { c.cookie = saved }()
	return c.page(http.MethodPost, "/join", form, h...).Result()
}

func TestJoinClosedUntilSettings(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	c.cookie = nil
	wantBody(t, c.get("/join"), http.StatusOK, "not open yet")
	resp := c.joinPost(url.Values{"number": {consentNumber}, "consent": {"yes"}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("post to a closed sign-up: %d", resp.StatusCode)
	}
	if n := c.count(); n != 0 {
		t.Errorf("%d texts queued", n)
	}
}

// TestJoinStartsDoubleOptIn: the public page shows the brand, the
// disclosure and an unticked box; without the tick nothing happens; with
// it the number is pending and one request text is queued, with the
// configured page URL, address and browser on record; the cart box waits
// for the number's YES.
func TestJoinStartsDoubleOptIn(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t, func(c *Config) { c.PublicURL = "https://texts.rosas.example/" })
	openForConsent(t, c.rig)
	if _, err := c.gw.Flows().EnablePreset("abandoned_cart", flows.PresetOptions{}); err != nil {
		t.Fatal(err) // the cart box shows only while a cart flow runs
	}
	runGateway(t, c.gw)
	c.cookie = nil
	w := c.get("/join")
	wantBody(t, w, http.StatusOK, "Rosa's Bakery", disclosureV1, `name="consent"`)
	if strings.Contains(w.Body.String(), "checked") {
		t.Error("a box on the sign-up page is ticked in advance")
	}
	if w.Header().Get("Content-Security-Policy") == "" {
		t.Error("no CSP on the public page")
	}
	if strings.Contains(w.Body.String(), `name="challenge"`) {
		t.Error("a quiet sign-up page asks for a proof of work")
	}

	resp := c.joinPost(url.Values{"number": {consentNumber}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("without the tick: %d, want 400", resp.StatusCode)
	}
	resp = c.joinPost(url.Values{"number": {"12"}, "consent": {"yes"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad number: %d", resp.StatusCode)
	}

	resp = c.joinPost(url.Values{"number": {"(212) 555-0101"}, "consent": {"yes"}, "cart": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/join?sent=1" {
		t.Fatalf("sign-up: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantBody(t, c.get("/join?sent=1"), http.StatusOK, "reply YES")
	var con gateway.Consent
	waitUntil(t, "the sign-up handled", func() bool {
		var err error
		con, err = c.gw.Consent(consentNumber)
		return err == nil && con.Marketing == gateway.MarketingPending
	})
	if con.CartReminders || !con.PendingCartReminders {
		t.Errorf("consent after sign-up: %+v; want cart reminders asked for, not on before the YES", con)
	}
	evs, _ := c.gw.ConsentEvents(consentNumber)
	if len(evs) != 1 || evs[0].Type != "doi_request" || evs[0].Method != "web_form" || evs[0].Source != "https://texts.rosas.example/join" ||
		evs[0].IP != "192.0.2.1" || evs[0].UserAgent != "TestBrowser/1.0" || evs[0].DisclosureText != disclosureV1 {
		t.Errorf("ledger: %+v", evs)
	}
	msgs, _, err := c.gw.Messages(gateway.ListFilter{Limit: 10})
	if err != nil || len(msgs) != 1 || msgs[0].Kind != gateway.KindCompliance || !strings.Contains(msgs[0].Text, "YES") {
		t.Errorf("queued texts: %+v %v", msgs, err)
	}
}

// TestJoinRefusesCrossOriginAndFloods: a cross-site post is refused; one
// address signs up two numbers freely, then only with a solved proof of
// work, and after joinPerWindow in 15 minutes not at all.
func TestJoinRefusesCrossOriginAndFloods(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	openForConsent(t, c.rig)
	c.h.(*server).challenges.bits = 8 // the rule, not the cost, is under test
	runGateway(t, c.gw)
	resp := c.joinPost(url.Values{"number": {consentNumber}, "consent": {"yes"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", resp.StatusCode)
	}
	var codes, solved []int
	for i := 0; i < joinPerWindow+1; i++ {
		form := url.Values{"number": {"+1212555020" + string(rune('0'+i))}, "consent": {"yes"}}
		resp := c.joinPost(form)
		if resp.StatusCode == http.StatusTooManyRequests {
			// The refusal carries a fresh challenge: solved, it counts.
			ch := challengeIn(t, resp)
			if ch != "" {
				form.Set("challenge", ch)
				form.Set("nonce", solveChallenge(ch, 8))
				resp = c.joinPost(form)
				solved = append(solved, i)
			}
		}
		codes = append(codes, resp.StatusCode)
	}
	want := []int{303, 303, 303, 303, 303, 429}
	if !slices.Equal(codes, want) {
		t.Errorf("statuses %v, want %v", codes, want)
	}
	if !slices.Equal(solved, []int{2, 3, 4}) {
		t.Errorf("a challenge was asked for sign-ups %v, want from the third (2, 3, 4)", solved)
	}
	waitUntil(t, "the five requests queued", func() bool { return c.count() == joinPerWindow })
}

func TestConsentConsolePagesNeedLoginAndCSRF(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	openForConsent(t, c.rig)
	flagForReview(t, c.rig, consentNumber, "stop please", 9)
	saved := c.cookie
	c.cookie = nil
	for _, p := range []string{"/consent/review", "/settings/compliance", "/consent/+12125550101", "/consent/+12125550101.json"} {
		wantRedirect(t, c.get(p), "/login")
	}
	for _, p := range []string{"/consent/review/+12125550101", "/settings/compliance"} {
		wantRedirect(t, c.post(p, url.Values{"decision": {"opt_out"}, "brand": {"X"}}), "/login")
	}
	c.cookie = saved
	for _, p := range []string{"/consent/review/+12125550101", "/settings/compliance"} {
		w := c.page(http.MethodPost, p, url.Values{"decision": {"opt_out"}, "brand": {"Evil"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if w.Code != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", p, w.Code)
		}
	}
	if con, _ := c.gw.Consent(consentNumber); !con.Review {
		t.Error("a cross-site post resolved the review")
	}
	if s := c.gw.ComplianceSettings(); s.Brand != "Rosa's Bakery" {
		t.Error("a cross-site post changed the settings")
	}
}

func TestReviewPage(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	openForConsent(t, c.rig)
	flagForReview(t, c.rig, consentNumber, "please stop texting me", 9)
	flagForReview(t, c.rig, "+12125550102", "no más", 10)
	wantBody(t, c.get("/consent/review"), http.StatusOK, "please stop texting me", "no más", "Opt out", "Keep subscribed",
		`action="/consent/review/+12125550101"`)
	wantRedirect(t, c.post("/consent/review/+12125550101", url.Values{"decision": {"opt_out"}}), "/consent/review?done=opt_out")
	wantRedirect(t, c.post("/consent/review/+12125550102", url.Values{"decision": {"keep"}}), "/consent/review?done=keep")
	w := c.get("/consent/review?done=keep")
	wantBody(t, w, http.StatusOK, "Nothing to review", "stays subscribed")
	if con, _ := c.gw.Consent(consentNumber); con.Marketing != gateway.MarketingOptedOut || !con.OptedOutAll {
		t.Errorf("after Opt out: %+v", con)
	}
	if con, _ := c.gw.Consent("+12125550102"); con.Review {
		t.Errorf("after Keep: %+v", con)
	}
	if w := c.post("/consent/review/+12125550102", url.Values{"decision": {"keep"}}); w.Code != http.StatusConflict {
		t.Errorf("deciding twice: %d", w.Code)
	}
	if w := c.post("/consent/review/+12125550102", url.Values{"decision": {"maybe"}}); w.Code != http.StatusBadRequest {
		t.Errorf("bad decision: %d", w.Code)
	}
}

func TestEvidencePage(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	openForConsent(t, c.rig)
	r := c.rig
	r.consentCall("POST", "/api/v1/consent", `{"number":"+12125550101","method":"pos","source":"till 1","terminal":"T-7","disclosure_version":"v1"}`, http.StatusCreated)
	w := c.get("/consent/+12125550101")
	wantBody(t, w, http.StatusOK, "opt_in", "pos", "till 1", "T-7", "version v1", disclosureV1, "/messages/")
	w = c.get("/consent/%2B12125550101.json")
	if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("JSON download: %d %v", w.Code, w.Header())
	}
	var ev struct {
		Number string `json:"number"`
		Events []struct {
			Terminal string `json:"terminal"`
		} `json:"events"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &ev); err != nil || ev.Number != consentNumber || len(ev.Events) != 1 || ev.Events[0].Terminal != "T-7" {
		t.Errorf("JSON evidence: %v %s", err, w.Body)
	}
	wantBody(t, c.get("/consent/+12125550199"), http.StatusOK, "No consent recorded")
	if w := c.get("/consent/12"); w.Code != http.StatusNotFound {
		t.Errorf("non-number: %d", w.Code)
	}
}

func complianceValues(s gateway.ComplianceSettings) url.Values {
	return url.Values{
		"brand": {s.Brand}, "support_contact": {s.SupportContact}, "frequency": {s.Frequency},
		"terms_url": {""}, "privacy_url": {""},
		"disclosure_version": {s.Disclosure.Version}, "disclosure_text": {s.Disclosure.Text}, "join_keyword": {s.JoinKeyword},
		"reply_opt_in": {s.Replies.OptInConfirmation}, "reply_doi": {s.Replies.DoubleOptInRequest},
		"reply_opt_out": {s.Replies.OptOutConfirmation}, "reply_help": {s.Replies.Help},
		"quiet_default": {"08:00-21:00"}, "quiet_strict": {"08:00-20:00"}, "quiet_countries": {"FR 08:00-22:00\n de 09:00-20:00\n"},
		"marketing_per_24h": {"2"}, "body_retention_days": {"90"},
	}
}

func TestCompliancePageSaves(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	s := openForConsent(t, c.rig)
	wantBody(t, c.get("/settings/compliance"), http.StatusOK, `value="Rosa&#39;s Bakery"`, "08:00-21:00", "{brand}")
	f := complianceValues(s)
	f.Set("brand", "Rosa's")
	wantRedirect(t, c.post("/settings/compliance", f), "/settings/compliance?done=saved")
	got := c.gw.ComplianceSettings()
	if got.Brand != "Rosa's" || got.MarketingPer24h != 2 || got.BodyRetentionDays != 90 ||
		got.QuietCountries["FR"].String() != "08:00-22:00" || got.QuietCountries["DE"].String() != "09:00-20:00" || got.UpdatedBy != testUser {
		t.Errorf("saved settings: %+v", got)
	}
	wantBody(t, c.get("/settings/compliance?done=saved"), http.StatusOK, "Saved", "FR 08:00-22:00")
}

// TestCompliancePageRefusesBadInput: each bad field shows its message next
// to the field and nothing is saved.
func TestCompliancePageRefusesBadInput(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	s := openForConsent(t, c.rig)
	before := c.gw.ComplianceSettings()
	cases := []struct {
		field, value, want string
		input              string // where the message shows; "" = field
	}{
		{"brand", "", "required", ""},
		{"quiet_default", "8am-9pm", "not a window", ""},
		{"quiet_strict", "21:00-08:00", "start before end", ""},
		{"quiet_countries", "France 08:00-22:00", "two-letter", ""},
		{"quiet_countries", "FR", "country code and a window", ""},
		{"marketing_per_24h", "5", "1 to 3", ""},
		{"marketing_per_24h", "one", "whole number", ""},
		{"body_retention_days", "3", "at least", ""},
		{"reply_opt_in", "{brand}: welcome!", "recurring", ""},
		{"reply_opt_out", "{brand}: no more texts. 20% off next time!", "marketing", ""},
		{"reply_help", "{brand}: call us. Msg&data rates may apply. STOP to end.", "support", ""},
		{"disclosure_text", "changed text for the same version, long enough to pass the length check", "new version", "disclosure_version"},
	}
	for _, tc := range cases {
		f := complianceValues(s)
		f.Set(tc.field, tc.value)
		w := c.post("/settings/compliance", f)
		wantBody(t, w, http.StatusBadRequest, "Nothing was saved", tc.want)
		// The message sits right after the field it is about.
		body := w.Body.String()
		input := tc.input
		if input == "" {
			input = tc.field
		}
		at := strings.Index(body, `name="`+input+`"`)
		errAt := strings.Index(body, `<p class="error">`)
		if at < 0 || errAt < at {
			t.Errorf("%s: the error is not shown after the field %s", tc.field, input)
		}
		if got := c.gw.ComplianceSettings(); got.UpdatedAt != before.UpdatedAt {
			t.Fatalf("%s=%q: settings were saved", tc.field, tc.value)
		}
	}
}

// consentFixtures fill every branch of the consent pages for
// TestRenderEveryTemplate (render_test.go).
func consentFixtures(now time.Time) map[string]view {
	ev := gateway.Evidence{Number: consentNumber, ExportedAt: now,
		Consent: gateway.Consent{Number: consentNumber, Marketing: gateway.MarketingOptedOut, OptedOutAll: true, Review: true,
			CartReminders: true, ConfirmedAt: now},
		Events: []gateway.ConsentEvent{
			{ID: 1, Number: consentNumber, At: now, TimeZone: "America/New_York", Type: "doi_request", Purpose: "marketing",
				Method: "web_form", Source: "https://rosas.example/join", DisclosureVersion: "v1", DisclosureText: "<b>disclosure</b>",
				IP: "203.0.113.9", UserAgent: "Mozilla/5.0", MessageID: 4},
			{ID: 2, Number: consentNumber, At: now, Type: "opt_out", Purpose: "all", Method: "keyword", Keyword: "STOP",
				InboundID: 9, Terminal: "T-1", Actor: "ana", Note: "texted to sim1"},
		}}
	form := newComplianceForm(gateway.ComplianceSettings{Brand: "Rosa's", QuietCountries: map[string]gateway.Window{"FR": {Start: 480, End: 1320}}})
	form.Errors = map[string]string{"brand": "is required", "reply_help": "must contain STOP"}
	return map[string]view{
		"join": {Title: "Get texts", Error: "Tick the box.", Data: joinData{Brand: "Rosa's", Disclosure: "<b>disclosure</b>",
			Frequency: "4/month", TermsURL: "https://rosas.example/terms", PrivacyURL: "https://rosas.example/privacy", Number: "+1", Cart: true}},
		"review":     {Title: "Opt-out review", Notice: "Done.", Data: []reviewRow{{Number: consentNumber, Text: "<script>alert(1)</script>", ReceivedAt: now}}},
		"evidence":   {Title: "Consent", Data: ev},
		"compliance": {Title: "Compliance", Error: "Nothing was saved", Data: form},
	}
}

// Every problem is reported on one save, each next to its field, not only
// the first (issue 13 point 14).
func TestCompliancePageReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := newConsoleRig(t)
	s := openForConsent(t, c.rig)
	f := complianceValues(s)
	f.Set("quiet_default", "8am-9pm")
	f.Set("marketing_per_24h", "5")
	f.Set("reply_help", "{brand}: call us. Msg&data rates may apply. STOP to end.")
	f.Set("body_retention_days", "3")
	w := c.post("/settings/compliance", f)
	wantBody(t, w, http.StatusBadRequest, "Nothing was saved: 4 things to fix, marked below.",
		"not a window", "This must be 1 to 3", "support contact", "This must be 0 (keep) or at least")
	if n := strings.Count(w.Body.String(), `<p class="error">`); n != 4 {
		t.Errorf("%d field errors shown, want 4", n)
	}
	if strings.Contains(w.Body.String(), "replies.help") {
		t.Error("the page names the API field instead of the form's")
	}
}

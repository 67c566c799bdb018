package webui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
)

// twilioRig is a rig with a Twilio account.
type twilioRig struct {
	*rig
	sid, auth string
}

func newTwilioRig(t *testing.T, marketing bool) *twilioRig {
	r := newRig(t)
	auth, tok, err := r.gw.Access().CreateTokenWith("twilio", access.TokenOptions{Twilio: true, Marketing: marketing})
	if err != nil {
		t.Fatal(err)
	}
	return &twilioRig{rig: r, sid: tok.TwilioSID, auth: auth}
}

func (r *twilioRig) call(method, path string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	var q *http.Request
	if form != nil {
		q = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		q = httptest.NewRequest(method, path, nil)
	}
	q.SetBasicAuth(r.sid, r.auth)
	for i := 0; i+1 < len(hdr); i += 2 {
		q.Header.Set(hdr[i], hdr[i+1])
	}
	return r.serve(q)
}

func (r *twilioRig) messagesPath() string { return "/2010-04-01/Accounts/" + r.sid + "/Messages.json" }

func decodeTwilio[T any](t *testing.T, w *httptest.ResponseRecorder, want int) T {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
	}
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	return v
}

var reMessageSID = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func TestTwilioCreateFetch(t *testing.T) {
	r := newTwilioRig(t, false)
	w := r.call("POST", r.messagesPath(), url.Values{"To": {"+12015550123"}, "From": {"+12015550100"},
		"Body": {"Your order #7 shipped"}, "ValidityPeriod": {"600"}})
	raw := decodeTwilio[map[string]any](t, w, http.StatusCreated)
	if !reMessageSID.MatchString(raw["sid"].(string)) {
		t.Fatalf("sid %v", raw["sid"])
	}
	for k, want := range map[string]any{"status": "queued", "num_segments": "1", "num_media": "0", "to": "+12015550123",
		"from": "+12015550100", "body": "Your order #7 shipped", "account_sid": r.sid, "api_version": "2010-04-01",
		"direction": "outbound-api", "error_code": nil, "date_sent": nil, "price": nil,
		"uri": "/2010-04-01/Accounts/" + r.sid + "/Messages/" + raw["sid"].(string) + ".json"} {
		if raw[k] != want {
			t.Errorf("%s = %#v, want %#v", k, raw[k], want)
		}
	}
	created, err := time.Parse(time.RFC1123Z, raw["date_created"].(string))
	if err != nil || time.Since(created) > time.Hour {
		t.Errorf("date_created %v is not RFC 2822 now: %v", raw["date_created"], err)
	}

	// The text is in the outbox as the native API would have put it:
	// transactional, expiring with the validity period.
	msgs, _, err := r.gw.Messages(gateway.ListFilter{Limit: 10})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("outbox holds %d texts, %v", len(msgs), err)
	}
	m := msgs[0]
	if m.Kind != gateway.KindTransactional || m.ExpiresAt == nil || (m.ExpiresAt.Sub(m.CreatedAt)-10*time.Minute).Abs() > time.Second {
		t.Errorf("stored %+v", m)
	}

	got := decodeTwilio[twilioMessage](t, r.call("GET", "/2010-04-01/Accounts/"+r.sid+"/Messages/"+raw["sid"].(string)+".json", nil), http.StatusOK)
	if got.SID != raw["sid"] || got.Body != "Your order #7 shipped" || got.Status != "queued" {
		t.Errorf("fetched %+v", got)
	}
	e := decodeTwilio[twilioError](t, r.call("GET", "/2010-04-01/Accounts/"+r.sid+"/Messages/SM"+strings.Repeat("0", 31)+"9.json", nil), http.StatusNotFound)
	if e.Code != 20404 || e.Status != 404 {
		t.Errorf("unknown sid: %+v", e)
	}
}

func TestTwilioErrors(t *testing.T) {
	r := newTwilioRig(t, false)
	if _, _, err := r.gw.OptOut(context.Background(), gateway.OptOutRequest{Number: "+12015550199", Purpose: gateway.PurposeAll,
		Method: gateway.MethodConsole, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		code   int
	}{
		"invalid To":   {url.Values{"To": {"12345"}, "Body": {"hi"}}, 400, 21211},
		"missing To":   {url.Values{"Body": {"hi"}}, 400, 21604},
		"empty Body":   {url.Values{"To": {"+12015550123"}, "Body": {"  "}}, 400, 21602},
		"unsubscribed": {url.Values{"To": {"+12015550199"}, "Body": {"hi"}}, 400, 21610},
		"validity":     {url.Values{"To": {"+12015550123"}, "Body": {"hi"}, "ValidityPeriod": {"36001"}}, 400, 21624},
		"too long":     {url.Values{"To": {"+12015550123"}, "Body": {strings.Repeat("x", 160*20)}}, 400, 21617},
	} {
		e := decodeTwilio[twilioError](t, r.call("POST", r.messagesPath(), tc.form), tc.status)
		if e.Code != tc.code || e.Status != tc.status || e.MoreInfo != "https://www.twilio.com/docs/errors/"+strconv.Itoa(tc.code) || e.Message == "" {
			t.Errorf("%s: %+v, want code %d", name, e, tc.code)
		}
	}
	if n := r.count(); n != 0 {
		t.Errorf("refused requests stored %d texts", n)
	}

	// Credentials: none, wrong, another account's path, a bearer token.
	form := url.Values{"To": {"+12015550123"}, "Body": {"hi"}}
	for name, q := range map[string]*http.Request{
		"none":         httptest.NewRequest("POST", r.messagesPath(), strings.NewReader(form.Encode())),
		"wrong secret": withBasic(httptest.NewRequest("POST", r.messagesPath(), strings.NewReader(form.Encode())), r.sid, strings.Repeat("a", 32)),
		"other path": withBasic(httptest.NewRequest("POST", "/2010-04-01/Accounts/AC"+strings.Repeat("1", 32)+"/Messages.json",
			strings.NewReader(form.Encode())), r.sid, r.auth),
		"bearer token": withBasic(httptest.NewRequest("POST", r.messagesPath(), strings.NewReader(form.Encode())), r.sid, r.token),
	} {
		q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := r.serve(q)
		e := decodeTwilio[twilioError](t, w, http.StatusUnauthorized)
		if e.Code != 20003 || w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %+v %v", name, e, w.Header())
		}
	}
	if n := r.count(); n != 0 {
		t.Errorf("unauthenticated requests stored %d texts", n)
	}
}

func withBasic(q *http.Request, user, pass string) *http.Request {
	q.SetBasicAuth(user, pass)
	return q
}

// Twilio's list pages: following next_page_uri from the first page visits
// every text once, newest first, and the last page has none.
func TestTwilioListPages(t *testing.T) {
	r := newTwilioRig(t, false)
	var sids []string
	for i := 0; i < 5; i++ {
		m := decodeTwilio[twilioMessage](t, r.call("POST", r.messagesPath(), url.Values{"To": {"+12015550123"}, "Body": {"text " + strconv.Itoa(i)}}), http.StatusCreated)
		sids = append([]string{m.SID}, sids...)
	}
	var seen []string
	next := r.messagesPath() + "?PageSize=2"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("the pages never end")
		}
		p := decodeTwilio[twilioMessagePage](t, r.call("GET", next, nil), http.StatusOK)
		if p.PageSize != 2 || p.Page != pages || p.Start != pages*2 || !strings.HasPrefix(p.FirstPageURI, r.messagesPath()) {
			t.Errorf("page %d: %+v", pages, p)
		}
		for _, m := range p.Messages {
			seen = append(seen, m.SID)
		}
		next = ""
		if p.NextPageURI != nil {
			next = *p.NextPageURI
		}
	}
	if strings.Join(seen, ",") != strings.Join(sids, ",") {
		t.Errorf("pages gave %v, want %v", seen, sids)
	}
	if e := decodeTwilio[twilioError](t, r.call("GET", r.messagesPath()+"?To=%2B12015550123", nil), http.StatusBadRequest); e.Code != 400 {
		t.Errorf("a filter: %+v", e)
	}
}

// One Idempotency-Key is one text, as on the native API.
func TestTwilioIdempotency(t *testing.T) {
	r := newTwilioRig(t, false)
	form := url.Values{"To": {"+12015550123"}, "Body": {"Hi"}}
	a := decodeTwilio[twilioMessage](t, r.call("POST", r.messagesPath(), form, "Idempotency-Key", "k1"), http.StatusCreated)
	w := r.call("POST", r.messagesPath(), form, "Idempotency-Key", "k1")
	b := decodeTwilio[twilioMessage](t, w, http.StatusOK)
	if a.SID != b.SID || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay gave %s after %s", b.SID, a.SID)
	}
	form.Set("Body", "Another text")
	if e := decodeTwilio[twilioError](t, r.call("POST", r.messagesPath(), form, "Idempotency-Key", "k1"), http.StatusUnprocessableEntity); e.Code == 0 {
		t.Errorf("key reused for another text: %+v", e)
	}
	if n := r.count(); n != 1 {
		t.Errorf("%d texts stored, want 1", n)
	}
}

// A token marked for marketing submits marketing: the guard wants consent,
// which this number never gave, so Twilio's route refuses with 21610; the
// same request on an unmarked token is a transactional text and goes.
func TestTwilioMarketingToken(t *testing.T) {
	form := url.Values{"To": {"+12015550123"}, "Body": {"Hi"}}
	m := newTwilioRig(t, true)
	if e := decodeTwilio[twilioError](t, m.call("POST", m.messagesPath(), form), http.StatusBadRequest); e.Code != 21610 {
		t.Errorf("marketing without consent: %+v", e)
	}
	tr := newTwilioRig(t, false)
	decodeTwilio[twilioMessage](t, tr.call("POST", tr.messagesPath(), form), http.StatusCreated)
}

func TestKannelSendSMS(t *testing.T) {
	r := newRig(t)
	base := "/cgi-bin/sendsms?username=test&password=" + url.QueryEscape(r.token)
	kannel := func(method, target, body string) (int, string) {
		var q *http.Request
		if body != "" {
			q = httptest.NewRequest(method, target, strings.NewReader(body))
			q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			q = httptest.NewRequest(method, target, nil)
		}
		w := r.serve(q)
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	// The manual's GET, with a dlr-url and mask.
	code, body := kannel("GET", base+"&to=%2B12015550123&text=Hello+world&dlr-mask=31&dlr-url="+
		url.QueryEscape("http://shop.example/dlr?id=7&status=%d"), "")
	if code != http.StatusAccepted || body != "0: Accepted for delivery" {
		t.Fatalf("GET: %d %q", code, body)
	}
	// Several recipients separated by a "+" decoded to a space, and a POST.
	code, body = kannel("POST", "/cgi-bin/sendsms", "user=test&pass="+url.QueryEscape(r.token)+"&to=2015550124+2015550125&text=Two")
	if code != http.StatusAccepted || body != "0: Accepted for delivery" {
		t.Fatalf("POST: %d %q", code, body)
	}
	// coding=2 without charset: UTF-16BE, as Kannel reads it.
	u := utf16.Encode([]rune("Grüße 😀"))
	raw := make([]byte, 0, 2*len(u))
	for _, c := range u {
		raw = append(raw, byte(c>>8), byte(c))
	}
	code, body = kannel("GET", base+"&to=%2B12015550126&coding=2&text="+url.QueryEscape(string(raw)), "")
	if code != http.StatusAccepted {
		t.Fatalf("UCS-2: %d %q", code, body)
	}
	msgs, _, err := r.gw.Messages(gateway.ListFilter{Limit: 10})
	if err != nil || len(msgs) != 4 {
		t.Fatalf("outbox holds %d texts: %v", len(msgs), err)
	}
	if msgs[0].Text != "Grüße 😀" || msgs[1].To != "+12015550125" || msgs[2].To != "+12015550124" || msgs[3].Text != "Hello world" {
		t.Errorf("stored %+v", msgs)
	}

	for name, tc := range map[string]struct {
		target string
		code   int
		body   string
	}{
		"wrong password": {"/cgi-bin/sendsms?username=test&password=sg_nope&to=%2B12015550123&text=x", 403, "Authorization failed for sendsms"},
		"wrong name":     {"/cgi-bin/sendsms?username=other&password=" + url.QueryEscape(r.token) + "&to=%2B12015550123&text=x", 403, "Authorization failed for sendsms"},
		"no to":          {base + "&text=x", 400, "Missing receiver number"},
		"no text":        {base + "&to=%2B12015550123", 400, "Missing text"},
		"bad number":     {base + "&to=12&text=x", 400, "Invalid request: to: "},
	} {
		code, body := kannel("GET", tc.target, "")
		if code != tc.code || !strings.HasPrefix(body, tc.body) {
			t.Errorf("%s: %d %q, want %d %q", name, code, body, tc.code, tc.body)
		}
	}
	// One bad number among good ones: the good ones go, the bad one is named.
	code, body = kannel("GET", base+"&to=%2B12015550127+12&text=x", "")
	if code != http.StatusAccepted || !strings.Contains(body, "Failed receivers:\n12: to: ") {
		t.Errorf("mixed: %d %q", code, body)
	}
	if n := r.count(); n != 5 {
		t.Errorf("%d texts stored, want 5", n)
	}
}

func TestSMSEagle(t *testing.T) {
	r := newRig(t)
	get := func(target string) string {
		w := r.serve(httptest.NewRequest("GET", target, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", target, w.Code)
		}
		return w.Body.String()
	}
	reOK := regexp.MustCompile(`^OK; ID=\[(\d+)\]$`)
	if b := get("/index.php/http_api/send_sms?access_token=" + r.token + "&to=%2B12015550123&message=mymessage"); !reOK.MatchString(b) {
		t.Errorf("access_token: %q", b)
	}
	if b := get("/http_api/send_sms?login=test&pass=" + r.token + "&to=%2B12015550124&message=mymessage"); !reOK.MatchString(b) {
		t.Errorf("login/pass: %q", b)
	}
	if b := get("/http_api/send_sms?access_token=sg_nope&to=%2B12015550124&message=x"); b != "Invalid access token" {
		t.Errorf("bad token: %q", b)
	}
	if b := get("/http_api/send_sms?login=test&pass=sg_nope&to=%2B12015550124&message=x"); b != "Invalid login or password" {
		t.Errorf("bad login: %q", b)
	}
	if b := get("/http_api/send_sms?access_token=" + r.token + "&to=%2B12015550124"); b != "Wrong parameters" {
		t.Errorf("no message: %q", b)
	}
	var ext struct {
		Result struct {
			MessageID string `json:"message_id"`
			Status    string `json:"status"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(get("/http_api/send_sms?access_token="+r.token+"&to=%2B12015550125&message=x&responsetype=extended")), &ext); err != nil ||
		ext.Result.Status != "ok" || ext.Result.MessageID == "" {
		t.Errorf("extended: %+v %v", ext, err)
	}

	// API v2.
	q := httptest.NewRequest("POST", "/api/v2/messages/sms", strings.NewReader(`{"to":["+12015550126","+12015550127"],"text":"My message"}`))
	q.Header.Set("access-token", r.token)
	q.Header.Set("Content-Type", "application/json")
	w := r.serve(q)
	var out []eagleV2Status
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || len(out) != 2 ||
		out[0].Status != "queued" || out[0].ID == 0 || out[1].Number != "+12015550127" {
		t.Errorf("v2: %d %s", w.Code, w.Body)
	}
	q = httptest.NewRequest("POST", "/api/v2/messages/sms", strings.NewReader(`{"to":["+12015550126"],"text":"x"}`))
	q.Header.Set("access-token", "sg_nope")
	if w := r.serve(q); w.Code != http.StatusUnauthorized {
		t.Errorf("v2 bad token: %d %s", w.Code, w.Body)
	}
	if n := r.count(); n != 5 {
		t.Errorf("%d texts stored, want 5", n)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/compat"
)

// makeToken runs `simgate token create` with a known name and flags and
// returns what it printed.
func makeToken(t *testing.T, data, name string, flags ...string) string {
	t.Helper()
	args := append([]string{"token", "create", "--data", data, "--name", name}, flags...)
	out, err := exec.Command(simgateBinary(t), args...).Output()
	if err != nil {
		t.Fatalf("token create %v: %v\n%s", flags, err, out)
	}
	return strings.TrimSpace(string(out))
}

// curl runs curl with args and returns the status code and the body.
func curl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "-w", "\n%{http_code}"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	code, _ := strconv.Atoi(s[i+1:])
	return code, strings.TrimSpace(s[:i])
}

// TestEndToEndCompatAPIs sends through the real binary and the simulated
// modems with the clients shops already run: curl lines from Kannel's and
// SMSEagle's manuals, and the official twilio npm package. Every text they
// queue is delivered once, through the native outbox.
func TestEndToEndCompatAPIs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but curl is missing")
		}
		t.Skip("curl is not installed")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, control := startSim(t, dir, 1, "--report-delay", "50ms")
	// The callbacks go to a receiver on 127.0.0.1: the tokens allow it.
	native := makeToken(t, data, "monitoring", "--private-callbacks")
	recv := newCallbackReceiver(t)
	twilioCreds := makeToken(t, data, "shop-plugin", "--twilio", "--private-callbacks", "--twilio-inbound-url", recv.URL+"/sms")
	m := regexp.MustCompile(`^TWILIO_ACCOUNT_SID=(AC[0-9a-f]{32})\nTWILIO_AUTH_TOKEN=([0-9a-f]{32})$`).FindStringSubmatch(twilioCreds)
	if m == nil {
		t.Fatalf("token create --twilio printed %q", twilioCreds)
	}
	accountSID, authToken := m[1], m[2]
	_, base := startServe(t, data, links)
	c := &api{t: t, base: base, token: native, http: &http.Client{Timeout: 30 * time.Second}}

	var ids, twilioSIDs []string
	texts := map[string]bool{}

	// Kannel's user guide (sendsms): a GET with user, pass, to and text.
	dlrURL := url.QueryEscape(recv.URL + "/dlr?id=disk&s=%d&to=%P&T=%T")
	code, body := curl(t, base+"/cgi-bin/sendsms?username=monitoring&password="+native+"&to=%2B12015550123&text=Disk+almost+full&dlr-mask=31&dlr-url="+dlrURL)
	if code != http.StatusAccepted || body != "0: Accepted for delivery" {
		t.Fatalf("kannel: %d %q", code, body)
	}
	texts["Disk almost full"] = true
	code, body = curl(t, base+"/cgi-bin/sendsms?username=monitoring&password=wrong&to=%2B12015550123&text=x")
	if code != http.StatusForbidden || body != "Authorization failed for sendsms" {
		t.Fatalf("kannel, wrong password: %d %q", code, body)
	}

	// SMSEagle's API v1 manual: GET send_sms with access_token, to, message.
	code, body = curl(t, base+"/index.php/http_api/send_sms?access_token="+native+"&to=%2B12015550124&message=mymessage")
	okID := regexp.MustCompile(`^OK; ID=\[(\d+)\]$`).FindStringSubmatch(body)
	if code != http.StatusOK || okID == nil {
		t.Fatalf("smseagle v1: %d %q", code, body)
	}
	ids = append(ids, okID[1])
	texts["mymessage"] = true
	// SMSEagle's API v2 manual: POST messages/sms with the access-token header.
	code, body = curl(t, "-X", "POST", base+"/api/v2/messages/sms", "-H", "access-token: "+native,
		"-H", "Content-Type: application/json", "-d", `{"to":["+12015550125"],"text":"My message"}`)
	var v2 []struct {
		Status string `json:"status"`
		ID     uint64 `json:"id"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &v2) != nil || len(v2) != 1 || v2[0].Status != "queued" {
		t.Fatalf("smseagle v2: %d %q", code, body)
	}
	ids = append(ids, strconv.FormatUint(v2[0].ID, 10))
	texts["My message"] = true

	// The twilio npm package.
	clientDir, _ := filepath.Abs("testdata/twilio")
	if _, err := os.Stat(filepath.Join(clientDir, "node_modules", "twilio")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the twilio npm package is missing: run npm ci in %s", clientDir)
		}
		t.Log("twilio npm package not installed (npm ci in testdata/twilio): skipping its part")
	} else {
		callback := recv.URL + "/twilio/status?order=7"
		cb := compat.TwilioStatusCallback{AccountSID: accountSID, MessageSID: compat.MessageSID(9), From: "+12015550100",
			To: "+12015550126", Status: "undelivered", ErrorCode: compat.TwilioErrUnreachable}.Params()
		in := compat.TwilioInbound{AccountSID: accountSID, MessageSID: compat.InboundSID(3), From: "+12015550126",
			To: "+12015550100", Body: "Where is my order? 📦", NumSegments: 1}.Params()
		signed := []map[string]any{
			{"url": callback, "params": flat(cb), "signature": compat.TwilioSignature(authToken, callback, cb)},
			{"url": "https://shop.example/sms", "params": flat(in), "signature": compat.TwilioSignature(authToken, "https://shop.example/sms", in)},
		}
		signedJSON, _ := json.Marshal(signed)
		cmd := exec.Command("node", filepath.Join(clientDir, "client.js"))
		cmd.Env = append(os.Environ(), "SIMGATE_URL="+base, "TWILIO_ACCOUNT_SID="+accountSID, "TWILIO_AUTH_TOKEN="+authToken,
			"TO=+12015550126", "STATUS_CALLBACK="+callback, "SIGNED="+string(signedJSON))
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("twilio client: %v\n%s\n%s", err, out, stderr)
		}
		var got struct {
			Created []struct {
				SID, Status, NumSegments, Body, AccountSID, URI string
			}
			Fetched struct{ SID, Body, Status string }
			Listed  []string
			Errors  map[string]struct {
				Code   int
				Status int
			}
			Signatures []bool
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(got.Created) != 3 {
			t.Fatalf("created %+v", got.Created)
		}
		for i, cr := range got.Created {
			id, ok := compat.ParseMessageSID(cr.SID)
			if !ok || cr.Status != "queued" || cr.NumSegments != "1" || cr.AccountSID != accountSID ||
				cr.URI != "/2010-04-01/Accounts/"+accountSID+"/Messages/"+cr.SID+".json" {
				t.Errorf("created %d: %+v", i, cr)
			}
			ids = append(ids, strconv.FormatUint(id, 10))
			texts[cr.Body] = true
		}
		if got.Fetched.SID != got.Created[0].SID || got.Fetched.Body != got.Created[0].Body {
			t.Errorf("fetched %+v", got.Fetched)
		}
		// Newest first, across two pages.
		want := []string{got.Created[2].SID, got.Created[1].SID, got.Created[0].SID}
		if strings.Join(got.Listed, ",") != strings.Join(want, ",") {
			t.Errorf("listed %v, want %v", got.Listed, want)
		}
		for name, want := range map[string][2]int{"invalidTo": {21211, 400}, "emptyBody": {21602, 400}, "auth": {20003, 401}} {
			if e := got.Errors[name]; e.Code != want[0] || e.Status != want[1] {
				t.Errorf("%s: the client saw %+v, want code %d status %d", name, e, want[0], want[1])
			}
		}
		if len(got.Signatures) != 2 || !got.Signatures[0] || !got.Signatures[1] {
			t.Errorf("twilio.validateRequest on simgate's signatures: %v", got.Signatures)
		}
		twilioSIDs = []string{got.Created[0].SID, got.Created[1].SID, got.Created[2].SID}
	}

	// Kannel's text has no id in its answer: find it by its words.
	var list struct {
		Messages []apiMessage `json:"messages"`
	}
	if _, err := c.do("GET", "/api/v1/messages?limit=100", nil, &list); err != nil {
		t.Fatal(err)
	}
	for _, lm := range list.Messages {
		if lm.Text == "Disk almost full" {
			ids = append(ids, lm.ID.String())
		}
	}
	if len(ids) != len(texts) {
		t.Fatalf("%d ids for %d texts: %v", len(ids), len(texts), ids)
	}
	waitAll(t, c, ids, func(s string) bool { return s == "delivered" })
	counts := map[string]int{}
	for _, sm := range simMessages(t, control) {
		counts[sm.Text]++
	}
	for txt := range texts {
		if counts[txt] != 1 {
			t.Errorf("the simulator received %q %d times, want 1", txt, counts[txt])
		}
	}

	// A customer's text reaches the account's inbound URL in Twilio's format.
	postJSON(t, control+"/inbound", map[string]any{"to": 0, "from": "+12015550126", "text": "Where is my order? 📦"})

	// Delivery callbacks: Kannel's dlr-url heard "accepted by the SMSC"
	// (8) then "delivered" (1), its escapes filled; each Twilio text's
	// StatusCallback heard sent then delivered, in order, signed so that
	// the twilio package's validateRequest accepts every post.
	waitFor(t, time.Minute, "the delivery callbacks", func() error {
		got := recv.requests()
		var dlr []string
		final := map[string]string{}
		for _, r := range got {
			switch r.path {
			case "/dlr":
				dlr = append(dlr, r.query.Get("s"))
			case "/twilio/status":
				final[r.form.Get("MessageSid")] = r.form.Get("MessageStatus")
			}
		}
		if strings.Join(dlr, ",") != "8,1" {
			return fmt.Errorf("dlr-url heard %v, want 8 then 1", dlr)
		}
		for _, sid := range twilioSIDs {
			if final[sid] != "delivered" {
				return fmt.Errorf("StatusCallback of %s last heard %q", sid, final[sid])
			}
		}
		if !slices.ContainsFunc(got, func(r receivedCallback) bool { return r.path == "/sms" }) {
			return fmt.Errorf("the inbound URL heard nothing")
		}
		return nil
	})
	var signed []map[string]any
	perSID := map[string][]string{}
	for _, r := range recv.requests() {
		switch r.path {
		case "/dlr":
			if r.method != "GET" || r.query.Get("id") != "disk" || r.query.Get("to") != "+12015550123" || r.query.Get("T") == "" {
				t.Errorf("dlr-url request %s %s", r.method, r.rawURL)
			}
		case "/twilio/status":
			if r.method != "POST" || r.form.Get("AccountSid") != accountSID || r.form.Get("From") != "+12015550100" {
				t.Errorf("status callback %s %v", r.method, r.form)
			}
			sid := r.form.Get("MessageSid")
			perSID[sid] = append(perSID[sid], r.form.Get("MessageStatus"))
			signed = append(signed, map[string]any{"url": recv.URL + r.rawURL, "params": flat(r.form), "signature": r.signature})
		case "/sms":
			if r.method != "POST" || r.form.Get("Body") != "Where is my order? 📦" || r.form.Get("From") != "+12015550126" ||
				r.form.Get("AccountSid") != accountSID || r.form.Get("SmsStatus") != "received" || !strings.HasPrefix(r.form.Get("MessageSid"), "SM") {
				t.Errorf("inbound post %s %v", r.method, r.form)
			}
			signed = append(signed, map[string]any{"url": recv.URL + r.rawURL, "params": flat(r.form), "signature": r.signature})
		}
	}
	for _, sid := range twilioSIDs {
		if s := strings.Join(perSID[sid], ","); s != "sending,sent,delivered" && s != "sent,delivered" {
			t.Errorf("StatusCallback of %s heard %s, want sent then delivered", sid, s)
		}
	}
	if len(twilioSIDs) > 0 {
		in, _ := json.Marshal(signed)
		cmd := exec.Command("node", filepath.Join(clientDirAbs(t), "validate.js"))
		cmd.Env = append(os.Environ(), "TWILIO_AUTH_TOKEN="+authToken)
		cmd.Stdin = strings.NewReader(string(in))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("validate.js: %v", err)
		}
		var ok []bool
		if err := json.Unmarshal(out, &ok); err != nil || len(ok) != len(signed) || slices.Contains(ok, false) {
			t.Errorf("twilio.validateRequest on the callbacks received: %s (%v)", out, err)
		}
	}
}

func clientDirAbs(t *testing.T) string {
	d, err := filepath.Abs("testdata/twilio")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// callbackReceiver records every request simgate's callbacks make.
type callbackReceiver struct {
	URL string
	mu  sync.Mutex
	got []receivedCallback
}

type receivedCallback struct {
	method, path, rawURL, signature string
	query, form                     url.Values
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	rc := &callbackReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		rc.mu.Lock()
		rc.got = append(rc.got, receivedCallback{method: r.Method, path: r.URL.Path, rawURL: r.URL.RequestURI(),
			signature: r.Header.Get("X-Twilio-Signature"), query: r.URL.Query(), form: form})
		rc.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

func (rc *callbackReceiver) requests() []receivedCallback {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedCallback(nil), rc.got...)
}

// flat is a form with one value per name, as twilio.validateRequest takes it.
func flat(v url.Values) map[string]string {
	out := map[string]string{}
	for k := range v {
		out[k] = v.Get(k)
	}
	return out
}

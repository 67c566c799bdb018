package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// newControl serves the control API on 127.0.0.1 only.
func newControl(t *testing.T, n *Network) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(ControlHandler(n))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestControlAPI(t *testing.T) {
	n := newNet(t)
	a := addModem(t, n, Config{Number: "+15550000001"})
	b := addModem(t, n, Config{Number: "+15550000002", Profile: "huawei"})
	srv := newControl(t, n)

	code, body := do(t, "GET", srv.URL+"/modems", "")
	var infos []Info
	if err := json.Unmarshal([]byte(body), &infos); err != nil || code != 200 {
		t.Fatalf("GET /modems: %d %s %v", code, body, err)
	}
	if len(infos) != 2 || infos[1].Number != b.Number() || infos[1].Profile != "huawei" || infos[0].IMEI == "" || len(infos[0].IMEI) != 15 {
		t.Errorf("modems: %+v", infos)
	}
	for _, path := range []string{"/submissions", "/messages", "/rejections"} {
		if code, body := do(t, "GET", srv.URL+path, ""); code != 200 || strings.TrimSpace(body) != "[]" {
			t.Errorf("GET %s empty: %d %q", path, code, body)
		}
	}

	// Inbound by index and by number.
	ca := connect(t, a)
	ca.init()
	if code, body := do(t, "POST", srv.URL+"/inbound", `{"to":0,"from":"+16660000000","text":"by index"}`); code != 204 {
		t.Fatalf("inbound by index: %d %s", code, body)
	}
	ca.expect(`+CMTI: "SM",1`)
	if code, body := do(t, "POST", srv.URL+"/inbound", `{"to":"+15550000001","from":"+16660000000","text":"by number"}`); code != 204 {
		t.Fatalf("inbound by number: %d %s", code, body)
	}
	ca.expect(`+CMTI: "SM",2`)

	bad := []struct{ body, field string }{
		{`{"to":5,"from":"+1","text":"x"}`, "to"},
		{`{"to":"+19999","from":"+1","text":"x"}`, "to"},
		{`{"from":"+1","text":"x"}`, "to"},
		{`{"to":0,"from":"","text":"x"}`, "from"},
		{`{"to":0,"from":"+1","text":""}`, "text"},
		{`{"to":0,"from":"+1","text":"x","bogus":1}`, "bogus"},
		{`{"to":0,"from":7,"text":"x"}`, "from"},
		{`{"to":0,"from":"😀","text":"x"}`, "from"},
	}
	for _, tc := range bad {
		code, body := do(t, "POST", srv.URL+"/inbound", tc.body)
		var e struct {
			Error struct{ Code, Field, Message string }
		}
		json.Unmarshal([]byte(body), &e)
		if code != 400 || e.Error.Field != tc.field || e.Error.Message == "" {
			t.Errorf("%s: got %d %s, want 400 naming %q", tc.body, code, body, tc.field)
		}
	}

	// Faults.
	if code, body := do(t, "POST", srv.URL+"/faults", `{"modem":0,"cms_error_to":{"+15551111111":500},"hang":true,"late_cmgs":"5s","cms_error_rate":0.25,"cms_error_code":42}`); code != 204 {
		t.Fatalf("faults: %d %s", code, body)
	}
	f := a.Fault()
	if f.CMSErrorTo["+15551111111"] != 500 || !f.Hang || f.LateCMGS != 5*time.Second || f.CMSErrorRate != 0.25 || f.CMSErrorCode != 42 {
		t.Errorf("fault: %+v", f)
	}
	if code, _ := do(t, "POST", srv.URL+"/faults", `{"modem":"+15550000001"}`); code != 204 {
		t.Fatalf("clear faults: %d", code)
	}
	if f := a.Fault(); f.Hang || f.CMSErrorTo != nil || f.LateCMGS != 0 {
		t.Errorf("not cleared: %+v", f)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"modem":9}`, "modem"},
		{`{"modem":0,"late_cmgs":"soon"}`, "late_cmgs"},
		{`{"modem":0,"cms_error_rate":2}`, "cms_error_rate"},
		{`{"modem":0,"hang":"yes"}`, "hang"},
	} {
		if code, body := do(t, "POST", srv.URL+"/faults", tc.body); code != 400 || !strings.Contains(body, `"field": "`+tc.field+`"`) {
			t.Errorf("%s: got %d %s", tc.body, code, body)
		}
	}

	// Outcomes, then a submit so /submissions and /messages have content.
	if code, body := do(t, "POST", srv.URL+"/outcomes", `{"number":"+15551234567","outcome":"failed"}`); code != 204 {
		t.Fatalf("outcomes: %d %s", code, body)
	}
	if code, body := do(t, "POST", srv.URL+"/outcomes", `{"number":"+15551234567","outcome":"maybe"}`); code != 400 || !strings.Contains(body, "outcome") {
		t.Errorf("bad outcome: %d %s", code, body)
	}
	ca.ok("AT+CNMI=2,1,0,1,0")
	_, mr := ca.send(submitPDUs(t, "+15551234567", "via api", true)[0])
	got := ca.expectRe(`\+CDS: \d+\r\n([0-9A-F]+)\r\n`)
	if rep := decodeStored(t, got[1]); rep.ST != 0x41 || int(rep.MR) != mr {
		t.Errorf("report ST %#x MR %d", rep.ST, rep.MR)
	}
	_, body = do(t, "GET", srv.URL+"/submissions", "")
	var subs []Submission
	if err := json.Unmarshal([]byte(body), &subs); err != nil || len(subs) != 1 || subs[0].Text != "via api" || !subs[0].SRR {
		t.Errorf("submissions: %s %v", body, err)
	}
	if !strings.Contains(body, `"concat_ref"`) {
		t.Errorf("submissions JSON not snake_case: %s", body)
	}
	_, body = do(t, "GET", srv.URL+"/messages", "")
	var msgs []SentMessage
	if err := json.Unmarshal([]byte(body), &msgs); err != nil || len(msgs) != 1 || !msgs[0].Complete || msgs[0].To != "+15551234567" {
		t.Errorf("messages: %s %v", body, err)
	}
	if code, _ := do(t, "DELETE", srv.URL+"/modems", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /modems: got %d", code)
	}
}

func TestControlFleetFaults(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001", Profile: "zte", USSDDelay: 5 * time.Millisecond})
	srv := newControl(t, n)
	modems := func() []Info {
		t.Helper()
		code, body := do(t, "GET", srv.URL+"/modems", "")
		var infos []Info
		if err := json.Unmarshal([]byte(body), &infos); err != nil || code != 200 || len(infos) != 1 {
			t.Fatalf("GET /modems: %d %s %v", code, body, err)
		}
		return infos
	}
	if in := modems()[0]; in.State != "up" || in.SIM != "ready" || in.CFUN != 0 || in.Registration != 0 ||
		in.LastMR != 0 || in.StorageSize != 30 || in.Stored["SM"] != 0 || len(in.Faults) != 0 {
		t.Errorf("fresh ZTE: %+v", in)
	}
	post := func(path, body string) {
		t.Helper()
		if code, resp := do(t, "POST", srv.URL+path, body); code != 204 {
			t.Fatalf("POST %s %s: %d %s", path, body, code, resp)
		}
	}

	post("/faults", `{"modem":0,"network_loss":true,"network_loss_for":"1h","sim_removed":true,
		"hang_until_reboot":true,"no_prompt":true,"cnma_timeout":"2s","per_minute_limit":5}`)
	f := m.Fault()
	want := Fault{NetworkLoss: true, NetworkLossFor: time.Hour, SIMRemoved: true, HangUntilReboot: true,
		NoPrompt: true, CNMATimeout: 2 * time.Second, PerMinuteLimit: 5}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Errorf("fault %+v, want %+v", f, want)
	}
	in := modems()[0]
	if in.State != "hung" || in.SIM != "removed" ||
		!slices.Equal(in.Faults, []string{"hang_until_reboot", "no_prompt", "network_loss", "sim_removed", "cnma_timeout", "per_minute_limit"}) {
		t.Errorf("info: %+v", in)
	}
	// merge keeps what the body does not name; reboot is an action.
	post("/faults", `{"modem":0,"merge":true,"hang_until_reboot":false,"reboot":true}`)
	if f := m.Fault(); !f.NetworkLoss || f.NetworkLossFor != time.Hour || f.HangUntilReboot || !f.NoPrompt || f.Reboot {
		t.Errorf("after merge: %+v", f)
	}
	post("/faults", `{"modem":0,"storage_full":true}`)
	// The SIM is back but unseen: the reboot came while it was out.
	if in := modems()[0]; in.Stored["SM"] != 30 || in.Stored["SR"] != 30 || len(in.Faults) != 0 || in.SIM != "not_detected" {
		t.Errorf("after storage_full (which also cleared the rest): %+v", in)
	}

	// Unplug, then replug by hand.
	post("/faults", `{"modem":0,"unplug":true}`)
	if in := modems()[0]; in.State != "unplugged" || !slices.Equal(in.Faults, []string{"unplug"}) {
		t.Errorf("unplugged: %+v", in)
	}
	post("/replug", `{"modem":"+15550000001"}`)
	if in := modems()[0]; in.State != "up" || len(in.Faults) != 0 {
		t.Errorf("replugged: %+v", in)
	}

	// USSD answers.
	post("/ussd", `{"modem":0,"replies":{"*123#":"Bonus: 5 SMS"}}`)
	c := connect(t, m)
	c.init()
	c.ok("AT+CFUN=1")
	c.ok(`AT+CUSD=1,"*123#",15`)
	c.expect(`+CUSD: 0,"Bonus: 5 SMS",15`)

	for _, tc := range []struct{ path, body, field string }{
		{"/faults", `{"modem":0,"network_loss_for":"5s"}`, "network_loss_for"},
		{"/faults", `{"modem":0,"replug_after":"5s"}`, "replug_after"},
		{"/faults", `{"modem":0,"unplug":true,"replug_after":"-5s"}`, "replug_after"},
		{"/faults", `{"modem":0,"cnma_timeout":"soon"}`, "cnma_timeout"},
		{"/faults", `{"modem":0,"per_minute_limit":-1}`, "per_minute_limit"},
		{"/faults", `{"modem":0,"storage_full":1}`, "storage_full"},
		{"/faults", `{"modem":0,"merge":true,"bogus":1}`, "bogus"},
		{"/replug", `{"modem":7}`, "modem"},
		{"/ussd", `{"modem":0}`, "replies"},
		{"/ussd", `{"modem":0,"replies":{"*1#":"say \"hi\""}}`, "replies"},
	} {
		if code, body := do(t, "POST", srv.URL+tc.path, tc.body); code != 400 || !strings.Contains(body, `"field": "`+tc.field+`"`) {
			t.Errorf("%s %s: got %d %s, want 400 naming %q", tc.path, tc.body, code, body, tc.field)
		}
	}
}

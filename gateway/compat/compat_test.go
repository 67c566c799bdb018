package compat

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// The example of Twilio's security page ("Validating requests"), whose
// signature twilio-node's getExpectedTwilioSignature also gives.
func TestTwilioSignatureMatchesTwilioExample(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	got := TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
	if want := "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	// Any change of key, URL or a value changes it.
	for name, other := range map[string]string{
		"key":   TwilioSignature("12346", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
		"url":   TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", params),
		"value": TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", url.Values{"Digits": {"1235"}}),
	} {
		if other == got {
			t.Errorf("changing the %s kept the signature", name)
		}
	}
}

func TestMessageSIDRoundTrip(t *testing.T) {
	for _, id := range []uint64{1, 42, 1 << 40, ^uint64(0)} {
		sid := MessageSID(id)
		if len(sid) != 34 || sid[:2] != "SM" {
			t.Fatalf("MessageSID(%d) = %q: not SM + 32 hex", id, sid)
		}
		back, ok := ParseMessageSID(sid)
		if !ok || back != id {
			t.Fatalf("ParseMessageSID(%q) = %d, %v; want %d", sid, back, ok, id)
		}
	}
	for _, bad := range []string{"", "SM1", "MM00000000000000000000000000000001", "SM00000000000000000000000000000000",
		"SM0000000000000000000000000000000G", "SM0000000000000000000000000000000A", InboundSID(5)} {
		if _, ok := ParseMessageSID(bad); ok {
			t.Errorf("ParseMessageSID(%q) accepted it", bad)
		}
	}
}

func TestTwilioStatus(t *testing.T) {
	for _, tc := range []struct {
		status       string
		reportFailed bool
		want         string
		code         int
	}{
		{"queued", false, "queued", 0},
		{"sending", false, "sending", 0},
		{"unknown", false, "sending", 0},
		{"sent", false, "sent", 0},
		{"delivered", false, "delivered", 0},
		{"failed", true, "undelivered", TwilioErrUnreachable},
		{"failed", false, "failed", TwilioErrUnknown},
		{"suppressed", false, "failed", TwilioErrBlocked},
		{"expired", false, "failed", TwilioErrExpired},
	} {
		got, code := TwilioStatus(tc.status, tc.reportFailed)
		if got != tc.want || code != tc.code {
			t.Errorf("TwilioStatus(%q, %v) = %q, %d; want %q, %d", tc.status, tc.reportFailed, got, code, tc.want, tc.code)
		}
	}
}

func TestTwilioCallbackBodies(t *testing.T) {
	cb := TwilioStatusCallback{AccountSID: "AC1", MessageSID: "SM1", From: "+1201", To: "+1202", Status: "undelivered", ErrorCode: 30003}.Params()
	for k, want := range map[string]string{"MessageSid": "SM1", "SmsSid": "SM1", "MessageStatus": "undelivered", "SmsStatus": "undelivered",
		"ErrorCode": "30003", "AccountSid": "AC1", "ApiVersion": "2010-04-01", "From": "+1201", "To": "+1202"} {
		if got := cb.Get(k); got != want {
			t.Errorf("status callback %s = %q, want %q", k, got, want)
		}
	}
	if ok := (TwilioStatusCallback{Status: "delivered"}).Params(); ok.Has("ErrorCode") {
		t.Error("a delivered text's callback carries ErrorCode")
	}
	in := TwilioInbound{AccountSID: "AC1", MessageSID: InboundSID(7), From: "+1202", To: "+1201", Body: "Hi", NumSegments: 2}.Params()
	for k, want := range map[string]string{"Body": "Hi", "From": "+1202", "To": "+1201", "SmsStatus": "received", "NumSegments": "2",
		"NumMedia": "0", "MessageSid": InboundSID(7), "SmsMessageSid": InboundSID(7)} {
		if got := in.Get(k); got != want {
			t.Errorf("inbound %s = %q, want %q", k, got, want)
		}
	}
}

func TestKannelRecipients(t *testing.T) {
	for in, want := range map[string][]string{
		"+4917012345":              {"+4917012345"},
		"4917012345 4917012346":    {"4917012345", "4917012346"}, // "+" in a query decodes to a space
		"+4917012345+4917012346":   {"+4917012345", "+4917012346"},
		" +4917012345  0170123 + ": {"+4917012345", "0170123"},
		"":                         nil,
	} {
		if got := KannelRecipients(in); !slices.Equal(got, want) {
			t.Errorf("KannelRecipients(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKannelDLRURL(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 4, 5, 0, time.UTC)
	got := KannelDLRURL("http://shop.example/dlr?id=77&s=%d&from=%p&to=%P&t=%t&T=%T&a=%A&i=%i&pct=%%&keep=%x",
		KannelDLR{Value: KannelDLRDelivered, From: "Shop", To: "+4917012345", At: at, Reply: "id:1 stat:DELIVRD", SMSCID: "sim1"})
	want := "http://shop.example/dlr?id=77&s=1&from=Shop&to=%2B4917012345&t=2026-12-05+10%3A04&T=1796465045&a=id%3A1+stat%3ADELIVRD&i=sim1&pct=%&keep=%x"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !KannelWants(1|2, KannelDLRFailed) || KannelWants(8, KannelDLRDelivered) || KannelWants(31, 0) {
		t.Error("KannelWants misreads the mask")
	}
	for status, want := range map[string]int{"sent": 8, "delivered": 1, "expired": 2, "suppressed": 2, "queued": 0} {
		if got := KannelDLRValue(status, false); got != want {
			t.Errorf("KannelDLRValue(%q) = %d, want %d", status, got, want)
		}
	}
	if KannelDLRValue("failed", true) != KannelDLRFailed || KannelDLRValue("failed", false) != KannelDLRSMSCNack {
		t.Error("a failed text's report value does not say who failed it")
	}
}

func TestTwilioStatusRequest(t *testing.T) {
	raw := []byte(`{"account_sid":"AC1","from":"+12015550100"}`)
	const cb = "https://shop.example/status?x=1"
	req, ok, err := TwilioStatusRequest(cb, raw, "secret", MessageState{ID: 5, To: "+12015550123", Status: "failed", ReportFailed: true})
	if err != nil || !ok {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.URL != cb || form.Get("MessageStatus") != "undelivered" || form.Get("ErrorCode") != "30003" ||
		form.Get("MessageSid") != MessageSID(5) || form.Get("From") != "+12015550100" {
		t.Errorf("request %+v, form %v", req, form)
	}
	if got := req.Header["X-Twilio-Signature"]; got != TwilioSignature("secret", cb, form) {
		t.Errorf("signature %q does not sign the body sent", got)
	}
	if _, ok, _ := TwilioStatusRequest(cb, raw, "secret", MessageState{ID: 5, Status: "queued"}); ok {
		t.Error("a queued text makes a callback")
	}
	if _, _, err := TwilioStatusRequest(cb, []byte("{"), "secret", MessageState{Status: "sent"}); err == nil {
		t.Error("bad params accepted")
	}
}

func TestKannelDLRRequest(t *testing.T) {
	raw := []byte(`{"dlr_url":"http://nms.example/dlr?s=%d&to=%P&A=%A","dlr_mask":3,"from":"Shop"}`)
	at := time.Unix(1796465045, 0)
	req, ok, err := KannelDLRRequest(raw, MessageState{To: "+1201", Status: "delivered", At: at})
	if err != nil || !ok || req.Method != "GET" || req.URL != "http://nms.example/dlr?s=1&to=%2B1201&A=DELIVERED" {
		t.Fatalf("%+v %v %v", req, ok, err)
	}
	// Mask 3 (delivered | failed) does not want "accepted by the SMSC".
	if _, ok, _ := KannelDLRRequest(raw, MessageState{Status: "sent"}); ok {
		t.Error("a sent report went to a mask without 8")
	}
}

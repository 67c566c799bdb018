package webui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/store"
)

// BenchmarkCompatSubmit compares a text submitted through each compatible
// API with the native POST /api/v1/messages: a real server on 127.0.0.1 and
// a real bbolt file, one keep-alive client at a time. The store skips
// fsync (store.WithNoSync) so that the figure is each route's own work
// (parsing, credentials, the answer's shape; for Twilio also the guard's
// precheck) and not the disk's, which is the same for every route and
// swamps the difference (BenchmarkIngestHTTP measures that).
//
//	go test -run '^$' -bench 'BenchmarkCompatSubmit' -benchtime 5000x ./webui
func BenchmarkCompatSubmit(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "simgate.db"), store.WithNoSync())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	gw, err := gateway.New(db, gateway.Config{Region: "US"})
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := gw.Access().CreateToken("bench")
	if err != nil {
		b.Fatal(err)
	}
	// Warm the file and the server up first, so that the route measured
	// first does not pay alone for a fresh file's growth.
	for i := 0; i < 2000; i++ {
		if _, _, err := gw.Submit(context.Background(), gateway.SubmitRequest{To: "+12015550123", Text: "warm-up"}); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(Handler(Config{Gateway: gw}))
	b.Cleanup(srv.Close)
	client := &http.Client{Timeout: 30 * time.Second}
	base := srv.URL
	e := struct{ url, token string }{base + "/api/v1/messages", token}
	auth, tw, err := gw.Access().CreateTokenWith("bench-twilio", access.TokenOptions{Twilio: true})
	if err != nil {
		b.Fatal(err)
	}
	text := func(n int64) string {
		return fmt.Sprintf("Your order #%d is ready for pickup. Reply STOP to opt out.", n)
	}
	var seq atomic.Int64
	routes := []struct {
		name string
		req  func(n int64) *http.Request
		want int
	}{
		{"native", func(n int64) *http.Request {
			q, _ := http.NewRequest("POST", e.url, strings.NewReader(fmt.Sprintf(`{"to":"+12015550123","text":%q}`, text(n))))
			q.Header.Set("Authorization", "Bearer "+e.token)
			q.Header.Set("Content-Type", "application/json")
			return q
		}, http.StatusAccepted},
		{"twilio", func(n int64) *http.Request {
			form := url.Values{"To": {"+12015550123"}, "From": {"+12015550100"}, "Body": {text(n)}}
			q, _ := http.NewRequest("POST", base+"/2010-04-01/Accounts/"+tw.TwilioSID+"/Messages.json", strings.NewReader(form.Encode()))
			q.SetBasicAuth(tw.TwilioSID, auth)
			q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return q
		}, http.StatusCreated},
		{"kannel", func(n int64) *http.Request {
			q, _ := http.NewRequest("GET", base+"/cgi-bin/sendsms?"+url.Values{"username": {"bench"}, "password": {e.token},
				"to": {"+12015550123"}, "text": {text(n)}}.Encode(), nil)
			return q
		}, http.StatusAccepted},
		{"smseagle-v1", func(n int64) *http.Request {
			q, _ := http.NewRequest("GET", base+"/index.php/http_api/send_sms?"+url.Values{"access_token": {e.token},
				"to": {"+12015550123"}, "message": {text(n)}}.Encode(), nil)
			return q
		}, http.StatusOK},
		{"smseagle-v2", func(n int64) *http.Request {
			q, _ := http.NewRequest("POST", base+"/api/v2/messages/sms", strings.NewReader(fmt.Sprintf(`{"to":["+12015550123"],"text":%q}`, text(n))))
			q.Header.Set("access-token", e.token)
			q.Header.Set("Content-Type", "application/json")
			return q
		}, http.StatusOK},
	}
	for _, rt := range routes {
		b.Run(rt.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				resp, err := client.Do(rt.req(seq.Add(1)))
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != rt.want {
					b.Fatalf("status %d: %s", resp.StatusCode, body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
	counts, err := db.CountByStatus()
	if err != nil {
		b.Fatal(err)
	}
	if total := counts[store.StatusQueued] - 2000; int64(total) != seq.Load() {
		b.Fatalf("stored %d queued texts, acknowledged %d", total, seq.Load())
	}
}

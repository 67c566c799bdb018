package webui

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/store"
)

// BenchmarkSubmitDuringCampaign measures what an API client feels while a
// 100,000-recipient campaign is planned and enqueued: one client posts
// texts to POST /api/v1/messages back to back over real HTTP on a real,
// fsync'd store, from the start of planning to its end. Reported: the
// latencies' p50 and p99, the submits made, and the planning's seconds.
func BenchmarkSubmitDuringCampaign(b *testing.B) {
	const n = 100000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := store.Open(filepath.Join(b.TempDir(), "simgate.db"))
		if err != nil {
			b.Fatal(err)
		}
		gw, err := gateway.New(db, gateway.Config{Region: "US", PublicURL: "https://go.rosa.example"})
		if err != nil {
			b.Fatal(err)
		}
		cs := gw.ComplianceSettings()
		cs.Brand, cs.SupportContact, cs.Frequency = "Rosa's", "help@rosa.example", "up to 4 msgs/month"
		if err := gw.SaveComplianceSettings(cs, "bench"); err != nil {
			b.Fatal(err)
		}
		numbers := make([]string, 0, n)
		for start := 0; start < n; start += 5000 {
			var rows []store.ContactUpsert
			for j := start; j < start+5000; j++ {
				number := fmt.Sprintf("+1%s%07d", []string{"212", "312", "213"}[j%3], 5550000+j)
				numbers = append(numbers, number)
				rows = append(rows, store.ContactUpsert{Contact: store.Contact{Number: number, Name: fmt.Sprintf("Customer %d", j)},
					OptIn: &store.ConsentEvent{Source: "bench"}})
			}
			if _, err := db.UpsertContacts(rows); err != nil {
				b.Fatal(err)
			}
		}
		svc := gw.Campaigns()
		c, err := svc.Create(b.Context(), campaigns.Definition{Name: "Sale", Audience: campaigns.Audience{Numbers: numbers},
			Template: campaigns.Template{Body: "Rosa's: 20% off today: https://rosa.example/sale"}, Holdout: 10,
			Variants: []campaigns.Variant{{Share: 45}, {Share: 45, Body: "Rosa's: the sale is on! https://rosa.example/sale"}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Send(b.Context(), c.ID); err != nil {
			b.Fatal(err)
		}
		tok, _, err := gw.Access().CreateToken("bench")
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(Handler(Config{Gateway: gw}))
		client := &http.Client{Timeout: 60 * time.Second}
		done := make(chan time.Duration)
		b.StartTimer()
		go func() {
			start := time.Now()
			if err := svc.Step(b.Context(), c.ID); err != nil {
				b.Error(err)
			}
			done <- time.Since(start)
		}()
		var lat []time.Duration
		var planned time.Duration
	loop:
		for k := 0; ; k++ {
			select {
			case planned = <-done:
				break loop
			default:
			}
			body := fmt.Sprintf(`{"to":"+1201555%04d","text":"order %d is ready"}`, k%10000, k)
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/messages", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
			if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusCreated {
				b.Fatalf("submit: %d", resp.StatusCode)
			}
		}
		b.StopTimer()
		srv.Close()
		got, _ := svc.Get(c.ID)
		if got.Texts+got.Holdout != n {
			b.Fatalf("planned %d + %d holdout, want %d", got.Texts, got.Holdout, n)
		}
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), "ms-p50")
		b.ReportMetric(pct(0.99), "ms-p99")
		b.ReportMetric(float64(len(lat)), "submits")
		b.ReportMetric(planned.Seconds(), "s/plan")
		db.Close()
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/webhooks"
)

// TestEndToEndWebhooksSurviveSIGKILL: the real daemon sends 250 texts
// (about 1,000 status changes) while it is killed with SIGKILL five times
// and restarted. A receiver subscribed to message.status must in the end
// have been told every status each text went through, at least once, each
// request signed with the endpoint's secret.
func TestEndToEndWebhooksSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	texts, kills := 250, 5
	if os.Getenv("SIMGATE_E2E_QUICK") != "" {
		texts = 60
	}
	var mu sync.Mutex
	seen := map[string]map[string]bool{} // message id → statuses told
	var secret string
	badSig := 0
	requests := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		var p struct {
			Type string `json:"type"`
			Data struct {
				ID     uint64 `json:"id"`
				Status string `json:"status"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &p)
		mu.Lock()
		defer mu.Unlock()
		requests++
		want, err := webhooks.Sign(secret, r.Header.Get("webhook-id"), ts, body)
		if err != nil || want != r.Header.Get("webhook-signature") {
			badSig++
		}
		id := strconv.FormatUint(p.Data.ID, 10)
		if seen[id] == nil {
			seen[id] = map[string]bool{}
		}
		seen[id][p.Data.Status] = true
	}))
	defer recv.Close()

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	links, control := startSim(t, dir, 2, "--latency", "20ms", "--report-delay", "100ms")
	_ = control
	token := createToken(t, data)

	p, base := startServe(t, data, links)
	client := &http.Client{Timeout: 5 * time.Second}
	c := &api{t: t, base: base, token: token, http: client}
	var ep struct {
		ID     uint64 `json:"id"`
		Secret string `json:"secret"`
	}
	code, err := c.do("POST", "/api/v1/webhooks", map[string]any{"url": recv.URL + "/hook", "kinds": []string{"message.status"}, "allow_private": true}, &ep)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create endpoint: %d %v", code, err)
	}
	mu.Lock()
	secret = ep.Secret
	mu.Unlock()

	var bmu sync.Mutex
	setBase := func(b string) { bmu.Lock(); base = b; bmu.Unlock() }
	getBase := func() string { bmu.Lock(); defer bmu.Unlock(); return base }
	accepted := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range texts {
			for {
				c := &api{t: t, base: getBase(), token: token, http: client}
				var m apiMessage
				code, err := c.doKey("POST", "/api/v1/messages", map[string]string{"to": e2eRecipient(i), "text": e2eText(i)}, &m, fmt.Sprintf("wh-%d", i))
				if err == nil && (code == http.StatusAccepted || code == http.StatusOK) {
					bmu.Lock()
					accepted[m.ID.String()] = true
					bmu.Unlock()
					break
				}
				time.Sleep(20 * time.Millisecond) // the daemon is down on purpose
			}
		}
	}()
	for k := 0; ; k++ {
		if k == kills {
			break
		}
		// Kill at a random moment: the pause is the scenario, not a wait.
		select {
		case <-time.After(time.Duration(300+rand.IntN(900)) * time.Millisecond):
		case <-done:
		}
		p.kill(syscall.SIGKILL)
		<-p.done
		// base is the submitting goroutine's, read under bmu: write it
		// only through setBase.
		var next string
		p, next = startServe(t, data, links)
		setBase(next)
	}
	<-done
	c = &api{t: t, base: getBase(), token: token, http: &http.Client{Timeout: 10 * time.Second}}
	bmu.Lock()
	ids := make([]string, 0, len(accepted))
	for id := range accepted {
		ids = append(ids, id)
	}
	bmu.Unlock()
	waitAll(t, c, ids, func(s string) bool { return s == "delivered" || s == "unknown" || s == "failed" })

	// Every status of every text's history was told.
	missing := func() []string {
		var out []string
		for _, id := range ids {
			var m struct {
				History []struct {
					Status string `json:"status"`
				} `json:"history"`
			}
			if _, err := c.do("GET", "/api/v1/messages/"+id, nil, &m); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			for _, h := range m.History {
				if !seen[id][h.Status] {
					out = append(out, id+":"+h.Status)
				}
			}
			mu.Unlock()
		}
		return out
	}
	waitFor(t, 2*time.Minute, "every status change told", func() error {
		if m := missing(); len(m) > 0 {
			return fmt.Errorf("%d not told yet, e.g. %v", len(m), m[:min(5, len(m))])
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if badSig > 0 {
		t.Errorf("%d of %d requests carried a bad signature", badSig, requests)
	}
	t.Logf("%d texts, %d kills, %d webhook requests (a change may be told more than once)", len(ids), kills, requests)
}

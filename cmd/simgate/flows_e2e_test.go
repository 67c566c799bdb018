package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The acceptance of issue 10: abandoned-cart flows driven by signed Shopify
// webhooks into the real binary, texts into the simulator.

const (
	e2eShopSecret = "shpss_e2e_0123456789abcdef"
	e2ePublicURL  = "https://texts.shop.example"
)

// zoneWhere returns an IANA zone whose local hour is in [from, to) now.
func zoneWhere(t *testing.T, from, to int) string {
	t.Helper()
	for _, z := range []string{"America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu",
		"Europe/London", "Europe/Berlin", "Europe/Moscow", "Asia/Dubai", "Asia/Kolkata", "Asia/Bangkok",
		"Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "Atlantic/Azores"} {
		loc, err := time.LoadLocation(z)
		if err != nil {
			t.Fatal(err)
		}
		if h := time.Now().In(loc).Hour(); h >= from && h < to {
			return z
		}
	}
	t.Fatalf("no zone has a local hour in [%d, %d) now", from, to)
	return ""
}

// shop is a Shopify store sending webhooks to the box.
type shop struct {
	t      *testing.T
	mu     sync.Mutex
	base   string
	client *http.Client
}

func (s *shop) setBase(b string) { s.mu.Lock(); s.base = b; s.mu.Unlock() }

// post delivers one webhook, signed as Shopify signs it; retry repeats it
// with the same webhook id until the box answers (it may be down).
func (s *shop) post(topic, id string, payload any, retry bool) (int, string) {
	body, err := json.Marshal(payload)
	if err != nil {
		s.t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(e2eShopSecret))
	mac.Write(body)
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for {
		s.mu.Lock()
		base := s.base
		s.mu.Unlock()
		req, _ := http.NewRequest("POST", base+"/hooks/shopify", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Topic", topic)
		req.Header.Set("X-Shopify-Hmac-Sha256", sig)
		req.Header.Set("X-Shopify-Webhook-Id", id)
		req.Header.Set("X-Shopify-Shop-Domain", "e2e.myshopify.com")
		resp, err := s.client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !retry || resp.StatusCode < 500 {
				return resp.StatusCode, string(b)
			}
		}
		if !retry {
			s.t.Fatalf("POST %s: %v", topic, err)
		}
		// The box is down (killed on purpose); Shopify retries too.
		time.Sleep(50 * time.Millisecond)
	}
}

// checkout is a checkouts/create payload shaped like Shopify's.
func checkout(id int64, phone, first, item string) map[string]any {
	return map[string]any{
		"id": id, "token": fmt.Sprintf("tok%d", id), "email": "", "phone": phone,
		"created_at": time.Now().UTC().Format(time.RFC3339), "updated_at": time.Now().UTC().Format(time.RFC3339),
		"completed_at": nil, "currency": "USD", "presentment_currency": "USD", "total_price": "42.00",
		"abandoned_checkout_url": fmt.Sprintf("https://e2e.myshopify.com/checkouts/%d/recover?key=k%d", id, id),
		"line_items":             []map[string]any{{"title": item, "price": "42.00", "quantity": 1, "product_id": 632910392, "variant_id": 808950810}},
		"customer":               map[string]any{"id": 207119551 + id, "first_name": first, "last_name": "Tester", "phone": phone},
	}
}

// order is an orders/create payload for the checkout.
func order(id, checkoutID int64, phone string) map[string]any {
	return map[string]any{
		"id": 450789469 + id, "name": fmt.Sprintf("#%d", 1000+id), "order_number": 1000 + id, "checkout_id": checkoutID,
		"checkout_token": fmt.Sprintf("tok%d", checkoutID), "phone": phone, "currency": "USD", "total_price": "42.00",
		"created_at": time.Now().UTC().Format(time.RFC3339),
		"line_items": []map[string]any{{"title": "Blue mug", "price": "42.00", "quantity": 1}},
	}
}

// flowBox is a running box set up for flows: settings, the Shopify secret
// and an abandoned-cart flow of the given delay.
type flowBox struct {
	t       *testing.T
	data    string
	links   []string
	control string
	token   string
	p       *proc
	c       *api
}

func (b *flowBox) start() {
	b.t.Helper()
	args := []string{"serve", "--data", b.data, "--listen", "127.0.0.1:0", "--public-url", e2ePublicURL}
	for i, l := range b.links {
		args = append(args, "--modem", fmt.Sprintf("%s,name=sim%d,per_minute=0,per_day=0,unique_per_day=0,unique_per_month=0", l, i+1))
	}
	b.p = startProc(b.t, args...)
	base := b.p.expect(b.t, reListening)[1]
	b.c = &api{t: b.t, base: base, token: b.token, http: &http.Client{Timeout: 30 * time.Second}}
}

func newFlowBox(t *testing.T, modems int, delay string) *flowBox {
	t.Helper()
	dir := t.TempDir()
	b := &flowBox{t: t, data: filepath.Join(dir, "data")}
	b.links, b.control = startSim(t, dir, modems)
	b.token = createToken(t, b.data)
	b.start()
	settings := map[string]any{
		"brand": "Rosa's Bakery", "support_contact": "rosa@example.com", "frequency": "up to 4 msgs/month",
		"disclosure":        map[string]string{"version": "v1", "text": "By ticking this box you agree to receive recurring automated marketing texts from Rosa's Bakery, up to 4 msgs/month. Consent is not a condition of purchase. Msg&data rates may apply. Reply HELP for help, STOP to cancel."},
		"marketing_per_24h": 3,
	}
	if code, err := b.c.do("PUT", "/api/v1/settings/compliance", settings, nil); err != nil || code != http.StatusOK {
		t.Fatalf("save settings: %d %v", code, err)
	}
	if code, err := b.c.do("PUT", "/api/v1/settings/integrations", map[string]any{"shopify_secret": e2eShopSecret}, nil); err != nil || code != http.StatusOK {
		t.Fatalf("save the Shopify secret: %d %v", code, err)
	}
	flow := map[string]any{"name": "Abandoned cart", "definition": map[string]any{
		"trigger": map[string]any{"kind": "event", "event": "checkout_started"},
		"steps": []map[string]any{
			{"wait": map[string]any{"for": delay}},
			{"condition": map[string]any{"kind": "no_order", "scope": "checkout"}},
			{"send": map[string]any{"kind": "marketing", "template": `Hi {{ .first_name }}, your {{ (first .cart.items).name }} is waiting: {{ link .cart.url }}`}},
		},
		"exit": map[string]any{"on_order": "checkout"},
	}}
	var out map[string]any
	if code, err := b.c.do("POST", "/api/v1/flows", flow, &out); err != nil || code != http.StatusCreated {
		t.Fatalf("create the flow: %d %v %v", code, err, out)
	}
	return b
}

// consented makes a contact who agreed to marketing and cart reminders.
func (b *flowBox) consented(number, name, zone string) {
	b.t.Helper()
	if code, err := b.c.do("POST", "/api/v1/contacts", map[string]any{"number": number, "name": name, "time_zone": zone}, nil); err != nil || code != http.StatusCreated {
		b.t.Fatalf("contact %s: %d %v", number, code, err)
	}
	optIn := map[string]any{"number": number, "method": "pos", "source": "till 1", "terminal": "till 1",
		"disclosure_version": "v1", "double_opt_in": false, "cart_reminders": true}
	if code, err := b.c.do("POST", "/api/v1/consent", optIn, nil); err != nil || code >= 300 {
		b.t.Fatalf("opt in %s: %d %v", number, code, err)
	}
}

type e2eFlowEntry struct {
	ID     uint64 `json:"id"`
	Number string `json:"number"`
	State  string `json:"state"`
	Reason string `json:"reason"`
	Steps  []struct {
		Kind      string `json:"kind"`
		MessageID uint64 `json:"message_id"`
		Status    string `json:"status"`
		Hold      string `json:"hold"`
	} `json:"steps"`
}

func (b *flowBox) entries() []e2eFlowEntry {
	b.t.Helper()
	var all []e2eFlowEntry
	before := ""
	for {
		var page struct {
			Entries    []e2eFlowEntry `json:"entries"`
			NextCursor *string        `json:"next_cursor"`
		}
		if code, err := b.c.do("GET", "/api/v1/flows/1/entries?limit=500"+before, nil, &page); err != nil || code != http.StatusOK {
			b.t.Fatalf("entries: %d %v", code, err)
		}
		all = append(all, page.Entries...)
		if page.NextCursor == nil {
			return all
		}
		before = "&before=" + *page.NextCursor
	}
}

func (b *flowBox) entryOf(number string) (e2eFlowEntry, bool) {
	for _, e := range b.entries() {
		if e.Number == number {
			return e, true
		}
	}
	return e2eFlowEntry{}, false
}

var shortLink = regexp.MustCompile(regexp.QuoteMeta(e2ePublicURL) + `/l/([0-9A-Za-z]+)`)

// flowTexts are the simulator's texts of the flow (not the opt-in
// confirmations) to number.
func flowTexts(ms []simMessage, number string) []simMessage {
	var out []simMessage
	for _, m := range ms {
		if m.To == number && strings.Contains(m.Text, "is waiting:") {
			out = append(out, m)
		}
	}
	return out
}

func TestEndToEndAbandonedCart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	const delay = 3 * time.Second
	b := newFlowBox(t, 1, "3s")
	s := &shop{t: t, client: &http.Client{Timeout: 10 * time.Second}}
	s.setBase(b.c.base)
	day := zoneWhere(t, 9, 19)
	anne, ben, cleo := "+12015550181", "+12015550182", "+12015550183"
	b.consented(anne, "Anne Smith", day)
	b.consented(ben, "Ben Jones", day)
	b.consented(cleo, "Cleo Park", zoneWhere(t, 1, 6)) // night where she is: quiet hours

	// 1. A checkout and no order: after the delay, one text naming Anne and
	// the item, with a short link that redirects to the resume URL.
	if code, body := s.post("checkouts/create", "wh-1", checkout(9001, anne, "Anne", "Blue mug"), false); code != http.StatusOK {
		t.Fatalf("checkouts/create: %d %s", code, body)
	}
	// 2. A checkout and its order before the delay.
	if code, body := s.post("checkouts/create", "wh-2", checkout(9002, ben, "Ben", "Red teapot"), false); code != http.StatusOK {
		t.Fatalf("checkouts/create: %d %s", code, body)
	}
	if code, body := s.post("orders/create", "wh-3", order(2, 9002, ben), false); code != http.StatusOK {
		t.Fatalf("orders/create: %d %s", code, body)
	}
	// 3. A checkout at night: the text waits for quiet hours to end.
	if code, body := s.post("checkouts/create", "wh-4", checkout(9003, cleo, "Cleo", "Green vase"), false); code != http.StatusOK {
		t.Fatalf("checkouts/create: %d %s", code, body)
	}

	var text simMessage
	waitFor(t, 60*time.Second, "the abandoned-cart text to Anne", func() error {
		got := flowTexts(simMessages(t, b.control), anne)
		if len(got) == 0 {
			return fmt.Errorf("no text yet")
		}
		text = got[0]
		return nil
	})
	if !strings.Contains(text.Text, "Anne") || !strings.Contains(text.Text, "Blue mug") || !strings.HasPrefix(text.Text, "Rosa's Bakery") {
		t.Errorf("text %q: want the brand, the name and the item", text.Text)
	}
	m := shortLink.FindStringSubmatch(text.Text)
	if m == nil {
		t.Fatalf("text %q carries no short link on %s", text.Text, e2ePublicURL)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", b.c.base+"/l/"+m[1], nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148")
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://e2e.myshopify.com/checkouts/9001/recover?key=k9001"; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Errorf("GET /l/%s: %d → %q, want 302 → %q", m[1], resp.StatusCode, resp.Header.Get("Location"), want)
	}
	waitFor(t, 30*time.Second, "the click in the flow's counters", func() error {
		var f struct {
			Counters struct{ Clicked, Sent int } `json:"counters"`
		}
		if _, err := b.c.do("GET", "/api/v1/flows/1", nil, &f); err != nil {
			return err
		}
		if f.Counters.Clicked != 1 || f.Counters.Sent != 1 {
			return fmt.Errorf("counters %+v", f.Counters)
		}
		return nil
	})

	// Cleo's text is held for quiet hours; her order lands meanwhile.
	var held e2eFlowEntry
	waitFor(t, 60*time.Second, "Cleo's text held for quiet hours", func() error {
		e, ok := b.entryOf(cleo)
		if !ok || len(e.Steps) < 3 || e.Steps[2].MessageID == 0 || !strings.Contains(e.Steps[2].Hold, "quiet") {
			return fmt.Errorf("entry %+v", e)
		}
		held = e
		return nil
	})
	if code, body := s.post("orders/create", "wh-5", order(3, 9003, cleo), false); code != http.StatusOK {
		t.Fatalf("orders/create: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "Cleo's text withdrawn", func() error {
		var msg apiMessage
		if _, err := b.c.do("GET", fmt.Sprintf("/api/v1/messages/%d", held.Steps[2].MessageID), nil, &msg); err != nil {
			return err
		}
		if msg.Status != "suppressed" {
			return fmt.Errorf("status %s", msg.Status)
		}
		return nil
	})

	// Two delays on, nothing else went: one text to Anne, none to Ben or Cleo.
	time.Sleep(2 * delay) // the scenario: time passing after the delay, not a wait for some state
	ms := simMessages(t, b.control)
	if n := len(flowTexts(ms, anne)); n != 1 {
		t.Errorf("%d texts to Anne, want exactly 1", n)
	}
	for _, n := range []string{ben, cleo} {
		if got := flowTexts(ms, n); len(got) != 0 {
			t.Errorf("texts to %s, whose order came before the text went: %+v", n, got)
		}
	}
	if e, ok := b.entryOf(ben); !ok || e.State != "exited" || !strings.Contains(e.Reason, "order") {
		t.Errorf("Ben's entry %+v: want exited by his order", e)
	}
}

// TestEndToEndFlowsKillRestart: 1,000 checkouts, some followed by their
// order and some by the customer's STOP, while the daemon is killed with
// SIGKILL five times. The simulator must receive a flow text exactly for
// the checkouts with neither, and none twice.
func TestEndToEndFlowsKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	checkouts, kills := 1000, 5
	if os.Getenv("SIMGATE_E2E_QUICK") != "" {
		checkouts, kills = 150, 3
	}
	b := newFlowBox(t, 2, "20s")
	day := zoneWhere(t, 9, 18)
	number := func(i int) string { return fmt.Sprintf("+1201556%04d", i) }
	for i := range checkouts {
		b.consented(number(i), fmt.Sprintf("Cust%d Tester", i), day)
	}
	// Every opt-in confirmation reaches the network before the run: a
	// marketing text waits for its number's confirmation (R-OPTIN-2).
	waitFor(t, 3*time.Minute, "every opt-in confirmation in the simulator", func() error {
		n := 0
		for _, m := range simMessages(t, b.control) {
			if strings.Contains(m.Text, "Thanks for joining") {
				n++
			}
		}
		if n < checkouts {
			return fmt.Errorf("%d of %d", n, checkouts)
		}
		return nil
	})

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	ordered := map[int]bool{}
	stopped := map[int]bool{}
	for i := range checkouts {
		switch r := rng.IntN(10); {
		case r < 3:
			ordered[i] = true
		case r < 4:
			stopped[i] = true
		}
	}
	s := &shop{t: t, client: &http.Client{Timeout: 5 * time.Second}}
	s.setBase(b.c.base)
	var simMu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range checkouts {
			s.post("checkouts/create", fmt.Sprintf("co-%d", i), checkout(int64(100000+i), number(i), fmt.Sprintf("Cust%d", i), "Blue mug"), true)
			if ordered[i] {
				s.post("orders/create", fmt.Sprintf("or-%d", i), order(int64(i), int64(100000+i), number(i)), true)
			}
			if stopped[i] {
				// The customer texts STOP; the modem keeps it while the box is down.
				simMu.Lock()
				postJSON(t, b.control+"/inbound", map[string]any{"to": i % 2, "from": number(i), "text": "STOP"})
				simMu.Unlock()
			}
		}
	}()
	restart := func() {
		b.p.kill(syscall.SIGKILL)
		<-b.p.done
		b.start()
		s.setBase(b.c.base)
	}
	// Kills at random moments while checkouts arrive (and the first texts
	// go, 20 s after the first checkouts), and the last while the flow
	// sends the texts of the last checkouts.
	for k := 0; k < kills-1; k++ {
		time.Sleep(time.Duration(1000+rng.IntN(6000)) * time.Millisecond)
		restart()
	}
	<-done
	time.Sleep(time.Duration(15000+rng.IntN(10000)) * time.Millisecond)
	restart()

	want := map[string]bool{}
	for i := range checkouts {
		if !ordered[i] && !stopped[i] {
			want[number(i)] = true
		}
	}
	// Every entry ends: sent, exited by its order or the STOP, and every
	// text the flow queued settles.
	waitFor(t, 5*time.Minute, "every entry done or exited and every text settled", func() error {
		es := b.entries()
		if len(es) != checkouts {
			return fmt.Errorf("%d entries of %d", len(es), checkouts)
		}
		for _, e := range es {
			if e.State != "done" && e.State != "exited" {
				return fmt.Errorf("entry %d of %s is %s", e.ID, e.Number, e.State)
			}
			for _, st := range e.Steps {
				if st.MessageID != 0 && !messageSettled(st.Status) {
					return fmt.Errorf("text %d of %s is %s", st.MessageID, e.Number, st.Status)
				}
			}
		}
		return nil
	})
	// The flow's texts a modem may have sent without the box learning it
	// (killed between the PDU and +CMGS): marked unknown, never resent.
	unknown := map[string]bool{}
	for _, e := range b.entries() {
		for _, st := range e.Steps {
			if st.Status == "unknown" {
				unknown[e.Number] = true
			}
		}
	}
	got := map[string]int{}
	for _, m := range simMessages(t, b.control) {
		if strings.Contains(m.Text, "is waiting:") {
			got[m.To]++
		}
	}
	var missing, extra, twice []string
	for n := range want {
		if got[n] == 0 && !unknown[n] {
			missing = append(missing, n)
		}
	}
	for n, c := range got {
		if !want[n] {
			extra = append(extra, n)
		}
		if c > 1 {
			twice = append(twice, n)
		}
	}
	t.Logf("%d checkouts: %d ordered, %d stopped, %d texts expected, %d received, %d unknown after a kill",
		checkouts, len(ordered), len(stopped), len(want), len(got), len(unknown))
	if len(missing)+len(extra)+len(twice) > 0 {
		t.Errorf("missing %d %v; unexpected %d %v; twice %d %v", len(missing), missing, len(extra), extra, len(twice), twice)
	}
}

package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/gateway/httpout"
	"github.com/simgate/simgate/store"
)

func openDB(t testing.TB, opts ...store.Option) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// start runs a Service on db until the test ends.
func start(t testing.TB, cfg Config) *Service {
	t.Helper()
	s := New(cfg)
	cfg.DB.OnChange(s.Changed)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// waitUntil polls cond: the test waits for an outcome, it never asserts a
// duration.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSignSpecVector: the signature of the Standard Webhooks
// specification's own example.
func TestSignSpecVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if _, err := Sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, nil); err == nil {
		t.Error("a secret without whsec_ was accepted")
	}
	s, err := NewSecret()
	if err != nil || !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("NewSecret = %q, %v", s, err)
	}
	if key, err := secretKey(s); err != nil || len(key) != secretBytes {
		t.Errorf("NewSecret's key: %d bytes, %v", len(key), err)
	}
}

// captured is one request a test receiver got.
type captured struct {
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

type receiver struct {
	mu     sync.Mutex
	got    []captured
	secret string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, captured{Secret: rc.secret, Body: string(body), Headers: map[string]string{
		"webhook-id": r.Header.Get("webhook-id"), "webhook-timestamp": r.Header.Get("webhook-timestamp"),
		"webhook-signature": r.Header.Get("webhook-signature")}})
	rc.mu.Unlock()
	w.Write([]byte("ok"))
}

func (rc *receiver) requests() []captured {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]captured(nil), rc.got...)
}

// verifyWithReference checks every request with the npm package
// standardwebhooks, which .ci/run installs; without it the check is
// skipped locally and fails under CI=true.
func verifyWithReference(t *testing.T, reqs []captured) {
	t.Helper()
	dir, _ := filepath.Abs("testdata/npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("standardwebhooks is not installed in %s (npm ci --prefix %s)", dir, dir)
		}
		t.Skipf("standardwebhooks is not installed (npm ci --prefix gateway/webhooks/testdata/npm)")
	}
	raw, _ := json.Marshal(reqs)
	file := filepath.Join(t.TempDir(), "requests.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", filepath.Join(dir, "verify.js"), file).CombinedOutput()
	if err != nil {
		t.Fatalf("the reference library refused a signature: %v\n%s", err, out)
	}
	t.Logf("standardwebhooks: %s", strings.TrimSpace(string(out)))
}

// TestDeliversEveryChangeSignedInOrder: a receiver subscribed to every
// kind gets each status change of each text, in the feed's order, and
// every signature verifies with the reference library.
func TestDeliversEveryChangeSignedInOrder(t *testing.T) {
	db := openDB(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := start(t, Config{DB: db, Sender: httpout.New(DefaultTimeout, nil)})
	ep, err := s.CreateEndpoint(context.Background(), EndpointInput{URL: ptr(srv.URL + "/hook"), Kinds: ptr(Kinds()), AllowPrivate: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = ep.Secret
	rc.mu.Unlock()
	const texts = 20
	for i := range texts {
		m, _, err := db.Enqueue(store.Message{To: "+15550100", Text: "hi", Kind: store.KindTransactional})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []store.Status{store.StatusSending, store.StatusSent} {
			if _, err := db.Update(m.ID, func(m *store.Message) error { m.Status = st; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			if _, err := s.SendTest(ep.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitUntil(t, "every change", func() bool { return len(rc.requests()) == texts*3+1 })
	reqs := rc.requests()
	var lastID uint64
	tests := 0
	for i, r := range reqs {
		var p struct {
			Type string              `json:"type"`
			Data store.MessageChange `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if p.Type == KindTest {
			tests++
			continue
		}
		if p.Type != store.ChangeMessageStatus || p.Data.ID < lastID {
			t.Fatalf("request %d out of order: %s after message %d", i, r.Body, lastID)
		}
		lastID = p.Data.ID
	}
	if tests != 1 {
		t.Errorf("%d test events", tests)
	}
	var ds []store.WebhookDelivery
	waitUntil(t, "every attempt recorded", func() bool {
		n, _ := s.Backlog()
		ds, _ = s.Deliveries(ep.ID, 0, 500)
		return n == 0
	})
	for _, d := range ds {
		if d.State != store.DeliveryDelivered || len(d.Attempts) != 1 || d.Attempts[0].Status != 200 || d.Attempts[0].Response != "ok" {
			t.Fatalf("delivery %+v", d)
		}
	}
	// A replay sends the same payload again under a new id.
	if _, err := s.Replay(ep.ID, ds[len(ds)-1].Seq); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the replay", func() bool { return len(rc.requests()) == texts*3+2 })
	reqs = rc.requests()
	if first, replay := reqs[0], reqs[len(reqs)-1]; first.Body != replay.Body || first.Headers["webhook-id"] == replay.Headers["webhook-id"] {
		t.Errorf("replay %+v of %+v", replay, first)
	}
	verifyWithReference(t, reqs)
}

// TestHangingReceiverDelaysOnlyItself: while one endpoint's receiver hangs
// on every request, another endpoint gets every change, and texts keep
// being stored (nothing on the send path waits on webhooks).
func TestHangingReceiverDelaysOnlyItself(t *testing.T) {
	db := openDB(t)
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release)
	rc := &receiver{}
	fine := httptest.NewServer(rc)
	defer fine.Close()
	s := start(t, Config{DB: db, Sender: httpout.New(time.Minute, nil)})
	for _, u := range []string{hanging.URL, fine.URL} {
		if _, err := s.CreateEndpoint(context.Background(), EndpointInput{URL: ptr(u), Kinds: ptr([]string{store.ChangeMessageStatus}), AllowPrivate: ptr(true)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if _, _, err := db.Enqueue(store.Message{To: "+15550100", Text: "hi", Kind: store.KindTransactional}); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the healthy receiver", func() bool { return len(rc.requests()) == 10 })
	// The healthy receiver's attempts are all recorded; the hanging one
	// still holds its first.
	waitUntil(t, "the hanging receiver's 10 left in the backlog", func() bool { n, _ := s.Backlog(); return n == 10 })
}

// TestSSRFRule: loopback, link-local (metadata), private and the box's own
// addresses are refused at save unless allowed (a url field error), and
// again at dial time, where a saved name could have moved.
func TestSSRFRule(t *testing.T) {
	db := openDB(t)
	s := New(Config{DB: db, Sender: httpout.New(DefaultTimeout, nil)})
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1/h", "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/h",
		"http://10.1.2.3/h", "http://192.168.1.1/h", "http://localhost:8080/h", "http://[::1]/h", "ftp://example.com/"} {
		_, err := s.CreateEndpoint(ctx, EndpointInput{URL: ptr(u), Kinds: ptr(Kinds())})
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "url" {
			t.Errorf("%s: %v, want a url field error", u, err)
		}
	}
	if _, err := s.CreateEndpoint(ctx, EndpointInput{URL: ptr("http://10.1.2.3/h"), Kinds: ptr(Kinds()), AllowPrivate: ptr(true)}); err != nil {
		t.Errorf("allowed private target refused: %v", err)
	}
	_, err := s.CreateEndpoint(ctx, EndpointInput{URL: ptr("https://93.184.215.14/h"), Kinds: ptr([]string{"message.nope"})})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "kinds" {
		t.Errorf("unknown kind: %v", err)
	}

	// At dial time: a delivery to a loopback receiver for an endpoint that
	// does not allow private targets fails without reaching it.
	reached := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached <- struct{}{} }))
	defer srv.Close()
	ep, err := db.PutWebhookEndpoint(store.WebhookEndpoint{URL: srv.URL, Secret: "whsec_dGVzdA==", Kinds: Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	start(t, Config{DB: db, Sender: httpout.New(DefaultTimeout, nil)})
	if _, err := db.AppendChange(store.ChangeModemDown, "m1", nil); err != nil {
		t.Fatal(err)
	}
	var d []store.WebhookDelivery
	waitUntil(t, "an attempt", func() bool {
		d, _ = db.WebhookDeliveries(ep.Target(), 0, 1)
		return len(d) == 1 && len(d[0].Attempts) > 0
	})
	if !strings.Contains(d[0].Attempts[0].Error, "refused to connect") {
		t.Errorf("attempt %+v", d[0].Attempts[0])
	}
	select {
	case <-reached:
		t.Error("the loopback receiver was reached")
	default:
	}
}

// failing is a receiver that answers every request with status, counting
// them; it needs no network, so it works inside a synctest bubble.
type failing struct {
	mu     sync.Mutex
	status int
	n      int
}

func (f *failing) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return &http.Response{StatusCode: f.status, Body: io.NopCloser(strings.NewReader("nope")), Header: http.Header{}, Request: r}, nil
}

func (f *failing) set(status int) {
	f.mu.Lock()
	f.status = status
	f.mu.Unlock()
}

func (f *failing) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

type alerts struct {
	mu     sync.Mutex
	raised []string
}

func (a *alerts) RaiseAlert(kind, subject, msg string) {
	a.mu.Lock()
	a.raised = append(a.raised, kind+" "+subject)
	a.mu.Unlock()
}
func (a *alerts) ClearAlert(string, string) {}
func (a *alerts) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.raised...)
}

// TestBackoffThenPauseThenGiveUp: a receiver that always fails is retried
// with growing gaps, its endpoint paused after a day (alert), and once
// resumed the delivery fails for good three days after its first attempt
// (alert), after which the next delivery goes.
func TestBackoffThenPauseThenGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openDB(t, store.WithNoSync())
		rt := &failing{status: 503}
		al := &alerts{}
		s := New(Config{DB: db, Sender: httpout.New(DefaultTimeout, rt), Notify: al})
		db.OnChange(s.Changed)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		ep, err := s.CreateEndpoint(ctx, EndpointInput{URL: ptr("http://10.9.9.9/h"), AllowPrivate: ptr(true), Kinds: ptr([]string{store.ChangeModemDown})})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		for _, m := range []string{"m1", "m2"} {
			if _, err := db.AppendChange(store.ChangeModemDown, m, map[string]string{"modem": m}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		first, _, _ := db.NextPendingDelivery(ep.Target())
		if first.Change.Subject != "m1" || len(first.Attempts) < 5 {
			t.Fatalf("after an hour: %d attempts of %s", len(first.Attempts), first.Change.Subject)
		}
		for i := 1; i < len(first.Attempts); i++ {
			gap := first.Attempts[i].At.Sub(first.Attempts[i-1].At)
			if bound := min(DefaultRetryMax, DefaultRetryBase<<min(i-1, 20)); gap > bound {
				t.Errorf("gap %d is %s, above its bound %s", i, gap, bound)
			}
		}

		time.Sleep(24*time.Hour - time.Since(t0) + 2*DefaultRetryMax)
		synctest.Wait()
		got, _ := s.Endpoint(ep.ID)
		if !got.Paused || !strings.Contains(got.PausedReason, "failed since") {
			t.Fatalf("after a day of failures the endpoint is %+v", got)
		}
		if a := al.list(); len(a) != 1 || a[0] != AlertEndpointPaused+" "+ep.Target() {
			t.Errorf("alerts %v", a)
		}
		n := rt.count()
		time.Sleep(12 * time.Hour)
		synctest.Wait()
		if rt.count() != n {
			t.Errorf("a paused endpoint got %d attempts", rt.count()-n)
		}

		// Resumed, the run of failures starts again: another day of them
		// pauses it again; resumed once more, the delivery reaches its
		// three days.
		if _, err := s.UpdateEndpoint(ctx, ep.ID, EndpointInput{Paused: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		resumed := time.Now()
		time.Sleep(24*time.Hour + 2*DefaultRetryMax)
		synctest.Wait()
		if got, _ := s.Endpoint(ep.ID); !got.Paused || got.FailingSince.Before(resumed) {
			t.Fatalf("a day after resuming the endpoint is %+v", got)
		}
		if _, err := s.UpdateEndpoint(ctx, ep.ID, EndpointInput{Paused: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(72*time.Hour - time.Since(t0) + 2*DefaultRetryMax)
		synctest.Wait()
		ds, _ := s.Deliveries(ep.ID, 0, 10)
		if len(ds) != 2 || ds[1].State != store.DeliveryFailed || ds[1].Change.Subject != "m1" {
			t.Fatalf("after three days: %+v", ds)
		}
		if !contains(al.list(), AlertDeliveryFailed+" "+ep.Target()) {
			t.Errorf("no failure alert: %v", al.list())
		}
		// The receiver comes back: the next delivery goes at its next try.
		rt.set(204)
		time.Sleep(2 * DefaultRetryMax)
		synctest.Wait()
		ds, _ = s.Deliveries(ep.ID, 0, 10)
		if ds[0].State != store.DeliveryDelivered || ds[0].Change.Subject != "m2" {
			t.Errorf("the second delivery is %+v", ds[0])
		}
		if got, _ := s.Endpoint(ep.ID); !got.FailingSince.IsZero() || got.Paused {
			t.Errorf("after a success the endpoint is %+v", got)
		}
	})
}

// TestCallbackFormatter: a message with a callback gets its status
// changes in the formatter's request, with the message as it is now; a
// formatter's ErrSkip drops one without sending.
func TestCallbackFormatter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openDB(t, store.WithNoSync())
		var mu sync.Mutex
		var sent []string
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			sent = append(sent, r.URL.String()+" "+string(b))
			mu.Unlock()
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
		})
		s := New(Config{DB: db, Sender: httpout.New(DefaultTimeout, rt)})
		s.RegisterFormat("plain", FormatterFunc(func(d Delivery) (Request, error) {
			if d.Message == nil {
				return Request{}, errors.New("no message")
			}
			var mc store.MessageChange
			json.Unmarshal(d.Change.Data, &mc)
			if mc.Status == "sending" {
				return Request{}, ErrSkip
			}
			return Request{URL: d.URL, Body: []byte(mc.Status + " " + string(d.Params))}, nil
		}))
		db.OnChange(s.Changed)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		m, _, err := db.Enqueue(store.Message{To: "+15550100", Text: "hi", Kind: store.KindTransactional,
			Callback: &store.Callback{URL: "http://shop.example/cb", Format: "plain", Params: json.RawMessage(`{"a":1}`)}})
		if err != nil {
			t.Fatal(err)
		}
		// The dispatcher gathers changes for a moment before it sends.
		settle := func() { time.Sleep(time.Second); synctest.Wait() }
		settle()
		db.Update(m.ID, func(m *store.Message) error { m.Status = store.StatusSending; return nil })
		settle()
		db.Update(m.ID, func(m *store.Message) error { m.Status = store.StatusDelivered; return nil })
		settle()
		mu.Lock()
		defer mu.Unlock()
		want := []string{`http://shop.example/cb queued {"a":1}`, `http://shop.example/cb delivered {"a":1}`}
		if strings.Join(sent, "|") != strings.Join(want, "|") {
			t.Errorf("sent %q, want %q", sent, want)
		}
		ds, _ := db.WebhookDeliveries(store.CallbackTarget("http://shop.example/cb"), 0, 10)
		if len(ds) != 3 || ds[1].State != store.DeliverySkipped {
			t.Errorf("deliveries %+v", ds)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

package webui

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// The /join hardening tests (issue 15, points 1, 3 and 13): what a
// stranger on the public sign-up page can make the box do. They run the
// real handler over a real gateway and bbolt file, with one settable clock
// for both, so that windows of minutes, days and months pass at once.

// joinClock is the settable clock the gateway and the handler share.
type joinClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *joinClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *joinClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type joinRig struct {
	*rig
	clock *joinClock
	net   *sim.Network
}

// newJoinRig is a handler over a gateway on the rig's clock, open for
// sign-ups (brand and disclosure saved). The gateway is not running: start
// runs it, so a test can look at what happened before the gateway did
// anything after the answer. gwCfg and cfg may adjust the configuration.
func newJoinRig(t *testing.T, gwCfg func(*gateway.Config), cfg func(*Config)) *joinRig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	clock := &joinClock{t: time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)}
	gc := gateway.Config{Region: "US", Clock: clock.now, HealthInterval: time.Second}
	if gwCfg != nil {
		gwCfg(&gc)
	}
	gw, err := gateway.New(db, gc)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := gw.Access().CreateToken("test")
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Gateway: gw}
	if cfg != nil {
		cfg(&c)
	}
	h := Handler(c)
	s := h.(*server)
	s.now = clock.now
	r := &joinRig{rig: &rig{t: t, db: db, gw: gw, h: h, token: tok}, clock: clock}
	openForConsent(t, r.rig)
	return r
}

// addSIM registers a simulated modem on the rig's network (made on first
// use); it starts with the gateway.
func (r *joinRig) addSIM(number string, limits gateway.Limits) {
	r.t.Helper()
	if r.net == nil {
		r.net = sim.NewNetwork(sim.NetworkConfig{ReportDelay: 20 * time.Millisecond})
		r.t.Cleanup(r.net.Close)
	}
	sm, err := r.net.AddModem(sim.Config{Number: number})
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := modem.Config{Name: "sim" + number[len(number)-1:], Path: "pipe:" + number,
		SubmitTimeout: 5 * time.Second, CommandTimeout: 2 * time.Second, SweepInterval: 500 * time.Millisecond}
	open := func(ctx context.Context) (*modem.Modem, error) {
		return modem.New(sm.Connect(context.WithoutCancel(ctx)), cfg, r.h.(*server).log), nil
	}
	if err := r.gw.AddModem(gateway.ModemConfig{Name: cfg.Name, Path: cfg.Path, Limits: limits, Open: open}); err != nil {
		r.t.Fatal(err)
	}
}

// start runs the gateway until the test ends.
func (r *joinRig) start() { runGateway(r.t, r.gw) }

// runGateway runs gw until the test ends, as the daemon does after the
// HTTP server is up.
func runGateway(t testing.TB, gw *gateway.Gateway) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gateway Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("gateway did not stop")
		}
	})
}

// join posts the sign-up form from address ip, as a same-origin browser
// would, and returns the answer. hdr adds or replaces headers.
func (r *joinRig) join(ip string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	r.t.Helper()
	q := httptest.NewRequest(http.MethodPost, "/join", strings.NewReader(form.Encode()))
	q.RemoteAddr = ip + ":40000"
	q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	q.Header.Set("Sec-Fetch-Site", "same-origin")
	q.Header.Set("Origin", "http://example.com")
	q.Header.Set("User-Agent", "TestBrowser/1.0")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			q.Host = hdr[i+1]
			continue
		}
		if hdr[i+1] == "-" {
			q.Header.Del(hdr[i])
			continue
		}
		q.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, q)
	return w
}

// signUp is the form a person fills in: the number and the ticked box.
func signUp(number string, cart bool) url.Values {
	f := url.Values{"number": {number}, "consent": {"yes"}}
	if cart {
		f.Set("cart", "yes")
	}
	return f
}

// textsTo are the messages queued or sent to number.
func (r *joinRig) textsTo(number string) []gateway.Message {
	r.t.Helper()
	msgs, _, err := r.gw.Messages(gateway.ListFilter{Limit: 500})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []gateway.Message
	for _, m := range msgs {
		if m.To == number {
			out = append(out, m)
		}
	}
	return out
}

func (r *joinRig) ledger(number string) []gateway.ConsentEvent {
	r.t.Helper()
	evs, err := r.gw.ConsentEvents(number)
	if err != nil {
		r.t.Fatal(err)
	}
	return evs
}

func (r *joinRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	waitUntil(r.t, what, cond)
}

// waitUntil polls cond; the limit is a hang guard, not a speed assertion.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// challengeRE finds the proof-of-work challenge on a page.
var challengeRE = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// challengeIn returns the challenge on the page resp carries, or "".
func challengeIn(t testing.TB, resp *http.Response) string {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if m := challengeRE.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

// settled posts a sign-up for a fresh number and waits for its request
// to be queued: sign-ups are handled in the order they came, so every
// sign-up posted before it has been handled too.
func (r *joinRig) settled(fresh string) {
	r.t.Helper()
	if w := r.join("198.51.100.250", signUp(fresh, false)); w.Code != http.StatusSeeOther {
		r.t.Fatalf("marker sign-up: %d %.300s", w.Code, w.Body)
	}
	r.waitFor("the marker sign-up's request", func() bool { return len(r.textsTo(fresh)) == 1 })
}

// subscribe gives number confirmed consent, as the shop's till would.
func (r *joinRig) subscribe(number string) {
	r.t.Helper()
	_, _, err := r.gw.OptIn(context.Background(), gateway.OptInRequest{Number: number, Method: gateway.MethodPOS,
		Source: "till 1", Terminal: "till 1", DisclosureVersion: "v1"})
	if err != nil {
		r.t.Fatal(err)
	}
}

// TestJoinCannotChangeASubscribersPreferences (issue 15, point 3): a
// stranger who types a subscribed number into /join with the cart box
// ticked and a forged Host header changes nothing on the number's record
// and writes no opt-in to its ledger: the preference waits for the
// number's own YES, and the ledger's source is the configured page, never
// the request's Host.
func TestJoinCannotChangeASubscribersPreferences(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	if _, err := r.gw.Flows().EnablePreset("abandoned_cart", flows.PresetOptions{}); err != nil {
		t.Fatal(err) // the cart box shows only while a cart flow runs
	}
	r.start()
	r.subscribe(consentNumber)
	before := r.ledger(consentNumber)

	w := r.join("203.0.113.7", signUp(consentNumber, true), "Host", "evil.example", "Origin", "-", "Sec-Fetch-Site", "-")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %.300s", w.Code, w.Body)
	}
	r.settled("+12125550199")

	c, err := r.gw.Consent(consentNumber)
	if err != nil {
		t.Fatal(err)
	}
	if c.CartReminders {
		t.Error("cart reminders switched on by a stranger, without the number's YES")
	}
	after := r.ledger(consentNumber)
	for _, ev := range after[len(before):] {
		if ev.Type == gateway.EventOptIn {
			t.Errorf("a stranger's sign-up wrote an opt-in entry: %+v", ev)
		}
		if strings.Contains(ev.Source, "evil.example") {
			t.Errorf("ledger source %q comes from the request's Host header", ev.Source)
		}
	}
}

// TestJoinLedgerSourceFromConfiguration (issue 15, point 3): the ledger's
// source for a web sign-up is the configured page address (or a fixed
// name of the page when none is configured), whatever Host the request
// carried.
func TestJoinLedgerSourceFromConfiguration(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	r.start()
	number := "+12125550111"
	w := r.join("203.0.113.8", signUp(number, false), "Host", "evil.example", "Origin", "-", "Sec-Fetch-Site", "-")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %.300s", w.Code, w.Body)
	}
	r.settled("+12125550199")
	evs := r.ledger(number)
	if len(evs) != 1 || evs[0].Source != joinSourceUnconfigured {
		t.Fatalf("ledger %+v: want one entry with source %q", evs, joinSourceUnconfigured)
	}
}

// TestJoinAnswerIndependentOfNumberState (issue 15, point 13): a new
// number, a subscribed one and one already asked today get the same
// answer, byte for byte, and the answer comes before any work that
// depends on the number's state: the gateway has not acted on any of the
// three until it runs, after the answers.
func TestJoinAnswerIndependentOfNumberState(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	fresh, subscribed, asked := "+12125550121", "+12125550122", "+12125550123"
	r.subscribe(subscribed)
	if _, _, err := r.gw.OptIn(context.Background(), gateway.OptInRequest{Number: asked, Method: gateway.MethodWebForm,
		Source: "https://rosas.example/join", IP: "203.0.113.1", DisclosureVersion: "v1", DoubleOptIn: true}); err != nil {
		t.Fatal(err)
	}
	ledgers := map[string]int{}
	for _, n := range []string{fresh, subscribed, asked} {
		ledgers[n] = len(r.ledger(n))
	}

	var answers []*httptest.ResponseRecorder
	for i, n := range []string{fresh, subscribed, asked} {
		answers = append(answers, r.join(fmt.Sprintf("203.0.113.%d", 20+i), signUp(n, false)))
	}
	for i, w := range answers[1:] {
		a := answers[0]
		if w.Code != a.Code || w.Body.String() != a.Body.String() || !sameHeaders(w.Header(), a.Header()) {
			t.Errorf("answer %d differs from the new number's:\n%d %v %q\n%d %v %q", i+1, w.Code, w.Header(), w.Body, a.Code, a.Header(), a.Body)
		}
	}
	if answers[0].Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %.300s", answers[0].Code, answers[0].Body)
	}
	for _, n := range []string{fresh, subscribed, asked} {
		if got := len(r.ledger(n)); got != ledgers[n] {
			t.Errorf("%s: the ledger changed before the answer was sent (%d entries, had %d)", n, got, ledgers[n])
		}
	}
	if texts := r.textsTo(fresh); len(texts) != 0 {
		t.Errorf("a text to the new number was queued before the answer: %+v", texts)
	}

	r.start() // the work the answers did not wait for
	r.waitFor("the new number's request", func() bool { return len(r.textsTo(fresh)) == 1 })
	r.settled("+12125550199")
	for _, n := range []string{subscribed, asked} {
		if got := len(r.ledger(n)); got != ledgers[n] {
			t.Errorf("%s: %d ledger entries after the sign-up, had %d", n, got, ledgers[n])
		}
	}
	if n := len(r.textsTo(asked)); n != 1 {
		t.Errorf("the number asked today got %d requests, want the one it had", n)
	}
}

// sameHeaders compares two answers' headers.
func sameHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestJoinBudgetIsAShareOfTheFleet (issue 15, point 1): strangers can
// spend only the configured share of the SIMs' daily parts on /join
// requests; past it the page says sign-ups by web are paused for the day
// and an alert tells the shop.
func TestJoinBudgetIsAShareOfTheFleet(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	// A SIM that never comes up: the budget is its daily limit's share,
	// and nothing is sent, so the count of parts stays readable.
	// 110 parts a day: the share, 11 parts, is not a whole number of
	// 2-part requests, so the last part is never used.
	r.gw.AddModem(gateway.ModemConfig{Name: "away", Path: "/dev/null", Limits: gateway.Limits{PerDay: 110},
		Open: func(context.Context) (*modem.Modem, error) { return nil, errors.New("unplugged") }})
	r.start()
	budget := 110 * 10 / 100 // the default share, 10 %, of the fleet's day
	parts := func() int {
		msgs, _, err := r.gw.Messages(gateway.ListFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range msgs {
			n += len(m.Parts)
		}
		return n
	}
	abuse := func() bool {
		for _, a := range r.gw.Alerts() {
			if a.Kind == "join_abuse" {
				return true
			}
		}
		return false
	}
	// The gateway handles sign-ups as they come, so the page may say it
	// is paused before the last of these.
	for i := range 8 {
		w := r.join(fmt.Sprintf("198.51.100.%d", i+1), signUp(fmt.Sprintf("+1212555%04d", 300+i), false))
		switch w.Code {
		case http.StatusSeeOther:
		case http.StatusServiceUnavailable:
			wantBody(t, w, http.StatusServiceUnavailable, "paused", "JOIN")
		default:
			t.Fatalf("sign-up %d: %d %.300s", i, w.Code, w.Body)
		}
	}
	r.waitFor("the budget to be spent or the alert", func() bool { return parts() > budget || abuse() })
	if n := parts(); n > budget {
		t.Fatalf("%d parts queued for /join, the budget is %d", n, budget)
	}
	w := r.join("198.51.100.99", signUp("+12125550399", false))
	wantBody(t, w, http.StatusServiceUnavailable, "paused", "JOIN")
	if n := parts(); n > budget {
		t.Errorf("%d parts queued for /join, the budget is %d", n, budget)
	}
	if !abuse() {
		t.Error("no join_abuse alert while the budget is spent")
	}

	// A new day: the page takes sign-ups again and the alert goes.
	r.clock.add(24 * time.Hour)
	if w := r.join("198.51.100.98", signUp("+12125550398", false)); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-up the next day: %d %.300s", w.Code, w.Body)
	}
	if abuse() {
		t.Errorf("the alert outlived the day: %+v", r.gw.Alerts())
	}
}

// TestJoinPerAddressDailyLimit (issue 15, point 1): one address used to
// be able to post 5 sign-ups every 15 minutes, 480 a day; now it gets a
// day's allowance and then a clear refusal.
func TestJoinPerAddressDailyLimit(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	accepted := 0
	var last *httptest.ResponseRecorder
	for i := range 40 {
		r.clock.add(20 * time.Minute) // past the 15-minute burst window each time
		last = r.join("203.0.113.50", signUp(fmt.Sprintf("+1212555%04d", 500+i), false))
		if last.Code == http.StatusSeeOther {
			accepted++
		}
	}
	if accepted != DefaultJoinPerAddressPerDay {
		t.Errorf("one address signed up %d numbers in a day, want %d", accepted, DefaultJoinPerAddressPerDay)
	}
	wantBody(t, last, http.StatusTooManyRequests, "today")
	if ra := last.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q: want when the day's oldest sign-up stops counting", ra)
	}
}

// TestJoinChallengeWhenBusy (issue 15, point 1): once sign-ups come fast,
// a post without a solved challenge is refused with a message that says
// what a visitor without JavaScript can do.
func TestJoinChallengeWhenBusy(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	for i := range gateway.DefaultSignupBusyPerHour {
		if w := r.join(fmt.Sprintf("198.51.100.%d", i+1), signUp(fmt.Sprintf("+1212555%04d", 600+i), false)); w.Code != http.StatusSeeOther {
			t.Fatalf("sign-up %d below the threshold: %d %.300s", i, w.Code, w.Body)
		}
	}
	w := r.join("198.51.100.200", signUp("+12125550700", false))
	wantBody(t, w, http.StatusTooManyRequests, "JavaScript", "JOIN")
	alerts := r.gw.Alerts()
	if len(alerts) != 1 || alerts[0].Kind != gateway.AlertJoinAbuse || !strings.Contains(alerts[0].Message, "last hour") {
		t.Errorf("alerts %+v: want join_abuse for the rate", alerts)
	}

	// The page itself now carries a challenge, and says what a visitor
	// without JavaScript can do.
	q := httptest.NewRequest(http.MethodGet, "/join", nil)
	q.RemoteAddr = "198.51.100.201:40000"
	page := httptest.NewRecorder()
	r.h.ServeHTTP(page, q)
	wantBody(t, page, http.StatusOK, `name="challenge"`, "<noscript>", "text JOIN to our number")
	ch := challengeIn(t, page.Result())

	form := signUp("+12125550701", false)
	form.Set("challenge", ch)
	form.Set("nonce", "1")
	if leadingZeroBits(sha256.Sum256([]byte(ch+":1"))) < challengeBits {
		if w := r.join("198.51.100.201", form); w.Code != http.StatusTooManyRequests {
			t.Errorf("a wrong nonce: %d, want 429", w.Code)
		}
	}
	form.Set("nonce", solveChallenge(ch, challengeBits))
	if w := r.join("198.51.100.201", form); w.Code != http.StatusSeeOther {
		t.Fatalf("a solved challenge: %d %.300s", w.Code, w.Body)
	}
	form.Set("number", "+12125550702")
	if w := r.join("198.51.100.202", form); w.Code != http.StatusTooManyRequests {
		t.Errorf("the same solution again: %d, want 429", w.Code)
	}
}

// TestChallengeVerify: only a solution to a challenge this server issued,
// unexpired, at the current difficulty, counts, and only once.
func TestChallengeVerify(t *testing.T) {
	t.Parallel()
	c := newChallenges()
	c.bits = 8
	now := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	ch := c.issue(now)
	good := solveChallenge(ch, 8)

	other := newChallenges()
	other.bits = 8
	foreign := other.issue(now)
	p, sig, _ := strings.Cut(ch, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(p)
	raw[8] = 1 // an easier difficulty, with the old signature
	easier := base64.RawURLEncoding.EncodeToString(raw) + "." + sig

	for _, tt := range []struct {
		name, challenge, nonce string
		at                     time.Time
	}{
		{"empty", "", good, now},
		{"no nonce", ch, "", now},
		{"not a number", ch, "12a", now},
		{"too long", ch, strings.Repeat("1", 40), now},
		{"another server's", foreign, solveChallenge(foreign, 8), now},
		{"tampered", easier, solveChallenge(easier, 1), now},
		{"expired", ch, good, now.Add(challengeTTL)},
	} {
		if c.verify(tt.challenge, tt.nonce, tt.at) {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if !c.verify(ch, good, now.Add(challengeTTL-time.Second)) {
		t.Fatal("the solution was refused")
	}
	if c.verify(ch, good, now) {
		t.Error("a solution counted twice")
	}
}

// TestJoinDoesNotTextANumberThatTextedSTOP (issue 15, point 1): a number
// that opted out by texting STOP gets nothing when a stranger types it
// into /join; texting the join keyword is its way back.
func TestJoinDoesNotTextANumberThatTextedSTOP(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	r.start()
	if _, _, _, err := r.db.AppendConsent(store.ConsentEvent{Number: consentNumber, Type: store.EventOptOut,
		Purpose: store.PurposeAll, Method: store.MethodKeyword, Keyword: "STOP", InboundID: 7}, func(c *store.Consent) error {
		c.Marketing, c.OptedOutAll, c.OptOutByKeyword = store.MarketingOptedOut, true, true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before := len(r.ledger(consentNumber))
	if w := r.join("203.0.113.60", signUp(consentNumber, false)); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %.300s", w.Code, w.Body)
	}
	r.settled("+12125550199")
	if texts := r.textsTo(consentNumber); len(texts) != 0 {
		t.Errorf("the number that texted STOP got %d texts: %+v", len(texts), texts)
	}
	if n := len(r.ledger(consentNumber)); n != before {
		t.Errorf("the ledger of the number that texted STOP grew from %d to %d", before, n)
	}
}

// TestJoinPerNumberLimit (issue 15, point 1): one request a day to a
// number was the only bound, so a stranger could text it every day; now a
// number gets a few requests a month from /join and then no more until
// it answers.
func TestJoinPerNumberLimit(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	r.start()
	for day := range 6 {
		if w := r.join(fmt.Sprintf("203.0.113.%d", 70+day), signUp(consentNumber, false)); w.Code != http.StatusSeeOther {
			t.Fatalf("day %d: %d %.300s", day, w.Code, w.Body)
		}
		r.settled(fmt.Sprintf("+1212555%04d", 800+day))
		r.clock.add(25 * time.Hour)
	}
	if n := len(r.textsTo(consentNumber)); n != gateway.DefaultSignupsPerNumber {
		t.Errorf("a stranger's sign-ups texted one number %d times in 6 days, want %d", n, gateway.DefaultSignupsPerNumber)
	}
}

// TestJoinRequestsWaitBehindTransactional (issue 15, point 1): requests
// from /join queued first still wait while a transactional text is due:
// the dispatcher takes the shop's own texts first.
func TestJoinRequestsWaitBehindTransactional(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	r.addSIM("+12015550131", gateway.Limits{})
	if _, err := r.gw.SetModemPaused("sim1", true); err != nil {
		t.Fatal(err)
	}
	r.start()
	var numbers []string
	for i := range 3 {
		numbers = append(numbers, fmt.Sprintf("+1212555%04d", 900+i))
		if w := r.join(fmt.Sprintf("203.0.113.%d", 90+i), signUp(numbers[i], false)); w.Code != http.StatusSeeOther {
			t.Fatalf("sign-up %d: %d %.300s", i, w.Code, w.Body)
		}
	}
	r.waitFor("the three requests queued", func() bool {
		for _, n := range numbers {
			if len(r.textsTo(n)) != 1 {
				return false
			}
		}
		return true
	})
	order, _, err := r.gw.Submit(context.Background(), gateway.SubmitRequest{To: "+12125550930", Text: "Your order is ready"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.gw.SetModemPaused("sim1", false); err != nil {
		t.Fatal(err)
	}
	r.waitFor("four texts at the network", func() bool { return len(r.net.Messages()) == 4 })
	if first := r.net.Messages()[0]; first.To != order.To {
		t.Errorf("the network got %s's text first, want the order text to %s", first.To, order.To)
	}
}

// solveChallenge finds a nonce for challenge with at least zeroBits zero
// bits, as static/join.js does.
func solveChallenge(challenge string, zeroBits int) string {
	for n := uint64(0); ; n++ {
		nonce := strconv.FormatUint(n, 10)
		if leadingZeroBits(sha256.Sum256([]byte(challenge+":"+nonce))) >= zeroBits {
			return nonce
		}
	}
}

// TestJoinOffersCartOnlyWithACartFlow (issue 13, point 18): the sign-up
// page offers cart reminders only while an active flow sends them; a
// posted "cart" without one asks for nothing, and pausing the flow takes
// the box away again.
func TestJoinOffersCartOnlyWithACartFlow(t *testing.T) {
	t.Parallel()
	r := newJoinRig(t, nil, nil)
	r.start()
	page := func() string {
		q := httptest.NewRequest(http.MethodGet, "/join", nil)
		w := httptest.NewRecorder()
		r.h.ServeHTTP(w, q)
		return w.Body.String()
	}
	if strings.Contains(page(), `name="cart"`) {
		t.Fatal("the page offers cart reminders though no flow sends them")
	}
	if w := r.join("203.0.113.9", signUp(consentNumber, true)); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %.300s", w.Code, w.Body)
	}
	r.waitFor("the sign-up handled", func() bool {
		c, err := r.gw.Consent(consentNumber)
		return err == nil && c.Marketing == gateway.MarketingPending
	})
	if c, _ := r.gw.Consent(consentNumber); c.PendingCartReminders {
		t.Error("a posted cart box asked for cart reminders that no flow sends")
	}

	f, err := r.gw.Flows().EnablePreset("abandoned_cart", flows.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page(), `name="cart"`) {
		t.Error("an active cart flow, and the page does not offer its reminders")
	}
	if _, err := r.gw.Flows().SetPaused(f.ID, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page(), `name="cart"`) {
		t.Error("the cart flow is paused, and the page still offers its reminders")
	}
}

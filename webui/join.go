package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// The public sign-up page (/join): the shop links to it or prints it as a
// QR code. It needs no login, so everything a stranger can make the box do
// through it is bounded:
//
//   - cross-origin posts are refused (s.csrf);
//   - each address may post joinPerWindow sign-ups per 15 minutes and
//     Config.JoinPerAddressPerDay per 24 h (joinGuard);
//   - while sign-ups come fast (the gateway's SignupsBusy) or one address
//     posts a third within 15 minutes, a post counts only with a solved
//     proof of work (challenges, static/join.js); without JavaScript the
//     page says to text the join keyword instead;
//   - the gateway records the sign-up and answers before acting on it, so
//     the answer is the same whatever the number's state; it then texts
//     one double opt-in request at most, never to a number that opted out,
//     at low priority and within a daily share of the SIMs' budget (past
//     it the page says sign-ups are paused), and raises the join_abuse
//     alert;
//   - nothing a request carries names the page in the ledger: the source
//     is the configured public URL (R-RECORD).

const (
	// joinPerWindow is how many sign-ups one address may post per
	// joinWindow: a family at one router signs up a few; a script cycling
	// through numbers is stopped at the fifth.
	joinPerWindow = 5
	joinWindow    = 15 * time.Minute
	// joinFreePerWindow is how many sign-ups an address posts within
	// joinWindow before the page asks it for a proof of work: a person
	// signs up themselves and maybe one more.
	joinFreePerWindow = 2
	// DefaultJoinPerAddressPerDay bounds one address over a day: a shop's
	// guest Wi-Fi or a family signs up a handful; the attack of issue 15
	// posted up to 480 a day from one address.
	DefaultJoinPerAddressPerDay = 20
	// joinSourceUnconfigured names the page in the ledger when no public
	// URL is configured.
	joinSourceUnconfigured = "sign-up page (/join)"
	// joinMaxAddresses bounds the addresses joinGuard remembers under a
	// flood of them: about 20 timestamps each, a few megabytes at most.
	joinMaxAddresses = 10000
)

type joinData struct {
	Brand       string
	Disclosure  string
	Frequency   string
	TermsURL    string
	PrivacyURL  string
	JoinKeyword string
	Number      string
	Cart        bool
	// OffersCart: an active flow sends cart reminders, so the page offers
	// them; otherwise the box would ask consent to texts nobody sends.
	OffersCart bool
	Closed     bool // no brand or disclosure saved yet
	Sent       bool // the thank-you page
	// Challenge, when set, is the proof of work a post must carry
	// (static/join.js solves it); Bits is its difficulty.
	Challenge string
	Bits      int
}

func (s *server) newJoinData() joinData {
	cs := s.gw.ComplianceSettings()
	return joinData{Brand: cs.Brand, Disclosure: cs.Disclosure.Text, Frequency: cs.Frequency,
		TermsURL: cs.TermsURL, PrivacyURL: cs.PrivacyURL, JoinKeyword: cs.JoinKeyword,
		OffersCart: s.gw.Flows().CartRemindersOffered(),
		Closed:     cs.Brand == "" || cs.Disclosure.Version == "" || cs.Disclosure.Text == ""}
}

func (s *server) renderJoin(w http.ResponseWriter, r *http.Request, status int, d joinData, errMsg string) {
	title := "Get texts from " + d.Brand
	switch {
	case d.Closed:
		title = "Sign-up is not open yet"
	case d.Sent:
		title = "Check your phone"
	}
	s.renderPublic(w, r, status, "join", view{Title: title, Error: errMsg, Data: d})
}

// withChallenge puts a fresh proof-of-work challenge on the form when a
// post from this address would need one.
func (s *server) withChallenge(d *joinData, ip string, now time.Time) {
	if s.join.challenged(ip, now) || s.gw.SignupsBusy() {
		d.Challenge, d.Bits = s.challenges.issue(now), s.challenges.bits
	}
}

// joinPage answers GET /join (and the thank-you page, ?sent=1).
func (s *server) joinPage(w http.ResponseWriter, r *http.Request) {
	d := s.newJoinData()
	d.Sent = !d.Closed && r.URL.Query().Get("sent") != ""
	if !d.Closed && !d.Sent {
		s.withChallenge(&d, clientIP(r), s.now())
	}
	s.renderJoin(w, r, http.StatusOK, d, "")
}

// joinPost answers POST /join: the box must be ticked, the address within
// its limits and, while the page is busy, the challenge solved; then the
// gateway records the sign-up, with the evidence R-RECORD asks for, and
// the person is asked to reply YES.
func (s *server) joinPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	d := s.newJoinData()
	if d.Closed {
		s.renderJoin(w, r, http.StatusConflict, d, "")
		return
	}
	d.Number = strings.TrimSpace(r.PostFormValue("number"))
	d.Cart = d.OffersCart && r.PostFormValue("cart") == "yes"
	ip, now := clientIP(r), s.now()
	if r.PostFormValue("consent") != "yes" {
		// R-OPTIN-1: an affirmative act; an unticked box is no consent.
		s.withChallenge(&d, ip, now)
		s.renderJoin(w, r, http.StatusBadRequest, d, "Tick the box to agree to the texts, then press Sign up.")
		return
	}
	if refusal, retry := s.join.refusal(ip, now); refusal != "" {
		w.Header().Set("Retry-After", fmt.Sprint(int(retry.Seconds())+1))
		s.renderJoin(w, r, http.StatusTooManyRequests, d, refusal)
		return
	}
	if s.join.challenged(ip, now) || s.gw.SignupsBusy() {
		if !s.challenges.verify(r.PostFormValue("challenge"), r.PostFormValue("nonce"), now) {
			d.Challenge, d.Bits = s.challenges.issue(now), s.challenges.bits
			s.renderJoin(w, r, http.StatusTooManyRequests, d, fmt.Sprintf(
				"Many sign-ups are arriving right now, so this page first runs a short check in your browser, which needs JavaScript. "+
					"Tick the box and press Sign up again. Without JavaScript, text %s to our number instead, or try again later.", d.JoinKeyword))
			return
		}
	}
	s.join.add(ip, now) // every attempt that reaches the gateway counts
	ua := r.UserAgent()
	if len(ua) > 500 {
		ua = ua[:500]
	}
	err := s.gw.Signup(r.Context(), gateway.SignupRequest{Number: d.Number, CartReminders: d.Cart,
		Source: s.joinSource, IP: ip, UserAgent: ua})
	var fe *gateway.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "number":
		s.renderJoin(w, r, http.StatusBadRequest, d, "That phone number does not look right: "+fe.Message+".")
		return
	case errors.Is(err, gateway.ErrSignupsPaused):
		s.renderJoin(w, r, http.StatusServiceUnavailable, d, fmt.Sprintf(
			"Sign-ups on this page are paused until tomorrow. Text %s to our number to sign up now.", d.JoinKeyword))
		return
	case errors.Is(err, gateway.ErrConflict):
		// Settings changed between the two reads: show the closed page.
		d.Closed = true
		s.renderJoin(w, r, http.StatusConflict, d, "")
		return
	case err != nil:
		s.consoleFail(w, r, err)
		return
	}
	// The same answer whatever the number's state, before anything that
	// depends on it happened: it must not tell a stranger whether a number
	// is subscribed (issue 15, point 13).
	seeOther(w, r, "/join?sent=1")
}

// joinSourceFor is the ledger's source for sign-ups on the page: the
// configured public URL of the console, else a fixed name of the page.
// Never the request's Host: that is the sender's to choose.
func joinSourceFor(publicURL string) string {
	u := strings.TrimRight(strings.TrimSpace(publicURL), "/")
	if u == "" {
		return joinSourceUnconfigured
	}
	return u + "/join"
}

// joinGuard counts the sign-ups each address posted in the last 24 h, in
// memory: a restart forgets them, which the gateway's daily budget (kept
// in the store) does not.
type joinGuard struct {
	perDay int

	mu   sync.Mutex
	seen map[string][]time.Time // oldest first, within the last 24 h
}

func newJoinGuard(perDay int) *joinGuard {
	return &joinGuard{perDay: perDay, seen: map[string][]time.Time{}}
}

// recent returns ip's sign-ups in the last 24 h and how many of them fell
// in the last joinWindow; the caller holds mu.
func (g *joinGuard) recent(ip string, now time.Time) (day []time.Time, window int) {
	list := g.seen[ip]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= 24*time.Hour {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(g.seen, ip)
		return nil, 0
	}
	g.seen[ip] = list
	for _, t := range list {
		if now.Sub(t) < joinWindow {
			window++
		}
	}
	return list, window
}

// refusal is why ip may not sign up now, and how long until it may, or
// "".
func (g *joinGuard) refusal(ip string, now time.Time) (string, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	day, window := g.recent(ip, now)
	switch {
	case len(day) >= g.perDay:
		return fmt.Sprintf("This connection has signed up %d numbers today, the most we take from one connection. Please try again tomorrow.", len(day)),
			day[len(day)-g.perDay].Add(24 * time.Hour).Sub(now)
	case window >= joinPerWindow:
		return "Too many sign-ups from this connection. Please try again in 15 minutes.",
			day[len(day)-joinPerWindow].Add(joinWindow).Sub(now)
	}
	return "", 0
}

// challenged reports whether ip's next sign-up needs a proof of work.
func (g *joinGuard) challenged(ip string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, window := g.recent(ip, now)
	return window >= joinFreePerWindow
}

// add counts a sign-up from ip. Memory stays bounded under a flood of
// addresses: past joinMaxAddresses the expired entries go, then any.
func (g *joinGuard) add(ip string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.seen) >= joinMaxAddresses {
		for k := range g.seen {
			if day, _ := g.recent(k, now); day != nil && len(g.seen) >= joinMaxAddresses {
				delete(g.seen, k)
			}
		}
	}
	day, _ := g.recent(ip, now)
	g.seen[ip] = append(day, now)
}

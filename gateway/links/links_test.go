package links

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway/msgtemplate"
	"github.com/simgate/simgate/store"
)

func newService(t *testing.T, base string) (*Service, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(Config{DB: db, BaseURL: base}), db
}

var shortLink = regexp.MustCompile(`https://go\.shop\.example/l/([0-9A-Za-z]{7})\b`)

func render(t *testing.T, src string, kind store.Kind) string {
	t.Helper()
	tmpl, err := msgtemplate.ParseKind(src, kind)
	if err != nil {
		t.Fatal(err)
	}
	v := msgtemplate.Vars{"cart": map[string]any{"url": "https://shop.example/cart/9?k=1"}}
	maps.Copy(v, msgtemplate.ContactVars(store.Contact{Number: "+12125550100"}))
	out, err := tmpl.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestShorten(t *testing.T) {
	s, db := newService(t, "https://go.shop.example/")
	owner := Owner{Number: "+12125550100", Origin: "flow:1:entry:2:step:1", MessageKey: "flow:1:2:1"}
	for _, tc := range []struct {
		name, src string
		kind      store.Kind
		want      string // with XXXXXXX for each code, in order
		targets   []string
	}{
		{name: "link in transactional", src: "Cart: {{ link .cart.url }}.", kind: store.KindTransactional,
			want: "Cart: https://go.shop.example/l/XXXXXXX.", targets: []string{"https://shop.example/cart/9?k=1"}},
		{name: "plain URL in transactional stays", src: "Track at https://ship.example/t/1", kind: store.KindTransactional,
			want: "Track at https://ship.example/t/1"},
		{name: "every URL in marketing, raw stays", src: `Rosa's: https://shop.example/sale, {{ raw "https://shop.example/terms" }} and {{ link .cart.url }}! Reply STOP to opt out`,
			kind:    store.KindMarketing,
			want:    "Rosa's: https://go.shop.example/l/XXXXXXX, https://shop.example/terms and https://go.shop.example/l/XXXXXXX! Reply STOP to opt out",
			targets: []string{"https://shop.example/sale", "https://shop.example/cart/9?k=1"}},
		{name: "same URL twice, one code", src: "Rosa's: https://shop.example/a https://shop.example/a STOP", kind: store.KindMarketing,
			want: "Rosa's: https://go.shop.example/l/XXXXXXX https://go.shop.example/l/XXXXXXX STOP", targets: []string{"https://shop.example/a", "https://shop.example/a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner.Kind = tc.kind
			out, err := s.Shorten(render(t, tc.src, tc.kind), owner)
			if err != nil {
				t.Fatal(err)
			}
			if got := shortLink.ReplaceAllString(out, "https://go.shop.example/l/XXXXXXX"); got != tc.want {
				t.Errorf("shortened %q, want %q", got, tc.want)
			}
			codes := shortLink.FindAllStringSubmatch(out, -1)
			if len(codes) != len(tc.targets) {
				t.Fatalf("%d short links, want %d", len(codes), len(tc.targets))
			}
			for i, m := range codes {
				l, err := db.LinkByCode(m[1])
				if err != nil || l.URL != tc.targets[i] || l.Number != owner.Number || l.Origin != owner.Origin {
					t.Errorf("link %s = %+v, %v; want %s", m[1], l, err, tc.targets[i])
				}
			}
			// The same text for the same message again: the same codes.
			again, err := s.Shorten(render(t, tc.src, tc.kind), owner)
			if err != nil || again != out {
				t.Errorf("again %q, %v; want %q", again, err, out)
			}
			preview, err := s.PreviewText(render(t, tc.src, tc.kind), tc.kind)
			if err != nil || len(preview) != len(out) {
				t.Errorf("preview %q (%v) is not as long as the text %q", preview, err, out)
			}
		})
	}
	// Another message with the same URL gets its own code.
	owner.Kind = store.KindTransactional
	a, _ := s.Shorten(render(t, "{{ link .cart.url }}", store.KindTransactional), owner)
	owner.MessageKey = "flow:1:2:2"
	b, _ := s.Shorten(render(t, "{{ link .cart.url }}", store.KindTransactional), owner)
	if a == b {
		t.Errorf("two messages share the short link %s", a)
	}
}

func TestShortenWithoutBaseURL(t *testing.T) {
	s, _ := newService(t, "")
	if _, err := s.Shorten(render(t, "{{ link .cart.url }}", store.KindTransactional), Owner{MessageKey: "k"}); !errors.Is(err, ErrNoBaseURL) {
		t.Errorf("error %v, want ErrNoBaseURL", err)
	}
	// Nothing to shorten: no base URL needed, marks still removed.
	out, err := s.Shorten(render(t, `Hi {{ raw "https://a.example/" }}`, store.KindTransactional), Owner{MessageKey: "k"})
	if err != nil || out != "Hi https://a.example/" {
		t.Errorf("Shorten = %q, %v", out, err)
	}
}

func TestFollowQueuesClicksApartFromPreviews(t *testing.T) {
	s, db := newService(t, "https://go.shop.example")
	out, err := s.Shorten(render(t, "{{ link .cart.url }}", store.KindTransactional),
		Owner{Number: "+12125550100", Origin: "flow:1:entry:1:step:1", MessageKey: "m1", Kind: store.KindTransactional})
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimPrefix(out, "https://go.shop.example/l/")
	var followed []string // what the Followed hook (the flows' clicked counter) hears
	s.cfg.Followed = func(origin string) { followed = append(followed, origin) }
	for _, r := range []struct {
		ua   string
		head bool
	}{
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1", false},
		{"facebookexternalhit/1.1 Facebot Twitterbot/1.0", false},
		{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", false},
		{"WhatsApp/2.23.20.0 A", false},
		{"Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36", true},
	} {
		u, err := s.Follow(code, r.ua, r.head)
		if err != nil || u != "https://shop.example/cart/9?k=1" {
			t.Fatalf("Follow = %q, %v", u, err)
		}
	}
	if clicked, _ := db.Clicked("+12125550100", "flow:1:entry:1:step:1"); clicked {
		t.Error("a click is stored before the flush")
	}
	if clicked, err := s.Clicked("+12125550100", "flow:1:entry:1:step:1"); err != nil || !clicked {
		t.Errorf("Clicked = %v, %v after one browser click", clicked, err)
	}
	st, err := s.Stats("flow:1:")
	if err != nil || st.Clicks != 1 || st.Previews != 4 || st.UniqueClicks != 1 {
		t.Errorf("stats %+v, %v; want 1 click and 4 previews", st, err)
	}
	if _, err := s.Follow("NoSuchCode", "Mozilla/5.0", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown code: %v", err)
	}
	if len(followed) != 1 || followed[0] != "flow:1:entry:1:step:1" {
		t.Errorf("Followed heard %q; want the one browser click's origin, no preview, no unknown code", followed)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		ua      string
		head    bool
		agent   string
		preview bool
	}{
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1", false, "browser", false},
		{"Mozilla/5.0 (iPhone) Safari/604.1", true, "head", true},
		{"facebookexternalhit/1.1 Facebot Twitterbot/1.0", false, "facebookexternalhit", true},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", false, "facebookexternalhit", true},
		{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", false, "Slackbot", true},
		{"WhatsApp/2.23.20.0 A", false, "WhatsApp", true},
		{"Twitterbot/1.0", false, "Twitterbot", true},
		{"TelegramBot (like TwitterBot)", false, "TelegramBot", true},
		{"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", false, "Discordbot", true},
		{"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", false, "LinkedInBot", true},
		{"Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", false, "SkypeUriPreview", true},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", false, "Googlebot", true},
		{"Mozilla/5.0 (compatible; SomeNewCrawler/1.0; bot)", false, "bot", true},
		{"", false, "none", true},
		{"Mozilla/5.0 (Linux; Android 13; Cubot KingKong) Chrome/120 Mobile Safari/537.36", false, "browser", false},
		{"Go-http-client/1.1", false, "browser", false},
		{"Mozilla/5.0 " + strings.Repeat("x", 600) + " Twitterbot/1.0", false, "browser", false}, // past what is read
		{"Twitterbot/1.0 " + strings.Repeat("x", 600), false, "Twitterbot", true},
	} {
		agent, preview := Classify(tc.ua, tc.head)
		if agent != tc.agent || preview != tc.preview {
			t.Errorf("Classify(%q, %v) = %s, %v; want %s, %v", tc.ua, tc.head, agent, preview, tc.agent, tc.preview)
		}
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if !store.ValidLinkCode(c) || len(c) != CodeLength || seen[c] {
			t.Fatalf("code %q invalid or repeated", c)
		}
		seen[c] = true
	}
}

func TestAssignStoresNothing(t *testing.T) {
	s, db := newService(t, "https://go.shop.example/")
	texts := []string{
		"Rosa's: https://shop.example/sale and https://shop.example/sale, Reply STOP to opt out",
		"Rosa's: no link today. Reply STOP to opt out",
		"Rosa's: https://shop.example/sale https://shop.example/new Reply STOP to opt out",
	}
	var owners []Owner
	for i := range texts {
		owners = append(owners, Owner{Number: fmt.Sprintf("+1212555010%d", i), Origin: "campaign:1:variant:a",
			MessageKey: fmt.Sprintf("campaign:1:number:%d", i), Kind: store.KindMarketing})
	}
	got, made, err := s.Assign(texts, owners)
	if err != nil {
		t.Fatal(err)
	}
	codes := shortLink.FindAllStringSubmatch(got[0], -1)
	if len(codes) != 2 || codes[0][1] != codes[1][1] || len(made[0]) != 1 || made[0][0].Code != codes[0][1] ||
		made[0][0].URL != "https://shop.example/sale" || made[0][0].Number != owners[0].Number || made[0][0].MessageKey != owners[0].MessageKey {
		t.Fatalf("one URL twice should be one link: %q, %+v", got[0], made[0])
	}
	if got[1] != texts[1] || len(made[1]) != 0 {
		t.Errorf("a text without links: %q, %+v", got[1], made[1])
	}
	if len(made[2]) != 2 || len(shortLink.FindAllString(got[2], -1)) != 2 {
		t.Errorf("two URLs: %q, %+v", got[2], made[2])
	}
	if _, err := db.LinkByCode(made[0][0].Code); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Assign stored a link: %v", err)
	}
	if _, _, err := New(Config{DB: db}).Assign(texts[:1], owners[:1]); !errors.Is(err, ErrNoBaseURL) {
		t.Errorf("without a base URL: %v", err)
	}
}

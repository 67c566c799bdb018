package msgtemplate

import (
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"), store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkout is a checkout_started event shaped as the events part stores it.
func checkout() store.ShopEvent {
	return store.ShopEvent{Seq: 1, ID: "c1", Source: "shopify", Type: "checkout_started", Number: "+12125550100",
		OccurredAt: time.Date(2025, 3, 14, 14, 5, 0, 0, time.UTC), CheckoutID: "981", Total: 123456, Currency: "USD",
		Properties: json.RawMessage(`{"items":[{"name":"Blue mug","url":"https://shop.example/p/mug","price":1250,"quantity":2},{"name":"Tea","price":800,"quantity":1}],"resume_url":"https://shop.example/checkouts/981/recover?key=abc"}`)}
}

func anne() store.Contact {
	return store.Contact{Number: "+12125550100", Name: "Anne Smith", Language: "en", TimeZone: "America/New_York",
		Tags: []string{"vip"}, Attributes: map[string]string{"city": "Austin"}}
}

func vars(c store.Contact, ev *store.ShopEvent) Vars {
	v := ContactVars(c)
	if ev != nil {
		maps.Copy(v, EventVars(*ev))
	}
	return v
}

func TestRender(t *testing.T) {
	ev := checkout()
	noName := store.Contact{Number: "+12125550101", Language: "de-DE", TimeZone: "Europe/Berlin"}
	for _, tc := range []struct {
		name, src string
		contact   store.Contact
		event     *store.ShopEvent
		want      string // rendered, marks removed
		missing   string // MissingError.Key wanted instead
		err       string // another error containing this
	}{
		{name: "first name", src: "Hi {{ .first_name }}!", contact: anne(), want: "Hi Anne!"},
		{name: "last name and attribute", src: "{{ .last_name }} of {{ .attributes.city }}", contact: anne(), want: "Smith of Austin"},
		{name: "missing first name is an error", src: "Hi {{ .first_name }}!", contact: noName, missing: "first_name"},
		{name: "default as a call", src: `Hi {{ default "there" .first_name }}!`, contact: noName, want: "Hi there!"},
		{name: "default in a pipe", src: `Hi {{ .first_name | default "there" }}!`, contact: noName, want: "Hi there!"},
		{name: "default keeps a value", src: `Hi {{ .first_name | default "there" }}!`, contact: anne(), want: "Hi Anne!"},
		{name: "missing attribute is an error", src: "In {{ .attributes.city }}", contact: noName, missing: "city"},
		{name: "default covers a missing attribute", src: `In {{ default "town" .attributes.city }}`, contact: noName, want: "In town"},
		{name: "default covers a missing map", src: `{{ default "no cart" .cart.url }}`, contact: anne(), want: "no cart"},
		{name: "first item with index", src: "{{ (index .cart.items 0).name }}", contact: anne(), event: &ev, want: "Blue mug"},
		{name: "first item with first", src: "{{ (first .cart.items).name }} x{{ (first .cart.items).quantity }}", contact: anne(), event: &ev, want: "Blue mug x2"},
		{name: "default over a chain", src: `{{ (first .cart.items).colour | default "any colour" }}`, contact: anne(), event: &ev, want: "any colour"},
		{name: "range over items", src: "{{ range .cart.items }}{{ .name }};{{ end }}", contact: anne(), event: &ev, want: "Blue mug;Tea;"},
		{name: "money in English", src: "{{ money .cart.total .cart.currency }}", contact: anne(), event: &ev, want: "$1,234.56"},
		{name: "money in German", src: "{{ money .cart.total .cart.currency }}", contact: noName, event: &ev, want: "1.234,56 $"},
		{name: "money of an item price", src: `{{ money (first .cart.items).price "EUR" }}`, contact: anne(), event: &ev, want: "€12.50"},
		{name: "money in yen", src: `{{ money 1500 "JPY" }}`, contact: anne(), want: "¥1,500"},
		{name: "money in an unknown currency", src: `{{ money 1500 "CHF" }}`, contact: anne(), want: "CHF 15.00"},
		{name: "date in the contact's zone", src: "{{ date .event.occurred_at }} at {{ date .event.occurred_at \"time\" }}", contact: anne(), event: &ev, want: "March 14 at 10:05 AM"},
		{name: "date in German", src: "{{ date .event.occurred_at \"long\" }} {{ date .event.occurred_at \"time\" }}", contact: noName, event: &ev, want: "Freitag, 14. März 2025 15:05"},
		{name: "link", src: "Finish: {{ link .cart.url }}", contact: anne(), event: &ev, want: "Finish: https://shop.example/checkouts/981/recover?key=abc"},
		{name: "link refuses a non-URL", src: `{{ link "javascript:alert(1)" }}`, contact: anne(), err: "absolute http"},
		{name: "tags", src: "{{ if .tags }}{{ index .tags 0 }}{{ end }}", contact: anne(), want: "vip"},
		{name: "unknown function", src: "{{ shout .first_name }}", contact: anne(), err: "function \"shout\" not defined"},
		{name: "first of nothing", src: "{{ (first .tags).x }}", contact: noName, err: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse(tc.src)
			if err == nil {
				var out string
				out, err = tmpl.Render(vars(tc.contact, tc.event))
				if err == nil && Plain(out) != tc.want {
					t.Errorf("rendered %q, want %q", Plain(out), tc.want)
				}
			}
			var miss *MissingError
			switch {
			case tc.missing != "":
				if !errors.As(err, &miss) || miss.Key != tc.missing {
					t.Errorf("error %v, want a MissingError for %s", err, tc.missing)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one containing %q", err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestRenderMarksLinksAndAddsOptOut(t *testing.T) {
	ev := checkout()
	tmpl, err := ParseKind(`Shop: {{ link .cart.url }} or {{ raw "https://shop.example/help" }}`, store.KindMarketing)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Render(vars(anne(), &ev))
	if err != nil {
		t.Fatal(err)
	}
	segs := Split(out)
	want := []Segment{{Text: "Shop: "}, {Text: "https://shop.example/checkouts/981/recover?key=abc", URL: true},
		{Text: " or "}, {Text: "https://shop.example/help", URL: true, Raw: true}, {Text: "\n" + compliance.OptOutLine}}
	if len(segs) != len(want) {
		t.Fatalf("segments %+v, want %+v", segs, want)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Errorf("segment %d = %+v, want %+v", i, segs[i], want[i])
		}
	}
	if _, err := Parse("a \uE000 b"); err == nil {
		t.Error("a body with a mark character was accepted")
	}
}

func TestRenderConcurrentLanguages(t *testing.T) {
	// Each render's language must stay its own though clones are shared.
	tmpl, err := Parse(`{{ money 123456 "EUR" }}`)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for i := range 8 {
		go func() {
			lang, want := "en", "€1,234.56"
			if i%2 == 1 {
				lang, want = "fr", "1 234,56 €"
			}
			for range 200 {
				got, err := tmpl.Render(Vars{"language": lang})
				if err != nil || got != want {
					done <- errors.New(lang + ": got " + got)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func settings() compliance.Settings {
	s := compliance.Defaults()
	s.Brand = "Rosa's"
	return s
}

func TestLint(t *testing.T) {
	db := openStore(t)
	for _, c := range []store.Contact{
		anne(),
		{Number: "+12125550101", Name: "Bob"},
		{Number: "+12125550102"},
		{Number: "+12125550103", Attributes: map[string]string{"city": "Paris"}},
	} {
		if _, err := db.CreateContact(c); err != nil {
			t.Fatal(err)
		}
	}
	ev := checkout()
	for _, tc := range []struct {
		name, src string
		kind      store.Kind
		event     bool
		want      []Problem // field, variable, contacts and a word of the message; notices too
	}{
		{name: "clean transactional", src: `Hi {{ default "there" .first_name }}, your cart: {{ link .cart.url }}`, kind: store.KindTransactional, event: true},
		{name: "lacking variables counted", src: "Hi {{ .first_name }} from {{ .attributes.city }}", kind: store.KindTransactional, want: []Problem{
			{Field: "body", Variable: ".first_name", Contacts: 2, Message: "2 of 4 contacts"},
			{Field: "body", Variable: ".attributes.city", Contacts: 2, Message: "2 of 4 contacts"},
		}},
		{name: "covered once, bare once", src: `{{ default "x" .first_name }} {{ .first_name }}`, kind: store.KindTransactional, want: []Problem{
			{Field: "body", Variable: ".first_name", Contacts: 2, Message: "no .first_name"},
		}},
		{name: "unknown variables", src: "{{ .firstname }} {{ .cart.totl }} {{ $.shop }}", kind: store.KindTransactional, want: []Problem{
			{Field: "body", Variable: ".firstname", Message: "unknown variable"},
			{Field: "body", Variable: ".cart.totl", Message: ".cart has"},
			{Field: "body", Variable: ".shop", Message: "unknown variable"},
		}},
		{name: "sample event lacks a variable", src: "{{ .order.id }}", kind: store.KindTransactional, event: true, want: []Problem{
			{Field: "body", Variable: ".order.id", Message: "sample event has no .order.id"},
		}},
		{name: "empty render", src: `{{ if .tags }}x{{ end }}`, kind: store.KindTransactional, want: []Problem{
			{Field: "body", Contacts: 3, Message: "empty text for 3 of 4"},
		}},
		{name: "shorteners", src: "See bit.ly/abc and https://tinyurl.com/x and t.co/y", kind: store.KindTransactional, want: []Problem{
			{Field: "body", Message: "bit.ly is a public URL shortener"},
			{Field: "body", Message: "t.co is a public URL shortener"},
			{Field: "body", Message: "tinyurl.com is a public URL shortener"},
		}},
		{name: "parse error", src: "Hi {{ .first_name ", kind: store.KindTransactional, want: []Problem{
			{Field: "body", Message: "line"},
		}},
		{name: "marketing without brand or opt-out", src: `Sale! {{ default "" .first_name }}`, kind: store.KindMarketing, want: []Problem{
			{Field: "body", Message: "must start with the brand"},
			{Field: "body", Notice: true, Message: "Reply STOP to opt out"},
		}},
		{name: "render failure", src: `Total {{ money (default "0" .attributes.city) }}`, kind: store.KindTransactional, want: []Problem{
			{Field: "body", Contacts: 2, Message: "fails to render for 2 contacts: line 1:9: error calling money: money: strconv.ParseFloat: parsing \"Austin\""},
		}},
		{name: "marketing done right", src: `Rosa's: {{ default "Hi" .first_name }}, 10% off today. Reply STOP to opt out`, kind: store.KindMarketing},
		{name: "every problem at once", src: `Sale {{ .nope }} bit.ly/x {{ .attributes.city }}`, kind: store.KindMarketing, want: []Problem{
			{Field: "body", Message: "bit.ly is a public"},
			{Field: "body", Variable: ".nope", Message: "unknown variable"},
			{Field: "body", Variable: ".attributes.city", Contacts: 2, Message: "2 of 4"},
			{Field: "body", Message: "must start with the brand"},
			{Field: "body", Notice: true, Message: "opt-out line"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := LintInput{Kind: tc.kind, Settings: settings(), Audience: db.EachContact}
			if tc.event {
				in.Event = EventVars(ev)
			}
			got := Lint(tc.src, in)
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d: %+v", dump(got), len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Field != w.Field || g.Variable != w.Variable || g.Contacts != w.Contacts || g.Notice != w.Notice || !strings.Contains(g.Message, w.Message) {
					t.Errorf("problem %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func dump(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  ")
		raw, _ := json.Marshal(p)
		b.Write(raw)
		b.WriteString("\n")
	}
	return b.String()
}

func TestPreviewLongestAcrossAudience(t *testing.T) {
	db := openStore(t)
	long := strings.Repeat("Maximilian", 14) // a long name: 140 characters
	for _, c := range []store.Contact{
		{Number: "+12125550101", Name: "Al"},
		{Number: "+12125550102", Name: long},
		{Number: "+12125550103", Name: "Zoë"}, // ë is not GSM-7: UCS-2, but short
		{Number: "+12125550104"},              // no name: the fallback
	} {
		if _, err := db.CreateContact(c); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := Parse(`Hi {{ .first_name }}, your cart is waiting.`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tmpl.Preview(PreviewInput{Contact: store.Contact{Number: "+12125550101", Name: "Al"}, Audience: db.EachContact})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sample.Text != "Hi Al, your cart is waiting." || res.Sample.Parts != 1 || res.Sample.Encoding != "GSM-7" {
		t.Errorf("sample %+v", res.Sample)
	}
	if res.Longest == nil || res.Longest.Number != "+12125550102" || res.Longest.Parts != 2 {
		t.Errorf("longest %+v, want the long name's 2 parts", res.Longest)
	}
	if res.Rendered != 3 || res.Failed != 1 || !strings.Contains(res.FirstFailure, "+12125550104") {
		t.Errorf("rendered %d failed %d (%s), want 3 and 1", res.Rendered, res.Failed, res.FirstFailure)
	}
	// UCS-2 is reported with the character that forced it.
	res, err = tmpl.Preview(PreviewInput{Contact: store.Contact{Number: "+12125550103", Name: "Zoë"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sample.Encoding != "UCS-2" || len(res.Sample.UCS2Chars) != 1 || res.Sample.UCS2Chars[0] != "ë" {
		t.Errorf("sample %+v, want UCS-2 forced by ë", res.Sample)
	}
	// Finish (the short links) counts in the parts.
	res, err = tmpl.Preview(PreviewInput{Contact: store.Contact{Name: "Al"}, Finish: func(s string) (string, error) {
		return s + " " + strings.Repeat("x", 140), nil
	}})
	if err != nil || res.Sample.Parts != 2 {
		t.Errorf("finished sample %+v, %v; want 2 parts", res.Sample, err)
	}
}

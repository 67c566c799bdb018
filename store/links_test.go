package store

import (
	"errors"
	"fmt"
	"testing"
)

// codes returns a generator that hands out the given codes in turn.
func codes(list ...string) func() (string, error) {
	i := 0
	return func() (string, error) {
		if i >= len(list) {
			return "", errors.New("out of codes")
		}
		i++
		return list[i-1], nil
	}
}

func TestEnsureLinksIdempotentPerMessageAndURL(t *testing.T) {
	db := openTest(t)
	in := []Link{
		{URL: "https://shop.example/cart/1", Number: "+15550100", Origin: "flow:1:entry:1:step:1", MessageKey: "flow:1:1:1"},
		{URL: "https://shop.example/p/2", Number: "+15550100", Origin: "flow:1:entry:1:step:1", MessageKey: "flow:1:1:1"},
	}
	first, err := db.EnsureLinks(in, codes("AAAAAAA", "BBBBBBB"))
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Code != "AAAAAAA" || first[1].Code != "BBBBBBB" {
		t.Fatalf("codes %q %q, want AAAAAAA BBBBBBB", first[0].Code, first[1].Code)
	}
	// The same message again (a retry) keeps its codes; another message
	// with the same URL gets a new one.
	again, err := db.EnsureLinks(append(in, Link{URL: in[0].URL, Number: "+15550100", MessageKey: "other"}), codes("CCCCCCC"))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Code != "AAAAAAA" || again[1].Code != "BBBBBBB" || again[2].Code != "CCCCCCC" {
		t.Errorf("codes %q %q %q, want AAAAAAA BBBBBBB CCCCCCC", again[0].Code, again[1].Code, again[2].Code)
	}
	l, err := db.LinkByCode("AAAAAAA")
	if err != nil || l.URL != in[0].URL || l.Number != "+15550100" {
		t.Errorf("LinkByCode = %+v, %v", l, err)
	}
	if _, err := db.LinkByCode("ZZZZZZZ"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
	if _, err := db.LinkByCode("../../x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("malformed code: %v, want ErrNotFound", err)
	}
}

func TestEnsureLinksRetriesTakenCodeAndValidates(t *testing.T) {
	db := openTest(t)
	if _, err := db.EnsureLinks([]Link{{URL: "https://a.example/", MessageKey: "m1"}}, codes("AAAAAAA")); err != nil {
		t.Fatal(err)
	}
	got, err := db.EnsureLinks([]Link{{URL: "https://b.example/", MessageKey: "m2"}}, codes("AAAAAAA", "DDDDDDD"))
	if err != nil || got[0].Code != "DDDDDDD" {
		t.Fatalf("taken code not retried: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		link  Link
		field string
	}{
		{Link{URL: "javascript:alert(1)", MessageKey: "m"}, "url"},
		{Link{URL: "//evil.example/", MessageKey: "m"}, "url"},
		{Link{URL: "https://user:pw@evil.example/", MessageKey: "m"}, "url"},
		{Link{URL: "https://a.example/\r\nSet-Cookie: x", MessageKey: "m"}, "url"},
		{Link{URL: "https://a.example/"}, "message_key"},
	} {
		_, err := db.EnsureLinks([]Link{tc.link}, codes("EEEEEEE"))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: error %v, want a FieldError on %s", tc.link, err, tc.field)
		}
	}
	// A failed batch stores nothing.
	if _, err := db.LinkByCode("EEEEEEE"); !errors.Is(err, ErrNotFound) {
		t.Errorf("link of a refused batch stored: %v", err)
	}
}

func TestRecordClicksCountsAndQueries(t *testing.T) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	c, err := db.CreateContact(Contact{Number: "+15550100"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.EnsureLinks([]Link{
		{URL: "https://a.example/1", Number: "+15550100", Origin: "flow:1:entry:1:step:1", MessageKey: "k1"},
		{URL: "https://a.example/2", Number: "+15550101", Origin: "flow:1:entry:2:step:1", MessageKey: "k2"},
		{URL: "https://a.example/3", Number: "+15550100", Origin: "flow:2:entry:3:step:1", MessageKey: "k3"},
	}, codes("AAAAAAA", "BBBBBBB", "CCCCCCC"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := clk.now()
	err = db.RecordClicks([]Click{
		{Code: "AAAAAAA", At: t0, Agent: "browser"},
		{Code: "AAAAAAA", At: t0.Add(1), Agent: "browser"},
		{Code: "AAAAAAA", At: t0.Add(2), Agent: "Slackbot", Preview: true},
		{Code: "BBBBBBB", At: t0, Agent: "head", Preview: true},
		{Code: "NOSUCH1", At: t0, Agent: "browser"},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := db.LinkByCode("AAAAAAA")
	if l.Clicks != 2 || l.Previews != 1 || !l.FirstClickAt.Equal(t0) {
		t.Errorf("link A counters %+v, want 2 clicks, 1 preview, first at t0", l)
	}
	clicks, err := db.LinkClicks("AAAAAAA", false, 10)
	if err != nil || len(clicks) != 2 || clicks[0].ContactID != c.ID {
		t.Errorf("clicks of A = %+v, %v; want 2 with contact %d", clicks, err, c.ID)
	}
	previews, _ := db.LinkClicks("AAAAAAA", true, 10)
	if len(previews) != 1 || previews[0].Agent != "Slackbot" {
		t.Errorf("previews of A = %+v", previews)
	}
	for _, tc := range []struct {
		number, origin string
		want           bool
	}{
		{"+15550100", "flow:1:entry:1:step:1", true},
		{"+15550101", "flow:1:entry:2:step:1", false}, // only a HEAD: not a click
		{"+15550100", "flow:2:entry:3:step:1", false},
		{"+15550100", "flow:1:entry:1:step", false}, // a prefix of the origin is not the origin
	} {
		if got, err := db.Clicked(tc.number, tc.origin); err != nil || got != tc.want {
			t.Errorf("Clicked(%s, %s) = %v, %v; want %v", tc.number, tc.origin, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		prefix string
		want   LinkStats
	}{
		{"flow:1:", LinkStats{Links: 2, Clicks: 2, UniqueClicks: 1, Numbers: 1, Previews: 2}},
		{"flow:2:", LinkStats{Links: 1}},
		{"", LinkStats{Links: 3, Clicks: 2, UniqueClicks: 1, Numbers: 1, Previews: 2}},
	} {
		if got, err := db.LinkStatsOf(tc.prefix); err != nil || got != tc.want {
			t.Errorf("LinkStatsOf(%q) = %+v, %v; want %+v", tc.prefix, got, err, tc.want)
		}
	}
}

func TestEraseNumberDeletesLinks(t *testing.T) {
	db := openTest(t)
	_, err := db.EnsureLinks([]Link{
		{URL: "https://a.example/1", Number: "+15550100", Origin: "o", MessageKey: "k1"},
		{URL: "https://a.example/2", Number: "+15550101", Origin: "o", MessageKey: "k2"},
	}, codes("AAAAAAA", "BBBBBBB"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordClicks([]Click{{Code: "AAAAAAA", Agent: "browser"}}); err != nil {
		t.Fatal(err)
	}
	sub, err := db.Subject("+15550100")
	if err != nil || len(sub.Links) != 1 || sub.Links[0].URL != "https://a.example/1" || sub.Links[0].Clicks != 1 {
		t.Errorf("subject links %+v, %v; want the one clicked link", sub.Links, err)
	}
	rep, err := db.EraseNumber("+15550100")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Links != 1 {
		t.Errorf("report %+v, want 1 link", rep)
	}
	if _, err := db.LinkByCode("AAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("erased number's link still there: %v", err)
	}
	if cl, _ := db.LinkClicks("AAAAAAA", false, 10); len(cl) != 0 {
		t.Errorf("erased number's clicks still there: %+v", cl)
	}
	if st, _ := db.LinkStatsOf("o"); st.Links != 1 {
		t.Errorf("stats after erasure %+v, want the other number's link only", st)
	}
	if _, err := db.LinkByCode("BBBBBBB"); err != nil {
		t.Errorf("other number's link: %v", err)
	}
}

func TestTemplatesCRUD(t *testing.T) {
	db := openTest(t)
	a, err := db.SaveTemplate(Template{Name: "Cart reminder", Kind: KindMarketing, Body: "Hi {{ .first_name }}"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveTemplate(Template{Name: "cart REMINDER ", Kind: KindTransactional, Body: "x"}); !isField(err, "name") {
		t.Errorf("duplicate name: %v", err)
	}
	a.Body = "Hello"
	a.Name = "Cart reminder 2"
	if _, err := db.SaveTemplate(a); err != nil {
		t.Fatal(err)
	}
	// The old name is free again.
	if _, err := db.SaveTemplate(Template{Name: "Cart reminder", Kind: KindTransactional, Body: "x"}); err != nil {
		t.Errorf("old name not freed: %v", err)
	}
	got, err := db.GetTemplate(a.ID)
	if err != nil || got.Body != "Hello" || got.Name != "Cart reminder 2" {
		t.Errorf("GetTemplate = %+v, %v", got, err)
	}
	for _, bad := range []Template{{Kind: KindMarketing, Body: "x"}, {Name: "n", Body: "x"}, {Name: "n", Kind: KindMarketing}} {
		if _, err := db.SaveTemplate(bad); !isField(err, "") {
			t.Errorf("SaveTemplate(%+v) = %v, want a FieldError", bad, err)
		}
	}
	if err := db.DeleteTemplate(a.ID); err != nil {
		t.Fatal(err)
	}
	all, _ := db.ListTemplates()
	if len(all) != 1 || all[0].Name != "Cart reminder" {
		t.Errorf("ListTemplates = %+v", all)
	}
	if err := db.DeleteTemplate(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// isField reports whether err is a *FieldError on field ("" = any).
func isField(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && (field == "" || fe.Field == field)
}

func BenchmarkLinkByCode(b *testing.B) {
	db := openTest(b)
	var ls []Link
	for i := range 10000 {
		ls = append(ls, Link{URL: fmt.Sprintf("https://a.example/%d", i), MessageKey: fmt.Sprint(i)})
	}
	n := 0
	stored, err := db.EnsureLinks(ls, func() (string, error) { n++; return fmt.Sprintf("c%07d", n), nil })
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := db.LinkByCode(stored[i%len(stored)].Code); err != nil {
			b.Fatal(err)
		}
	}
}

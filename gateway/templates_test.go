package gateway

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/simgate/simgate/gateway/links"
	"github.com/simgate/simgate/gateway/templates"
	"github.com/simgate/simgate/store"
)

func TestSaveTemplateRefusesWithEveryProblem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{gwCfg: Config{PublicURL: "https://go.shop.example"}})
		if err := r.g.SaveComplianceSettings(lintSettings(), "test"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []store.Contact{{Number: "+12125550100", Name: "Anne"}, {Number: "+12125550101"}} {
			if _, err := r.db.CreateContact(c); err != nil {
				t.Fatal(err)
			}
		}
		_, problems, err := r.g.Templates().Save(templates.Input{Name: "cart", Kind: "marketing",
			Body: "Hi {{ .first_name }}, see bit.ly/x"})
		var pe *templates.ProblemsError
		if !errors.As(err, &pe) || len(problems) != 4 {
			t.Fatalf("SaveTemplate: %v, problems %+v; want 4 (variable, shortener, brand, opt-out notice)", err, problems)
		}
		if all, _ := r.g.Templates().List(); len(all) != 0 {
			t.Errorf("a refused template was stored: %+v", all)
		}
		saved, problems, err := r.g.Templates().Save(templates.Input{Name: "cart", Kind: "marketing",
			Body: `Rosa's Bakery: hi {{ default "there" .first_name }}, your cart: https://shop.example/cart`})
		if err != nil || saved.ID == 0 || len(problems) != 1 || !problems[0].Notice {
			t.Fatalf("SaveTemplate = %+v, %+v, %v; want saved with the opt-out notice", saved, problems, err)
		}
		prev, err := r.g.Templates().Preview(templates.PreviewRequest{Body: saved.Body, Kind: saved.Kind, Number: "+12125550101"})
		if err != nil {
			t.Fatal(err)
		}
		want := "Rosa's Bakery: hi there, your cart: https://go.shop.example/l/xxxxxxx\nReply STOP to opt out"
		if prev.Sample.Text != want || prev.Longest == nil || prev.Rendered != 2 {
			t.Errorf("preview %+v\nwant sample %q and 2 renders", prev, want)
		}
		if _, err := r.g.Templates().Preview(templates.PreviewRequest{Body: saved.Body, Kind: saved.Kind, EventSeq: 99}); !isFieldError(err, "event_seq") {
			t.Errorf("preview with an unknown event: %v", err)
		}
	})
}

func isFieldError(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field
}

func TestFollowLinkCountsAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{gwCfg: Config{PublicURL: "https://go.shop.example"}})
		r.start()
		text, err := r.g.links.Shorten("Cart: https://shop.example/cart/1", links.Owner{Number: "+12125550100",
			Origin: "console", MessageKey: "m1", Kind: store.KindMarketing})
		if err != nil {
			t.Fatal(err)
		}
		code := regexp.MustCompile(`/l/(\w+)$`).FindStringSubmatch(text)[1]
		for _, ua := range []string{"Mozilla/5.0 (iPhone) Safari/604.1", "WhatsApp/2.23"} {
			u, err := r.g.FollowLink(code, ua, false)
			if err != nil || u != "https://shop.example/cart/1" {
				t.Fatalf("FollowLink = %q, %v", u, err)
			}
		}
		if _, err := r.g.FollowLink(strings.ToLower(code)+"x", "Mozilla/5.0", false); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}
		r.stop() // the last batch of clicks is written at stop
		st, err := r.db.LinkStatsOf("console")
		if err != nil || st.Clicks != 1 || st.Previews != 1 {
			t.Errorf("stats %+v, %v; want 1 click and 1 preview stored by the stop", st, err)
		}
	})
}

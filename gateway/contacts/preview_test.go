package contacts

import (
	"strings"
	"testing"
)

// The preview says how every column of a file will be used, the ones
// left out included, before anything is written.
func TestPreviewImport(t *testing.T) {
	file := "Mobile,Full Name,Marketing OK,email,City\n+12015550123,Ana Lima,yes,ana@example.com,Newark\n\n+12015550124,Bo,no\n+12015550125,Cy,yes,,\n"
	p, err := PreviewImport(strings.NewReader(file), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Fields, "|"); got != "number|name|||" && got != "number|name||attr:email|" {
		t.Errorf("fields %q", got)
	}
	if p.Fields[2] != "" || p.Fields[3] != "attr:email" {
		t.Errorf("Marketing OK → %q, email → %q", p.Fields[2], p.Fields[3])
	}
	if p.Problem != nil {
		t.Errorf("problem %v", p.Problem)
	}
	if len(p.Rows) != 2 || p.Rows[0][1] != "Ana Lima" || p.Rows[1][0] != "+12015550124" || len(p.Rows[1]) != 5 {
		t.Errorf("rows %q", p.Rows)
	}
	// Mapped by hand, the consent column is used; a file without a
	// number column is a problem the preview shows, not an error.
	p, err = PreviewImport(strings.NewReader(file), map[string]string{"Marketing OK": "consent", "City": "attr:city"}, 5)
	if err != nil || p.Fields[2] != "consent" || p.Fields[4] != "attr:city" || len(p.Rows) != 3 {
		t.Errorf("mapped: %+v, %v", p, err)
	}
	p, err = PreviewImport(strings.NewReader("Who,When\nx,y\n"), nil, 5)
	if err != nil || p.Problem == nil || !strings.Contains(p.Problem.Error(), "phone number") {
		t.Errorf("no number column: %+v, %v", p, err)
	}
	if _, err := PreviewImport(strings.NewReader(""), nil, 5); err == nil {
		t.Error("an empty file previewed")
	}
}

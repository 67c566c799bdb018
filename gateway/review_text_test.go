package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestReviewTextCutOnRuneBoundary: a long text that reads like an opt-out
// is kept on the review record cut to its limit, and the cut falls between
// two characters, never inside one. The filler is two-byte characters
// placed so that the byte limit lands in the middle of one.
func TestReviewTextCutOnRuneBoundary(t *testing.T) {
	c := newConsentGW(t)
	c.optIn(webForm(numA))
	const prefix = "please stop texting me " // 23 bytes: the 500th byte is the first half of an é
	text := prefix + strings.Repeat("é", 400)
	c.text(numA, text)

	con := c.consent(numA)
	if !con.Review {
		t.Fatalf("the text was not put up for review: %+v", con)
	}
	got := con.ReviewText
	if !utf8.ValidString(got) || strings.ContainsRune(got, utf8.RuneError) {
		t.Errorf("review text is not clean UTF-8: ends %q", got[max(0, len(got)-8):])
	}
	if !strings.HasPrefix(text, got) {
		t.Errorf("review text (%d bytes) is not a prefix of the text received: ends %q", len(got), got[max(0, len(got)-8):])
	}
	if len(got) > maxReviewTextForTest || len(got) < maxReviewTextForTest-utf8.UTFMax {
		t.Errorf("review text is %d bytes, want the most whole characters in %d", len(got), maxReviewTextForTest)
	}
	evs := c.events(numA)
	if note := evs[len(evs)-1].Note; strings.Contains(note, `\x`) {
		t.Errorf("ledger note quotes a broken character: ...%s", note[max(0, len(note)-12):])
	}
}

// maxReviewTextForTest is consent's limit on the text kept for review, in
// bytes.
const maxReviewTextForTest = 500

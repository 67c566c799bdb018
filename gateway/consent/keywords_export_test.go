package consent

import "testing"

func TestKeywordOf(t *testing.T) {
	for _, c := range []struct{ text, join, want string }{
		{"Stop.", "JOIN", "stop"},
		{" help ", "JOIN", "help"},
		{"join", "JOIN", "join"},
		{"join", "", ""},
		{"YES", "JOIN", "yes"},
		{"start", "JOIN", "start"},
		{"Is my order ready?", "JOIN", ""},
		{"stop texting me please", "JOIN", ""}, // an opt-out in words, not a keyword
	} {
		if got := KeywordOf(c.text, c.join); got != c.want {
			t.Errorf("KeywordOf(%q, %q) = %q, want %q", c.text, c.join, got, c.want)
		}
	}
}

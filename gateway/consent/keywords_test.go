package consent

import "testing"

// TestClassifyStopFamily is R-STOP-1's list, each token as people type it.
func TestClassifyStopFamily(t *testing.T) {
	tokens := []string{"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
		"OPTOUT", "OPT OUT", "OPT-OUT", "REMOVE", "ARRET", "TD"}
	for _, tok := range tokens {
		for _, text := range []string{tok, " " + tok + " ", lower(tok), title(tok), tok + ".", tok + "!", tok + "!!",
			`"` + tok + `"`, "“" + lower(tok) + "”", "'" + tok + ".'", "\n" + tok + "\t"} {
			if k, _ := classifyKeyword(text, "JOIN"); k != kwStop {
				t.Errorf("%q: got %s, want stop", text, k)
			}
		}
	}
	if k, _ := classifyKeyword("stop   all", "JOIN"); k != kwStop {
		t.Errorf("inner spaces: got %s", k)
	}
	if k, _ := classifyKeyword("Arrêt", "JOIN"); k != kwStop {
		t.Errorf("Arrêt: got %s", k)
	}
}

func TestClassifyOtherKeywords(t *testing.T) {
	cases := []struct {
		text string
		join string
		want keyword
	}{
		{"START", "JOIN", kwStart}, {"start", "JOIN", kwStart}, {"Unstop.", "JOIN", kwStart},
		{"HELP", "JOIN", kwHelp}, {"info", "JOIN", kwHelp}, {"Aide", "JOIN", kwHelp}, {"help!", "JOIN", kwHelp},
		{"YES", "JOIN", kwYes}, {"y", "JOIN", kwYes}, {"Yes!", "JOIN", kwYes}, {`"yes"`, "JOIN", kwYes},
		{"JOIN", "JOIN", kwJoin}, {"join", "JOIN", kwJoin}, {"bread", "BREAD", kwJoin}, {"JOIN", "BREAD", kwNone},
		{"JOIN", "", kwNone},
		// Not exact: left to the fuzzy classifier or ordinary texts.
		{"stop it", "JOIN", kwNone}, {"yes please", "JOIN", kwNone}, {"helpful", "JOIN", kwNone},
		{"what time do you close?", "JOIN", kwNone}, {"", "JOIN", kwNone}, {"STOP?", "JOIN", kwNone},
	}
	for _, tc := range cases {
		if got, _ := classifyKeyword(tc.text, tc.join); got != tc.want {
			t.Errorf("%q (join %q): got %s, want %s", tc.text, tc.join, got, tc.want)
		}
	}
}

// TestReadsLikeOptOut is R-STOP-4's test: phrases a reasonable person reads
// as "stop texting me" are flagged; ordinary shop texts are not.
func TestReadsLikeOptOut(t *testing.T) {
	flagged := []string{
		"please stop texting me", "Stop please", "please stop", "STOP IT", "stop sending me these",
		"no more texts", "No more messages please", "no más", "No mas", "unsubscribe me", "Unsubscribe me please",
		"leave me alone", "remove me from your list", "Remove me", "don't text me", "Don't text me again",
		"do not contact me", "take me off this list", "I want to opt out", "opt me out", "not interested",
		"wrong number", "cancel my subscription", "cancel these texts", "quit texting me", "end these messages",
		"lose my number", "stop!!! now", "STOP STOP STOP",
		// misspellings
		"stpo", "sotp", "stoop", "Stopp", "unsubscrib", "unsubscibe", "Unsubcribe", "unsuscribe", "unsub",
		"cancle", "optout pls", "opt-out now", "revoke consent", "plz stpo", "stpo texting",
		// Spanish and French
		"No me escriban más", "darme de baja", "Baja", "arrêtez", "arrete svp", "désabonner", "plus de SMS svp",
		// accepted false positive: "stop" as a word is always flagged
		"can't stop smiling, thanks!", "the bus stop is right outside?",
	}
	for _, text := range flagged {
		if !readsLikeOptOut(text) {
			t.Errorf("%q: not flagged, want flagged", text)
		}
	}
	ordinary := []string{
		"what time do you close?", "Is my order ready?", "thanks, see you at the end of the week",
		"Can you cancel my order please?", "remove the onions from my sandwich", "what shop is this?",
		"I'll step by later", "On top of that, do you have rye?", "yes", "ok", "Great, thank you!",
		"Do you deliver to 5th street?", "quite good bread",
		"Can I change my order", "Hello", "", "   ", "👍",
	}
	for _, text := range ordinary {
		if readsLikeOptOut(text) {
			t.Errorf("%q: flagged, want ordinary", text)
		}
	}
}

func TestOSADistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"stop", "stop", 0}, {"stpo", "stop", 1}, {"sotp", "stop", 1}, {"stoop", "stop", 1}, {"sto", "stop", 1},
		{"shop", "stop", 1}, {"spot", "stop", 2}, {"unsubscrib", "unsubscribe", 1}, {"", "stop", 3}, {"ab", "ba", 1},
	}
	for _, tc := range cases {
		if got := osaDistance(tc.a, tc.b); got != tc.want && (tc.want < 3 || got < 3) {
			t.Errorf("osa(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func lower(s string) string {
	b := []rune(s)
	for i, r := range b {
		if r >= 'A' && r <= 'Z' {
			b[i] = r + 'a' - 'A'
		}
	}
	return string(b)
}

func title(s string) string {
	l := []rune(lower(s))
	if len(l) > 0 && l[0] >= 'a' && l[0] <= 'z' {
		l[0] -= 'a' - 'A'
	}
	return string(l)
}

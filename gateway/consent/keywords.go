package consent

import (
	"strings"
	"unicode"
)

// Inbound keywords (docs/compliance.md R-STOP-1 … R-HELP). This file is pure:
// it reads a text and says what it is; inbound.go acts on the answer.

// keyword is the class of an inbound text.
type keyword uint8

const (
	kwNone  keyword = iota // an ordinary text (maybe an opt-out in other words: see readsLikeOptOut)
	kwStop                 // R-STOP-1: opt out of everything
	kwStart                // R-START: undo a keyword opt-out
	kwHelp                 // R-HELP
	kwYes                  // R-DOI: confirms a pending double opt-in
	kwJoin                 // the configured join keyword: opt in by text
)

func (k keyword) String() string {
	return [...]string{"none", "stop", "start", "help", "yes", "join"}[k]
}

// stopWords is R-STOP-1's list, after normalizeKeyword.
var stopWords = map[string]bool{
	"STOP": true, "STOPALL": true, "STOP ALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true,
	"QUIT": true, "REVOKE": true, "OPTOUT": true, "OPT OUT": true, "OPT-OUT": true, "REMOVE": true,
	"ARRET": true, "ARRÊT": true, "TD": true,
}

var (
	startWords = map[string]bool{"START": true, "UNSTOP": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true, "AIDE": true}
	yesWords   = map[string]bool{"YES": true, "Y": true}
)

// keywordQuotes are the quotes people (and phones' smart punctuation) put
// around a keyword.
const keywordQuotes = "\"'`“”‘’«»"

// normalizeKeyword trims spaces, surrounding quotes and trailing . or !,
// collapses inner spaces and upper-cases: ` "Stop." ` → "STOP".
func normalizeKeyword(text string) string {
	t := strings.TrimSpace(text)
	for {
		before := t
		t = strings.TrimSpace(strings.Trim(t, keywordQuotes))
		t = strings.TrimSpace(strings.TrimRight(t, ".!"))
		if t == before {
			break
		}
	}
	return strings.ToUpper(strings.Join(strings.Fields(t), " "))
}

// classifyKeyword says which keyword text is, matching exactly after
// normalizeKeyword. join is the configured join keyword ("" disables it).
// A STOP word always wins: a join keyword configured as "STOP" could never
// be saved anyway, but opting out must not depend on that.
func classifyKeyword(text, join string) (keyword, string) {
	k := normalizeKeyword(text)
	switch {
	case stopWords[k]:
		return kwStop, k
	case startWords[k]:
		return kwStart, k
	case helpWords[k]:
		return kwHelp, k
	case yesWords[k]:
		return kwYes, k
	case join != "" && k == normalizeKeyword(join):
		return kwJoin, k
	}
	return kwNone, k
}

// Fuzzy opt-outs (R-STOP-4). The FCC reads revocation "in the totality of
// the circumstances", so the classifier errs on the side of flagging: a
// flagged text pauses marketing to the number and waits in the console's
// review queue, which costs a person a click; a missed opt-out costs a
// TCPA claim. The rules, on the text lower-cased, accents folded and
// punctuation turned into spaces:
//
//  1. A strong opt-out word anywhere as a whole word: stop, stopall,
//     unsubscribe (and any word starting "unsub"), optout, "opt out",
//     revoke, arret. So "stop please" is flagged, and so is "can't stop
//     smiling, thanks!": we accept that false positive rather than guess at
//     which "stop" is harmless ("I can't stop getting these texts").
//  2. A weak STOP-family word (cancel, end, quit, remove) only next to a
//     word about texts or the list ("cancel my texts", "remove me", "quit
//     texting"): those words are everyday shop talk ("cancel my order", "at
//     the end of the week") and are not flagged alone in a longer text.
//  3. Phrases that say stop without a keyword, in English, Spanish and
//     French: "leave me alone", "no more texts", "no más", "don't text
//     me", "not interested", "wrong number", "take me off", "arrêtez",
//     "darme de baja", ...
//  4. Misspellings: the whole text (one or two words) within one edit
//     (insert, delete, substitute or swap two neighbours) of a STOP-family
//     word of four letters or more ("stpo", "sotp", "stoop", "unsubscrib",
//     "cancle"); inside a longer text, a word within one edit of a long
//     strong word (unsubscribe, stopall, optout, revoke), or a swap or
//     insertion in "stop" ("stpo", "stoop"), but not a substitution, which
//     would flag "shop" and "step".
//
// Ordinary texts ("what time do you close?", "is my order ready?", "thanks,
// see you at the end of the week") are not flagged.
func readsLikeOptOut(text string) bool {
	words := fuzzyWords(text)
	if len(words) == 0 {
		return false
	}
	joined := " " + strings.Join(words, " ") + " "
	for _, p := range optOutPhrases {
		if strings.Contains(joined, " "+p+" ") {
			return true
		}
	}
	for i, w := range words {
		if strongStop[w] || strings.HasPrefix(w, "unsub") {
			return true
		}
		if weakStop[w] && nearTextWord(words, i) {
			return true
		}
	}
	// Misspellings of the whole text: "stpo", "Unsubscrib", "opt oute".
	if len(words) <= 2 {
		whole := strings.Join(words, "")
		for w := range fuzzyTargets {
			if len(w) >= 4 && osaDistance(whole, w) <= 1 {
				return true
			}
		}
	}
	for _, w := range words {
		if len(w) < 4 {
			continue
		}
		for _, long := range []string{"unsubscribe", "stopall", "optout", "revoke"} {
			if osaDistance(w, long) <= 1 {
				return true
			}
		}
		if w != "stop" && len(w) >= 4 && len(w) <= 5 && osaDistance(w, "stop") == 1 && !substitutionOf(w, "stop") {
			return true
		}
	}
	return false
}

// strongStop words mean "stop texting me" wherever they appear.
var strongStop = map[string]bool{
	"stop": true, "stopall": true, "unsubscribe": true, "optout": true, "revoke": true, "arret": true,
	"unsuscribe": true, "unsubcribe": true,
}

// weakStop words are STOP keywords alone but everyday words in a sentence.
var weakStop = map[string]bool{"cancel": true, "end": true, "quit": true, "remove": true}

// textWords are what a weak word must be near to read as an opt-out.
var textWords = map[string]bool{
	"text": true, "texts": true, "texting": true, "message": true, "messages": true, "messaging": true,
	"msg": true, "msgs": true, "sms": true, "subscription": true, "list": true, "me": true, "alerts": true,
	"marketing": true, "promotions": true, "number": true,
}

// nearTextWord reports whether a text word is within two words of words[i].
func nearTextWord(words []string, i int) bool {
	for j := max(0, i-2); j <= min(len(words)-1, i+2); j++ {
		if j != i && textWords[words[j]] {
			return true
		}
	}
	return false
}

// fuzzyTargets are the STOP-family words, lower case, spaces removed, for
// the misspelling check on a whole text.
var fuzzyTargets = map[string]bool{
	"stop": true, "stopall": true, "unsubscribe": true, "cancel": true, "quit": true, "revoke": true,
	"optout": true, "remove": true, "arret": true,
}

// optOutPhrases are matched as whole words in the folded text (apostrophes
// removed: "don't" is "dont").
var optOutPhrases = []string{
	"opt out", "opt me out", "leave me alone", "remove me", "take me off", "delete me", "delete my number",
	"lose my number", "no more texts", "no more text", "no more messages", "no more msgs", "no more sms",
	"no more texting", "dont text", "do not text", "dont message", "do not message", "dont contact",
	"do not contact", "dont send", "do not send", "stop texting", "stop messaging", "not interested",
	"wrong number", "no thanks", "no thank you", "never text", "quit texting", "cancel subscription",
	"cancel my subscription", "unsubscribe me", "get me off",
	// Spanish
	"no mas", "ya no", "baja", "darme de baja", "dar de baja", "no me escriban", "no me envien",
	"cancelar", "parar", "detener",
	// French
	"arrete", "arretez", "arreter", "desabonner", "desabonnez", "desinscrire", "desinscrivez",
	"plus de messages", "plus de sms",
}

// accentFold maps the accented letters of Spanish and French to plain ones.
var accentFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"í", "i", "î", "i", "ï", "i", "ó", "o", "ô", "o", "ö", "o", "ú", "u", "ù", "u", "û", "u", "ü", "u",
	"ñ", "n", "ç", "c", "’", "", "'", "", "`", "",
)

// fuzzyWords lower-cases text, folds accents, drops apostrophes and splits
// on everything that is not a letter or digit.
func fuzzyWords(text string) []string {
	t := accentFold.Replace(strings.ToLower(text))
	return strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// osaDistance is the optimal-string-alignment edit distance: inserts,
// deletes, substitutions and swaps of two neighbours each cost one.
func osaDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if abs(len(ra)-len(rb)) > 2 {
		return 3 // far enough for every caller
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// substitutionOf reports whether a differs from b in exactly one letter at
// the same position (same length, one mismatch).
func substitutionOf(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	diff := 0
	for i := range ra {
		if ra[i] != rb[i] {
			diff++
		}
	}
	return diff == 1
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// KeywordOf names the keyword an inbound text is ("stop", "start", "help",
// "yes", "join"), or "" for an ordinary text, with the same matching the
// ledger acts on. The console labels handled keywords with it rather than
// count them as texts waiting for a person.
func KeywordOf(text, join string) string {
	kw, _ := classifyKeyword(text, join)
	if kw == kwNone {
		return ""
	}
	return kw.String()
}

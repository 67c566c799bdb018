package msgtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// renderContext is what the functions of one render know about the
// contact: the language and zone money and dates are written in.
type renderContext struct {
	lang string // primary language subtag, lower case: "en", "fr"
	loc  *time.Location
}

func (c *renderContext) set(vars Vars) {
	c.lang, c.loc = "en", time.UTC
	if l, ok := vars["language"].(string); ok && l != "" {
		c.lang = primaryLanguage(l)
	}
	if z, ok := vars["zone"].(string); ok && z != "" {
		if loc := compliance.LoadZone(z); loc != nil {
			c.loc = loc
		}
	}
}

// primaryLanguage reads "fr-CA" or "pt_BR" as "fr" or "pt".
func primaryLanguage(tag string) string {
	tag = strings.ToLower(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// Marks around the URLs that link and raw print (see the package comment).
// Private-use characters: no shop writes them, and Parse refuses a body
// that does.
const (
	markLink  = "\uE000"
	markRaw   = "\uE001"
	markEnd   = "\uE002"
	markChars = markLink + markRaw + markEnd
)

// funcs is the template's function set, reading the render's settings
// from ctx.
func funcs(ctx *renderContext) template.FuncMap {
	return template.FuncMap{
		"default": defaultValue,
		"money":   func(amount any, currency ...string) (string, error) { return ctx.money(amount, currency) },
		"date":    func(v any, style ...string) (string, error) { return ctx.date(v, style) },
		"first":   first,
		"link":    func(u any) (string, error) { return markURL(markLink, u) },
		"raw":     func(u any) (string, error) { return markURL(markRaw, u) },
		optFunc:   lookup,
	}
}

// defaultValue returns v, or fallback when v is empty: missing, nil, "",
// or an empty list or map. Zero numbers are values: a total of 0 is not
// missing.
func defaultValue(fallback, v any) any {
	if empty(v) {
		return fallback
	}
	return v
}

func empty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// lookup follows path ("a.b.c") through maps from base; a missing key or
// a value that is not a map gives nil.
func lookup(base any, path string) any {
	v := base
	for key := range strings.SplitSeq(path, ".") {
		switch m := v.(type) {
		case map[string]any:
			v = m[key]
		case map[string]string:
			s, ok := m[key]
			if !ok {
				return nil
			}
			v = s
		default:
			return nil
		}
		if v == nil {
			return nil
		}
	}
	return v
}

// first returns the first element of a list: {{ (first .cart.items).name }}.
func first(list any) (any, error) {
	rv := reflect.ValueOf(list)
	if list == nil || rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("first: %T is not a list", list)
	}
	if rv.Len() == 0 {
		return nil, errors.New("first: the list is empty")
	}
	return rv.Index(0).Interface(), nil
}

// markURL prints u between mark and markEnd, after checking it can be a
// link's target.
func markURL(mark string, u any) (string, error) {
	s, ok := u.(string)
	if !ok {
		return "", fmt.Errorf("a link must be a URL, got %T", u)
	}
	s = strings.TrimSpace(s)
	if err := store.CheckLinkURL("link", s); err != nil {
		var fe *store.FieldError
		if errors.As(err, &fe) {
			return "", errors.New(fe.Message)
		}
		return "", err
	}
	return mark + s + markEnd, nil
}

// Segment is one piece of a rendered text: words, or a URL that link or
// raw printed.
type Segment struct {
	Text string
	URL  bool // printed by link or raw
	Raw  bool // printed by raw: never shortened
}

// Split cuts a rendered text at the marks of link and raw.
func Split(rendered string) []Segment {
	var out []Segment
	for rendered != "" {
		i := strings.IndexAny(rendered, markLink+markRaw)
		if i < 0 {
			out = append(out, Segment{Text: rendered})
			break
		}
		if i > 0 {
			out = append(out, Segment{Text: rendered[:i]})
		}
		raw := strings.HasPrefix(rendered[i:], markRaw)
		rest := rendered[i+len(markLink):] // both marks are 3 bytes
		j := strings.Index(rest, markEnd)
		if j < 0 {
			out = append(out, Segment{Text: rest, URL: true, Raw: raw})
			break
		}
		out = append(out, Segment{Text: rest[:j], URL: true, Raw: raw})
		rendered = rest[j+len(markEnd):]
	}
	return out
}

// Plain removes the marks of link and raw, leaving every URL as it is.
func Plain(rendered string) string {
	return strings.NewReplacer(markLink, "", markRaw, "", markEnd, "").Replace(rendered)
}

// number reads an amount as a float (for formatting only: amounts are
// minor units, so integers up to 2^53 are exact).
func number(v any) (float64, error) {
	switch n := v.(type) {
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case int32:
		return float64(n), nil
	case uint64:
		return float64(n), nil
	case float64:
		return n, nil
	case json.Number:
		return n.Float64()
	case string:
		return strconv.ParseFloat(strings.TrimSpace(n), 64)
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// minorDigits are the ISO 4217 minor units of the currencies that do not
// have two.
var minorDigits = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2, "XAF": 0, "XOF": 0, "PYG": 0, "UGX": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

// currencySymbols are written before or after the amount as the language
// does. Every one is in the GSM-7 alphabet or its extension (€), so a
// price does not turn a text into UCS-2; other currencies use their code.
var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

// separators per language: decimal mark, thousands separator, and
// whether the symbol follows the amount. A plain space, never the narrow
// no-break space CLDR gives French: that one forces UCS-2.
var separators = map[string]struct {
	decimal, thousands string
	symbolAfter        bool
}{
	"en": {".", ",", false},
	"fr": {",", " ", true},
	"de": {",", ".", true},
	"es": {",", ".", true},
	"it": {",", ".", true},
	"nl": {",", ".", false},
	"pt": {",", ".", true},
}

// money writes amount, in minor units (cents) of currency, in the
// contact's language: 123456 USD is "$1,234.56" in English and
// "1.234,56 $" in German. Without a currency the amount is written
// without a symbol.
func (c *renderContext) money(amount any, currency []string) (string, error) {
	n, err := number(amount)
	if err != nil {
		return "", fmt.Errorf("money: %w", err)
	}
	code := ""
	if len(currency) > 1 {
		return "", errors.New("money: give the amount and at most a currency")
	}
	if len(currency) == 1 {
		code = strings.ToUpper(strings.TrimSpace(currency[0]))
	}
	digits, ok := minorDigits[code]
	if !ok {
		digits = 2
	}
	sep, ok := separators[c.lang]
	if !ok {
		sep = separators["en"]
	}
	neg := n < 0
	major := math.Abs(n) / math.Pow10(digits)
	s := strconv.FormatFloat(major, 'f', digits, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(sep.thousands)
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString(sep.decimal + frac)
	}
	out := b.String()
	if code != "" {
		sym, ok := currencySymbols[code]
		switch {
		case !ok:
			out = code + " " + out
		case sep.symbolAfter:
			out += " " + sym
		default:
			out = sym + out
		}
	}
	if neg {
		out = "-" + out
	}
	return out, nil
}

// Month and day names per language; languages not here use English.
var (
	monthNames = map[string][12]string{
		"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	}
	dayNames = map[string][7]string{
		"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		"fr": {"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		"de": {"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		"es": {"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
	}
)

// date writes a time in the contact's zone and language. Styles: "short"
// (the default: "March 14" / "14 mars"), "long" ("Friday, March 14, 2025"),
// "time" ("9:26 AM" / "09:26"), "numeric" ("03/14/2025" / "14/03/2025").
func (c *renderContext) date(v any, style []string) (string, error) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339, strings.TrimSpace(x)); err != nil {
			return "", fmt.Errorf("date: %q is not an RFC 3339 time", x)
		}
	default:
		return "", fmt.Errorf("date: %v (%T) is not a time", v, v)
	}
	if len(style) > 1 {
		return "", errors.New("date: give the time and at most a style")
	}
	st := "short"
	if len(style) == 1 {
		st = style[0]
	}
	t = t.In(c.loc)
	lang := c.lang
	months, ok := monthNames[lang]
	if !ok {
		lang, months = "en", monthNames["en"]
	}
	days := dayNames[lang]
	month := months[t.Month()-1]
	switch st {
	case "short":
		if lang == "en" {
			return fmt.Sprintf("%s %d", month, t.Day()), nil
		}
		if lang == "de" {
			return fmt.Sprintf("%d. %s", t.Day(), month), nil
		}
		if lang == "es" {
			return fmt.Sprintf("%d de %s", t.Day(), month), nil
		}
		return fmt.Sprintf("%d %s", t.Day(), month), nil
	case "long":
		day := days[t.Weekday()]
		switch lang {
		case "en":
			return fmt.Sprintf("%s, %s %d, %d", day, month, t.Day(), t.Year()), nil
		case "de":
			return fmt.Sprintf("%s, %d. %s %d", day, t.Day(), month, t.Year()), nil
		case "es":
			return fmt.Sprintf("%s, %d de %s de %d", day, t.Day(), month, t.Year()), nil
		}
		return fmt.Sprintf("%s %d %s %d", day, t.Day(), month, t.Year()), nil
	case "time":
		if lang == "en" {
			return t.Format("3:04 PM"), nil
		}
		return t.Format("15:04"), nil
	case "numeric":
		if lang == "en" {
			return t.Format("01/02/2006"), nil
		}
		if lang == "de" {
			return t.Format("02.01.2006"), nil
		}
		return t.Format("02/01/2006"), nil
	}
	return "", fmt.Errorf("date: unknown style %q: use short, long, time or numeric", st)
}

package shopevents

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Money is kept in minor units (cents) as an int64, parsed from the
// decimal text the shop sent. Floats never touch it: 0.1 + 0.2 is not
// 0.3 in binary, and a total that is off by a cent is wrong on a receipt.

// minorDigits lists the ISO 4217 currencies whose minor unit is not two
// decimal digits (ISO 4217's list "A.1", column "Minor unit"). Every
// other code has two.
var minorDigits = map[string]int{
	// No minor unit.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// Three digits.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Four digits.
	"CLF": 4, "UYW": 4,
}

// MinorDigits is how many decimal digits currency's minor unit has (2
// unless ISO 4217 says otherwise; also 2 for an unknown or empty code).
func MinorDigits(currency string) int {
	if d, ok := minorDigits[currency]; ok {
		return d
	}
	return 2
}

// moneyText returns the decimal text of v, a JSON number (json.Number,
// from a decoder with UseNumber) or a string such as "199.00".
func moneyText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return string(x), true
	case string:
		return strings.TrimSpace(x), true
	}
	return "", false
}

// ParseMoney reads a decimal amount ("199.00", "5", "-0.5", "1e2" is
// refused) as minor units of currency. More decimals than the currency has
// are allowed only when they are zeros ("199.000" USD is 19900; "199.005"
// is an error: rounding someone's money is not this box's call).
func ParseMoney(text, currency string) (int64, error) {
	s := text
	neg := false
	switch {
	case s == "":
		return 0, fmt.Errorf("is empty")
	case s[0] == '-':
		neg, s = true, s[1:]
	case s[0] == '+':
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%q is not a decimal amount such as 19.99", text)
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("%q is not a decimal amount such as 19.99", text)
			}
		}
	}
	digits := MinorDigits(currency)
	if len(frac) > digits {
		if strings.Trim(frac[digits:], "0") != "" {
			return 0, fmt.Errorf("%q has more decimals than %s has (%d)", text, currencyName(currency), digits)
		}
		frac = frac[:digits]
	}
	frac += strings.Repeat("0", digits-len(frac))
	var n int64
	for _, c := range whole + frac {
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("%q is too large", text)
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, nil
}

func currencyName(c string) string {
	if c == "" {
		return "the currency"
	}
	return c
}

// FormatMoney writes minor units back as a decimal amount of currency
// ("199.00"), for pages and logs.
func FormatMoney(minor int64, currency string) string {
	digits := MinorDigits(currency)
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor)
	}
	s := fmt.Sprintf("%0*d", digits+1, u)
	if digits == 0 {
		return sign + s
	}
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}

package compat

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kannel's delivery report values (dlr-mask bits and the %d of dlr-url).
const (
	KannelDLRDelivered = 1  // delivered to the phone
	KannelDLRFailed    = 2  // not delivered
	KannelDLRBuffered  = 4  // queued at the SMSC
	KannelDLRSMSCAck   = 8  // accepted by the SMSC
	KannelDLRSMSCNack  = 16 // rejected by the SMSC
)

// KannelRecipients splits Kannel's "to": numbers separated by spaces (a
// "+" in a query string decodes to one) or by a "+" left after decoding
// between numbers; a leading "+" stays with its number.
func KannelRecipients(to string) []string {
	var out []string
	for _, f := range strings.Fields(to) {
		// "+4917...+4917..." (a literal plus between numbers, sent
		// percent-encoded): split before every plus but the first.
		start := 0
		for i := 1; i < len(f); i++ {
			if f[i] == '+' {
				if f[start:i] != "" {
					out = append(out, f[start:i])
				}
				start = i
			}
		}
		if s := f[start:]; s != "" && s != "+" {
			out = append(out, s)
		}
	}
	return out
}

// KannelDLRValue is the %d Kannel reports for a simgate status (its API
// name) change, or 0 when Kannel has no report for it. reportFailed says a
// delivery report, not the sending side, ended a failed text.
func KannelDLRValue(status string, reportFailed bool) int {
	switch status {
	case "sent":
		return KannelDLRSMSCAck
	case "delivered":
		return KannelDLRDelivered
	case "failed":
		if reportFailed {
			return KannelDLRFailed
		}
		return KannelDLRSMSCNack
	case "suppressed", "expired":
		return KannelDLRFailed
	}
	return 0
}

// KannelDLR is one delivery report for a dlr-url.
type KannelDLR struct {
	Value  int    // %d: KannelDLR*
	From   string // %p: the sender as the client gave it
	To     string // %P: the recipient
	At     time.Time
	Reply  string // %A: the report's text
	SMSCID string // %i: the modem that sent it
}

// KannelDLRURL fills a dlr-url's escapes as Kannel does: %d the report
// value, %p the sender, %P the recipient, %t the time as
// "YYYY-MM-DD HH:MM", %T the Unix time, %A the report's text, %i the
// SMSC id; %% is a percent sign. Values are query-escaped; unknown escapes
// are left as they are.
func KannelDLRURL(tmpl string, d KannelDLR) string {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '%' || i+1 == len(tmpl) {
			b.WriteByte(c)
			continue
		}
		var v string
		switch tmpl[i+1] {
		case 'd':
			v = strconv.Itoa(d.Value)
		case 'p':
			v = d.From
		case 'P':
			v = d.To
		case 't':
			v = d.At.UTC().Format("2006-01-02 15:04")
		case 'T':
			v = strconv.FormatInt(d.At.Unix(), 10)
		case 'A':
			v = d.Reply
		case 'i':
			v = d.SMSCID
		case '%':
			b.WriteByte('%')
			i++
			continue
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteString(url.QueryEscape(v))
		i++
	}
	return b.String()
}

// KannelWants reports whether dlr-mask asks for a report of this value.
func KannelWants(mask, value int) bool { return value != 0 && mask&value != 0 }

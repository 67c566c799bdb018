package alerting

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/store"
)

// The periodic balance check: a SIM with a check set is asked its USSD
// code every Interval while it works; the amount is read from the answer
// and, below the threshold, raised as the low-balance alert.

const (
	// DefaultBalanceInterval: prepaid credit moves with the texts sent, a
	// few a minute at most, so once a day sees a low balance days before
	// it runs out, and costs the network one USSD session a day.
	DefaultBalanceInterval = 24 * time.Hour
	// MinBalanceInterval keeps a mistyped interval from asking the network
	// every minute: carriers throttle or bar SIMs that flood USSD.
	MinBalanceInterval = time.Hour
	// MaxBalanceInterval: a check rarer than monthly would miss a month's
	// credit running out.
	MaxBalanceInterval = 31 * 24 * time.Hour
	// balanceRetry is how soon a failed check is tried again (the modem
	// was busy, the network did not answer), within the interval.
	balanceRetry = time.Hour
	// balanceTick is how often Run looks for checks that are due.
	balanceTick = time.Minute
	// ussdTimeout bounds one USSD session: networks answer within about
	// 10 s or never.
	ussdTimeout = 40 * time.Second
)

// BalanceCheckInput sets a SIM's check. An empty Code turns it off.
type BalanceCheckInput struct {
	Code      string  `json:"code"`
	Interval  string  `json:"interval,omitempty"` // a Go duration ("24h", "12h"); empty: DefaultBalanceInterval
	Threshold float64 `json:"threshold"`          // below it the balance is low
	// Pattern is a regular expression that finds the amount in the
	// network's answer (its first group, or the whole match); empty:
	// the first number in the answer.
	Pattern string `json:"pattern,omitempty"`
}

// Balance is a SIM's balance check and what it last read.
type Balance struct {
	Modem     string  `json:"modem"`
	On        bool    `json:"on"` // a check is set
	Code      string  `json:"code,omitempty"`
	Interval  string  `json:"interval,omitempty"`
	Threshold float64 `json:"threshold"`
	Pattern   string  `json:"pattern,omitempty"`
	// Amount and AmountText are the last balance read (AmountText as the
	// network wrote it, "4.20"), at ReadAt; nil before any.
	Amount     *float64   `json:"amount,omitempty"`
	AmountText string     `json:"amount_text,omitempty"`
	ReadAt     *time.Time `json:"read_at,omitempty"`
	Low        bool       `json:"low"` // the last amount read was below the threshold
	// CheckedAt is the last check, Error why it read nothing (empty when
	// it read the amount), Reply the network's whole answer.
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	Error     string     `json:"error,omitempty"`
	Reply     string     `json:"reply,omitempty"`
	NextCheck *time.Time `json:"next_check,omitempty"`
}

// Balances returns the balance record of each named SIM, in that order.
func (s *Service) Balances(modems []string) ([]Balance, error) {
	recs, err := s.cfg.DB.SIMBalances()
	if err != nil {
		return nil, err
	}
	out := make([]Balance, 0, len(modems))
	for _, m := range modems {
		rec, ok := recs[m]
		if !ok {
			rec = store.SIMBalance{Modem: m}
		}
		out = append(out, balanceView(rec))
	}
	return out, nil
}

// Balance returns one SIM's balance record.
func (s *Service) Balance(modem string) (Balance, error) {
	rec, found, err := s.cfg.DB.SIMBalanceOf(modem)
	if err != nil {
		return Balance{}, err
	}
	if !found {
		rec = store.SIMBalance{Modem: modem}
	}
	return balanceView(rec), nil
}

// SetBalanceCheck sets (or, with an empty code, turns off) modem's
// balance check. The code must pass the USSD allow-list. Errors are
// *store.FieldError naming the field; nothing is stored then.
func (s *Service) SetBalanceCheck(modem string, in BalanceCheckInput) (Balance, error) {
	in.Code, in.Pattern = strings.TrimSpace(in.Code), strings.TrimSpace(in.Pattern)
	if in.Code == "" {
		rec, err := s.cfg.DB.SetBalanceCheck(modem, nil)
		if err != nil {
			return Balance{}, err
		}
		s.cfg.Notify.ClearAlert(CauseLowBalance, modem)
		return balanceView(rec), nil
	}
	if s.cfg.USSD == nil {
		return Balance{}, &store.FieldError{Field: "code", Message: "balance checks need USSD, which this box does not offer"}
	}
	if err := s.cfg.USSD.CheckUSSDCode(in.Code); err != nil {
		return Balance{}, err
	}
	interval := DefaultBalanceInterval
	if in.Interval != "" {
		d, err := time.ParseDuration(in.Interval)
		if err != nil {
			return Balance{}, &store.FieldError{Field: "interval", Message: fmt.Sprintf("%q is not a duration such as \"24h\" or \"12h\"", in.Interval)}
		}
		interval = d
	}
	if interval < MinBalanceInterval || interval > MaxBalanceInterval {
		return Balance{}, &store.FieldError{Field: "interval", Message: fmt.Sprintf("must be between %v and %d days: carriers bar SIMs that ask too often", MinBalanceInterval, MaxBalanceInterval/(24*time.Hour))}
	}
	if in.Pattern != "" {
		if _, err := compilePattern(in.Pattern); err != nil {
			return Balance{}, &store.FieldError{Field: "pattern", Message: err.Error()}
		}
	}
	rec, err := s.cfg.DB.SetBalanceCheck(modem, &store.BalanceCheck{Code: in.Code, Interval: interval, Threshold: in.Threshold, Pattern: in.Pattern})
	if err != nil {
		return Balance{}, err
	}
	s.log.Info("balance check set", "modem", modem, "code", in.Code, "interval", interval)
	select { // a new check runs at once
	case s.checks <- struct{}{}:
	default:
	}
	return balanceView(rec), nil
}

// CheckBalance asks modem's balance now, records the reading and raises
// or clears the low-balance alert. A SIM without a check set is a
// *store.FieldError for "code".
func (s *Service) CheckBalance(ctx context.Context, modem string) (Balance, error) {
	rec, found, err := s.cfg.DB.SIMBalanceOf(modem)
	if err != nil {
		return Balance{}, err
	}
	if !found || rec.Check == nil {
		return Balance{}, &store.FieldError{Field: "code", Message: "no balance check is set for " + modem}
	}
	return s.check(ctx, rec)
}

// checkDue runs every check whose time has come on a SIM that works now.
func (s *Service) checkDue(ctx context.Context) {
	if s.cfg.USSD == nil {
		return
	}
	recs, err := s.cfg.DB.SIMBalances()
	if err != nil {
		s.log.Error("read balance checks", "error", err)
		return
	}
	working := map[string]bool{}
	for _, name := range s.cfg.Fleet.Working() {
		working[name] = true
	}
	now := s.now()
	for name, rec := range recs {
		if ctx.Err() != nil {
			return
		}
		if rec.Check == nil || !working[name] {
			continue
		}
		if next := nextCheck(rec); next != nil && now.Before(*next) {
			continue
		}
		if _, err := s.check(ctx, rec); err != nil && ctx.Err() == nil {
			s.log.Error("balance check", "modem", name, "error", err)
		}
	}
}

// check asks the network, records what it said, and alerts when low.
func (s *Service) check(ctx context.Context, rec store.SIMBalance) (Balance, error) {
	c := *rec.Check
	uctx, cancel := context.WithTimeout(ctx, ussdTimeout)
	reply, err := s.cfg.USSD.USSD(uctx, rec.Modem, c.Code)
	cancel()
	if ctx.Err() != nil {
		return Balance{}, ctx.Err()
	}
	r := store.BalanceReading{At: s.now(), Reply: reply}
	if prev := rec.Last; prev != nil { // a failed check keeps the last amount read
		r.Amount, r.Text, r.ReadAt, r.Low = prev.Amount, prev.Text, prev.ReadAt, prev.Low
	}
	switch amount, text, ok := ReadAmount(reply, c.Pattern); {
	case err != nil:
		r.Error = "the modem did not answer: " + err.Error()
	case !ok:
		r.Error = "no amount found in the network's answer"
	default:
		r.Amount, r.Text, r.ReadAt, r.Low = amount, text, r.At, amount < c.Threshold
	}
	saved, err := s.cfg.DB.RecordBalance(rec.Modem, r)
	if err != nil {
		return Balance{}, err
	}
	if r.Error != "" {
		s.log.Warn("balance check read nothing", "modem", rec.Modem, "error", r.Error)
		return balanceView(saved), nil
	}
	if r.Low {
		detail := fmt.Sprintf("balance %s is below %s.", r.Text, strconv.FormatFloat(c.Threshold, 'f', -1, 64))
		s.cfg.Notify.RaiseAlert(CauseLowBalance, rec.Modem, fmt.Sprintf("SIM %s is low on credit: %s Top it up before it stops sending.", rec.Modem, detail))
		s.Alert(Cause{Kind: CauseLowBalance, Modem: rec.Modem, Detail: detail})
	} else {
		s.cfg.Notify.ClearAlert(CauseLowBalance, rec.Modem)
	}
	return balanceView(saved), nil
}

// nextCheck is when rec's check is due next: nil when it never ran.
func nextCheck(rec store.SIMBalance) *time.Time {
	if rec.Check == nil || rec.Last == nil {
		return nil
	}
	wait := rec.Check.Interval
	if rec.Last.Error != "" {
		wait = min(wait, balanceRetry)
	}
	t := rec.Last.At.Add(wait)
	return &t
}

// amountRE finds a number: digits with separators, maybe a minus before
// (a postpaid or overdrawn balance).
var amountRE = regexp.MustCompile(`-?\d+(?:[.,]\d+)*`)

// ReadAmount finds the balance in a network's answer: in what pattern
// matches (its first group, or the whole match), or the whole answer
// without one; the first number there is the amount. A "." or "," followed
// by one or two digits at the number's end is the decimal point; other
// separators group thousands ("1,234.50", "1.234,50" and "12,5" all read
// as meant). ok is false when there is no number.
func ReadAmount(reply, pattern string) (amount float64, text string, ok bool) {
	where := reply
	if pattern != "" {
		re, err := compilePattern(pattern)
		if err != nil {
			return 0, "", false
		}
		m := re.FindStringSubmatch(reply)
		if m == nil {
			return 0, "", false
		}
		where = m[0]
		if len(m) > 1 && m[1] != "" {
			where = m[1]
		}
	}
	text = amountRE.FindString(where)
	if text == "" {
		return 0, "", false
	}
	plain := text
	if i := strings.LastIndexAny(plain, ".,"); i >= 0 && len(plain)-i-1 <= 2 {
		plain = strings.NewReplacer(".", "", ",", "").Replace(plain[:i]) + "." + plain[i+1:]
	} else {
		plain = strings.NewReplacer(".", "", ",", "").Replace(plain)
	}
	v, err := strconv.ParseFloat(plain, 64)
	if err != nil {
		return 0, "", false
	}
	return v, text, true
}

// compilePattern compiles an owner's pattern, refusing one longer than a
// balance answer could need.
func compilePattern(p string) (*regexp.Regexp, error) {
	if len(p) > 200 {
		return nil, fmt.Errorf("is %d characters; at most 200", len(p))
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("is not a regular expression: %v", err)
	}
	return re, nil
}

// balanceView converts a record for the API and the console.
func balanceView(rec store.SIMBalance) Balance {
	b := Balance{Modem: rec.Modem}
	if c := rec.Check; c != nil {
		b.On, b.Code, b.Interval, b.Threshold, b.Pattern = true, c.Code, formatInterval(c.Interval), c.Threshold, c.Pattern
	}
	if r := rec.Last; r != nil {
		at := r.At
		b.CheckedAt, b.Error, b.Reply = &at, r.Error, r.Reply
		if !r.ReadAt.IsZero() {
			amount, readAt := r.Amount, r.ReadAt
			b.Amount, b.AmountText, b.ReadAt, b.Low = &amount, r.Text, &readAt, r.Low
		}
	}
	if b.On {
		b.NextCheck = nextCheck(rec)
	}
	return b
}

// formatInterval writes an interval as people set it: "24h", "90m".
func formatInterval(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

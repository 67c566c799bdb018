package campaigns

import (
	"fmt"
	"math"
	"sort"
)

// VariantOutcome is what one variant's test texts achieved: Trials texts
// sent, Successes of them clicked (or converted).
type VariantOutcome struct {
	Key       string `json:"key"`
	Trials    int64  `json:"trials"`
	Successes int64  `json:"successes"`
}

// Rate is Successes / Trials, 0 without trials.
func (o VariantOutcome) Rate() float64 {
	if o.Trials == 0 {
		return 0
	}
	return float64(o.Successes) / float64(o.Trials)
}

// Decision is the test-first verdict, in numbers and in words.
type Decision struct {
	Metric string `json:"metric"`
	// Winner is the variant sent to the rest; empty when no variant won
	// significantly (the owner picks).
	Winner string `json:"winner,omitempty"`
	// Best and RunnerUp are the two highest rates; the test compares them.
	Best     string `json:"best,omitempty"`
	RunnerUp string `json:"runner_up,omitempty"`
	// Test is "two-proportion z-test" or "Fisher's exact test".
	Test string `json:"test,omitempty"`
	// PValue is the test's two-sided p-value; Confidence is 1 - PValue.
	PValue     float64          `json:"p_value"`
	Confidence float64          `json:"confidence"`
	Outcomes   []VariantOutcome `json:"outcomes"`
	Summary    string           `json:"summary"`
}

// SignificanceLevel is the p-value under which a difference counts as
// real: a winner is declared at 95 % confidence.
const SignificanceLevel = 0.05

// smallCount is the expected cell count under which the z-test's normal
// approximation is not trusted and Fisher's exact test is used instead
// (the usual rule of thumb for 2x2 tables).
const smallCount = 5

// Decide picks the winner of a test: the variant with the highest rate,
// if it beats the runner-up significantly (two-sided, at
// SignificanceLevel). Ties in rate go to the earlier key, and are never
// significant. It is a pure function of its inputs.
func Decide(metric string, outcomes []VariantOutcome) Decision {
	d := Decision{Metric: metric, Outcomes: append([]VariantOutcome(nil), outcomes...)}
	if len(outcomes) < 2 {
		d.Summary = "there is nothing to compare: a test needs two variants"
		return d
	}
	ranked := append([]VariantOutcome(nil), outcomes...)
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].Rate() > ranked[j].Rate() })
	best, second := ranked[0], ranked[1]
	d.Best, d.RunnerUp = best.Key, second.Key
	what := "click rate"
	if metric == MetricConversionRate {
		what = "conversion rate"
	}
	if best.Trials == 0 || second.Trials == 0 {
		d.PValue, d.Summary = 1, "not enough texts were sent to compare the variants"
		return d
	}
	d.Test, d.PValue = compare(best, second)
	d.Confidence = 1 - d.PValue
	pct := func(o VariantOutcome) string { return fmt.Sprintf("%.1f %%", 100*o.Rate()) }
	if best.Rate() > second.Rate() && d.PValue < SignificanceLevel {
		d.Winner = best.Key
		d.Summary = fmt.Sprintf("variant %s wins: %s %s against %s for variant %s, %.0f %% confidence (%s)",
			best.Key, what, pct(best), pct(second), second.Key, 100*d.Confidence, d.Test)
		return d
	}
	d.Summary = fmt.Sprintf("no clear winner: variant %s's %s of %s against %s for variant %s could be chance (%.0f %% confidence, %s; %.0f %% needed): pick the variant to send",
		best.Key, what, pct(best), pct(second), second.Key, 100*d.Confidence, d.Test, 100*(1-SignificanceLevel))
	return d
}

// compare tests whether two rates differ, choosing the test by the
// expected cell counts.
func compare(a, b VariantOutcome) (string, float64) {
	n := float64(a.Trials + b.Trials)
	succ := float64(a.Successes + b.Successes)
	fail := n - succ
	for _, trials := range []float64{float64(a.Trials), float64(b.Trials)} {
		if trials*succ/n < smallCount || trials*fail/n < smallCount {
			return "Fisher's exact test", FisherExact(a.Successes, a.Trials-a.Successes, b.Successes, b.Trials-b.Successes)
		}
	}
	return "two-proportion z-test", TwoProportionZ(a.Successes, a.Trials, b.Successes, b.Trials)
}

// TwoProportionZ is the two-sided p-value of the pooled two-proportion
// z-test of x1/n1 against x2/n2.
func TwoProportionZ(x1, n1, x2, n2 int64) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	pool := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 1
	}
	z := math.Abs(p1-p2) / se
	return math.Erfc(z / math.Sqrt2)
}

// FisherExact is the two-sided p-value of Fisher's exact test of the 2x2
// table [[a, b], [c, d]]: the probability, with the margins fixed, of a
// table at most as likely as the one seen.
func FisherExact(a, b, c, d int64) float64 {
	row1, col1, n := a+b, a+c, a+b+c+d
	if n == 0 {
		return 1
	}
	logP := func(x int64) float64 {
		return lchoose(col1, x) + lchoose(n-col1, row1-x) - lchoose(n, row1)
	}
	observed := logP(a)
	lo, hi := max(0, row1-(n-col1)), min(row1, col1)
	p := 0.0
	for x := lo; x <= hi; x++ {
		if lp := logP(x); lp <= observed+1e-7 {
			p += math.Exp(lp)
		}
	}
	return min(p, 1)
}

func lchoose(n, k int64) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

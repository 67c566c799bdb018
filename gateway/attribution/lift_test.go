package attribution

import (
	"math"
	"testing"
)

// TestNewcombeWorkedExamples checks the interval against the worked
// examples of Newcombe (1998), "Interval estimation for the difference
// between independent proportions", Table II, method 10.
func TestNewcombeWorkedExamples(t *testing.T) {
	for _, c := range []struct {
		x1, n1, x2, n2 int64
		low, high      float64
	}{
		{56, 70, 48, 80, 0.0524, 0.3339},
		{9, 10, 3, 10, 0.1705, 0.8090},
		{5, 56, 0, 29, -0.0381, 0.1926},
	} {
		_, low, high := newcombe(c.x1, c.n1, c.x2, c.n2)
		if math.Abs(low-c.low) > 0.00006 || math.Abs(high-c.high) > 0.00006 {
			t.Errorf("%d/%d − %d/%d: interval [%.4f, %.4f], want [%.4f, %.4f]", c.x1, c.n1, c.x2, c.n2, low, high, c.low, c.high)
		}
	}
}

// TestWilsonWorkedExample: Newcombe (1998b) gives 81/263 → 0.2553–0.3662.
func TestWilsonWorkedExample(t *testing.T) {
	low, high := wilson(81, 263)
	if math.Abs(low-0.2553) > 0.00006 || math.Abs(high-0.3662) > 0.00006 {
		t.Errorf("wilson(81, 263) = [%.4f, %.4f], want [0.2553, 0.3662]", low, high)
	}
}

func TestLiftOf(t *testing.T) {
	if _, ok := LiftOf(3, 10, 0, 0); ok {
		t.Error("a lift without holdout members")
	}
	l, ok := LiftOf(310, 1000, 200, 1000)
	if !ok || math.Abs(l.Difference-0.11) > 1e-9 || !l.Significant || l.Relative == nil || math.Abs(*l.Relative-0.55) > 1e-9 {
		t.Errorf("LiftOf(310/1000, 200/1000) = %+v", l)
	}
	l, _ = LiftOf(21, 1000, 20, 1000)
	if l.Significant || l.Low >= 0 || l.High <= 0 {
		t.Errorf("a difference of one order in a thousand called significant: %+v", l)
	}
	l, _ = LiftOf(5, 100, 0, 10)
	if l.Relative != nil {
		t.Errorf("a relative lift over a holdout that ordered nothing: %v", *l.Relative)
	}
}

package attribution

import "math"

// z95 is the standard normal quantile for a two-sided 95 % interval.
const z95 = 1.959963984540054

// LiftMethod names how the interval of a lift is computed, for the page
// and the API.
const LiftMethod = "Newcombe's hybrid score interval (Wilson intervals of each rate), 95 %"

// wilson is the 95 % Wilson score interval of x successes in n trials.
func wilson(x, n int64) (low, high float64) {
	if n <= 0 {
		return 0, 1
	}
	p := float64(x) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z95 / denom * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(center-half, 0), min(center+half, 1)
}

// newcombe is the 95 % interval of p1 − p2 (x1 of n1 against x2 of n2) by
// Newcombe's hybrid score method (method 10 of Newcombe 1998), built from
// the Wilson interval of each proportion: it stays inside [−1, 1] and
// behaves at rates near 0, where the order rates of a holdout live.
func newcombe(x1, n1, x2, n2 int64) (diff, low, high float64) {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	l1, u1 := wilson(x1, n1)
	l2, u2 := wilson(x2, n2)
	diff = p1 - p2
	low = diff - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	high = diff + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	return diff, low, high
}

// Lift compares the order rate of the members who got a text with the
// holdout's, who got nothing.
type Lift struct {
	TreatedMembers int64   `json:"treated_members"`
	TreatedOrdered int64   `json:"treated_ordered"`
	HoldoutMembers int64   `json:"holdout_members"`
	HoldoutOrdered int64   `json:"holdout_ordered"`
	TreatedRate    float64 `json:"treated_rate"` // fractions: 0.031 is 3.1 %
	HoldoutRate    float64 `json:"holdout_rate"`
	// Difference is TreatedRate − HoldoutRate, with its 95 % interval.
	Difference float64 `json:"difference"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	// Relative is Difference / HoldoutRate; absent while the holdout
	// ordered nothing.
	Relative *float64 `json:"relative,omitempty"`
	// Significant: the interval leaves out zero.
	Significant bool   `json:"significant"`
	Method      string `json:"method"`
}

// LiftOf computes the lift of treated over holdout; ok is false while
// either group has no members.
func LiftOf(treatedOrdered, treatedMembers, holdoutOrdered, holdoutMembers int64) (Lift, bool) {
	if treatedMembers <= 0 || holdoutMembers <= 0 {
		return Lift{}, false
	}
	l := Lift{TreatedMembers: treatedMembers, TreatedOrdered: treatedOrdered, HoldoutMembers: holdoutMembers,
		HoldoutOrdered: holdoutOrdered, Method: LiftMethod}
	l.TreatedRate = float64(treatedOrdered) / float64(treatedMembers)
	l.HoldoutRate = float64(holdoutOrdered) / float64(holdoutMembers)
	l.Difference, l.Low, l.High = newcombe(treatedOrdered, treatedMembers, holdoutOrdered, holdoutMembers)
	if l.HoldoutRate > 0 {
		r := l.Difference / l.HoldoutRate
		l.Relative = &r
	}
	l.Significant = l.Low > 0 || l.High < 0
	return l, true
}

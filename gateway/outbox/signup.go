package outbox

import (
	"errors"
	"fmt"

	"github.com/simgate/simgate/gateway/simlimits"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// The public sign-up page makes strangers able to cause texts. What they
// cause is bounded here, where the fleet's budgets are known: requests
// from the page go at low priority (after every other due text) and count
// against a daily budget that is a share of what the SIMs may send a day.

// signupBudget names the sign-up page's daily budget in the store.
const signupBudget = "signup"

// ErrSignupBudgetSpent is returned by EnqueueSignup when today's budget
// for the sign-up page's requests is used up.
var ErrSignupBudgetSpent = store.ErrBudgetSpent

// signupLimit is today's allowance of parts for the sign-up page: the
// configured share of the fleet's daily parts. A SIM without a daily limit
// counts as one with the default, and a box without modems as one SIM,
// so that no configuration lets strangers send without bound.
func (q *Queue) signupLimit() int {
	q.mu.Lock()
	runners := append([]*runner(nil), q.runners...)
	q.mu.Unlock()
	fleet := 0
	for _, r := range runners {
		per := r.limits.PerDay
		if per <= 0 {
			per = simlimits.DefaultPerDay
		}
		fleet += per
	}
	if len(runners) == 0 {
		fleet = simlimits.DefaultPerDay
	}
	return fleet * q.cfg.SignupShare / 100
}

func (q *Queue) signupDay(day string) store.DailyBudget {
	return store.DailyBudget{Name: signupBudget, Day: day, Limit: q.signupLimit()}
}

// SignupBudget returns the parts the sign-up page's requests used on day
// ("2006-01-02", the box's local day) and the daily allowance.
func (q *Queue) SignupBudget(day string) (used, limit int, err error) {
	b := q.signupDay(day)
	used, err = q.db.BudgetUsed(b.Name, b.Day)
	if err != nil {
		return 0, 0, fmt.Errorf("gateway: read the sign-up budget: %w", err)
	}
	return used, b.Limit, nil
}

// SignupFits reports whether a request of text still fits in day's
// budget, by the rule EnqueueSignup applies.
func (q *Queue) SignupFits(day, text string) (bool, error) {
	used, limit, err := q.SignupBudget(day)
	if err != nil {
		return false, err
	}
	return used == 0 || used+modem.PlanText(text).Parts <= limit, nil
}

// EnqueueSignup commits a request caused by the sign-up page (made by
// NewReply): at low priority, and counted against day's budget in the
// same transaction. The caller names the day, so that a refusal just
// before midnight is not taken for one of the next day. When the budget
// is spent nothing is stored and the error is ErrSignupBudgetSpent.
func (q *Queue) EnqueueSignup(m store.Message, day string) (stored store.Message, existing bool, err error) {
	m.Priority = store.PriorityLow
	stored, existing, err = q.db.EnqueueWithin(m, q.signupDay(day))
	if errors.Is(err, store.ErrBudgetSpent) {
		return store.Message{}, false, ErrSignupBudgetSpent
	}
	if err != nil {
		return store.Message{}, false, err
	}
	if !existing {
		q.notify.MessageChanged(stored)
		q.Wake()
	}
	return stored, existing, nil
}

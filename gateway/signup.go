package gateway

import (
	"context"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/outbox"
)

// The public sign-up page (/join): what a stranger can make the box do is
// bounded by package consent (when a number is texted, how often, the
// alert) and package outbox (low priority, a daily share of the fleet).

// SignupLimits bound what the public sign-up page may cost; zero fields
// take the defaults below.
type SignupLimits struct {
	// Share is the percent (1 to 100) of the fleet's daily parts that the
	// page's requests may use a day.
	Share int
	// PerNumber is how many requests one number gets in 30 days from the
	// page without an answer of its own.
	PerNumber int
	// BusyPerHour is how many sign-ups an hour make the page busy: it
	// then asks for a proof of work, and the shop gets the join_abuse
	// alert.
	BusyPerHour int
}

// Defaults of SignupLimits (see packages outbox and consent for where
// each number comes from).
const (
	DefaultSignupShare       = outbox.DefaultSignupShare
	DefaultSignupsPerNumber  = consent.DefaultSignupsPerNumber
	DefaultSignupBusyPerHour = consent.DefaultSignupBusyPerHour
)

// AlertJoinAbuse is active while the sign-up page is busier than
// BusyPerHour or its daily budget is spent.
const AlertJoinAbuse = consent.AlertSignupAbuse

// SignupRequest is one sign-up on the public page.
type SignupRequest = consent.SignupRequest

// ErrSignupsPaused is returned by Signup when today's budget for the
// page's requests is spent.
var ErrSignupsPaused = consent.ErrSignupsPaused

// Signup records a sign-up from the public page and returns once it is on
// disk, before anything that depends on the number's state: the answer is
// the same for a new number, a subscribed one and one asked today. The
// gateway's Run acts on it (a double opt-in request, or nothing).
func (g *Gateway) Signup(ctx context.Context, r SignupRequest) error { return g.consent.Signup(ctx, r) }

// SignupsBusy reports whether sign-ups come faster than BusyPerHour, so
// the page should ask for a proof of work.
func (g *Gateway) SignupsBusy() bool { return g.consent.SignupsBusy() }

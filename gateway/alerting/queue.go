package alerting

import (
	"context"

	"github.com/simgate/simgate/gateway/outbox"
)

// QueueFleet is the outbox as the alerts' Fleet: the SIMs that could send
// an alert now are those up, not paused by a person and not stopped by
// their budget.
type QueueFleet struct{ Q *outbox.Queue }

// Working names the SIMs that could send an alert now.
func (f QueueFleet) Working() []string {
	var out []string
	for _, st := range f.Q.Modems() {
		if st.State == outbox.StateUp && !st.Paused && (st.Budget == nil || st.Budget.Exhausted == "") {
			out = append(out, st.Name)
		}
	}
	return out
}

// QueueUSSD gives the balance checks the outbox's USSD, as text.
type QueueUSSD struct{ Q *outbox.Queue }

// USSD sends code through the named modem and returns the network's text.
func (u QueueUSSD) USSD(ctx context.Context, modemName, code string) (string, error) {
	rep, err := u.Q.USSD(ctx, modemName, code)
	return rep.Text, err
}

// CheckUSSDCode checks code against the outbox's allow-list.
func (u QueueUSSD) CheckUSSDCode(code string) error { return u.Q.CheckUSSDCode(code) }

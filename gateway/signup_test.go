package gateway

import (
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// TestDoubleOptInPreferenceWaitsForYes (issue 15, point 3): a double
// opt-in request for a subscribed number that asks for cart reminders
// changes nothing until the number answers YES; then the preference is on,
// and no second opt-in confirmation is sent. A request that asks for
// nothing new sends nothing and records nothing.
func TestDoubleOptInPreferenceWaitsForYes(t *testing.T) {
	c := newConsentGW(t)
	c.optIn(webForm(numA)) // subscribed, no cart reminders
	before := len(c.events(numA))

	plain := webForm(numA)
	plain.DoubleOptIn = true
	if ev, _ := c.optIn(plain); ev.ID != 0 {
		t.Errorf("a request asking a subscribed number for nothing new was recorded: %+v", ev)
	}
	if n := len(c.events(numA)); n != before {
		t.Errorf("ledger grew from %d to %d", before, n)
	}

	cart := plain
	cart.CartReminders = true
	ev, con := c.optIn(cart)
	if ev.Type != EventDOIRequest || ev.MessageID == 0 {
		t.Fatalf("the request for cart reminders: %+v", ev)
	}
	if con.Marketing != MarketingConfirmed || con.CartReminders || !con.PendingCartReminders {
		t.Errorf("before YES: %+v; want still subscribed, cart reminders off until the number confirms", con)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyDOI))

	c.text(numA, "YES")
	if con := c.consent(numA); !con.CartReminders || con.PendingCartReminders || con.Marketing != store.MarketingConfirmed {
		t.Errorf("after YES: %+v", con)
	}
	evs := c.events(numA)
	if last := evs[len(evs)-1]; last.Type != EventDOIConfirm || !strings.Contains(last.Note, "cart reminders") {
		t.Errorf("confirmation entry: %+v", last)
	}
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyDOI))
}

// TestStopDropsAPendingPreference: a STOP after a request for cart
// reminders withdraws the request with everything else; a later YES
// confirms nothing.
func TestStopDropsAPendingPreference(t *testing.T) {
	c := newConsentGW(t)
	c.optIn(webForm(numA))
	r := webForm(numA)
	r.DoubleOptIn, r.CartReminders = true, true
	c.optIn(r)
	c.text(numA, "STOP")
	c.text(numA, "YES")
	if con := c.consent(numA); con.CartReminders || con.PendingCartReminders || con.Marketing != store.MarketingOptedOut {
		t.Errorf("after STOP and YES: %+v", con)
	}
}

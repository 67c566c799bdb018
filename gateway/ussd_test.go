package gateway

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// The owner's allow-list replaces the default: an operator whose balance
// code is *#10# lists it, and then *100# is refused. A bad pattern stops
// New with an error naming it.
func TestUSSDAllowConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{
			modems: []sim.Config{{Number: simA, USSDReplies: map[string]string{"*#10#": "Your balance is 5.00"}}},
			gwCfg:  Config{USSDAllow: []string{"*#10#"}},
		})
		r.start()
		r.waitUp()
		if got := r.g.USSDAllow(); strings.Join(got, " ") != "*#10#" {
			t.Errorf("USSDAllow() = %v", got)
		}
		reply, err := r.g.USSD(context.Background(), "sim1", "*#10#")
		if err != nil || !strings.Contains(reply.Text, "5.00") {
			t.Fatalf("*#10#: %+v, %v; want the balance", reply, err)
		}
		var fe *FieldError
		if _, err := r.g.USSD(context.Background(), "sim1", "*100#"); !errors.As(err, &fe) || fe.Field != "code" || !strings.Contains(fe.Message, "*#10#") {
			t.Errorf("*100# outside the list: %v, want a FieldError on code naming the list", err)
		}

		db, err := store.Open(filepath.Join(t.TempDir(), "simgate.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := New(db, Config{USSDAllow: []string{"*N#", "*1N#"}}); err == nil || !strings.Contains(err.Error(), "ussd_allow[2]") {
			t.Errorf("New with a bad pattern: %v, want an error naming ussd_allow[2]", err)
		}
	})
}

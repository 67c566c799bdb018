package gateway

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
)

// A modem's identity from the last run is shown while it is unplugged.
func TestModemIdentitySurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		r := newRig(t, rigOptions{dir: dir, modems: []sim.Config{{Number: simA}}})
		r.start()
		r.waitUp()
		id := r.g.Modems()[0].Identity
		if id.IMEI == "" {
			t.Fatalf("identity %+v has no IMEI", id)
		}
		r.stop()
		r.db.Close()

		r2 := newRig(t, rigOptions{dir: dir})
		unplugged := func(context.Context) (*modem.Modem, error) { return nil, errors.New("no such device") }
		if err := r2.g.AddModem(ModemConfig{Name: "sim1", Path: "/dev/ttyUSB9", Open: unplugged}); err != nil {
			t.Fatal(err)
		}
		r2.start()
		r2.waitFor("the stored identity", func() bool { return r2.g.Modems()[0].Identity == id })
		if st := r2.g.Modems()[0]; st.State == StateUp {
			t.Errorf("unplugged modem is %s", st.State)
		}
	})
}

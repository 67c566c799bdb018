package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
)

func TestConsolePauseModem(t *testing.T) {
	c := newConsoleRig(t)
	if err := c.gw.AddModem(gateway.ModemConfig{Name: "shop1", Path: "/dev/ttyUSB2", Open: func(context.Context) (*modem.Modem, error) {
		return nil, errors.New("unplugged")
	}}); err != nil {
		t.Fatal(err)
	}
	wantBody(t, c.get("/modems"), http.StatusOK, "Pause sending from this SIM")
	wantRedirect(t, c.post("/modems/shop1/pause", url.Values{}), "/modems")
	if !c.gw.Modems()[0].Paused {
		t.Fatal("the modem is not paused")
	}
	wantBody(t, c.get("/modems"), http.StatusOK, "Resume sending from this SIM", "paused: sends nothing")
	wantRedirect(t, c.post("/modems/shop1/resume", url.Values{}), "/modems")
	if c.gw.Modems()[0].Paused {
		t.Fatal("still paused after resume")
	}
	if w := c.post("/modems/nope/pause", url.Values{}); w.Code != http.StatusNotFound {
		t.Errorf("unknown modem: %d, want 404", w.Code)
	}
}

package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// ErrModemUnavailable is returned for work a modem cannot take now (down,
// starting, or out of rotation).
var ErrModemUnavailable = errors.New("modem unavailable")

// rememberModem stores the identity a modem reported at init.
func (g *Gateway) rememberModem(name, path string, id modem.Identity) {
	rec, _, err := g.db.ModemRecord(name)
	if err != nil {
		g.log.Warn("read modem record", "modem", name, "error", err)
	}
	now := g.now()
	if rec.FirstSeen.IsZero() || rec.Identity.IMEI != id.IMEI {
		if rec.Identity.IMEI != "" && rec.Identity.IMEI != id.IMEI {
			g.log.Warn("a different modem now answers under this name", "modem", name, "old_imei", rec.Identity.IMEI, "new_imei", id.IMEI)
		}
		rec.FirstSeen = now
	}
	rec.Name, rec.Path, rec.Identity, rec.LastSeen = name, path, store.ModemIdentity(id), now
	if err := g.db.PutModemRecord(rec); err != nil {
		g.log.Warn("store modem record", "modem", name, "error", err)
	}
}

// loadModemRecords fills in the identity of each modem from the last run.
func (g *Gateway) loadModemRecords(runners []*runner) {
	for _, r := range runners {
		rec, found, err := g.db.ModemRecord(r.name)
		if err != nil || !found {
			continue
		}
		r.mu.Lock()
		if r.status.Identity == (modem.Identity{}) {
			r.status.Identity = modem.Identity(rec.Identity)
		}
		r.mu.Unlock()
	}
}

// USSDReply is the network's answer to a USSD code such as *100#.
type USSDReply = modem.USSDReply

type ussdRequest struct {
	code  string
	reply chan ussdResult
}

type ussdResult struct {
	reply USSDReply
	err   error
}

// USSD sends a USSD code (a balance check such as *100#) through the named
// modem and returns the network's reply. It is serialised with sending on
// the same port: it waits for a submit in flight to finish.
func (g *Gateway) USSD(ctx context.Context, modemName, code string) (USSDReply, error) {
	if err := validUSSD(code); err != nil {
		return USSDReply{}, err
	}
	r := g.runner(modemName)
	if r == nil {
		return USSDReply{}, ErrNotFound
	}
	if st := r.snapshot().State; st != StateUp && st != StateDegraded {
		return USSDReply{}, fmt.Errorf("%w: %s is %s", ErrModemUnavailable, modemName, st)
	}
	req := ussdRequest{code: code, reply: make(chan ussdResult, 1)}
	select {
	case r.ussd <- req:
	case <-ctx.Done():
		return USSDReply{}, ctx.Err()
	}
	select {
	case res := <-req.reply:
		return res.reply, res.err
	case <-ctx.Done():
		return USSDReply{}, ctx.Err()
	}
}

// validUSSD accepts what a phone's dialler would send: digits, * and #,
// starting with * or # and ending with #.
func validUSSD(code string) error {
	if len(code) < 2 || len(code) > 32 {
		return &FieldError{Field: "code", Message: "must be 2 to 32 characters, like *100#"}
	}
	if code[0] != '*' && code[0] != '#' || code[len(code)-1] != '#' {
		return &FieldError{Field: "code", Message: "must start with * or # and end with #, like *100#"}
	}
	for _, c := range code {
		if (c < '0' || c > '9') && c != '*' && c != '#' {
			return &FieldError{Field: "code", Message: fmt.Sprintf("may contain only digits, * and #, not %q", c)}
		}
	}
	return nil
}

// runner finds a modem's runner by name.
func (g *Gateway) runner(name string) *runner {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.runners {
		if r.name == name {
			return r
		}
	}
	return nil
}

// SetModemPaused pauses or resumes sending through a modem. A paused modem
// stays connected, so texts and delivery reports still arrive; the choice
// survives restarts.
func (g *Gateway) SetModemPaused(name string, paused bool) (ModemStatus, error) {
	r := g.runner(name)
	if r == nil {
		return ModemStatus{}, ErrNotFound
	}
	if err := g.db.SetModemPaused(name, paused); err != nil {
		return ModemStatus{}, err
	}
	r.update(func(s *ModemStatus) { s.Paused = paused })
	g.log.Info("modem paused by operator", "modem", name, "paused", paused)
	g.kick()
	return r.snapshot(), nil
}

// loadPaused restores the operator's pause decisions.
func (g *Gateway) loadPaused(runners []*runner) error {
	for _, r := range runners {
		paused, err := g.db.ModemPaused(r.name)
		if err != nil {
			return err
		}
		if paused {
			r.mu.Lock()
			r.status.Paused = true
			r.mu.Unlock()
		}
	}
	return nil
}

// ModemHistory returns a modem's recent health readings, oldest first.
func (g *Gateway) ModemHistory(name string) ([]Health, error) {
	r := g.runner(name)
	if r == nil {
		return nil, ErrNotFound
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Health(nil), r.history...), nil
}

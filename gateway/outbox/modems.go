package outbox

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
func (q *Queue) rememberModem(name, path string, id modem.Identity) {
	rec, _, err := q.db.ModemRecord(name)
	if err != nil {
		q.log.Warn("read modem record", "modem", name, "error", err)
	}
	now := q.now()
	if rec.FirstSeen.IsZero() || rec.Identity.IMEI != id.IMEI {
		if rec.Identity.IMEI != "" && rec.Identity.IMEI != id.IMEI {
			q.log.Warn("a different modem now answers under this name", "modem", name, "old_imei", rec.Identity.IMEI, "new_imei", id.IMEI)
		}
		rec.FirstSeen = now
	}
	rec.Name, rec.Path, rec.Identity, rec.LastSeen = name, path, store.ModemIdentity(id), now
	if err := q.db.PutModemRecord(rec); err != nil {
		q.log.Warn("store modem record", "modem", name, "error", err)
	}
}

// loadModemRecords fills in the identity of each modem from the last run.
func (q *Queue) loadModemRecords(runners []*runner) {
	for _, r := range runners {
		rec, found, err := q.db.ModemRecord(r.name)
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

type ussdRequest struct {
	code  string
	reply chan ussdResult
}

type ussdResult struct {
	reply modem.USSDReply
	err   error
}

// USSD sends a USSD code (a balance check such as *100#) through the named
// modem and returns the network's reply. It is serialised with sending on
// the same port: it waits for a submit in flight to finish. A code outside
// the allow-list (Config.USSDAllow) is a *store.FieldError for "code".
func (q *Queue) USSD(ctx context.Context, modemName, code string) (modem.USSDReply, error) {
	if err := checkUSSD(q.cfg.USSDAllow, code); err != nil {
		return modem.USSDReply{}, err
	}
	r := q.runner(modemName)
	if r == nil {
		return modem.USSDReply{}, store.ErrNotFound
	}
	if st := r.snapshot().State; st != StateUp && st != StateDegraded {
		return modem.USSDReply{}, fmt.Errorf("%w: %s is %s", ErrModemUnavailable, modemName, st)
	}
	req := ussdRequest{code: code, reply: make(chan ussdResult, 1)}
	select {
	case r.ussd <- req:
	case <-ctx.Done():
		return modem.USSDReply{}, ctx.Err()
	}
	select {
	case res := <-req.reply:
		return res.reply, res.err
	case <-ctx.Done():
		return modem.USSDReply{}, ctx.Err()
	}
}

// USSDAllow returns the allow-list in force, as written.
func (q *Queue) USSDAllow() []string { return q.cfg.USSDAllow.Patterns() }

// runner finds a modem's runner by name.
func (q *Queue) runner(name string) *runner {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range q.runners {
		if r.name == name {
			return r
		}
	}
	return nil
}

// SetModemPaused pauses or resumes sending through a modem. A paused modem
// stays connected, so texts and delivery reports still arrive; the choice
// survives restarts.
func (q *Queue) SetModemPaused(name string, paused bool) (ModemStatus, error) {
	r := q.runner(name)
	if r == nil {
		return ModemStatus{}, store.ErrNotFound
	}
	if err := q.db.SetModemPaused(name, paused); err != nil {
		return ModemStatus{}, err
	}
	r.update(func(s *ModemStatus) { s.Paused = paused })
	q.log.Info("modem paused by operator", "modem", name, "paused", paused)
	q.Wake()
	return r.snapshot(), nil
}

// loadPaused restores the operator's pause decisions.
func (q *Queue) loadPaused(runners []*runner) error {
	for _, r := range runners {
		paused, err := q.db.ModemPaused(r.name)
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
func (q *Queue) ModemHistory(name string) ([]modem.Health, error) {
	r := q.runner(name)
	if r == nil {
		return nil, store.ErrNotFound
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]modem.Health(nil), r.history...), nil
}

package gateway

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Alert kinds.
const (
	AlertModemDown    = "modem_down"          // the supervisor climbed the whole escalation ladder
	AlertSIMOutOfRota = "sim_out_of_rotation" // barred, no credit, SIM gone
	AlertWrongModem   = "wrong_modem"         // the configured IMEI is not the modem on that path
	AlertLowBalance   = "low_balance"
)

// Alert is a condition a person should look at. It stays until the
// condition clears.
type Alert struct {
	Key     string    `json:"key"` // kind + "/" + modem: one alert per condition
	Kind    string    `json:"kind"`
	Modem   string    `json:"modem,omitempty"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
}

// alerts holds the active alerts.
type alerts struct {
	mu     sync.Mutex
	active map[string]Alert
}

// raise records an alert (keeping its first Since) and reports whether it
// is new.
func (a *alerts) raise(al Alert) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		a.active = map[string]Alert{}
	}
	if old, ok := a.active[al.Key]; ok {
		al.Since = old.Since
		a.active[al.Key] = al
		return false
	}
	a.active[al.Key] = al
	return true
}

// clear removes an alert and reports whether it was active.
func (a *alerts) clear(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.active[key]
	delete(a.active, key)
	return ok
}

func (a *alerts) list() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.active))
	for _, al := range a.active {
		out = append(out, al)
	}
	slices.SortFunc(out, func(x, y Alert) int {
		if c := x.Since.Compare(y.Since); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	return out
}

// Alerts lists the active alerts, oldest first.
func (g *Gateway) Alerts() []Alert { return g.alerts.list() }

// raiseAlert records and publishes an alert, logging it once.
func (g *Gateway) raiseAlert(kind, modemName, message string) {
	al := Alert{Key: kind + "/" + modemName, Kind: kind, Modem: modemName, Message: message, Since: g.now()}
	if g.alerts.raise(al) {
		g.log.Warn("alert", "kind", kind, "modem", modemName, "message", message)
	}
	g.hub.Publish(Event{Type: "alert", At: g.now(), Alert: &al})
}

// clearAlert ends an alert if it was active.
func (g *Gateway) clearAlert(kind, modemName string) {
	key := kind + "/" + modemName
	if g.alerts.clear(key) {
		g.log.Info("alert cleared", "kind", kind, "modem", modemName)
		g.hub.Publish(Event{Type: "alert_cleared", At: g.now(), Alert: &Alert{Key: key, Kind: kind, Modem: modemName}})
	}
}

package gateway

import "github.com/simgate/simgate/gateway/live"

// Alert kinds.
const (
	AlertModemDown    = "modem_down"          // the supervisor climbed the whole escalation ladder
	AlertSIMOutOfRota = "sim_out_of_rotation" // barred, no credit, SIM gone
	AlertWrongModem   = "wrong_modem"         // the configured IMEI is not the modem on that path
	AlertLowBalance   = "low_balance"
)

// Alert is a condition a person should look at. It stays until the
// condition clears.
type Alert = live.Alert

// Alerts lists the active alerts, oldest first.
func (g *Gateway) Alerts() []Alert { return g.alerts.List() }

// raiseAlert records and publishes an alert, logging it once.
func (g *Gateway) raiseAlert(kind, modemName, message string) {
	al := Alert{Key: kind + "/" + modemName, Kind: kind, Modem: modemName, Message: message, Since: g.now()}
	if g.alerts.Raise(al) {
		g.log.Warn("alert", "kind", kind, "modem", modemName, "message", message)
	}
	g.hub.Publish(Event{Type: "alert", At: g.now(), Alert: &al})
}

// clearAlert ends an alert if it was active.
func (g *Gateway) clearAlert(kind, modemName string) {
	key := kind + "/" + modemName
	if g.alerts.Clear(key) {
		g.log.Info("alert cleared", "kind", kind, "modem", modemName)
		g.hub.Publish(Event{Type: "alert_cleared", At: g.now(), Alert: &Alert{Key: key, Kind: kind, Modem: modemName}})
	}
}

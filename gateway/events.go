package gateway

import (
	"log/slog"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/alerting"
	"github.com/simgate/simgate/gateway/attribution"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/live"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// Hub fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full is dropped (its Done channel closes) so that one slow
// browser can neither stall the dispatcher nor grow memory without bound.
type Hub = live.Hub[Event]

// Subscription receives events on C until it is closed or dropped.
type Subscription = live.Subscription[Event]

// NewHub returns an empty hub.
func NewHub() *Hub { return live.NewHub[Event]() }

// Hub returns the live event hub (the console's websocket subscribes to it).
func (g *Gateway) Hub() *Hub { return g.events.hub }

// Alert is a condition a person should look at. It stays until the
// condition clears.
type Alert = live.Alert

// Alert kinds.
const (
	AlertModemDown    = outbox.AlertModemDown    // the supervisor climbed the whole escalation ladder
	AlertSIMOutOfRota = outbox.AlertSIMOutOfRota // barred, no credit, SIM gone
	AlertWrongModem   = outbox.AlertWrongModem   // the configured IMEI is not the modem on that path
	AlertLowBalance   = outbox.AlertLowBalance
)

// Alerts lists the active alerts, oldest first.
func (g *Gateway) Alerts() []Alert { return g.events.alerts.List() }

// events turns what the parts report into Events on the hub and keeps the
// active alerts: it is the notifier every part declares.
type events struct {
	// flows hears about the texts of flows, to record their outcome in
	// their entries (set once by New).
	flows *flows.Engine
	// owner texts the owner about modems down and budgets used up (set
	// once by New).
	owner *alerting.Service
	// attribution reads the event log and the consent ledger when they
	// grow (set once by New).
	attribution *attribution.Service
	hub         *Hub
	alerts      live.Alerts
	log         *slog.Logger
	now         func() time.Time
	db          *store.DB // the change feed, for what no store write records

	mu        sync.Mutex
	exhausted map[string]string // modem → the budget limit that stops it, for sim.budget_exhausted once
}

// appendChange records a change the process saw without a store write of
// its own. It runs in its own goroutine: the callers are on the send path
// and in the modems' supervisors, which must not wait for an fsync.
func (e *events) appendChange(kind, subject string, data any) {
	if e.db == nil {
		return
	}
	go func() {
		if _, err := e.db.AppendChange(kind, subject, data); err != nil {
			e.log.Error("change feed", "kind", kind, "err", err)
		}
	}()
}

// publish puts an event of typ, filled in by fill, on the hub. With nobody
// subscribed it builds nothing: the parts report every change on the send
// path, and a box with no console open should not convert views for no
// one (a page that opens later starts from a snapshot anyway).
func (e *events) publish(typ string, fill func(*Event)) {
	if e.hub.Subscribers() == 0 {
		return
	}
	ev := Event{Type: typ, At: e.now()}
	fill(&ev)
	e.hub.Publish(ev)
}

func (e *events) MessageChanged(m store.Message) {
	if e.flows != nil {
		e.flows.MessageChanged(m)
	}
	e.publish("message", func(ev *Event) { ev.Message = ptr(view.FromMessage(m)) })
}

// EventsAppended is told by the shop's events after each durable append;
// the console hears the newest Seq. Consumers of the log read it with
// their own cursor, so nothing depends on this call arriving.
func (e *events) EventsAppended(lastSeq uint64) {
	if e.flows != nil {
		e.flows.EventsAppended(lastSeq)
	}
	if e.attribution != nil {
		e.attribution.Wake()
	}
	e.publish("shop_events", func(ev *Event) { ev.EventSeq = lastSeq })
}

func (e *events) InboundReceived(in store.Inbound) {
	e.publish("inbound", func(ev *Event) { ev.Inbound = ptr(view.FromInbound(in)) })
}

func (e *events) ModemChanged(st outbox.ModemStatus) {
	e.noteBudget(st)
	e.publish("modem", func(ev *Event) { ev.Modem = ptr(view.FromModemStatus(st)) })
}

func (e *events) ConsentChanged(c store.Consent) {
	if e.attribution != nil {
		e.attribution.Wake()
	}
	e.publish("consent", func(ev *Event) { ev.Consent = ptr(view.FromConsent(c)) })
}

func (e *events) ImportProgress(j contacts.ImportJob) {
	e.publish("import", func(ev *Event) { ev.Import = &j })
}

// RaiseAlert records and publishes an alert, logging it once.
func (e *events) RaiseAlert(kind, modemName, message string) {
	al := Alert{Key: kind + "/" + modemName, Kind: kind, Modem: modemName, Message: message, Since: e.now()}
	if e.alerts.Raise(al) {
		e.log.Warn("alert", "kind", kind, "modem", modemName, "message", message)
		if kind == AlertModemDown {
			e.appendChange(store.ChangeModemDown, modemName, map[string]string{"modem": modemName, "reason": message})
			if e.owner != nil {
				e.owner.Alert(alerting.Cause{Kind: alerting.CauseModemDown, Modem: modemName, Detail: message})
			}
		}
	}
	e.hub.Publish(Event{Type: "alert", At: e.now(), Alert: &al})
}

// ClearAlert ends an alert if it was active.
func (e *events) ClearAlert(kind, modemName string) {
	key := kind + "/" + modemName
	if e.alerts.Clear(key) {
		e.log.Info("alert cleared", "kind", kind, "modem", modemName)
		if kind == AlertModemDown {
			e.appendChange(store.ChangeModemUp, modemName, map[string]string{"modem": modemName})
		}
		e.hub.Publish(Event{Type: "alert_cleared", At: e.now(), Alert: &Alert{Key: key, Kind: kind, Modem: modemName}})
	}
}

// noteBudget records sim.budget_exhausted when a SIM's budget becomes
// exhausted, once until it is not any more.
func (e *events) noteBudget(st outbox.ModemStatus) {
	limit := ""
	if st.Budget != nil {
		limit = st.Budget.Exhausted
	}
	e.mu.Lock()
	was := e.exhausted[st.Name]
	if e.exhausted == nil {
		e.exhausted = map[string]string{}
	}
	e.exhausted[st.Name] = limit
	e.mu.Unlock()
	if limit != "" && was == "" {
		e.appendChange(store.ChangeSIMBudget, st.Name, map[string]any{"modem": st.Name, "limit": limit,
			"parts_today": st.Budget.PartsToday, "day": st.Budget.Day})
		if e.owner != nil {
			e.owner.Alert(alerting.Cause{Kind: alerting.CauseBudget, Modem: st.Name, Detail: "limit " + limit})
		}
	}
}

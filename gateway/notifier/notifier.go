// Package notifier is the notifier every part of the gateway declares: it
// turns what the parts report (a text changed, a modem changed, an alert
// raised, ...) into live events on the console's hub, keeps the active
// alerts, records in the change feed what no store write records, and
// passes each report on to the rooms that act on it (the flows, the
// owner's alerts, the attribution). It is where the parts' reports leave
// the gateway, so it converts records to views like the facade.
package notifier

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

// Notifier turns what the parts report into events on its hub and keeps
// the active alerts.
type Notifier struct {
	// Flows hears about the texts of flows, to record their outcome in
	// their entries (set once by gateway.New).
	Flows *flows.Engine
	// Owner texts the owner about modems down and budgets used up (set
	// once by gateway.New).
	Owner *alerting.Service
	// Attribution reads the event log and the consent ledger when they
	// grow (set once by gateway.New).
	Attribution *attribution.Service
	Log         *slog.Logger

	hub    *live.Hub[view.Event]
	alerts live.Alerts
	now    func() time.Time
	db     *store.DB // the change feed, for what no store write records

	mu        sync.Mutex
	exhausted map[string]string // modem → the budget limit that stops it, for sim.budget_exhausted once
}

// New returns a notifier with an empty hub; db (nil: none) takes the
// change feed entries.
func New(db *store.DB, log *slog.Logger, now func() time.Time) *Notifier {
	return &Notifier{Log: log, hub: live.NewHub[view.Event](), now: now, db: db}
}

// Hub is the hub the events go out on.
func (e *Notifier) Hub() *live.Hub[view.Event] { return e.hub }

// Alerts lists the active alerts, oldest first.
func (e *Notifier) Alerts() []live.Alert { return e.alerts.List() }

// appendChange records a change the process saw without a store write of
// its own. It runs in its own goroutine: the callers are on the send path
// and in the modems' supervisors, which must not wait for an fsync.
func (e *Notifier) appendChange(kind, subject string, data any) {
	if e.db == nil {
		return
	}
	go func() {
		if _, err := e.db.AppendChange(kind, subject, data); err != nil {
			e.Log.Error("change feed", "kind", kind, "err", err)
		}
	}()
}

// publish puts an event of typ, filled in by fill, on the hub. With nobody
// subscribed it builds nothing: the parts report every change on the send
// path, and a box with no console open should not convert views for no
// one (a page that opens later starts from a snapshot anyway).
func (e *Notifier) publish(typ string, fill func(*view.Event)) {
	if e.hub.Subscribers() == 0 {
		return
	}
	ev := view.Event{Type: typ, At: e.now()}
	fill(&ev)
	e.hub.Publish(ev)
}

// MessageChanged tells the flows about a text of theirs and the console
// about any text.
func (e *Notifier) MessageChanged(m store.Message) {
	if e.Flows != nil {
		e.Flows.MessageChanged(m)
	}
	e.publish("message", func(ev *view.Event) { ev.Message = ptr(view.FromMessage(m)) })
}

// EventsAppended is told by the shop's events after each durable append;
// the console hears the newest Seq. Consumers of the log read it with
// their own cursor, so nothing depends on this call arriving.
func (e *Notifier) EventsAppended(lastSeq uint64) {
	if e.Flows != nil {
		e.Flows.EventsAppended(lastSeq)
	}
	if e.Attribution != nil {
		e.Attribution.Wake()
	}
	e.publish("shop_events", func(ev *view.Event) { ev.EventSeq = lastSeq })
}

// InboundReceived tells the console about a received text.
func (e *Notifier) InboundReceived(in store.Inbound) {
	e.publish("inbound", func(ev *view.Event) { ev.Inbound = ptr(view.FromInbound(in)) })
}

// ModemChanged records a budget used up and tells the console about the
// modem.
func (e *Notifier) ModemChanged(st outbox.ModemStatus) {
	e.noteBudget(st)
	e.publish("modem", func(ev *view.Event) { ev.Modem = ptr(view.FromModemStatus(st)) })
}

// ConsentChanged wakes the attribution and tells the console about the
// number's consent.
func (e *Notifier) ConsentChanged(c store.Consent) {
	if e.Attribution != nil {
		e.Attribution.Wake()
	}
	e.publish("consent", func(ev *view.Event) { ev.Consent = ptr(view.FromConsent(c)) })
}

// ImportProgress tells the console how far a contact import got.
func (e *Notifier) ImportProgress(j contacts.ImportJob) {
	e.publish("import", func(ev *view.Event) { ev.Import = &j })
}

// RaiseAlert records and publishes an alert, logging it once.
func (e *Notifier) RaiseAlert(kind, modemName, message string) {
	al := live.Alert{Key: kind + "/" + modemName, Kind: kind, Modem: modemName, Message: message, Since: e.now()}
	if e.alerts.Raise(al) {
		e.Log.Warn("alert", "kind", kind, "modem", modemName, "message", message)
		if kind == outbox.AlertModemDown {
			e.appendChange(store.ChangeModemDown, modemName, map[string]string{"modem": modemName, "reason": message})
			if e.Owner != nil {
				e.Owner.Alert(alerting.Cause{Kind: alerting.CauseModemDown, Modem: modemName, Detail: message})
			}
		}
	}
	e.hub.Publish(view.Event{Type: "alert", At: e.now(), Alert: &al})
}

// ClearAlert ends an alert if it was active.
func (e *Notifier) ClearAlert(kind, modemName string) {
	key := kind + "/" + modemName
	if e.alerts.Clear(key) {
		e.Log.Info("alert cleared", "kind", kind, "modem", modemName)
		if kind == outbox.AlertModemDown {
			e.appendChange(store.ChangeModemUp, modemName, map[string]string{"modem": modemName})
		}
		e.hub.Publish(view.Event{Type: "alert_cleared", At: e.now(), Alert: &live.Alert{Key: key, Kind: kind, Modem: modemName}})
	}
}

// noteBudget records sim.budget_exhausted when a SIM's budget becomes
// exhausted, once until it is not any more.
func (e *Notifier) noteBudget(st outbox.ModemStatus) {
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
		if e.Owner != nil {
			e.Owner.Alert(alerting.Cause{Kind: alerting.CauseBudget, Modem: st.Name, Detail: "limit " + limit})
		}
	}
}

// ptr is the address of a copy of v.
func ptr[T any](v T) *T { return &v }

package view

import (
	"time"

	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/store"
)

// Flow is an automated flow as the API and console show it: the
// definition new entries take and the counters kept as entries move.
type Flow struct {
	ID         uint64           `json:"id"`
	Name       string           `json:"name"`
	Status     string           `json:"status"` // active or paused
	Version    int              `json:"version"`
	Preset     string           `json:"preset,omitempty"`
	Definition flows.Definition `json:"definition"`
	Counters   FlowCounters     `json:"counters"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

// FlowCounters are a flow's totals.
type FlowCounters struct {
	Entered int64            `json:"entered"`
	Waiting int64            `json:"waiting"`
	Sent    int64            `json:"sent"`
	Clicked int64            `json:"clicked"`
	Orders  int64            `json:"orders"`
	Revenue map[string]int64 `json:"revenue"` // per currency, minor units
}

// FlowEntry is one contact's way through a flow.
type FlowEntry struct {
	ID        uint64           `json:"id"`
	Flow      uint64           `json:"flow"`
	Version   int              `json:"version"`
	Number    string           `json:"number"`
	State     string           `json:"state"`
	Step      int              `json:"step"`
	DueAt     *time.Time       `json:"due_at,omitempty"` // while waiting
	EnteredAt time.Time        `json:"entered_at"`
	Reason    string           `json:"reason,omitempty"`
	ExitKey   string           `json:"exit_key,omitempty"`
	Steps     []FlowStepRecord `json:"steps"`
	OrderID   string           `json:"order_id,omitempty"`
}

// FlowStepRecord is what one step of an entry did; a send's status and
// hold are the text's as the outbox has it now.
type FlowStepRecord struct {
	Step      int       `json:"step"`
	Kind      string    `json:"kind"`
	At        time.Time `json:"at"`
	State     string    `json:"state"`
	MessageID uint64    `json:"message_id,omitempty"`
	Status    string    `json:"status,omitempty"`
	Hold      string    `json:"hold,omitempty"`
	Note      string    `json:"note,omitempty"`
	Clicked   bool      `json:"clicked,omitempty"`
}

// FromFlow is the view of a flow.
func FromFlow(in flows.Info) Flow {
	c := in.Counters
	rev := c.Revenue
	if rev == nil {
		rev = map[string]int64{}
	}
	return Flow{ID: in.Flow.ID, Name: in.Flow.Name, Status: string(in.Flow.Status), Version: in.Flow.Version,
		Preset: in.Flow.Preset, Definition: in.Definition, CreatedAt: in.Flow.CreatedAt, UpdatedAt: in.Flow.UpdatedAt,
		Counters: FlowCounters{Entered: c.Entered, Waiting: c.Waiting, Sent: c.Sent, Clicked: c.Clicked, Orders: c.Orders, Revenue: rev}}
}

// FromFlowEntry is the view of an entry.
func FromFlowEntry(e store.FlowEntry) FlowEntry {
	v := FlowEntry{ID: e.ID, Flow: e.Flow, Version: e.Version, Number: e.Number, State: string(e.State), Step: e.Step,
		EnteredAt: e.EnteredAt, Reason: e.Reason, ExitKey: e.ExitKey, OrderID: e.OrderID, Steps: []FlowStepRecord{}}
	if e.State == store.EntryWaiting {
		due := e.DueAt
		v.DueAt = &due
	}
	for _, r := range e.Steps {
		v.Steps = append(v.Steps, FlowStepRecord{Step: r.Step, Kind: r.Kind, At: r.At, State: r.State, MessageID: r.MessageID,
			Status: r.Status, Hold: r.Hold, Note: r.Note, Clicked: r.Clicked})
	}
	return v
}

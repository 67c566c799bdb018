package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/simgate/simgate/store"
)

// Service is what the web layer may do with flows: list, create, edit,
// pause and test them, and read their entries. It speaks only this
// package's types, converted from the store's records here, so the API
// and the console depend on nothing of how flows are stored.
type Service struct {
	engine *Engine
	number NumberReader
	orders OrderResults
}

// OrderResults reads a flow's orders and revenue (per currency) as the
// one attribution rule credits them (package attribution, wired by the
// facade), so that flows and campaigns are measured alike.
type OrderResults func(flow uint64) (orders int64, revenue map[string]int64, err error)

// NumberReader reads a number a person typed into E.164 in the box's
// region, or returns a *store.FieldError for field (package contacts'
// NumberField, wired by the facade: flows knows no phone numbering).
type NumberReader func(field, raw string) (string, error)

// NewService returns the Service of engine's flows.
func NewService(engine *Engine, number NumberReader, orders OrderResults) *Service {
	return &Service{engine: engine, number: number, orders: orders}
}

// Flow is an automated flow as the API and console show it: the
// definition new entries take and the counters kept as entries move.
type Flow struct {
	ID         uint64     `json:"id"`
	Name       string     `json:"name"`
	Status     string     `json:"status"` // active or paused
	Version    int        `json:"version"`
	Preset     string     `json:"preset,omitempty"`
	Definition Definition `json:"definition"`
	Counters   Counters   `json:"counters"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Counters are a flow's totals.
type Counters struct {
	Entered int64            `json:"entered"`
	Waiting int64            `json:"waiting"`
	Sent    int64            `json:"sent"`
	Clicked int64            `json:"clicked"`
	Orders  int64            `json:"orders"`
	Revenue map[string]int64 `json:"revenue"` // per currency, minor units
}

// Entry is one contact's way through a flow.
type Entry struct {
	ID        uint64       `json:"id"`
	Flow      uint64       `json:"flow"`
	Version   int          `json:"version"`
	Number    string       `json:"number"`
	State     string       `json:"state"`
	Step      int          `json:"step"`
	DueAt     *time.Time   `json:"due_at,omitempty"` // while waiting
	EnteredAt time.Time    `json:"entered_at"`
	Reason    string       `json:"reason,omitempty"`
	ExitKey   string       `json:"exit_key,omitempty"`
	Steps     []StepRecord `json:"steps"`
	OrderID   string       `json:"order_id,omitempty"`
}

// StepRecord is what one step of an entry did; a send's status and hold
// are the text's as the outbox has it now.
type StepRecord struct {
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

// SampleEvent is the shop event a test of a flow ran with (the shop's
// event as the API shows it). Total is in minor units of Currency.
type SampleEvent struct {
	Seq        uint64          `json:"seq"`
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Type       string          `json:"type"`
	Number     string          `json:"number"`
	OccurredAt time.Time       `json:"occurred_at"`
	ReceivedAt time.Time       `json:"received_at"`
	CheckoutID string          `json:"checkout_id,omitempty"`
	OrderID    string          `json:"order_id,omitempty"`
	Total      int64           `json:"total,omitempty"`
	Currency   string          `json:"currency,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
	Ends       []string        `json:"ends,omitempty"`
}

// flowOf is the view of a flow, its orders and revenue as attribution
// credits them.
func (s *Service) flowOf(in Info) (Flow, error) {
	c := in.Counters
	orders, rev, err := s.orders(in.Flow.ID)
	if err != nil {
		return Flow{}, err
	}
	if rev == nil {
		rev = map[string]int64{}
	}
	return Flow{ID: in.Flow.ID, Name: in.Flow.Name, Status: string(in.Flow.Status), Version: in.Flow.Version,
		Preset: in.Flow.Preset, Definition: in.Definition, CreatedAt: in.Flow.CreatedAt, UpdatedAt: in.Flow.UpdatedAt,
		Counters: Counters{Entered: c.Entered, Waiting: c.Waiting, Sent: c.Sent, Clicked: c.Clicked, Orders: orders, Revenue: rev}}, nil
}

// EntryOf is the view of a stored entry (the GDPR export shows them too).
func EntryOf(e store.FlowEntry) Entry {
	v := Entry{ID: e.ID, Flow: e.Flow, Version: e.Version, Number: e.Number, State: string(e.State), Step: e.Step,
		EnteredAt: e.EnteredAt, Reason: e.Reason, ExitKey: e.ExitKey, OrderID: e.OrderID, Steps: []StepRecord{}}
	if e.State == store.EntryWaiting {
		due := e.DueAt
		v.DueAt = &due
	}
	for _, r := range e.Steps {
		v.Steps = append(v.Steps, StepRecord{Step: r.Step, Kind: r.Kind, At: r.At, State: r.State, MessageID: r.MessageID,
			Status: r.Status, Hold: r.Hold, Note: r.Note, Clicked: r.Clicked})
	}
	return v
}

func (s *Service) flowResult(in Info, err error) (Flow, error) {
	if err != nil {
		return Flow{}, err
	}
	return s.flowOf(in)
}

// Presets lists the ready-made flows.
func (s *Service) Presets() []Preset { return Presets() }

// List lists every flow with its counters.
func (s *Service) List() ([]Flow, error) {
	list, err := s.engine.List()
	if err != nil {
		return nil, err
	}
	out := make([]Flow, 0, len(list))
	for _, in := range list {
		f, err := s.flowOf(in)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Flow returns one flow.
func (s *Service) Flow(id uint64) (Flow, error) { return s.flowResult(s.engine.Flow(id)) }

// Create stores a new flow, active at once. A bad definition is a
// *store.FieldError naming the field ("steps[2].wait.until").
func (s *Service) Create(name string, def Definition) (Flow, error) {
	return s.flowResult(s.engine.Create(name, def, ""))
}

// EnablePreset creates a flow from a ready-made one.
func (s *Service) EnablePreset(name string, o PresetOptions) (Flow, error) {
	return s.flowResult(s.engine.EnablePreset(name, o))
}

// Update saves a new version of a flow; entries already in keep theirs.
// An empty name keeps the name.
func (s *Service) Update(id uint64, name string, def Definition) (Flow, error) {
	return s.flowResult(s.engine.Update(id, name, def))
}

// SetPaused pauses (true) or resumes (false) a flow.
func (s *Service) SetPaused(id uint64, paused bool) (Flow, error) {
	return s.flowResult(s.engine.SetPaused(id, paused))
}

// Entries lists a page of a flow's entries, newest first, and the cursor
// of the next page (0: none).
func (s *Service) Entries(id, before uint64, limit int) ([]Entry, uint64, error) {
	list, next, err := s.engine.Entries(id, before, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Entry, 0, len(list))
	for _, e := range list {
		out = append(out, EntryOf(e))
	}
	return out, next, nil
}

// Test shows what the flow would send to a contact, when and why,
// without storing or sending anything.
func (s *Service) Test(id uint64, number string) (TestResult, error) {
	n, err := s.number("number", number)
	if err != nil {
		return TestResult{}, err
	}
	return s.engine.Test(id, n)
}

// CartRemindersOffered reports whether an active flow sends abandoned-cart
// or browse reminders: only then do the sign-up page and the opt-in forms
// offer them, since agreeing to texts nobody sends misleads the customer.
func (s *Service) CartRemindersOffered() bool {
	list, err := s.engine.List()
	if err != nil {
		s.engine.log.Warn("list flows", "error", err)
		return false
	}
	for _, in := range list {
		if in.Flow.Status == store.FlowActive && in.Definition.IsCartReminder() {
			return true
		}
	}
	return false
}

// ParseDefinition reads a definition a person sent as JSON, naming the
// field that does not fit.
func ParseDefinition(raw json.RawMessage) (Definition, error) {
	var d Definition
	if len(raw) == 0 {
		return d, &store.FieldError{Field: "definition", Message: "is required (or name a preset)"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	// A misspelt field would otherwise vanish and the flow do something
	// else than its author wrote.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, &store.FieldError{Field: "definition", Message: fmt.Sprintf("does not read as a flow: %v", err)}
	}
	return d, nil
}

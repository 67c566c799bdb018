package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// Automated flows: the shapes the API and console show, and the
// operations on flows (package flows runs them).
type (
	Flow              = view.Flow
	FlowCounters      = view.FlowCounters
	FlowEntry         = view.FlowEntry
	FlowStepRecord    = view.FlowStepRecord
	FlowDefinition    = flows.Definition
	FlowPreset        = flows.Preset
	FlowPresetOptions = flows.PresetOptions
	FlowTestResult    = flows.TestResult
	FlowTestStep      = flows.TestStep
	FlowStep          = flows.Step
	FlowWait          = flows.Wait
	FlowCondition     = flows.Condition
	FlowSend          = flows.Send
	FlowMatch         = flows.Match
	FlowDuration      = flows.Duration
)

// ParseFlowDuration reads "30m", "24h" or "7d".
func ParseFlowDuration(s string) (FlowDuration, error) { return flows.ParseDuration(s) }

// FlowPresetDefinition returns a ready-made flow's name and definition.
func FlowPresetDefinition(name string, o FlowPresetOptions) (string, FlowDefinition, error) {
	return flows.PresetDefinition(name, o)
}

// FlowPresets lists the ready-made flows.
func (g *Gateway) FlowPresets() []FlowPreset { return flows.Presets() }

// Flows lists every flow with its counters.
func (g *Gateway) Flows() ([]Flow, error) {
	list, err := g.flows.List()
	if err != nil {
		return nil, err
	}
	out := make([]Flow, 0, len(list))
	for _, in := range list {
		f, err := g.withAttributedOrders(view.FromFlow(in))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// withAttributedOrders puts the flow's orders and revenue as the one
// attribution rule counts them (package attribution) on f, so flows and
// campaigns are measured alike.
func (g *Gateway) withAttributedOrders(f Flow) (Flow, error) {
	r, err := g.attribution.Results(fmt.Sprintf("flow:%d", f.ID))
	if err != nil {
		return Flow{}, err
	}
	f.Counters.Orders, f.Counters.Revenue = r.Orders, r.RevenueByCurrency
	if f.Counters.Revenue == nil {
		f.Counters.Revenue = map[string]int64{}
	}
	return f, nil
}

// Flow returns one flow.
func (g *Gateway) Flow(id uint64) (Flow, error) {
	in, err := g.flows.Flow(id)
	if err != nil {
		return Flow{}, err
	}
	return g.withAttributedOrders(view.FromFlow(in))
}

// CreateFlow stores a new flow, active at once. A bad definition is a
// *store.FieldError naming the field ("steps[2].wait.until").
func (g *Gateway) CreateFlow(name string, def FlowDefinition) (Flow, error) {
	in, err := g.flows.Create(name, def, "")
	if err != nil {
		return Flow{}, err
	}
	return view.FromFlow(in), nil
}

// EnableFlowPreset creates a flow from a ready-made one.
func (g *Gateway) EnableFlowPreset(name string, o FlowPresetOptions) (Flow, error) {
	in, err := g.flows.EnablePreset(name, o)
	if err != nil {
		return Flow{}, err
	}
	return view.FromFlow(in), nil
}

// UpdateFlow saves a new version of a flow; entries already in keep
// theirs. An empty name keeps the name.
func (g *Gateway) UpdateFlow(id uint64, name string, def FlowDefinition) (Flow, error) {
	in, err := g.flows.Update(id, name, def)
	if err != nil {
		return Flow{}, err
	}
	return view.FromFlow(in), nil
}

// PauseFlow pauses (true) or resumes (false) a flow.
func (g *Gateway) PauseFlow(id uint64, paused bool) (Flow, error) {
	in, err := g.flows.SetPaused(id, paused)
	if err != nil {
		return Flow{}, err
	}
	return view.FromFlow(in), nil
}

// FlowEntries lists a page of a flow's entries, newest first, and the
// cursor of the next page (0: none).
func (g *Gateway) FlowEntries(id, before uint64, limit int) ([]FlowEntry, uint64, error) {
	list, next, err := g.flows.Entries(id, before, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]FlowEntry, 0, len(list))
	for _, e := range list {
		out = append(out, view.FromFlowEntry(e))
	}
	return out, next, nil
}

// TestFlow shows what the flow would send to a contact, when and why,
// without storing or sending anything.
func (g *Gateway) TestFlow(id uint64, number string) (FlowTestResult, error) {
	n, err := contacts.NumberField("number", number, g.cfg.Region)
	if err != nil {
		return FlowTestResult{}, err
	}
	return g.flows.Test(id, n)
}

// DecodeFlowDefinition reads a definition from JSON, naming the field
// that does not fit.
func DecodeFlowDefinition(raw json.RawMessage) (FlowDefinition, error) {
	var d FlowDefinition
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

// CartRemindersOffered reports whether an active flow sends abandoned-cart
// or browse reminders: only then do the sign-up page and the opt-in forms
// offer them, since agreeing to texts nobody sends misleads the customer.
func (g *Gateway) CartRemindersOffered() bool {
	list, err := g.flows.List()
	if err != nil {
		g.events.log.Warn("list flows", "error", err)
		return false
	}
	for _, f := range list {
		v := view.FromFlow(f)
		if v.Status == string(store.FlowActive) && v.Definition.IsCartReminder() {
			return true
		}
	}
	return false
}

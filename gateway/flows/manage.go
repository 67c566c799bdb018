package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// Info is a flow with the definition new entries take and its counters.
type Info struct {
	Flow       store.Flow
	Definition Definition
	Counters   store.FlowCounters
}

// MaxNameLen bounds a flow's name.
const MaxNameLen = 100

func (e *Engine) check(name string, def *Definition) error {
	if strings.TrimSpace(name) == "" {
		return fieldErr("name", "must not be empty")
	}
	if len(name) > MaxNameLen {
		return fieldErr("name", "at most %d bytes", MaxNameLen)
	}
	return def.Validate(e.cfg.Renderer.Check)
}

// Create stores a new flow, active at once.
func (e *Engine) Create(name string, def Definition, preset string) (Info, error) {
	if err := e.check(name, &def); err != nil {
		return Info{}, err
	}
	raw, err := json.Marshal(def)
	if err != nil {
		return Info{}, err
	}
	f, err := e.db.CreateFlow(store.Flow{Name: name, Preset: preset}, raw)
	if err != nil {
		return Info{}, err
	}
	e.Wake()
	return Info{Flow: f, Definition: def}, nil
}

// EnablePreset creates a flow from a ready-made one.
func (e *Engine) EnablePreset(name string, o PresetOptions) (Info, error) {
	if err := presetFor(name); err != nil {
		return Info{}, fieldErr("preset", "%v", err)
	}
	title, def, err := PresetDefinition(name, o)
	if err != nil {
		return Info{}, err
	}
	return e.Create(title, def, name)
}

// Update saves def as the flow's next version: entries already in keep
// the version they entered with.
func (e *Engine) Update(id uint64, name string, def Definition) (Info, error) {
	f, err := e.db.GetFlow(id)
	if err != nil {
		return Info{}, err
	}
	if name == "" {
		name = f.Name
	}
	if err := e.check(name, &def); err != nil {
		return Info{}, err
	}
	raw, err := json.Marshal(def)
	if err != nil {
		return Info{}, err
	}
	if f, err = e.db.UpdateFlow(id, name, raw); err != nil {
		return Info{}, err
	}
	return e.Flow(f.ID)
}

// SetPaused pauses a flow (no new entries; waiting ones stop where they
// are) or resumes it (they go on, at once if their time has passed).
func (e *Engine) SetPaused(id uint64, paused bool) (Info, error) {
	status := store.FlowActive
	if paused {
		status = store.FlowPaused
	}
	if _, err := e.db.SetFlowStatus(id, status); err != nil {
		return Info{}, err
	}
	e.Wake()
	return e.Flow(id)
}

// Flow returns one flow.
func (e *Engine) Flow(id uint64) (Info, error) {
	f, err := e.db.GetFlow(id)
	if err != nil {
		return Info{}, err
	}
	return e.info(f)
}

func (e *Engine) info(f store.Flow) (Info, error) {
	def, err := e.definition(f.ID, f.Version)
	if err != nil {
		return Info{}, err
	}
	c, err := e.db.GetFlowCounters(f.ID)
	if err != nil {
		return Info{}, err
	}
	return Info{Flow: f, Definition: *def, Counters: c}, nil
}

// List returns every flow with its counters.
func (e *Engine) List() ([]Info, error) {
	all, err := e.db.Flows()
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(all))
	for _, f := range all {
		in, err := e.info(f)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Entries lists a page of a flow's entries, newest first, each text's
// outcome read from the outbox now (held for quiet hours, suppressed ...).
func (e *Engine) Entries(flow, before uint64, limit int) ([]store.FlowEntry, uint64, error) {
	if _, err := e.db.GetFlow(flow); err != nil {
		return nil, 0, err
	}
	list, next, err := e.db.FlowEntries(flow, before, limit)
	if err != nil {
		return nil, 0, err
	}
	for i := range list {
		for j := range list[i].Steps {
			r := &list[i].Steps[j]
			if r.MessageID == 0 || r.Final {
				continue
			}
			if m, err := e.db.Get(r.MessageID); err == nil {
				applyOutcome(r, m)
			}
		}
	}
	return list, next, nil
}

// TestStep is what one step would do for the contact.
type TestStep struct {
	Step int       `json:"step"`
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	// Outcome: "wait", "holds", "ends the entry", "would send", "would be
	// held", "would be suppressed".
	Outcome string `json:"outcome"`
	Text    string `json:"text,omitempty"`
	Why     string `json:"why,omitempty"`
}

// TestResult is what a flow would do for a contact entering now.
type TestResult struct {
	Number  string       `json:"number"`
	Trigger *SampleEvent `json:"trigger,omitempty"`
	Note    string       `json:"note,omitempty"`
	Steps   []TestStep   `json:"steps"`
}

// Test shows what the flow would send to number, when and why, if the
// contact entered now with its latest triggering event. It stores and
// sends nothing (links are shortened only when a text is sent).
func (e *Engine) Test(id uint64, number string) (TestResult, error) {
	in, err := e.Flow(id)
	if err != nil {
		return TestResult{}, err
	}
	def := &in.Definition
	res := TestResult{Number: number}
	now := e.now()
	en := store.FlowEntry{ID: 0, Flow: id, Version: in.Flow.Version, Number: number, EnteredAt: now}
	switch def.Trigger.Kind {
	case TriggerEvent:
		evs, err := e.db.EventsOf(number, def.Trigger.Event, time.Time{})
		if err != nil {
			return TestResult{}, err
		}
		var trigger *store.ShopEvent
		for i := len(evs) - 1; i >= 0; i-- {
			if matches(&evs[i], def.Trigger.Filter) {
				trigger = &evs[i]
				break
			}
		}
		if trigger == nil {
			res.Note = fmt.Sprintf("the contact has no %s event that passes the filter: shown with an empty one", def.Trigger.Event)
			trigger = &store.ShopEvent{Type: def.Trigger.Event, Number: number}
		} else {
			res.Note = fmt.Sprintf("shown with the contact's latest %s (event %d)", def.Trigger.Event, trigger.Seq)
		}
		res.Trigger = (*SampleEvent)(trigger)
		en.Trigger, _ = json.Marshal(trigger)
		if trigger.CheckoutID != "" && def.hasCheckout() {
			en.ExitKey = checkoutKey(trigger)
		}
	case TriggerOptedIn:
		res.Note = "as if the contact opted in now"
	case TriggerDate:
		res.Note = "as if today were the contact's " + def.Trigger.Attribute
	}
	at := now
	for i, s := range def.Steps {
		en.Step = i
		ts := TestStep{Step: i, Kind: s.Kind(), At: at}
		switch {
		case s.Wait != nil:
			at = e.waitEnd(s.Wait, en, at)
			ts.At, ts.Outcome = at, "wait"
			ts.Why = "until " + at.In(e.zoneOf(number)).Format("2006-01-02 15:04 MST")
		case s.Condition != nil:
			ok, why, err := e.holds(def, s.Condition, &en)
			if err != nil {
				return TestResult{}, err
			}
			ts.Why = why + " (checked now; it is checked again when the step runs)"
			if !ok {
				ts.Outcome = "ends the entry"
				res.Steps = append(res.Steps, ts)
				return res, nil
			}
			ts.Outcome = "holds"
		case s.Send != nil:
			text, err := e.compose(def, en, s.Send, Key(id, 0, i), "")
			var end errEnd
			if errors.As(err, &end) {
				ts.Outcome, ts.Why = "ends the entry", end.reason
				res.Steps = append(res.Steps, ts)
				return res, nil
			} else if err != nil {
				return TestResult{}, err
			}
			ts.Text = text
			ts.Outcome, ts.Why, ts.At = e.predict(number, s.Send.Kind, text, at)
		}
		res.Steps = append(res.Steps, ts)
	}
	return res, nil
}

// predict asks the compliance judge what it would do with the text at t.
func (e *Engine) predict(number, kind, text string, t time.Time) (string, string, time.Time) {
	m := store.Message{To: number, Text: text, Kind: store.KindTransactional, Status: store.StatusQueued,
		CreatedAt: t, ExpiresAt: t.Add(24 * time.Hour), NextAttemptAt: t}
	if kind == "marketing" {
		m.Kind = store.KindMarketing
	}
	s := e.cfg.Policy.Settings()
	cs, err := e.db.Consent(number)
	if err != nil {
		return "would send", "", t
	}
	suppressed, _ := e.db.IsSuppressed(number)
	var contact *store.Contact
	if c, err := e.db.ContactByNumber(number); err == nil {
		contact = &c
	}
	v := compliance.Judge(&m, &cs, suppressed, compliance.RulesFor(number, contact, &s), &s, t)
	switch v.Kind {
	case compliance.VerdictDefer:
		return "would be held", v.Reason + "; it would go at " + v.Until.UTC().Format("2006-01-02 15:04 UTC"), v.Until
	case compliance.VerdictSuppress:
		return "would be suppressed", v.Reason, t
	case compliance.VerdictExpire:
		return "would expire", v.Reason, t
	}
	return "would send", "the guard lets it through at that time", t
}

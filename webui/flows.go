package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/flows"
)

// flowRoutes declares the automated flows' API and console pages.
func (s *server) flowRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/flows", s.api(s.listFlowsAPI))
	m.Handle("POST /api/v1/flows", s.api(s.createFlowAPI))
	m.Handle("GET /api/v1/flow-presets", s.api(s.flowPresetsAPI))
	m.Handle("GET /api/v1/flows/{id}", s.api(s.getFlowAPI))
	m.Handle("PUT /api/v1/flows/{id}", s.api(s.updateFlowAPI))
	m.Handle("POST /api/v1/flows/{id}/pause", s.api(s.pauseFlowAPI(true)))
	m.Handle("POST /api/v1/flows/{id}/resume", s.api(s.pauseFlowAPI(false)))
	m.Handle("GET /api/v1/flows/{id}/entries", s.api(s.flowEntriesAPI))
	m.Handle("POST /api/v1/flows/{id}/test", s.api(s.testFlowAPI))

	m.Handle("GET /flows", s.console(s.flowsPage))
	m.Handle("POST /flows/presets", s.form(s.enablePresetForm))
	m.Handle("GET /flows/{id}", s.console(s.flowPage))
	m.Handle("POST /flows/{id}", s.form(s.saveFlowForm))
	m.Handle("POST /flows/{id}/pause", s.form(s.pauseFlowForm))
	m.Handle("POST /flows/{id}/test", s.form(s.testFlowForm))
}

// flowRequest is the body of POST /api/v1/flows: a ready-made flow by
// name (with its options), or a name and a definition.
type flowRequest struct {
	Preset     string              `json:"preset"`
	Options    flows.PresetOptions `json:"options"`
	Name       string              `json:"name"`
	Definition json.RawMessage     `json:"definition"`
}

// listFlowsAPI answers GET /api/v1/flows.
func (s *server) listFlowsAPI(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.Flows().List()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"flows": list})
}

// flowPresetsAPI answers GET /api/v1/flow-presets.
func (s *server) flowPresetsAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"presets": s.gw.Flows().Presets()})
}

// createFlowAPI answers POST /api/v1/flows with 201 and the flow.
func (s *server) createFlowAPI(w http.ResponseWriter, r *http.Request) error {
	var in flowRequest
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	var f flows.Flow
	var err error
	if in.Preset != "" {
		f, err = s.gw.Flows().EnablePreset(in.Preset, in.Options)
	} else {
		var def flows.Definition
		if def, err = flows.ParseDefinition(in.Definition); err != nil {
			return err
		}
		f, err = s.gw.Flows().Create(in.Name, def)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/flows/"+strconv.FormatUint(f.ID, 10))
	return writeJSON(w, http.StatusCreated, f)
}

// getFlowAPI answers GET /api/v1/flows/{id}.
func (s *server) getFlowAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	f, err := s.gw.Flows().Flow(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

// updateFlowAPI answers PUT /api/v1/flows/{id}: a new version; entries
// already in keep theirs.
func (s *server) updateFlowAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	var in flowRequest
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	def, err := flows.ParseDefinition(in.Definition)
	if err != nil {
		return err
	}
	f, err := s.gw.Flows().Update(id, in.Name, def)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

// pauseFlowAPI answers POST /api/v1/flows/{id}/pause and .../resume.
func (s *server) pauseFlowAPI(paused bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "flow")
		if err != nil {
			return err
		}
		f, err := s.gw.Flows().SetPaused(id, paused)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, f)
	}
}

// flowEntriesAPI answers GET /api/v1/flows/{id}/entries?before=&limit=.
func (s *server) flowEntriesAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	before, limit, err := pageParams(q)
	if err != nil {
		return err
	}
	list, next, err := s.gw.Flows().Entries(id, before, limit)
	if err != nil {
		return err
	}
	var cursor *string
	if next != 0 {
		c := strconv.FormatUint(next, 10)
		cursor = &c
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": list, "next_cursor": cursor})
}

// pageParams reads ?before= and ?limit=.
func pageParams(q url.Values) (before uint64, limit int, err error) {
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseUint(v, 10, 64); err != nil {
			return 0, 0, &gateway.FieldError{Field: "before", Message: "must be a cursor from next_cursor"}
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return 0, 0, &gateway.FieldError{Field: "limit", Message: "must be a positive number"}
		}
	}
	return before, limit, nil
}

// testFlowAPI answers POST /api/v1/flows/{id}/test {"number": ...}: what
// the flow would send the contact, when and why. Nothing is sent.
func (s *server) testFlowAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	var in struct {
		Number string `json:"number"`
	}
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := s.gw.Flows().Test(id, in.Number)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// Console.

type flowsData struct {
	Flows   []flows.Flow
	Presets []flows.Preset
}

// flowsPage answers GET /flows: every flow with its counters, and the
// ready-made flows to enable.
func (s *server) flowsPage(w http.ResponseWriter, r *http.Request, u user) error {
	list, err := s.gw.Flows().List()
	if err != nil {
		return err
	}
	notice := ""
	if r.URL.Query().Get("done") == "paused" {
		notice = "The flow is paused."
	}
	return s.render(w, r, http.StatusOK, "flows", view{Title: "Flows", Nav: "flows", Notice: notice,
		Data: flowsData{Flows: list, Presets: s.gw.Flows().Presets()}})
}

// enablePresetForm answers POST /flows/presets: one click makes the flow.
func (s *server) enablePresetForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	o := flows.PresetOptions{SecondText: r.PostFormValue("second_text") != "", DiscountCode: strings.TrimSpace(r.PostFormValue("discount_code"))}
	if d := strings.TrimSpace(r.PostFormValue("days")); d != "" {
		o.Days, _ = strconv.Atoi(d)
	}
	f, err := s.gw.Flows().EnablePreset(r.PostFormValue("preset"), o)
	if msg := formError(err); msg != "" {
		list, lerr := s.gw.Flows().List()
		if lerr != nil {
			return lerr
		}
		return s.render(w, r, http.StatusBadRequest, "flows", view{Title: "Flows", Nav: "flows", Error: msg,
			Data: flowsData{Flows: list, Presets: s.gw.Flows().Presets()}})
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("/flows/%d?done=created", f.ID))
	return nil
}

// stepForm is one step of the editor, flattened for plain form fields.
type stepForm struct {
	Index                          int
	Kind                           string
	WaitFor, WaitUntil             string
	CondKind, CondScope, CondEvent string
	CondTag                        string
	CondAmount                     string
	SendKind, SendTemplate         string
}

type flowPageData struct {
	Flow    flows.Flow
	Trigger flows.Definition
	Filter  string // one test a line: field op value
	Steps   []stepForm
	Entries []flows.Entry
	Next    string
	Test    *flows.TestResult
	TestTo  string
	Kinds   []string
	// Results is what the flow earned, by the one attribution rule.
	Results *resultsView
}

func flowPageFor(f flows.Flow) flowPageData {
	d := flowPageData{Flow: f, Trigger: f.Definition, Kinds: []string{"wait", "condition", "send"}}
	var lines []string
	for _, m := range f.Definition.Trigger.Filter {
		lines = append(lines, strings.TrimSpace(m.Field+" "+m.Op+" "+m.Value))
	}
	d.Filter = strings.Join(lines, "\n")
	for i, st := range f.Definition.Steps {
		sf := stepForm{Index: i, Kind: st.Kind()}
		switch {
		case st.Wait != nil:
			sf.WaitFor, sf.WaitUntil = st.Wait.For.String(), st.Wait.Until
		case st.Condition != nil:
			c := st.Condition
			sf.CondKind, sf.CondScope, sf.CondEvent, sf.CondTag = c.Kind, c.Scope, c.Event, c.Tag
			if c.Amount != 0 {
				sf.CondAmount = strconv.FormatInt(c.Amount, 10)
			}
		case st.Send != nil:
			sf.SendKind, sf.SendTemplate = st.Send.Kind, st.Send.Template
		}
		d.Steps = append(d.Steps, sf)
	}
	return d
}

// flowPage answers GET /flows/{id}: the step editor, pause and resume,
// the test form and the latest entries.
func (s *server) flowPage(w http.ResponseWriter, r *http.Request, u user) error {
	return s.renderFlow(w, r, http.StatusOK, "", flowNotice(r.URL.Query().Get("done")), nil, "")
}

func flowNotice(key string) string {
	return map[string]string{
		"created": "The flow is on: it takes new entries from now. Edit its steps below.",
		"saved":   "Saved as a new version: new entries take it; entries already in keep theirs.",
		"paused":  "Paused: no new entries, and waiting ones stay where they are.",
		"resumed": "Resumed: waiting entries go on, at once if their time has passed.",
	}[key]
}

func (s *server) renderFlow(w http.ResponseWriter, r *http.Request, status int, errMsg, notice string, test *flows.TestResult, testTo string) error {
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	f, err := s.gw.Flows().Flow(id)
	if err != nil {
		return err
	}
	d := flowPageFor(f)
	before, _ := strconv.ParseUint(r.URL.Query().Get("before"), 10, 64)
	entries, next, err := s.gw.Flows().Entries(id, before, 50)
	if err != nil {
		return err
	}
	d.Entries, d.Test, d.TestTo = entries, test, testTo
	if d.Results, err = s.resultsViewOf(fmt.Sprintf("flow:%d", id)); err != nil {
		return err
	}
	if next != 0 {
		d.Next = fmt.Sprintf("/flows/%d?before=%d", id, next)
	}
	return s.render(w, r, status, "flow", view{Title: f.Name, Nav: "flows", Error: errMsg, Notice: notice, Data: d})
}

// saveFlowForm answers POST /flows/{id}: the editor's fields become the
// flow's next version. action=add_<kind> adds a step, remove_<i> drops one.
func (s *server) saveFlowForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return &gateway.FieldError{Field: "form", Message: "could not be read"}
	}
	def, err := definitionFromForm(r.PostForm)
	if err == nil {
		_, err = s.gw.Flows().Update(id, strings.TrimSpace(r.PostFormValue("name")), def)
	}
	if msg := formError(err); msg != "" {
		return s.renderFlow(w, r, http.StatusBadRequest, msg, "", nil, "")
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("/flows/%d?done=saved", id))
	return nil
}

// definitionFromForm reads the editor's fields.
func definitionFromForm(f url.Values) (flows.Definition, error) {
	var d flows.Definition
	d.Trigger.Kind = f.Get("trigger_kind")
	d.Trigger.Event = strings.TrimSpace(f.Get("trigger_event"))
	d.Trigger.Attribute = strings.TrimSpace(f.Get("trigger_attribute"))
	d.Trigger.PerContact = f.Get("trigger_per_contact") != ""
	var err error
	if d.Trigger.MinCount, err = optionalInt(f.Get("trigger_min_count")); err != nil {
		return d, &gateway.FieldError{Field: "trigger.min_count", Message: "must be a number"}
	}
	if d.Trigger.Within, err = flows.ParseDuration(f.Get("trigger_within")); err != nil {
		return d, &gateway.FieldError{Field: "trigger.within", Message: err.Error()}
	}
	if d.Trigger.ReenterAfter, err = flows.ParseDuration(f.Get("trigger_reenter_after")); err != nil {
		return d, &gateway.FieldError{Field: "trigger.reenter_after", Message: err.Error()}
	}
	for i, line := range strings.Split(f.Get("trigger_filter"), "\n") {
		parts := strings.Fields(line)
		if len(parts) == 0 {
			continue
		}
		if len(parts) < 2 {
			return d, &gateway.FieldError{Field: fmt.Sprintf("trigger.filter[%d]", i), Message: "write a test as: field op value, such as total gte 5000"}
		}
		d.Trigger.Filter = append(d.Trigger.Filter, flows.Match{Field: parts[0], Op: parts[1], Value: strings.Join(parts[2:], " ")})
	}
	d.Exit.OnOrder = f.Get("exit_on_order")
	n, _ := strconv.Atoi(f.Get("steps"))
	if n < 0 || n > 50 {
		n = 0
	}
	action := f.Get("action")
	for i := 0; i < n; i++ {
		if action == fmt.Sprintf("remove_%d", i) {
			continue
		}
		p := fmt.Sprintf("s%d_", i)
		var st flows.Step
		switch f.Get(p + "kind") {
		case "wait":
			dur, err := flows.ParseDuration(f.Get(p + "wait_for"))
			if err != nil {
				return d, &gateway.FieldError{Field: fmt.Sprintf("steps[%d].wait.for", i), Message: err.Error()}
			}
			st.Wait = &flows.Wait{For: dur, Until: strings.TrimSpace(f.Get(p + "wait_until"))}
		case "condition":
			amount, err := optionalInt(f.Get(p + "cond_amount"))
			if err != nil {
				return d, &gateway.FieldError{Field: fmt.Sprintf("steps[%d].condition.amount", i), Message: "must be a number of cents"}
			}
			st.Condition = &flows.Condition{Kind: f.Get(p + "cond_kind"), Scope: f.Get(p + "cond_scope"),
				Event: strings.TrimSpace(f.Get(p + "cond_event")), Tag: strings.TrimSpace(f.Get(p + "cond_tag")), Amount: int64(amount)}
		case "send":
			st.Send = &flows.Send{Kind: f.Get(p + "send_kind"), Template: f.Get(p + "send_template")}
		}
		d.Steps = append(d.Steps, st)
	}
	switch action {
	case "add_wait":
		d.Steps = append(d.Steps, flows.Step{Wait: &flows.Wait{For: flows.Duration(3600e9)}})
	case "add_condition":
		d.Steps = append(d.Steps, flows.Step{Condition: &flows.Condition{Kind: "no_order"}})
	case "add_send":
		d.Steps = append(d.Steps, flows.Step{Send: &flows.Send{Kind: "marketing", Template: "Hi {{ .first_name | default \"there\" }}!"}})
	}
	return d, nil
}

func optionalInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(s)
}

// pauseFlowForm answers POST /flows/{id}/pause (paused=1 pauses, else
// resumes).
func (s *server) pauseFlowForm(w http.ResponseWriter, r *http.Request, u user) error {
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	paused := r.PostFormValue("paused") == "1"
	if _, err := s.gw.Flows().SetPaused(id, paused); err != nil {
		return err
	}
	done := "resumed"
	if paused {
		done = "paused"
	}
	seeOther(w, r, fmt.Sprintf("/flows/%d?done=%s", id, done))
	return nil
}

// testFlowForm answers POST /flows/{id}/test: the page again with what
// the flow would send the contact.
func (s *server) testFlowForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	id, err := pathID(r, "flow")
	if err != nil {
		return err
	}
	number := strings.TrimSpace(r.PostFormValue("number"))
	res, err := s.gw.Flows().Test(id, number)
	if msg := formError(err); msg != "" {
		return s.renderFlow(w, r, http.StatusBadRequest, msg, "", nil, number)
	}
	if err != nil {
		return err
	}
	return s.renderFlow(w, r, http.StatusOK, "", "Nothing was sent: this is what the flow would do.", &res, number)
}

package webui

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/campaigns"
	"github.com/simgate/simgate/gateway/segments"
	"github.com/simgate/simgate/gateway/templates"
)

// campaignRoutes declares the campaigns' API and console pages.
func (s *server) campaignRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/campaigns", s.api(s.listCampaignsAPI))
	m.Handle("POST /api/v1/campaigns", s.api(s.createCampaignAPI))
	m.Handle("POST /api/v1/campaigns/dry-run", s.api(s.dryRunAPI))
	m.Handle("GET /api/v1/campaigns/{id}", s.api(s.getCampaignAPI))
	m.Handle("PUT /api/v1/campaigns/{id}", s.api(s.updateCampaignAPI))
	m.Handle("DELETE /api/v1/campaigns/{id}", s.api(s.deleteCampaignAPI))
	m.Handle("POST /api/v1/campaigns/{id}/dry-run", s.api(s.dryRunOfAPI))
	m.Handle("GET /api/v1/campaigns/{id}/members", s.api(s.campaignMembersAPI))
	for _, action := range []string{"send", "pause", "resume", "cancel", "pick"} {
		m.Handle("POST /api/v1/campaigns/{id}/"+action, s.api(s.campaignActionAPI(action)))
	}

	m.Handle("GET /campaigns", s.console(s.campaignsPage))
	m.Handle("GET /campaigns/new", s.console(s.newCampaignPage))
	m.Handle("POST /campaigns/new", s.form(s.createCampaignForm))
	m.Handle("GET /campaigns/{id}", s.console(s.campaignPage))
	m.Handle("POST /campaigns/{id}/{action}", s.form(s.campaignActionForm))
}

func (s *server) listCampaignsAPI(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.Campaigns().List()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"campaigns": list})
}

// createCampaignAPI answers POST /api/v1/campaigns with 201 and the draft.
func (s *server) createCampaignAPI(w http.ResponseWriter, r *http.Request) error {
	var def campaigns.Definition
	if err := s.decodeJSON(w, r, &def); err != nil {
		return err
	}
	c, err := s.gw.Campaigns().Create(r.Context(), def)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+strconv.FormatUint(c.ID, 10))
	return writeJSON(w, http.StatusCreated, c)
}

// dryRunAPI answers POST /api/v1/campaigns/dry-run: what the campaign
// would do. Nothing is stored.
func (s *server) dryRunAPI(w http.ResponseWriter, r *http.Request) error {
	var def campaigns.Definition
	if err := s.decodeJSON(w, r, &def); err != nil {
		return err
	}
	out, err := s.gw.Campaigns().DryRun(r.Context(), def)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) dryRunOfAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	out, err := s.gw.Campaigns().DryRunOf(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) getCampaignAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	c, err := s.gw.Campaigns().Get(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// campaignMembersAPI answers GET /api/v1/campaigns/{id}/members?after=&limit=:
// who was planned, with their variant (or the holdout) and text.
func (s *server) campaignMembersAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return &gateway.FieldError{Field: "limit", Message: "must be a positive number"}
		}
	}
	list, next, err := s.gw.Campaigns().Members(id, r.URL.Query().Get("after"), limit)
	if err != nil {
		return err
	}
	var cursor *string
	if next != "" {
		cursor = &next
	}
	return writeJSON(w, http.StatusOK, map[string]any{"members": list, "next_cursor": cursor})
}

func (s *server) updateCampaignAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	var def campaigns.Definition
	if err := s.decodeJSON(w, r, &def); err != nil {
		return err
	}
	c, err := s.gw.Campaigns().Update(r.Context(), id, def)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *server) deleteCampaignAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	if err := s.gw.Campaigns().Delete(id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// campaignActionAPI answers POST /api/v1/campaigns/{id}/send, pause,
// resume, cancel and pick ({"variant": "b"}).
func (s *server) campaignActionAPI(action string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "campaign")
		if err != nil {
			return err
		}
		var variant string
		if action == "pick" {
			var in struct {
				Variant string `json:"variant"`
			}
			if err := s.decodeJSON(w, r, &in); err != nil {
				return err
			}
			variant = in.Variant
		}
		c, err := s.campaignAction(r, id, action, variant, "API")
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	}
}

func (s *server) campaignAction(r *http.Request, id uint64, action, variant, by string) (campaigns.Campaign, error) {
	svc, ctx := s.gw.Campaigns(), r.Context()
	switch action {
	case "send":
		return svc.Send(ctx, id)
	case "pause":
		return svc.Pause(ctx, id, by)
	case "resume":
		return svc.Resume(ctx, id, by)
	case "cancel":
		return svc.Cancel(ctx, id, by)
	case "pick":
		return svc.Pick(ctx, id, variant, by)
	}
	return campaigns.Campaign{}, gateway.ErrNotFound
}

// Console.

// stateWords says a campaign's state as a shop owner reads it.
var stateWords = map[string]string{
	"draft": "Draft", "scheduled": "Scheduled", "sending": "Sending", "paused": "Paused",
	"done": "Done", "cancelled": "Cancelled",
}

type campaignRow struct {
	campaigns.Campaign
	StateWords string
	Progress   int // percent of planned texts sent
	Sent       int64
	Delivered  int64
}

func campaignRowOf(c campaigns.Campaign) campaignRow {
	row := campaignRow{Campaign: c, StateWords: stateWords[c.State]}
	if c.Results != nil {
		row.Sent, row.Delivered = c.Results.Sent, c.Results.Delivered
	}
	if c.Texts > 0 {
		row.Progress = int(min(100, 100*row.Sent/c.Texts))
	}
	return row
}

// campaignsPage answers GET /campaigns.
func (s *server) campaignsPage(w http.ResponseWriter, r *http.Request, u user) error {
	list, err := s.gw.Campaigns().List()
	if err != nil {
		return err
	}
	rows := make([]campaignRow, len(list))
	for i, c := range list {
		rows[i] = campaignRowOf(c)
	}
	return s.render(w, r, http.StatusOK, "campaigns", view{Title: "Campaigns", Nav: "campaigns", Data: rows})
}

// campaignFormData fills the New campaign form.
type campaignFormData struct {
	Form      url.Values
	Templates []templates.Template
	Segments  []segments.Segment
	DryRun    *campaigns.DryRun
}

func (s *server) newCampaignPage(w http.ResponseWriter, r *http.Request, u user) error {
	return s.renderCampaignForm(w, r, http.StatusOK, "", url.Values{"mode": {"now"}, "holdout": {"0"}}, nil)
}

func (s *server) renderCampaignForm(w http.ResponseWriter, r *http.Request, status int, errMsg string, f url.Values, dry *campaigns.DryRun) error {
	ts, err := s.gw.Templates().List()
	if err != nil {
		return err
	}
	segs, err := s.gw.Segments().List()
	if err != nil {
		return err
	}
	return s.render(w, r, status, "campaign_new", view{Title: "New campaign", Nav: "campaigns", Error: errMsg,
		Data: campaignFormData{Form: f, Templates: ts, Segments: segs, DryRun: dry}})
}

// definitionFromCampaignForm reads the New campaign form. Numbers the
// form cannot read are refused naming the field, as the API's are.
func definitionFromCampaignForm(f url.Values) (campaigns.Definition, error) {
	d := campaigns.Definition{Name: f.Get("name"), Kind: f.Get("kind"), End: strings.TrimSpace(f.Get("end"))}
	if seg := strings.TrimSpace(f.Get("segment_id")); seg != "" {
		id, err := strconv.ParseUint(seg, 10, 64)
		if err != nil {
			return d, &gateway.FieldError{Field: "audience.segment_id", Message: "must be the number of a saved segment"}
		}
		d.Audience.SegmentID = id
	}
	for _, n := range strings.FieldsFunc(f.Get("numbers"), func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
		if n = strings.TrimSpace(n); n != "" {
			d.Audience.Numbers = append(d.Audience.Numbers, n)
		}
	}
	if t := strings.TrimSpace(f.Get("template_id")); t != "" {
		id, err := strconv.ParseUint(t, 10, 64)
		if err != nil {
			return d, &gateway.FieldError{Field: "template.template_id", Message: "must be a saved template"}
		}
		d.Template.ID = id
	} else {
		d.Template.Body = f.Get("body")
	}
	d.Schedule = campaigns.Schedule{Mode: f.Get("mode"), At: strings.TrimSpace(f.Get("at")),
		Date: strings.TrimSpace(f.Get("date")), Time: strings.TrimSpace(f.Get("time"))}
	num := func(field, v string) (int, error) {
		v = strings.TrimSpace(v)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
		if err != nil {
			return 0, &gateway.FieldError{Field: field, Message: "must be a whole number"}
		}
		return n, nil
	}
	var err error
	if d.Holdout, err = num("holdout", f.Get("holdout")); err != nil {
		return d, err
	}
	if v := strings.TrimSpace(f.Get("throttle")); v != "" {
		n, err := num("throttle", v)
		if err != nil {
			return d, err
		}
		d.Throttle = &n
	}
	for i, key := range []string{"a", "b", "c", "d"} {
		body, share, at := f.Get("v"+key+"_body"), f.Get("v"+key+"_share"), f.Get("v"+key+"_time")
		if key != "a" && strings.TrimSpace(body) == "" && strings.TrimSpace(share) == "" && strings.TrimSpace(at) == "" {
			continue
		}
		n, err := num(fmt.Sprintf("variants[%d].share", i), share)
		if err != nil {
			return d, err
		}
		d.Variants = append(d.Variants, campaigns.Variant{Key: key, Share: n, Body: body, Time: strings.TrimSpace(at)})
	}
	if len(d.Variants) == 1 && d.Variants[0].Body == "" && d.Variants[0].Time == "" {
		d.Variants = nil // one text for everyone
	}
	if f.Get("test_first") != "" {
		tf := &campaigns.TestFirst{Metric: f.Get("metric")}
		if tf.Percent, err = num("test_first.percent", f.Get("test_percent")); err != nil {
			return d, err
		}
		if tf.WaitHours, err = num("test_first.wait_hours", f.Get("wait_hours")); err != nil {
			return d, err
		}
		d.TestFirst = tf
	}
	return d, nil
}

// createCampaignForm answers POST /campaigns/new: action=dry_run shows
// what the campaign would do; action=save keeps it as a draft, whose page
// shows the dry run again with the Send button.
func (s *server) createCampaignForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		return &gateway.FieldError{Field: "form", Message: "could not be read"}
	}
	def, err := definitionFromCampaignForm(r.PostForm)
	if r.PostFormValue("action") == "dry_run" {
		var out campaigns.DryRun
		if err == nil {
			out, err = s.gw.Campaigns().DryRun(r.Context(), def)
		}
		if msg := formError(err); msg != "" {
			return s.renderCampaignForm(w, r, http.StatusBadRequest, msg, r.PostForm, nil)
		}
		if err != nil {
			return err
		}
		return s.renderCampaignForm(w, r, http.StatusOK, "", r.PostForm, &out)
	}
	var c campaigns.Campaign
	if err == nil {
		c, err = s.gw.Campaigns().Create(r.Context(), def)
	}
	if msg := formError(err); msg != "" {
		return s.renderCampaignForm(w, r, http.StatusBadRequest, msg, r.PostForm, nil)
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("/campaigns/%d?done=saved", c.ID))
	return nil
}

type variantRow struct {
	Key     string
	Planned int64
	Results *campaigns.OriginResults
}

type campaignPageData struct {
	campaignRow
	DryRun   *campaigns.DryRun
	DryErr   string
	Variants []variantRow
	Skipped  []string
	// Results is the attribution room's region (what it earned, by
	// variant, the holdout's lift); nil for a draft.
	Results *resultsView
}

// campaignPage answers GET /campaigns/{id}: a draft's dry run and Send
// button; a sent campaign's progress (live), its variants, and pause,
// resume and cancel. The results section is where attribution's figures
// go.
func (s *server) campaignPage(w http.ResponseWriter, r *http.Request, u user) error {
	notice := map[string]string{
		"saved":   "Saved as a draft: check what it would do below, then send it.",
		"send":    "Sending: texts go out at their planned times.",
		"pause":   "Paused: texts not yet handed to a SIM wait until you resume.",
		"resume":  "Resumed.",
		"cancel":  "Cancelled: every text not yet handed to a SIM was withdrawn.",
		"pick":    "The variant you picked goes to the rest of the audience.",
		"deleted": "",
	}[r.URL.Query().Get("done")]
	return s.renderCampaign(w, r, http.StatusOK, "", notice)
}

func (s *server) renderCampaign(w http.ResponseWriter, r *http.Request, status int, errMsg, notice string) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	c, err := s.gw.Campaigns().Get(id)
	if err != nil {
		return err
	}
	d := campaignPageData{campaignRow: campaignRowOf(c)}
	if c.State == "draft" {
		dry, err := s.gw.Campaigns().DryRunOf(r.Context(), id)
		if msg := formError(err); msg != "" {
			d.DryErr = msg
		} else if err != nil {
			return err
		} else {
			d.DryRun = &dry
		}
	}
	for k, n := range c.Planned {
		if k == "holdout" {
			continue
		}
		row := variantRow{Key: k, Planned: n}
		if res, ok := c.ByVariant[k]; ok {
			row.Results = &res
		}
		d.Variants = append(d.Variants, row)
	}
	sort.Slice(d.Variants, func(i, j int) bool { return d.Variants[i].Key < d.Variants[j].Key })
	for reason, n := range c.Skipped {
		d.Skipped = append(d.Skipped, fmt.Sprintf("%d: %s", n, reason))
	}
	sort.Strings(d.Skipped)
	if c.State != "draft" {
		if d.Results, err = s.resultsViewOf(fmt.Sprintf("campaign:%d", id)); err != nil {
			return err
		}
	}
	return s.render(w, r, status, "campaign", view{Title: c.Name, Nav: "campaigns", Error: errMsg, Notice: notice, Data: d})
}

// campaignActionForm answers POST /campaigns/{id}/{action}.
func (s *server) campaignActionForm(w http.ResponseWriter, r *http.Request, u user) error {
	id, err := pathID(r, "campaign")
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	if action == "delete" {
		if err := s.gw.Campaigns().Delete(id); err != nil {
			return err
		}
		seeOther(w, r, "/campaigns")
		return nil
	}
	_, err = s.campaignAction(r, id, action, r.PostFormValue("variant"), u.Name)
	if msg := formError(err); msg != "" {
		return s.renderCampaign(w, r, http.StatusBadRequest, msg, "")
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("/campaigns/%d?done=%s", id, action))
	return nil
}

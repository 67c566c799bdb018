package webui

import (
	"net/http"
	"strconv"

	"github.com/simgate/simgate/gateway/webhooks"
)

// webhookRoutes declares the webhooks out: endpoints, their deliveries and
// replays (API and Settings → Webhooks).
func (s *server) webhookRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/webhooks", s.api(s.listWebhooks))
	m.Handle("POST /api/v1/webhooks", s.api(s.createWebhook))
	m.Handle("GET /api/v1/webhooks/{id}", s.api(s.getWebhook))
	m.Handle("PATCH /api/v1/webhooks/{id}", s.api(s.patchWebhook))
	m.Handle("DELETE /api/v1/webhooks/{id}", s.api(s.deleteWebhook))
	m.Handle("POST /api/v1/webhooks/{id}/rotate-secret", s.api(s.rotateWebhookSecret))
	m.Handle("POST /api/v1/webhooks/{id}/test", s.api(s.testWebhook))
	m.Handle("GET /api/v1/webhooks/{id}/deliveries", s.api(s.webhookDeliveries))
	m.Handle("POST /api/v1/webhooks/{id}/deliveries/{seq}/replay", s.api(s.replayWebhook))

	m.Handle("GET /settings/webhooks", s.console(s.webhooksPage))
	m.Handle("POST /settings/webhooks", s.form(s.addWebhookForm))
	m.Handle("GET /settings/webhooks/{id}", s.console(s.webhookPage))
	m.Handle("POST /settings/webhooks/{id}", s.form(s.webhookActionForm))
}

// webhookRequest is the body of POST and PATCH /api/v1/webhooks: absent
// fields of a PATCH keep their value.
type webhookRequest struct {
	URL          *string   `json:"url"`
	Description  *string   `json:"description"`
	Kinds        *[]string `json:"kinds"`
	Format       *string   `json:"format"`
	AllowPrivate *bool     `json:"allow_private"`
	Paused       *bool     `json:"paused"`
}

func (r webhookRequest) input() webhooks.EndpointInput {
	return webhooks.EndpointInput{URL: r.URL, Description: r.Description, Kinds: r.Kinds, Format: r.Format,
		AllowPrivate: r.AllowPrivate, Paused: r.Paused}
}

// listWebhooks answers GET /api/v1/webhooks: every endpoint and the kinds
// one may subscribe to.
func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	es, err := s.gw.Webhooks().Endpoints()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"endpoints": es, "kinds": webhooks.Kinds()})
}

// createWebhook answers POST /api/v1/webhooks with the new endpoint and
// its signing secret (201).
func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var req webhookRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Paused != nil {
		return invalid("paused", "is set on an existing endpoint (PATCH)")
	}
	e, err := s.gw.Webhooks().CreateEndpoint(r.Context(), req.input())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	e, err := s.gw.Webhooks().Endpoint(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// patchWebhook answers PATCH /api/v1/webhooks/{id}; "paused": false
// resumes an endpoint the box paused.
func (s *server) patchWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	e, err := s.gw.Webhooks().UpdateEndpoint(r.Context(), id, req.input())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	if err := s.gw.Webhooks().DeleteEndpoint(id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	e, err := s.gw.Webhooks().RotateSecret(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// testWebhook answers POST /api/v1/webhooks/{id}/test: a webhook.test
// event is queued (202) whatever the endpoint subscribes to.
func (s *server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	d, err := s.gw.Webhooks().SendTest(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}

// webhookDeliveries answers GET /api/v1/webhooks/{id}/deliveries
// (?before=ID&limit=N): newest first, each with every attempt, and
// next_before for the next page (0: none).
func (s *server) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	var before uint64
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseUint(v, 10, 64); err != nil {
			return invalid("before", "must be a delivery id")
		}
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return invalid("limit", "must be a positive number")
		}
	}
	ds, err := s.gw.Webhooks().Deliveries(id, before, limit)
	if err != nil {
		return err
	}
	var next uint64
	if len(ds) > 0 && (limit == 0 || len(ds) == limit) {
		next = ds[len(ds)-1].ID
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds, "next_before": next})
}

// replayWebhook answers POST .../deliveries/{seq}/replay: the same payload
// goes again as a new delivery (202).
func (s *server) replayWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such delivery"}
	}
	d, err := s.gw.Webhooks().Replay(id, seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, d)
}

// webhooksData is Settings → Webhooks: the endpoints and the form for a
// new one (kept as typed when it is refused).
type webhooksData struct {
	Endpoints    []webhooks.Endpoint
	Kinds        []string
	URL, Desc    string
	Chosen       map[string]bool
	AllowPrivate bool
}

func (s *server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, d webhooksData, errMsg, notice string) error {
	var err error
	if d.Endpoints, err = s.gw.Webhooks().Endpoints(); err != nil {
		return err
	}
	d.Kinds = webhooks.Kinds()
	if d.Chosen == nil {
		d.Chosen = map[string]bool{}
	}
	return s.render(w, r, status, "webhooks", view{Title: "Webhooks", Nav: "webhooks", Error: errMsg, Notice: notice, Data: d})
}

// webhooksPage answers GET /settings/webhooks.
func (s *server) webhooksPage(w http.ResponseWriter, r *http.Request, u user) error {
	notice := ""
	if r.URL.Query().Get("done") == "deleted" {
		notice = "The endpoint was deleted."
	}
	return s.renderWebhooks(w, r, http.StatusOK, webhooksData{}, "", notice)
}

// addWebhookForm answers POST /settings/webhooks: a new endpoint, then its
// page (which shows the secret).
func (s *server) addWebhookForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		return err
	}
	d := webhooksData{URL: r.PostFormValue("url"), Desc: r.PostFormValue("description"), Chosen: map[string]bool{},
		AllowPrivate: r.PostFormValue("allow_private") == "1"}
	kinds := r.PostForm["kinds"]
	for _, k := range kinds {
		d.Chosen[k] = true
	}
	e, err := s.gw.Webhooks().CreateEndpoint(r.Context(), webhooks.EndpointInput{URL: &d.URL, Description: &d.Desc,
		Kinds: &kinds, AllowPrivate: &d.AllowPrivate})
	if err != nil {
		if msg := formError(err); msg != "" {
			return s.renderWebhooks(w, r, http.StatusBadRequest, d, msg, "")
		}
		return err
	}
	s.log.Info("webhook endpoint added", "user", u.Name, "endpoint", e.ID, "url", e.URL)
	seeOther(w, r, "/settings/webhooks/"+strconv.FormatUint(e.ID, 10)+"?done=added")
	return nil
}

// webhookData is one endpoint's page: its settings and its deliveries,
// each attempt with status, time and the start of the answer.
type webhookData struct {
	Endpoint   webhooks.Endpoint
	Deliveries []webhooks.EndpointDelivery
}

func (s *server) renderWebhook(w http.ResponseWriter, r *http.Request, status int, id uint64, errMsg, notice string) error {
	e, err := s.gw.Webhooks().Endpoint(id)
	if err != nil {
		return err
	}
	ds, err := s.gw.Webhooks().Deliveries(id, 0, 100)
	if err != nil {
		return err
	}
	return s.render(w, r, status, "webhook", view{Title: "Webhook " + e.URL, Nav: "webhooks", Error: errMsg, Notice: notice,
		Data: webhookData{Endpoint: e, Deliveries: ds}})
}

var webhookNotices = map[string]string{
	"added":   "The endpoint was added. Give its signing secret to the receiver so it can verify what simgate sends.",
	"test":    "A test event was queued; it shows below once sent.",
	"replay":  "The delivery was queued again; it shows at the top once sent.",
	"paused":  "The endpoint is paused: changes are kept for it and sent once it is resumed.",
	"resumed": "The endpoint is resumed: what waited for it goes now, in order.",
	"rotated": "The signing secret was replaced; the old one no longer verifies.",
}

// webhookPage answers GET /settings/webhooks/{id}.
func (s *server) webhookPage(w http.ResponseWriter, r *http.Request, u user) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	return s.renderWebhook(w, r, http.StatusOK, id, "", webhookNotices[r.URL.Query().Get("done")])
}

// webhookActionForm answers POST /settings/webhooks/{id}: the buttons on
// an endpoint's page (action = test, replay, pause, resume, rotate,
// delete).
func (s *server) webhookActionForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	id, err := parseID(r)
	if err != nil {
		return err
	}
	action := r.PostFormValue("action")
	page := "/settings/webhooks/" + strconv.FormatUint(id, 10)
	switch action {
	case "test":
		_, err = s.gw.Webhooks().SendTest(id)
	case "replay":
		seq, perr := strconv.ParseUint(r.PostFormValue("delivery"), 10, 64)
		if perr != nil {
			return s.renderWebhook(w, r, http.StatusBadRequest, id, "delivery: not a delivery id", "")
		}
		_, err = s.gw.Webhooks().Replay(id, seq)
	case "pause", "resume":
		paused := action == "pause"
		_, err = s.gw.Webhooks().UpdateEndpoint(r.Context(), id, webhooks.EndpointInput{Paused: &paused})
		action += "d"
	case "rotate":
		_, err = s.gw.Webhooks().RotateSecret(id)
		action = "rotated"
	case "delete":
		if err := s.gw.Webhooks().DeleteEndpoint(id); err != nil {
			return err
		}
		s.log.Info("webhook endpoint deleted", "user", u.Name, "endpoint", id)
		seeOther(w, r, "/settings/webhooks?done=deleted")
		return nil
	default:
		return s.renderWebhook(w, r, http.StatusBadRequest, id, "action: unknown", "")
	}
	if err != nil {
		if msg := formError(err); msg != "" {
			return s.renderWebhook(w, r, http.StatusBadRequest, id, msg, "")
		}
		return err
	}
	seeOther(w, r, page+"?done="+action)
	return nil
}

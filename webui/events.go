package webui

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/shopevents"
)

// eventRoutes declares the shop's events: the API's batches, the public
// webhooks of Shopify and WooCommerce (signed, never behind a session or
// token: the platforms cannot log in) and Settings → Integrations.
func (s *server) eventRoutes() {
	m := s.mux
	m.Handle("POST /api/v1/events", s.api(s.ingestEvents))
	m.Handle("GET /api/v1/events", s.api(s.listEvents))
	m.Handle("GET /api/v1/settings/integrations", s.api(s.getIntegrations))
	m.Handle("PUT /api/v1/settings/integrations", s.api(s.putIntegrations))

	m.Handle("POST /hooks/shopify", s.public(s.shopifyHook))
	m.Handle("POST /hooks/woocommerce", s.public(s.wooHook))

	m.Handle("GET /settings/integrations", s.console(s.integrationsPage))
	m.Handle("POST /settings/integrations", s.form(s.saveIntegrations))
	m.Handle("POST /settings/integrations/test", s.form(s.sendTestEvent))
}

// DefaultEventMaxBodyBytes bounds the body of an event batch or a webhook.
// Shopify's largest payloads (an order with many lines, its customer and
// addresses) are tens of kilobytes, and a batch of 1,000 small events
// about 300 KB; 512 KiB holds both and keeps a flood from costing memory.
const DefaultEventMaxBodyBytes = 512 << 10

// readEventBody reads a body of at most s.eventMaxBody bytes that must be
// JSON (an empty Content-Type is taken as JSON for API clients, never for
// webhooks, which always say what they send).
func (s *server) readEventBody(w http.ResponseWriter, r *http.Request, strictType bool) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" || strictType {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, errUnsupportedMedia
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.eventMaxBody))
	if err != nil {
		return nil, decodeError(err)
	}
	return body, nil
}

// problemBody is a 400 for a batch: the first problem in "error", every
// problem in "problems".
type problemBody struct {
	Error    errorDetail   `json:"error"`
	Problems []errorDetail `json:"problems"`
}

// ingestEvents answers POST /api/v1/events: one event object or an array
// of up to 1,000. It answers 202 when anything new was stored and 200 when
// every event was stored before (a retry), with each event's outcome. A
// batch with a bad event stores nothing: 400 naming every problem by index
// and field.
func (s *server) ingestEvents(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readEventBody(w, r, false)
	if err != nil {
		return err
	}
	res, err := s.gw.Shop().Ingest(r.Context(), body)
	var be *shopevents.BatchError
	if errors.As(err, &be) {
		out := problemBody{Problems: make([]errorDetail, 0, len(be.Problems))}
		for _, p := range be.Problems {
			out.Problems = append(out.Problems, errorDetail{Code: codeInvalidRequest, Field: p.Field, Message: p.Error()})
		}
		out.Error = out.Problems[0]
		if len(out.Problems) > 1 {
			out.Error.Message = fmt.Sprintf("%s (and %d more problems, listed in \"problems\"); nothing was stored", out.Error.Message, len(out.Problems)-1)
		}
		return writeJSON(w, http.StatusBadRequest, out)
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Stored > 0 {
		status = http.StatusAccepted
	}
	return writeJSON(w, status, res)
}

// hookAnswer is the JSON a webhook delivery gets.
type hookAnswer struct {
	Stored     int    `json:"stored"`
	Duplicates int    `json:"duplicates,omitempty"`
	Ignored    string `json:"ignored,omitempty"`
}

// answerHook maps a delivery's outcome to its status: 401 for a bad
// signature, 503 while no secret is set (the platform retries, and the
// deliveries go through once the secret is saved), 400 for a malformed
// body, 200 for everything verified, stored or not, so the platform does
// not retry what simgate chose not to keep.
func (s *server) answerHook(w http.ResponseWriter, res shopevents.HookResult, err error) error {
	var malformed *shopevents.MalformedError
	switch {
	case errors.Is(err, shopevents.ErrBadSignature):
		return &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized, Message: err.Error()}
	case errors.Is(err, shopevents.ErrNoSecret):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: err.Error()}
	case errors.As(err, &malformed):
		return invalid("", "%s", err.Error())
	case err != nil:
		return err
	}
	return writeJSON(w, http.StatusOK, hookAnswer{Stored: res.Stored, Duplicates: res.Duplicates, Ignored: res.Ignored})
}

// refuseHook logs a delivery refused before it was read and returns the
// refusal.
func (s *server) refuseHook(source, topic string, err error) error {
	var api *apiError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.gw.Shop().LogRefusal(source, topic, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooLarge.Limit))
	case errors.As(err, &api):
		s.gw.Shop().LogRefusal(source, topic, api.Status, api.Message)
	}
	return err
}

// shopifyHook answers POST /hooks/shopify.
func (s *server) shopifyHook(w http.ResponseWriter, r *http.Request) error {
	d := shopevents.Delivery{Topic: r.Header.Get("X-Shopify-Topic"), DeliveryID: r.Header.Get("X-Shopify-Webhook-Id"),
		Signature: r.Header.Get("X-Shopify-Hmac-Sha256"), Shop: r.Header.Get("X-Shopify-Shop-Domain")}
	body, err := s.readEventBody(w, r, true)
	if err != nil {
		return s.refuseHook(shopevents.SourceShopify, d.Topic, err)
	}
	d.Body = body
	res, err := s.gw.Shop().Shopify(r.Context(), d)
	return s.answerHook(w, res, err)
}

// wooHook answers POST /hooks/woocommerce, and the ping WooCommerce sends
// when the webhook is created (a form body "webhook_id=N", unsigned),
// which must get 200 or WooCommerce will not save the webhook.
func (s *server) wooHook(w http.ResponseWriter, r *http.Request) error {
	d := shopevents.Delivery{Topic: r.Header.Get("X-WC-Webhook-Topic"), DeliveryID: r.Header.Get("X-WC-Webhook-Delivery-ID"),
		Signature: r.Header.Get("X-WC-Webhook-Signature"), Shop: r.Header.Get("X-WC-Webhook-Source")}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1024))
		if err == nil && s.gw.Shop().WooCommercePing(body) {
			return writeJSON(w, http.StatusOK, hookAnswer{Ignored: "ping"})
		}
		return s.refuseHook(shopevents.SourceWooCommerce, d.Topic, errUnsupportedMedia)
	}
	body, err := s.readEventBody(w, r, true)
	if err != nil {
		return s.refuseHook(shopevents.SourceWooCommerce, d.Topic, err)
	}
	d.Body = body
	res, err := s.gw.Shop().WooCommerce(r.Context(), d)
	return s.answerHook(w, res, err)
}

// getIntegrations answers GET /api/v1/settings/integrations: secrets
// masked, never in full.
func (s *server) getIntegrations(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.gw.Shop().Settings())
}

// integrationsRequest is the body of PUT /api/v1/settings/integrations:
// a field left out keeps its value, an empty secret removes it.
type integrationsRequest struct {
	ShopifySecret      *string `json:"shopify_secret"`
	WooCommerceSecret  *string `json:"woocommerce_secret"`
	EventRetentionDays *int    `json:"event_retention_days"`
}

// putIntegrations answers PUT /api/v1/settings/integrations with the
// settings as saved, secrets masked.
func (s *server) putIntegrations(w http.ResponseWriter, r *http.Request) error {
	var req integrationsRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	saved, err := s.gw.Shop().SaveSettings(shopevents.SettingsPatch{ShopifySecret: req.ShopifySecret,
		WooCommerceSecret: req.WooCommerceSecret, RetentionDays: req.EventRetentionDays}, "api:"+callerToken(r).Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, saved)
}

// listEvents answers GET /api/v1/events?phone=...: the number's events,
// oldest first.
func (s *server) listEvents(w http.ResponseWriter, r *http.Request) error {
	raw := r.URL.Query().Get("phone")
	if strings.TrimSpace(raw) == "" {
		return invalid("phone", "is required: whose events to list")
	}
	c, err := s.gw.Contacts().ByNumber(raw)
	if err != nil {
		return err
	}
	evs, err := s.gw.Shop().Events(c.Number)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Events []shopevents.Event `json:"events"`
	}{evs})
}

// integrationsData is what Settings → Integrations shows.
type integrationsData struct {
	ShopifyURL     string
	WooURL         string
	EventsURL      string
	PublicURLSet   bool
	Settings       shopevents.MaskedSettings
	Deliveries     []shopevents.LogEntry
	TestNumber     string
	TestEvent      *shopevents.Event
	RetentionInput string
}

func (s *server) renderIntegrations(w http.ResponseWriter, r *http.Request, status int, d integrationsData, errMsg, notice string) error {
	base := strings.TrimRight(s.publicURL, "/")
	d.PublicURLSet = base != ""
	if base == "" {
		base = "https://your-box.example" // shown with a note to set public_url
	}
	d.ShopifyURL, d.WooURL, d.EventsURL = base+"/hooks/shopify", base+"/hooks/woocommerce", base+"/api/v1/events"
	d.Settings = s.gw.Shop().Settings()
	if d.RetentionInput == "" {
		d.RetentionInput = strconv.Itoa(d.Settings.EventRetentionDays)
	}
	var err error
	if d.Deliveries, err = s.gw.Shop().Deliveries(); err != nil {
		return err
	}
	return s.render(w, r, status, "integrations", view{Title: "Integrations", Nav: "integrations", Error: errMsg, Notice: notice, Data: d})
}

// integrationsPage answers GET /settings/integrations.
func (s *server) integrationsPage(w http.ResponseWriter, r *http.Request, u user) error {
	notice := ""
	if r.URL.Query().Get("done") == "saved" {
		notice = "Saved."
	}
	return s.renderIntegrations(w, r, http.StatusOK, integrationsData{}, "", notice)
}

// saveIntegrations answers POST /settings/integrations. A secret field
// left empty keeps the secret; the "remove" boxes delete one.
func (s *server) saveIntegrations(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	var p shopevents.SettingsPatch
	for _, f := range []struct {
		name string
		dst  **string
	}{{"shopify_secret", &p.ShopifySecret}, {"woocommerce_secret", &p.WooCommerceSecret}} {
		v := strings.TrimSpace(r.PostFormValue(f.name))
		switch {
		case r.PostFormValue(f.name+"_remove") == "1":
			empty := ""
			*f.dst = &empty
		case v != "":
			*f.dst = &v
		}
	}
	retention := strings.TrimSpace(r.PostFormValue("event_retention_days"))
	if retention != "" {
		days, err := strconv.Atoi(retention)
		if err != nil {
			return s.renderIntegrations(w, r, http.StatusBadRequest, integrationsData{RetentionInput: retention}, "The retention must be a whole number of days (0 keeps events forever).", "")
		}
		p.RetentionDays = &days
	}
	if _, err := s.gw.Shop().SaveSettings(p, "console:"+u.Name); err != nil {
		if msg := formError(err); msg != "" {
			return s.renderIntegrations(w, r, http.StatusBadRequest, integrationsData{RetentionInput: retention}, msg, "")
		}
		return err
	}
	seeOther(w, r, "/settings/integrations?done=saved")
	return nil
}

// sendTestEvent answers POST /settings/integrations/test: a "test" event
// for the number, stored through the events' own path, shown on the page.
func (s *server) sendTestEvent(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	number := strings.TrimSpace(r.PostFormValue("number"))
	ev, err := s.gw.Shop().TestEvent(r.Context(), number, u.Name)
	if err != nil {
		if msg := formError(err); msg != "" {
			return s.renderIntegrations(w, r, http.StatusBadRequest, integrationsData{TestNumber: number}, msg, "")
		}
		if errors.Is(err, gateway.ErrSuppressed) {
			return s.renderIntegrations(w, r, http.StatusConflict, integrationsData{TestNumber: number}, "That number was erased at its owner's request: no event is kept for it.", "")
		}
		return err
	}
	return s.renderIntegrations(w, r, http.StatusOK, integrationsData{TestNumber: number, TestEvent: &ev}, "",
		fmt.Sprintf("Test event %d stored for %s. It is on the contact's page and in the list below.", ev.Seq, ev.Number))
}

package webhooks

import (
	"context"
	"encoding/json"
	"time"

	"github.com/simgate/simgate/store"
)

// API is what the web layer may do with webhooks: manage the endpoints
// and look at, replay and test their deliveries. It speaks only this
// package's types, converted from the store's records here; the Service
// beside it is the delivery machinery the facade wires.
type API struct{ s *Service }

// NewAPI returns the API over s.
func NewAPI(s *Service) *API { return &API{s: s} }

// Endpoint is a receiver of webhooks as the API and console show it. The
// secret is shown: only admins reach these routes, and a receiver needs
// it to verify signatures.
type Endpoint struct {
	ID           uint64    `json:"id"`
	URL          string    `json:"url"`
	Description  string    `json:"description,omitempty"`
	Secret       string    `json:"secret"`
	Kinds        []string  `json:"kinds"`
	Format       string    `json:"format,omitempty"`
	AllowPrivate bool      `json:"allow_private"`
	Paused       bool      `json:"paused"`
	PausedReason string    `json:"paused_reason,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
}

// Attempt is one try of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	Status     int       `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// EndpointDelivery is one change on its way to an endpoint, with every
// attempt.
type EndpointDelivery struct {
	ID       uint64          `json:"id"`
	Type     string          `json:"type"`
	ChangeAt time.Time       `json:"change_at"`
	Data     json.RawMessage `json:"data,omitempty"`
	State    string          `json:"state"`
	Next     time.Time       `json:"next_attempt_at,omitzero"`
	Attempts []Attempt       `json:"attempts"`
	ReplayOf uint64          `json:"replay_of,omitempty"`
}

func endpointOf(e store.WebhookEndpoint) Endpoint {
	return Endpoint{ID: e.ID, URL: e.URL, Description: e.Description, Secret: e.Secret, Kinds: e.Kinds,
		Format: e.Format, AllowPrivate: e.AllowPrivate, Paused: e.Paused, PausedReason: e.PausedReason,
		FailingSince: e.FailingSince, CreatedAt: e.CreatedAt}
}

func deliveryOf(d store.WebhookDelivery) EndpointDelivery {
	v := EndpointDelivery{ID: d.Seq, Type: d.Change.Kind, ChangeAt: d.Change.At, Data: d.Change.Data, State: d.State,
		ReplayOf: d.ReplayOf, Attempts: []Attempt{}}
	if d.State == store.DeliveryPending {
		v.Next = d.NextAt
	}
	for _, a := range d.Attempts {
		v.Attempts = append(v.Attempts, Attempt{At: a.At, Status: a.Status, Error: a.Error, Response: a.Response,
			DurationMS: a.Duration.Milliseconds()})
	}
	return v
}

// Kinds lists the change kinds an endpoint may subscribe to.
func (a *API) Kinds() []string { return Kinds() }

// Endpoints lists the endpoints.
func (a *API) Endpoints() ([]Endpoint, error) {
	es, err := a.s.Endpoints()
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(es))
	for _, e := range es {
		out = append(out, endpointOf(e))
	}
	return out, nil
}

// Endpoint returns endpoint id.
func (a *API) Endpoint(id uint64) (Endpoint, error) {
	e, err := a.s.Endpoint(id)
	return endpointOf(e), err
}

// CreateEndpoint checks and stores a new endpoint with a fresh signing
// secret; bad input is a *store.FieldError naming the field.
func (a *API) CreateEndpoint(ctx context.Context, in EndpointInput) (Endpoint, error) {
	e, err := a.s.CreateEndpoint(ctx, in)
	return endpointOf(e), err
}

// UpdateEndpoint changes endpoint id (pausing and resuming too).
func (a *API) UpdateEndpoint(ctx context.Context, id uint64, in EndpointInput) (Endpoint, error) {
	e, err := a.s.UpdateEndpoint(ctx, id, in)
	return endpointOf(e), err
}

// RotateSecret gives endpoint id a new signing secret.
func (a *API) RotateSecret(id uint64) (Endpoint, error) {
	e, err := a.s.RotateSecret(id)
	return endpointOf(e), err
}

// DeleteEndpoint removes endpoint id and its deliveries.
func (a *API) DeleteEndpoint(id uint64) error { return a.s.DeleteEndpoint(id) }

// Deliveries returns a page of endpoint id's deliveries, newest first,
// with IDs below before (0: from the newest).
func (a *API) Deliveries(id, before uint64, limit int) ([]EndpointDelivery, error) {
	ds, err := a.s.Deliveries(id, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]EndpointDelivery, 0, len(ds))
	for _, d := range ds {
		out = append(out, deliveryOf(d))
	}
	return out, nil
}

// Replay sends delivery seq of endpoint id again.
func (a *API) Replay(id, seq uint64) (EndpointDelivery, error) {
	d, err := a.s.Replay(id, seq)
	return deliveryOf(d), err
}

// SendTest queues a webhook.test event to endpoint id.
func (a *API) SendTest(id uint64) (EndpointDelivery, error) {
	d, err := a.s.SendTest(id)
	return deliveryOf(d), err
}

// Backlog returns how many deliveries wait.
func (a *API) Backlog() (int, error) { return a.s.Backlog() }

package view

import (
	"encoding/json"
	"time"

	"github.com/simgate/simgate/store"
)

// WebhookEndpoint is a receiver of webhooks as the API and console show
// it. The secret is shown: only admins reach these routes, and a receiver
// needs it to verify signatures.
type WebhookEndpoint struct {
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

// WebhookAttempt is one try of a delivery.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	Status     int       `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// WebhookDelivery is one change on its way to an endpoint, with every
// attempt.
type WebhookDelivery struct {
	ID       uint64           `json:"id"`
	Type     string           `json:"type"`
	ChangeAt time.Time        `json:"change_at"`
	Data     json.RawMessage  `json:"data,omitempty"`
	State    string           `json:"state"`
	Next     time.Time        `json:"next_attempt_at,omitzero"`
	Attempts []WebhookAttempt `json:"attempts"`
	ReplayOf uint64           `json:"replay_of,omitempty"`
}

// FromWebhookEndpoint converts a stored endpoint.
func FromWebhookEndpoint(e store.WebhookEndpoint) WebhookEndpoint {
	return WebhookEndpoint{ID: e.ID, URL: e.URL, Description: e.Description, Secret: e.Secret, Kinds: e.Kinds,
		Format: e.Format, AllowPrivate: e.AllowPrivate, Paused: e.Paused, PausedReason: e.PausedReason,
		FailingSince: e.FailingSince, CreatedAt: e.CreatedAt}
}

// FromWebhookDelivery converts a stored delivery.
func FromWebhookDelivery(d store.WebhookDelivery) WebhookDelivery {
	v := WebhookDelivery{ID: d.Seq, Type: d.Change.Kind, ChangeAt: d.Change.At, Data: d.Change.Data, State: d.State,
		ReplayOf: d.ReplayOf, Attempts: []WebhookAttempt{}}
	if d.State == store.DeliveryPending {
		v.Next = d.NextAt
	}
	for _, a := range d.Attempts {
		v.Attempts = append(v.Attempts, WebhookAttempt{At: a.At, Status: a.Status, Error: a.Error, Response: a.Response,
			DurationMS: a.Duration.Milliseconds()})
	}
	return v
}

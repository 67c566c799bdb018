package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/store"
)

// maxDescription bounds an endpoint's description (a line in a list).
const maxDescription = 200

// EndpointInput is what a person sets on an endpoint. Nil fields of an
// update keep their value.
type EndpointInput struct {
	URL          *string   `json:"url"`
	Description  *string   `json:"description"`
	Kinds        *[]string `json:"kinds"`
	Format       *string   `json:"format"`
	AllowPrivate *bool     `json:"allow_private"`
	Paused       *bool     `json:"paused"`
}

// Kinds lists the change kinds an endpoint may subscribe to.
func Kinds() []string { return store.ChangeKinds() }

// apply sets in on e and checks the result, naming the field at fault.
func (s *Service) apply(ctx context.Context, e *store.WebhookEndpoint, in EndpointInput) error {
	if in.URL != nil {
		e.URL = strings.TrimSpace(*in.URL)
	}
	if in.Description != nil {
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.Kinds != nil {
		e.Kinds = slices.Clone(*in.Kinds)
	}
	if in.Format != nil {
		e.Format = *in.Format
	}
	if in.AllowPrivate != nil {
		e.AllowPrivate = *in.AllowPrivate
	}
	if in.Paused != nil {
		e.Paused = *in.Paused
		if !e.Paused {
			// Resumed: the run of failures starts again from the next one.
			e.PausedReason, e.FailingSince = "", time.Time{}
		}
	}
	if e.URL == "" {
		return &store.FieldError{Field: "url", Message: "is required"}
	}
	if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &store.FieldError{Field: "url", Message: "must be an https:// or http:// URL with a host"}
	}
	if err := s.cfg.Sender.Check(ctx, e.URL, e.AllowPrivate); err != nil {
		return &store.FieldError{Field: "url", Message: err.Error()}
	}
	if len(e.Description) > maxDescription {
		return &store.FieldError{Field: "description", Message: fmt.Sprintf("must be at most %d characters", maxDescription)}
	}
	if len(e.Kinds) == 0 {
		return &store.FieldError{Field: "kinds", Message: "must name at least one kind: " + strings.Join(Kinds(), ", ")}
	}
	slices.Sort(e.Kinds)
	e.Kinds = slices.Compact(e.Kinds)
	for _, k := range e.Kinds {
		if !slices.Contains(Kinds(), k) {
			return &store.FieldError{Field: "kinds", Message: fmt.Sprintf("%q is not a kind; kinds are %s", k, strings.Join(Kinds(), ", "))}
		}
	}
	if _, ok := s.format(e.Format); !ok {
		return &store.FieldError{Field: "format", Message: fmt.Sprintf("%q is not a known format", e.Format)}
	}
	return nil
}

// CreateEndpoint checks in and stores a new endpoint with a fresh secret.
func (s *Service) CreateEndpoint(ctx context.Context, in EndpointInput) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	if err := s.apply(ctx, &e, in); err != nil {
		return store.WebhookEndpoint{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	e.Secret = secret
	return s.db.PutWebhookEndpoint(e)
}

// UpdateEndpoint changes endpoint id; resuming one wakes its sender.
func (s *Service) UpdateEndpoint(ctx context.Context, id uint64, in EndpointInput) (store.WebhookEndpoint, error) {
	cur, err := s.db.WebhookEndpoint(id)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	// Resolving a name may take a while: outside the transaction, then
	// the fields are applied again inside it.
	probe := cur
	if err := s.apply(ctx, &probe, in); err != nil {
		return store.WebhookEndpoint{}, err
	}
	e, err := s.db.UpdateWebhookEndpoint(id, func(e *store.WebhookEndpoint) error {
		// The sender may have recorded a failure or a pause meanwhile:
		// only what the person changed is taken from probe.
		if in.Paused == nil {
			probe.Paused, probe.PausedReason, probe.FailingSince = e.Paused, e.PausedReason, e.FailingSince
		}
		probe.Secret = e.Secret
		*e = probe
		return nil
	})
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	if !e.Paused {
		s.kick(e.Target())
		if !cur.Paused || cur.PausedReason == "" {
			return e, nil
		}
		s.cfg.Notify.ClearAlert(AlertEndpointPaused, e.Target())
	}
	return e, nil
}

// RotateSecret gives endpoint id a new signing secret.
func (s *Service) RotateSecret(id uint64) (store.WebhookEndpoint, error) {
	secret, err := NewSecret()
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	return s.db.UpdateWebhookEndpoint(id, func(e *store.WebhookEndpoint) error { e.Secret = secret; return nil })
}

// DeleteEndpoint removes endpoint id and its deliveries.
func (s *Service) DeleteEndpoint(id uint64) error {
	if err := s.db.DeleteWebhookEndpoint(id); err != nil {
		return err
	}
	s.kick(store.WebhookEndpoint{ID: id}.Target()) // its sender finds nothing and ends
	s.cfg.Notify.ClearAlert(AlertEndpointPaused, store.WebhookEndpoint{ID: id}.Target())
	return nil
}

// Endpoint returns endpoint id.
func (s *Service) Endpoint(id uint64) (store.WebhookEndpoint, error) { return s.db.WebhookEndpoint(id) }

// Endpoints lists every endpoint.
func (s *Service) Endpoints() ([]store.WebhookEndpoint, error) { return s.db.WebhookEndpoints() }

// Deliveries returns a page of endpoint id's deliveries, newest first.
func (s *Service) Deliveries(id uint64, before uint64, limit int) ([]store.WebhookDelivery, error) {
	e, err := s.db.WebhookEndpoint(id)
	if err != nil {
		return nil, err
	}
	return s.db.WebhookDeliveries(e.Target(), before, limit)
}

// Replay queues delivery seq of endpoint id again, as a new delivery with
// the same payload at the end of the endpoint's queue.
func (s *Service) Replay(id, seq uint64) (store.WebhookDelivery, error) {
	e, err := s.db.WebhookEndpoint(id)
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	d, err := s.db.WebhookDelivery(e.Target(), seq)
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	n, err := s.db.AddWebhookDelivery(store.WebhookDelivery{Target: d.Target, Endpoint: d.Endpoint, Change: d.Change, ReplayOf: d.Seq})
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	s.kick(n.Target)
	return n, nil
}

// SendTest queues a webhook.test event to endpoint id, whatever kinds it
// subscribes to.
func (s *Service) SendTest(id uint64) (store.WebhookDelivery, error) {
	e, err := s.db.WebhookEndpoint(id)
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	data, _ := json.Marshal(map[string]string{"endpoint": strconv.FormatUint(e.ID, 10), "message": "a test event from simgate"})
	d, err := s.db.AddWebhookDelivery(store.WebhookDelivery{Target: e.Target(), Endpoint: e.ID,
		Change: store.Change{At: s.now().UTC(), Kind: KindTest, Subject: strconv.FormatUint(e.ID, 10), Data: data}})
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	s.kick(d.Target)
	return d, nil
}

// Backlog returns how many deliveries wait.
func (s *Service) Backlog() (int, error) { return s.db.CountPendingDeliveries() }

package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.etcd.io/bbolt"
)

// WebhookEndpoint is a receiver of the change feed set in the console or
// the API.
type WebhookEndpoint struct {
	ID          uint64    `json:"id"`
	URL         string    `json:"url"`
	Description string    `json:"description,omitempty"`
	Secret      string    `json:"secret"` // "whsec_" + base64 of the key
	Kinds       []string  `json:"kinds"`  // change kinds it receives
	Format      string    `json:"format,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// AllowPrivate lets the URL resolve to private, loopback or the box's
	// own addresses (refused otherwise, at save and at every dial).
	AllowPrivate bool `json:"allow_private,omitempty"`
	Paused       bool `json:"paused,omitempty"`
	// PausedReason says why the box paused it ("failing since ..."); empty
	// when a person did.
	PausedReason string `json:"paused_reason,omitempty"`
	// FailingSince is the first failed attempt of the current run of
	// failures; zero after any success.
	FailingSince time.Time `json:"failing_since,omitempty"`
}

// Wants reports whether the endpoint subscribes to kind.
func (e WebhookEndpoint) Wants(kind string) bool { return slices.Contains(e.Kinds, kind) }

// Target is the sender queue of the endpoint's deliveries.
func (e WebhookEndpoint) Target() string { return "ep:" + strconv.FormatUint(e.ID, 10) }

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliverySkipped   = "skipped" // the formatter did not want it (a Kannel dlr-mask)
)

// WebhookAttempt is one try of a delivery.
type WebhookAttempt struct {
	At       time.Time     `json:"at"`
	Status   int           `json:"status,omitempty"` // HTTP status; 0 when none came
	Error    string        `json:"error,omitempty"`
	Response string        `json:"response,omitempty"` // the start of the body
	Duration time.Duration `json:"duration_ns"`
}

// WebhookDelivery is one change on its way to one receiver: an endpoint or
// a message's callback. It carries the change, so the feed may be pruned
// under it and a replay years later sends the same payload.
type WebhookDelivery struct {
	Seq      uint64 `json:"seq"`    // store-assigned; the order within a target
	Target   string `json:"target"` // "ep:<id>" or "cb:<host>"
	Endpoint uint64 `json:"endpoint,omitempty"`
	// MessageID, URL, Format and Params are set for a message's callback.
	MessageID    uint64           `json:"message_id,omitempty"`
	URL          string           `json:"url,omitempty"`
	Format       string           `json:"format,omitempty"`
	Params       json.RawMessage  `json:"params,omitempty"`
	AllowPrivate bool             `json:"allow_private,omitempty"`
	Change       Change           `json:"change"`
	State        string           `json:"state"`
	CreatedAt    time.Time        `json:"created_at"`
	NextAt       time.Time        `json:"next_at,omitempty"` // when pending: not before
	Attempts     []WebhookAttempt `json:"attempts,omitempty"`
	ReplayOf     uint64           `json:"replay_of,omitempty"`
}

// WebhookCursor is the change feed consumer name of the webhooks' dispatcher.
const WebhookCursor = "webhooks"

// maxDeliveriesKept bounds the finished deliveries kept per target for the
// console; older ones are deleted as new ones finish.
const maxDeliveriesKept = 500

func deliveryKey(target string, seq uint64) []byte {
	return append(append([]byte(target), 0), u64(seq)...)
}

func targetPrefix(target string) []byte { return append([]byte(target), 0) }

// PutWebhookEndpoint stores e, assigning ID and CreatedAt to a new one.
func (db *DB) PutWebhookEndpoint(e WebhookEndpoint) (WebhookEndpoint, error) {
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWebhookEndpoints)
		if e.ID == 0 {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			e.ID = id
			e.CreatedAt = db.now().UTC()
		} else if b.Get(u64(e.ID)) == nil {
			return fmt.Errorf("store: webhook endpoint %d: %w", e.ID, ErrNotFound)
		}
		return putJSON(b, u64(e.ID), e)
	})
	return e, err
}

// UpdateWebhookEndpoint changes endpoint id with fn in one transaction.
func (db *DB) UpdateWebhookEndpoint(id uint64, fn func(*WebhookEndpoint) error) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		var err error
		if e, err = getRecord[WebhookEndpoint](tx, bucketWebhookEndpoints, id, "webhook endpoint"); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
		e.ID = id
		return putJSON(tx.Bucket(bucketWebhookEndpoints), u64(id), e)
	})
	return e, err
}

// WebhookEndpoint returns endpoint id, or an error wrapping ErrNotFound.
func (db *DB) WebhookEndpoint(id uint64) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		e, err = getRecord[WebhookEndpoint](tx, bucketWebhookEndpoints, id, "webhook endpoint")
		return err
	})
	return e, err
}

// WebhookEndpoints lists every endpoint by ID.
func (db *DB) WebhookEndpoints() ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = endpoints(tx)
		return err
	})
	return out, err
}

func endpoints(tx *bbolt.Tx) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := tx.Bucket(bucketWebhookEndpoints).ForEach(func(k, v []byte) error {
		var e WebhookEndpoint
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("store: decode webhook endpoint %x: %w", k, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// DeleteWebhookEndpoint removes endpoint id with its deliveries.
func (db *DB) DeleteWebhookEndpoint(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWebhookEndpoints)
		if b.Get(u64(id)) == nil {
			return fmt.Errorf("store: webhook endpoint %d: %w", id, ErrNotFound)
		}
		if err := b.Delete(u64(id)); err != nil {
			return err
		}
		prefix := targetPrefix(WebhookEndpoint{ID: id}.Target())
		for _, name := range [][]byte{bucketWebhookDeliveries, bucketWebhookPending} {
			if err := deletePrefix(tx.Bucket(name), prefix); err != nil {
				return err
			}
		}
		return nil
	})
}

// addDelivery stores d as a new pending delivery inside tx.
func addDelivery(tx *bbolt.Tx, d *WebhookDelivery) error {
	b := tx.Bucket(bucketWebhookDeliveries)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	d.Seq = seq
	d.State = DeliveryPending
	key := deliveryKey(d.Target, seq)
	if err := putJSON(b, key, d); err != nil {
		return err
	}
	return tx.Bucket(bucketWebhookPending).Put(key, []byte{})
}

// lazyCursorLag: how far the webhooks' cursor may trail the changes it
// has read when they made no delivery (no endpoint wants them, no
// callback): the cursor is then not written, so a box without webhooks
// pays no commit for them. After a restart those changes are read again
// and again make nothing (an endpoint gets only changes from its creation).
const lazyCursorLag = 10000

// DispatchChanges reads up to max changes after the webhooks' cursor and,
// in the same transaction that advances the cursor, turns each into a
// delivery for every endpoint that wants its kind (from the endpoint's
// creation on) and for the callback of the message it is about. It
// returns the targets that got deliveries and whether more changes wait.
// A crash before the commit leaves the cursor where it was: nothing is
// lost, nothing is doubled.
func (db *DB) DispatchChanges(max int) (targets []string, more bool, err error) {
	targets, _, more, err = db.DispatchChangesFrom(0, max)
	return targets, more, err
}

// DispatchChangesFrom is DispatchChanges starting after from when that is
// past the stored cursor: the caller remembers how far it read changes
// that made no delivery, whose cursor was not written (lazyCursorLag). It
// returns that position.
func (db *DB) DispatchChangesFrom(from uint64, max int) (targets []string, next uint64, more bool, err error) {
	// A look first, in a read transaction: changes that make no delivery
	// need no write at all while the cursor does not trail too far.
	var quiet bool
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		stored := changeCursor(tx, WebhookCursor)
		changes, err := changesAfter(tx, max64(stored, from), max+1)
		if err != nil {
			return err
		}
		if len(changes) > max {
			changes, more = changes[:max], true
		}
		if len(changes) == 0 {
			next, quiet = max64(stored, from), true
			return nil
		}
		eps, err := endpoints(tx)
		if err != nil {
			return err
		}
		last := changes[len(changes)-1].Seq
		if last-stored >= lazyCursorLag {
			return nil
		}
		for _, ch := range changes {
			if wantedBy(eps, ch) || hasCallback(ch) {
				return nil
			}
		}
		next, quiet = last, true
		return nil
	})
	if err != nil || quiet {
		return nil, next, more, err
	}
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		targets, more = nil, false
		cursor := max64(changeCursor(tx, WebhookCursor), from)
		changes, err := changesAfter(tx, cursor, max+1)
		if err != nil {
			return err
		}
		if len(changes) > max {
			changes, more = changes[:max], true
		}
		next = cursor
		if len(changes) == 0 {
			return nil
		}
		eps, err := endpoints(tx)
		if err != nil {
			return err
		}
		now := db.now().UTC()
		seen := map[string]bool{}
		for _, ch := range changes {
			for _, e := range eps {
				if !e.Wants(ch.Kind) || ch.At.Before(e.CreatedAt) {
					continue
				}
				d := WebhookDelivery{Target: e.Target(), Endpoint: e.ID, Change: ch, CreatedAt: now, NextAt: now}
				if err := addDelivery(tx, &d); err != nil {
					return err
				}
				seen[d.Target] = true
			}
			d, ok, err := callbackDelivery(tx, ch, now)
			if err != nil {
				return err
			}
			if ok {
				if err := addDelivery(tx, &d); err != nil {
					return err
				}
				seen[d.Target] = true
			}
		}
		for t := range seen {
			targets = append(targets, t)
		}
		slices.Sort(targets)
		next = changes[len(changes)-1].Seq
		return setChangeCursor(tx, WebhookCursor, next)
	})
	if err != nil {
		return nil, from, false, fmt.Errorf("store: dispatch changes: %w", err)
	}
	return targets, next, more, nil
}

func max64(a, b uint64) uint64 { return max(a, b) }

// wantedBy reports whether an endpoint created by the change's time
// subscribes to its kind.
func wantedBy(eps []WebhookEndpoint, ch Change) bool {
	for _, e := range eps {
		if e.Wants(ch.Kind) && !ch.At.Before(e.CreatedAt) {
			return true
		}
	}
	return false
}

// hasCallback reports whether a change is a status change of a message
// with a callback.
func hasCallback(ch Change) bool {
	if ch.Kind != ChangeMessageStatus {
		return false
	}
	var mc MessageChange
	return json.Unmarshal(ch.Data, &mc) == nil && mc.Callback
}

// callbackDelivery builds the delivery of a message.status change to the
// message's own callback, if it has one.
func callbackDelivery(tx *bbolt.Tx, ch Change, now time.Time) (WebhookDelivery, bool, error) {
	if ch.Kind != ChangeMessageStatus {
		return WebhookDelivery{}, false, nil
	}
	var mc MessageChange
	if err := json.Unmarshal(ch.Data, &mc); err != nil || !mc.Callback {
		return WebhookDelivery{}, false, nil
	}
	m, err := getMessage(tx, mc.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && m.Callback == nil) {
		return WebhookDelivery{}, false, nil // erased since
	}
	if err != nil {
		return WebhookDelivery{}, false, err
	}
	cb := m.Callback
	return WebhookDelivery{Target: CallbackTarget(cb.URL), MessageID: m.ID, URL: cb.URL, Format: cb.Format,
		Params: cb.Params, AllowPrivate: cb.AllowPrivate, Change: ch, CreatedAt: now, NextAt: now}, true, nil
}

// CallbackTarget is the sender queue of callbacks to rawURL: one per host,
// so a hanging host delays only the callbacks it is sent.
func CallbackTarget(rawURL string) string {
	host := rawURL
	if _, rest, ok := bytes.Cut([]byte(rawURL), []byte("://")); ok {
		host = string(rest)
	}
	for i, r := range host {
		if r == '/' || r == '?' || r == '#' {
			host = host[:i]
			break
		}
	}
	return "cb:" + host
}

// AddWebhookDelivery stores a delivery made outside the feed (a test
// event, a replay) as pending at the end of its target's queue.
func (db *DB) AddWebhookDelivery(d WebhookDelivery) (WebhookDelivery, error) {
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		d.CreatedAt = db.now().UTC()
		if d.NextAt.IsZero() {
			d.NextAt = d.CreatedAt
		}
		d.Attempts = nil
		return addDelivery(tx, &d)
	})
	return d, err
}

// NextPendingDelivery returns the oldest pending delivery of target.
func (db *DB) NextPendingDelivery(target string) (WebhookDelivery, bool, error) {
	var d WebhookDelivery
	var ok bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		prefix := targetPrefix(target)
		k, _ := tx.Bucket(bucketWebhookPending).Cursor().Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil
		}
		raw := tx.Bucket(bucketWebhookDeliveries).Get(k)
		if raw == nil {
			return fmt.Errorf("store: pending delivery %x has no record", k)
		}
		ok = true
		return json.Unmarshal(raw, &d)
	})
	return d, ok, err
}

// PendingTargets lists the targets with pending deliveries, for the
// senders to start after a restart.
func (db *DB) PendingTargets() ([]string, error) {
	var out []string
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketWebhookPending).Cursor()
		for k, _ := c.First(); k != nil; {
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				return fmt.Errorf("store: bad pending delivery key %x", k)
			}
			out = append(out, string(k[:i]))
			k, _ = c.Seek(append(bytes.Clone(k[:i]), 1))
		}
		return nil
	})
	return out, err
}

// CountPendingDeliveries returns how many deliveries wait, for the
// webhook backlog figure.
func (db *DB) CountPendingDeliveries() (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketWebhookPending).Stats().KeyN
		return nil
	})
	return n, err
}

// WebhookResult is the outcome of one attempt of a delivery: the attempt
// (nil when none was made: a formatter skipped it) and the state it
// leaves, pending with Next as the next try, or finished.
type WebhookResult struct {
	Seq     uint64
	Attempt *WebhookAttempt
	State   string
	Next    time.Time
}

// RecordWebhookAttempt records one result of delivery (target, seq) and
// returns the delivery as stored.
func (db *DB) RecordWebhookAttempt(target string, seq uint64, a *WebhookAttempt, state string, next time.Time) (WebhookDelivery, error) {
	if err := db.RecordWebhookResults(target, []WebhookResult{{Seq: seq, Attempt: a, State: state, Next: next}}); err != nil {
		return WebhookDelivery{}, err
	}
	return db.WebhookDelivery(target, seq)
}

// RecordWebhookResults appends each result's attempt to its delivery of
// target and sets its state, in one transaction: a sender records a run
// of successes with one commit. A finished delivery leaves the pending
// index.
func (db *DB) RecordWebhookResults(target string, rs []WebhookResult) error {
	if len(rs) == 0 {
		return nil
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWebhookDeliveries)
		finished := false
		for _, r := range rs {
			key := deliveryKey(target, r.Seq)
			raw := b.Get(key)
			if raw == nil {
				continue // deleted with its endpoint meanwhile
			}
			var d WebhookDelivery
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			if r.Attempt != nil {
				d.Attempts = append(d.Attempts, *r.Attempt)
			}
			d.State, d.NextAt = r.State, r.Next
			if err := putJSON(b, key, d); err != nil {
				return err
			}
			if r.State != DeliveryPending {
				finished = true
				if err := tx.Bucket(bucketWebhookPending).Delete(key); err != nil {
					return err
				}
			}
		}
		if finished {
			return pruneFinished(tx, target)
		}
		return nil
	})
}

// PendingDeliveries returns up to max of target's pending deliveries,
// oldest first.
func (db *DB) PendingDeliveries(target string, max int) ([]WebhookDelivery, error) {
	var out []WebhookDelivery
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		prefix := targetPrefix(target)
		c := tx.Bucket(bucketWebhookPending).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < max; k, _ = c.Next() {
			raw := tx.Bucket(bucketWebhookDeliveries).Get(k)
			if raw == nil {
				return fmt.Errorf("store: pending delivery %x has no record", k)
			}
			var d WebhookDelivery
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// pruneFinished deletes the oldest finished deliveries of target beyond
// maxDeliveriesKept. Pending ones are never deleted.
func pruneFinished(tx *bbolt.Tx, target string) error {
	prefix := targetPrefix(target)
	b := tx.Bucket(bucketWebhookDeliveries)
	pending := tx.Bucket(bucketWebhookPending)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if pending.Get(k) == nil {
			keys = append(keys, bytes.Clone(k))
		}
	}
	if len(keys) <= maxDeliveriesKept {
		return nil
	}
	return deleteKeys(b, keys[:len(keys)-maxDeliveriesKept])
}

// WebhookDeliveries returns up to limit deliveries of target with Seq <
// before (0: from the newest), newest first.
func (db *DB) WebhookDeliveries(target string, before uint64, limit int) ([]WebhookDelivery, error) {
	limit = clampLimit(limit)
	var out []WebhookDelivery
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		prefix := targetPrefix(target)
		c := tx.Bucket(bucketWebhookDeliveries).Cursor()
		start := deliveryKey(target, before)
		if before == 0 {
			start = append(bytes.Clone(prefix[:len(prefix)-1]), 1)
		}
		k, v := seekBefore(c, start)
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Prev() {
			var d WebhookDelivery
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// WebhookDelivery returns delivery seq of target.
func (db *DB) WebhookDelivery(target string, seq uint64) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketWebhookDeliveries).Get(deliveryKey(target, seq))
		if raw == nil {
			return fmt.Errorf("store: delivery %s/%d: %w", target, seq, ErrNotFound)
		}
		return json.Unmarshal(raw, &d)
	})
	return d, err
}

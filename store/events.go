package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// ShopEvent is one thing that happened in the shop (a checkout started, an
// order placed, a product viewed), as the shop's website or platform told
// the box. Events form an append-only log in the order the box stored them
// (Seq): flows and, later, other boxes read it with a cursor of their own,
// so a crash between storing an event and acting on it loses nothing.
// Stored fields: append only, never rename one.
type ShopEvent struct {
	// Seq is the log's order, assigned by AppendEvents; never reused.
	Seq uint64 `json:"seq"`
	// ID is the sender's id for the event, unique per Source: a retried
	// POST or a webhook delivered twice is stored once.
	ID     string `json:"id"`
	Source string `json:"source"` // "api", "shopify", "woocommerce", "console"
	// Type is "checkout_started", "checkout_updated", "order_placed",
	// "product_viewed", "customer_created" or the shop's own name.
	Type       string    `json:"type"`
	Number     string    `json:"number"` // E.164: the contact the event is about
	OccurredAt time.Time `json:"occurred_at"`
	ReceivedAt time.Time `json:"received_at"`
	// The standard properties the box acts on, promoted from Properties
	// so that exits and attribution read them without decoding the rest.
	CheckoutID string `json:"checkout_id,omitempty"`
	OrderID    string `json:"order_id,omitempty"`
	Total      int64  `json:"total,omitempty"` // minor units (cents)
	Currency   string `json:"currency,omitempty"`
	// Properties is the event's properties object as normalised by the
	// part that accepted it (items, resume URL, ...).
	Properties json.RawMessage `json:"properties,omitempty"`
	// Ends lists the exit keys this event marks (see Message.ExitKey): an
	// order ends the texts of the checkout it completes.
	Ends []string `json:"ends,omitempty"`
}

// ExitMark records that an exit key was ended, and by which event.
type ExitMark struct {
	Key      string    `json:"key"`
	At       time.Time `json:"at"`
	EventSeq uint64    `json:"event_seq"`
	Reason   string    `json:"reason"` // in a shop owner's words: "the customer placed order 1001"
}

// Limits of a stored event, checked by AppendEvents so that no caller can
// store a record the indexes cannot key.
const (
	MaxEventIDLen    = 200
	MaxEventTypeLen  = 64
	MaxEventProps    = 64 << 10 // bytes of Properties
	MaxEventEnds     = 8
	MaxExitKeyLen    = 300
	maxEventBatchLen = 10000
)

// validate checks what the store relies on; the part that accepted the
// event has checked its meaning already.
func (ev *ShopEvent) validate() error {
	switch {
	case ev.ID == "" || len(ev.ID) > MaxEventIDLen || strings.ContainsRune(ev.ID, 0):
		return &FieldError{Field: "id", Message: fmt.Sprintf("must be 1 to %d bytes without NUL", MaxEventIDLen)}
	case ev.Source == "" || strings.ContainsRune(ev.Source, 0):
		return &FieldError{Field: "source", Message: "must be set"}
	case ev.Type == "" || len(ev.Type) > MaxEventTypeLen || strings.ContainsRune(ev.Type, 0):
		return &FieldError{Field: "type", Message: fmt.Sprintf("must be 1 to %d bytes without NUL", MaxEventTypeLen)}
	case ev.Number == "" || strings.ContainsRune(ev.Number, 0):
		return &FieldError{Field: "phone", Message: "must be set"}
	case ev.OccurredAt.IsZero():
		return &FieldError{Field: "occurred_at", Message: "must be set"}
	case len(ev.Properties) > MaxEventProps:
		return &FieldError{Field: "properties", Message: fmt.Sprintf("is longer than %d bytes", MaxEventProps)}
	case len(ev.Ends) > MaxEventEnds:
		return &FieldError{Field: "ends", Message: fmt.Sprintf("has more than %d keys", MaxEventEnds)}
	}
	for _, k := range ev.Ends {
		if k == "" || len(k) > MaxExitKeyLen || strings.ContainsRune(k, 0) {
			return &FieldError{Field: "ends", Message: fmt.Sprintf("keys must be 1 to %d bytes without NUL", MaxExitKeyLen)}
		}
	}
	return nil
}

// AppendEvents stores evs in one transaction, in order, and returns what
// was stored: each with its Seq and ReceivedAt, and with Seq 0 for an event
// whose (Source, ID) was stored before (it is not stored again, and
// returned as first stored). An invalid event fails the whole batch with an
// error naming its index and field, and nothing is stored.
//
// An event's Ends mark their exit keys in the same transaction, and every
// text still queued with one of those keys is withdrawn (suppressed, with
// the mark's reason on its history): an order that lands while its
// checkout's reminder waits out quiet hours cancels it. Concurrent calls
// share one commit.
func (db *DB) AppendEvents(evs []ShopEvent) ([]ShopEvent, error) {
	if len(evs) > maxEventBatchLen {
		return nil, &FieldError{Field: "events", Message: fmt.Sprintf("at most %d per batch", maxEventBatchLen)}
	}
	for i := range evs {
		if err := evs[i].validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, &FieldError{Field: fmt.Sprintf("events[%d].%s", i, fe.Field), Message: fe.Message}
			}
			return nil, err
		}
	}
	var out []ShopEvent
	var withdrawn []Message
	err := db.bolt.Batch(func(tx *bbolt.Tx) error {
		out, withdrawn = make([]ShopEvent, len(evs)), nil
		now := db.now()
		for i, ev := range evs {
			stored, w, err := appendShopEvent(tx, db, ev, now)
			if err != nil {
				return err
			}
			out[i], withdrawn = stored, append(withdrawn, w...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: append events: %w", err)
	}
	db.announceWithdrawn(withdrawn)
	return out, nil
}

// announceWithdrawn tells the watcher set by OnWithdrawn, if any.
func (db *DB) announceWithdrawn(ms []Message) {
	if fn := db.onWithdrawn.Load(); fn != nil && len(ms) > 0 {
		(*fn)(ms)
	}
}

// OnWithdrawn sets fn to hear of texts withdrawn because an event ended
// their exit key (the live console shows them change). fn runs after the
// commit, in the appending goroutine; it must not block.
func (db *DB) OnWithdrawn(fn func([]Message)) { db.onWithdrawn.Store(&fn) }

// appendShopEvent is one event of AppendEvents inside tx; a duplicate returns
// the event first stored under its id.
func appendShopEvent(tx *bbolt.Tx, db *DB, ev ShopEvent, now time.Time) (ShopEvent, []Message, error) {
	ids := tx.Bucket(bucketEventIDs)
	idKey := eventIDKey(ev.Source, ev.ID)
	if v := ids.Get(idKey); len(v) == 8 {
		first, err := getRecord[ShopEvent](tx, bucketEvents, binary.BigEndian.Uint64(v), "event")
		if err != nil {
			return ShopEvent{}, nil, err
		}
		first.Seq = 0 // "not stored now": the caller reports a duplicate
		return first, nil, nil
	}
	log := tx.Bucket(bucketEvents)
	seq, err := log.NextSequence()
	if err != nil {
		return ShopEvent{}, nil, err
	}
	ev.Seq, ev.ReceivedAt = seq, now
	ev.OccurredAt = ev.OccurredAt.UTC()
	ev.Properties = slices.Clone(ev.Properties)
	ev.Ends = slices.Clone(ev.Ends)
	raw, err := json.Marshal(ev)
	if err != nil {
		return ShopEvent{}, nil, fmt.Errorf("encode event %q: %w", ev.ID, err)
	}
	// Sequential keys only ever grow at the end: full pages waste nothing.
	log.FillPercent = 1
	if err := log.Put(u64(seq), raw); err != nil {
		return ShopEvent{}, nil, err
	}
	if err := ids.Put(idKey, u64(seq)); err != nil {
		return ShopEvent{}, nil, err
	}
	if err := tx.Bucket(bucketEventsByNumber).Put(eventNumberKey(&ev), nil); err != nil {
		return ShopEvent{}, nil, err
	}
	if err := tx.Bucket(bucketEventsByType).Put(eventTypeKey(&ev), nil); err != nil {
		return ShopEvent{}, nil, err
	}
	if err := noteEventActivity(tx, &ev); err != nil {
		return ShopEvent{}, nil, err
	}
	var withdrawn []Message
	for _, key := range ev.Ends {
		w, err := markExit(tx, db, ExitMark{Key: key, At: now, EventSeq: seq, Reason: exitReason(&ev)})
		if err != nil {
			return ShopEvent{}, nil, err
		}
		withdrawn = append(withdrawn, w...)
	}
	return ev, withdrawn, nil
}

// exitReason says in a shop owner's words why an event ended texts.
func exitReason(ev *ShopEvent) string {
	switch {
	case ev.OrderID != "":
		return "the customer placed order " + ev.OrderID
	case ev.CheckoutID != "":
		return "the customer completed checkout " + ev.CheckoutID
	}
	return fmt.Sprintf("the shop sent event %s (%s, from %s)", ev.ID, ev.Type, ev.Source)
}

// markExit records mark (the first mark of a key stays) and withdraws every
// text still queued under its key.
func markExit(tx *bbolt.Tx, db *DB, mark ExitMark) ([]Message, error) {
	exits := tx.Bucket(bucketExits)
	if exits.Get([]byte(mark.Key)) == nil {
		raw, err := json.Marshal(mark)
		if err != nil {
			return nil, err
		}
		if err := exits.Put([]byte(mark.Key), raw); err != nil {
			return nil, err
		}
	}
	prefix := append([]byte(mark.Key), 0)
	var ids []uint64
	c := tx.Bucket(bucketMsgByExit).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
		}
	}
	var out []Message
	for _, id := range ids {
		m, err := db.update(tx, id, func(m *Message) error {
			withdraw(m, mark, db.now())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("withdraw message %d: %w", id, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// withdraw suppresses a queued text whose exit key was ended. Only queued
// texts are indexed by exit key; one already handed to a modem is past
// recall.
func withdraw(m *Message, mark ExitMark, now time.Time) {
	if m.Status != StatusQueued {
		return
	}
	note := "withdrawn: " + mark.Reason
	m.Status, m.Hold, m.Error = StatusSuppressed, "", note
	m.History = append(m.History, Transition{At: now, Status: StatusSuppressed, Note: note})
}

// exitedInTx is the guard's check at its commit point: whether m's exit
// key was ended, and by what.
func exitedInTx(tx *bbolt.Tx, m *Message) (ExitMark, bool, error) {
	if m.ExitKey == "" {
		return ExitMark{}, false, nil
	}
	raw := tx.Bucket(bucketExits).Get([]byte(m.ExitKey))
	if raw == nil {
		return ExitMark{}, false, nil
	}
	var mark ExitMark
	if err := json.Unmarshal(raw, &mark); err != nil {
		return ExitMark{}, false, fmt.Errorf("decode exit %q: %w", m.ExitKey, err)
	}
	return mark, true, nil
}

// ExitMarked reports whether key was ended, and by what.
func (db *DB) ExitMarked(key string) (ExitMark, bool, error) {
	var mark ExitMark
	var ok bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		mark, ok, err = exitedInTx(tx, &Message{ExitKey: key})
		return err
	})
	return mark, ok, err
}

// EventsAfter returns up to max events of the log with Seq > seq, in order.
func (db *DB) EventsAfter(seq uint64, max int) ([]ShopEvent, error) {
	if max <= 0 {
		max = 1000
	}
	var out []ShopEvent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(u64(seq + 1)); k != nil && len(out) < max; k, v = c.Next() {
			var ev ShopEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("decode event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// LastEventSeq returns the Seq of the newest stored event (0: none yet).
func (db *DB) LastEventSeq() (uint64, error) {
	var seq uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bucketEvents).Cursor().Last()
		seq = 0
		if len(k) == 8 {
			seq = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return seq, err
}

// Event returns the event of the log with seq, or an error wrapping
// ErrNotFound.
func (db *DB) Event(seq uint64) (ShopEvent, error) {
	var ev ShopEvent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		ev, err = getRecord[ShopEvent](tx, bucketEvents, seq, "event")
		return err
	})
	return ev, err
}

// EventsOf returns number's events that occurred at or after since, oldest
// first, through the (number, type, time) index: of type typ, or of every
// type when typ is "". It reads only that number's entries.
func (db *DB) EventsOf(number, typ string, since time.Time) ([]ShopEvent, error) {
	var out []ShopEvent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = shopEventsOf(tx, number, typ, since)
		return err
	})
	return out, err
}

// shopEventsOf is EventsOf inside tx.
func shopEventsOf(tx *bbolt.Tx, number, typ string, since time.Time) ([]ShopEvent, error) {
	var out []ShopEvent
	prefix := numberPrefix(number)
	if typ != "" {
		prefix = append(append(prefix, typ...), 0)
	}
	c := tx.Bucket(bucketEventsByNumber).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		at, seq, ok := eventKeyTail(k)
		if !ok || at.Before(since) {
			continue
		}
		ev, err := getRecord[ShopEvent](tx, bucketEvents, seq, "event")
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b ShopEvent) int {
		if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
			return c
		}
		return cmpU64(a.Seq, b.Seq)
	})
	return out, nil
}

// CountEventsOf counts number's events of typ that occurred in [since,
// until) without decoding them: the key holds the time.
func (db *DB) CountEventsOf(number, typ string, since, until time.Time) (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		n = 0
		prefix := append(append(numberPrefix(number), typ...), 0)
		c := tx.Bucket(bucketEventsByNumber).Cursor()
		for k, _ := c.Seek(append(slices.Clone(prefix), u64(nanos(since))...)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			at, _, ok := eventKeyTail(k)
			if ok && !at.Before(until) {
				break
			}
			if ok {
				n++
			}
		}
		return nil
	})
	return n, err
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// PurgeEventsBefore deletes up to max events received before cutoff,
// oldest first, with their index entries (the retention setting), and
// reports how many went. The log's order is the order of receipt, so it
// stops at the first event that is young enough.
func (db *DB) PurgeEventsBefore(cutoff time.Time, max int) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		n = 0
		c := tx.Bucket(bucketEvents).Cursor()
		var old []ShopEvent
		for k, v := c.First(); k != nil && len(old) < max; k, v = c.Next() {
			var ev ShopEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("decode event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if !ev.ReceivedAt.Before(cutoff) {
				break
			}
			old = append(old, ev)
		}
		for i := range old {
			if err := deleteEvent(tx, &old[i]); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}

// eraseEvents deletes every event of number (GDPR erasure) and returns how
// many.
func eraseEvents(tx *bbolt.Tx, number string) (int, error) {
	prefix := numberPrefix(number)
	var seqs []uint64
	c := tx.Bucket(bucketEventsByNumber).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if _, seq, ok := eventKeyTail(k); ok {
			seqs = append(seqs, seq)
		}
	}
	for _, seq := range seqs {
		ev, err := getRecord[ShopEvent](tx, bucketEvents, seq, "event")
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if err := deleteEvent(tx, &ev); err != nil {
			return 0, err
		}
	}
	return len(seqs), nil
}

// deleteEvent removes ev and its index entries. Its exit marks stay: they
// name checkouts, not people, and a text must not come back to life.
func deleteEvent(tx *bbolt.Tx, ev *ShopEvent) error {
	for _, d := range []struct {
		bucket, key []byte
	}{
		{bucketEvents, u64(ev.Seq)},
		{bucketEventIDs, eventIDKey(ev.Source, ev.ID)},
		{bucketEventsByNumber, eventNumberKey(ev)},
		{bucketEventsByType, eventTypeKey(ev)},
	} {
		if err := tx.Bucket(d.bucket).Delete(d.key); err != nil {
			return err
		}
	}
	return nil
}

// eventIDKey is source | 0x00 | id.
func eventIDKey(source, id string) []byte {
	return append(append([]byte(source), 0), id...)
}

// eventNumberKey is number | 0x00 | type | 0x00 | occurred nanos | seq.
func eventNumberKey(ev *ShopEvent) []byte {
	k := append(numberPrefix(ev.Number), ev.Type...)
	k = append(k, 0)
	k = append(k, u64(nanos(ev.OccurredAt))...)
	return append(k, u64(ev.Seq)...)
}

// eventTypeKey is type | 0x00 | occurred nanos | seq.
func eventTypeKey(ev *ShopEvent) []byte {
	k := append([]byte(ev.Type), 0)
	k = append(k, u64(nanos(ev.OccurredAt))...)
	return append(k, u64(ev.Seq)...)
}

// eventKeyTail reads the time and seq that end an events index key.
func eventKeyTail(k []byte) (time.Time, uint64, bool) {
	if len(k) < 16 {
		return time.Time{}, 0, false
	}
	t := k[len(k)-16:]
	return fromNanos(binary.BigEndian.Uint64(t[:8])), binary.BigEndian.Uint64(t[8:]), true
}

// EventsOfType returns events of typ that occurred in [since, until),
// oldest first, up to max, through the (type, time) index.
func (db *DB) EventsOfType(typ string, since, until time.Time, max int) ([]ShopEvent, error) {
	var out []ShopEvent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		prefix := append([]byte(typ), 0)
		c := tx.Bucket(bucketEventsByType).Cursor()
		for k, _ := c.Seek(append(slices.Clone(prefix), u64(nanos(since))...)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < max; k, _ = c.Next() {
			at, seq, ok := eventKeyTail(k)
			if !ok {
				continue
			}
			if !at.Before(until) {
				break
			}
			ev, err := getRecord[ShopEvent](tx, bucketEvents, seq, "event")
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

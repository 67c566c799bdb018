package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// Flows are automated sequences of texts started by shop events (package
// gateway/flows decides what they mean). The store keeps them durable: a
// flow and every version of its definition, each contact's entry with the
// steps it has done, the due index the scheduler reads from the front, the
// per-flow counters and the cursors of the logs the flows consume.

// FlowStatus says whether a flow takes new entries and advances its
// waiting ones.
type FlowStatus string

const (
	FlowActive FlowStatus = "active"
	FlowPaused FlowStatus = "paused"
)

// Flow is the head record of an automated flow. Its definition lives in
// versions: editing a flow adds a version, and an entry keeps the version it
// entered with.
type Flow struct {
	ID      uint64     `json:"id"`
	Name    string     `json:"name"`
	Status  FlowStatus `json:"status"`
	Version int        `json:"version"` // the version new entries take
	// Preset names the ready-made flow it was made from ("abandoned_cart"),
	// empty for one built from scratch.
	Preset    string    `json:"preset,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FlowVersion is one saved definition of a flow. The store keeps it as the
// gateway encoded it; a version never changes once written.
type FlowVersion struct {
	Flow       uint64          `json:"flow"`
	Version    int             `json:"version"`
	Definition json.RawMessage `json:"definition"`
	CreatedAt  time.Time       `json:"created_at"`
}

// FlowCounters are a flow's totals, kept as entries change (never counted
// by a scan).
type FlowCounters struct {
	Entered int64 `json:"entered"`
	Waiting int64 `json:"waiting"` // entries not yet done or exited (paused ones included)
	Sent    int64 `json:"sent"`    // texts the network accepted
	Clicked int64 `json:"clicked"` // texts whose link was followed (once per text)
	// Orders and Revenue (per ISO 4217 currency, minor units) are what
	// the flows credited themselves before attribution took over; they no
	// longer move. A flow's orders are attribution's results of
	// "flow:<id>", which the facade shows in their place.
	Orders  int64            `json:"orders"`
	Revenue map[string]int64 `json:"revenue,omitempty"`
}

// EntryState is where a flow entry stands.
type EntryState string

const (
	EntryWaiting EntryState = "waiting" // in the due index until DueAt
	EntryPaused  EntryState = "paused"  // its flow is paused: out of the due index until resumed
	EntryDone    EntryState = "done"    // every step ran
	EntryExited  EntryState = "exited"  // left early; Reason says why
)

// Active reports whether the entry may still send.
func (s EntryState) Active() bool { return s == EntryWaiting || s == EntryPaused }

// Step record states: a send is marked submitting before it is handed to
// the outbox and submitted after, so a crash in between is seen at the next
// start and resolved by looking the message up, never by sending again.
const (
	StepSubmitting = "submitting"
	StepSubmitted  = "submitted"
	StepSkipped    = "skipped"
	StepPassed     = "passed"
	StepWaited     = "waited"
)

// FlowStepRecord is what one step of an entry did.
type FlowStepRecord struct {
	Step  int       `json:"step"`
	Kind  string    `json:"kind"`
	At    time.Time `json:"at"`
	State string    `json:"state"`
	// MessageID is the text a send step handed to the outbox; Key its
	// idempotency key.
	MessageID uint64 `json:"message_id,omitempty"`
	Key       string `json:"key,omitempty"`
	// Status and Hold are the text's outcome as last heard from the
	// outbox ("sent", "suppressed"; "quiet hours ...").
	Status  string `json:"status,omitempty"`
	Hold    string `json:"hold,omitempty"`
	Note    string `json:"note,omitempty"`
	Sent    bool   `json:"sent,omitempty"`    // counted once in FlowCounters.Sent
	Clicked bool   `json:"clicked,omitempty"` // counted once in FlowCounters.Clicked
	Final   bool   `json:"final,omitempty"`   // the text's outcome will not change
}

// FlowEntry is one contact's way through one version of a flow.
type FlowEntry struct {
	ID      uint64     `json:"id"`
	Flow    uint64     `json:"flow"`
	Version int        `json:"version"`
	Number  string     `json:"number"`
	State   EntryState `json:"state"`
	Step    int        `json:"step"` // the next step to run
	// StepDue is when the current wait step ends; zero until the step has
	// started waiting.
	StepDue time.Time `json:"step_due,omitempty"`
	DueAt   time.Time `json:"due_at"` // when the scheduler looks at it next (waiting only)
	// Key is what makes the entry unique in its flow ("checkout:shopify:1",
	// "number:+1..."); ReenterAfter how long until the same key may enter
	// again (0: never).
	Key          string        `json:"key"`
	ReenterAfter time.Duration `json:"reenter_after,omitempty"`
	// ExitKey ends the entry when its mark is set: an order for the
	// trigger's checkout ("checkout:shopify:1").
	ExitKey string `json:"exit_key,omitempty"`
	// ExitOnOrder: any order by the contact ends the entry (win-back).
	ExitOnOrder bool `json:"exit_on_order,omitempty"`
	// Trigger is what started the entry (the shop event, or the consent
	// event or date), as the gateway encoded it.
	Trigger   json.RawMessage  `json:"trigger,omitempty"`
	EventSeq  uint64           `json:"event_seq,omitempty"`
	EnteredAt time.Time        `json:"entered_at"`
	UpdatedAt time.Time        `json:"updated_at"`
	Steps     []FlowStepRecord `json:"steps,omitempty"`
	Reason    string           `json:"reason,omitempty"` // why it exited or what it did last
	// LastSentAt is when the entry last handed a text to the outbox.
	LastSentAt time.Time `json:"last_sent_at,omitempty"`
	// OrderID, OrderTotal and OrderCurrency: the order the flows credited
	// to the entry before orders were attributed by the one rule for
	// every text (store/attribution.go); set on entries of that time
	// only, and read only to show them.
	OrderID       string `json:"order_id,omitempty"`
	OrderTotal    int64  `json:"order_total,omitempty"`
	OrderCurrency string `json:"order_currency,omitempty"`
}

// Record returns the record of step i, or nil.
func (e *FlowEntry) Record(step int) *FlowStepRecord {
	for i := range e.Steps {
		if e.Steps[i].Step == step {
			return &e.Steps[i]
		}
	}
	return nil
}

// FlowOrder is an order seen in the event log: it ends the entries of its
// checkout (ExitKey) and of its contact that exit on any order. Which text
// earned it is attribution's (store/attribution.go), as for every text.
type FlowOrder struct {
	Number string
	// ExitKeys are the keys the order ends (ShopEvent.Ends):
	// "checkout:<source>:<id>".
	ExitKeys []string
	// Seq is the order's place in the event log: entries that the same
	// or a later event started are not ended by it.
	Seq     uint64
	OrderID string
}

// FlowBatch is what the flow engine makes of a page of the logs it
// consumes, committed in one transaction with the cursors that say the
// page is done: a crash before the commit reads the page again, after it
// never.
type FlowBatch struct {
	EventCursor   uint64 // the last shop event handled (0: unchanged)
	ConsentCursor uint64 // the last consent ledger entry handled (0: unchanged)
	Enter         []FlowEntry
	Orders        []FlowOrder
	// Exits end the active entries of a number for a reason (an opt-out).
	Exits []FlowNumberExit
	// DateRun records the day (e.g. "2026-12-05") the date triggers ran for.
	DateRun string
}

// FlowNumberExit ends every active entry of Number.
type FlowNumberExit struct {
	Number string
	Reason string
}

// FlowBatchResult says what a FlowBatch changed.
type FlowBatchResult struct {
	Entered []FlowEntry
	Ended   []FlowEntry
}

// keys in bucketMeta for the flow engine's cursors.
var (
	keyFlowEventCursor   = []byte("flow_event_cursor")
	keyFlowConsentCursor = []byte("flow_consent_cursor")
	keyFlowDateRun       = []byte("flow_date_run")
)

// MaxFlowVersions bounds the versions kept per flow, so an edit a day for
// years cannot grow the file without end; entries on a pruned version are
// ended with a reason when they next run.
const MaxFlowVersions = 1000

func flowVersionKey(flow uint64, version int) []byte {
	return append(u64(flow), u64(uint64(version))...)
}

func flowEntryIndexes() []index[FlowEntry] {
	return []index[FlowEntry]{
		{bucketFlowDue, flowDueEntries},
		{bucketFlowPaused, flowPausedEntries},
		{bucketFlowByNumber, flowNumberEntries},
		{bucketFlowByExit, flowExitEntries},
		{bucketFlowPendingSends, flowPendingEntries},
		{bucketFlowByFlow, flowByFlowEntries},
	}
}

// flowByFlowEntries: every entry is listed under its flow, for the
// console's page of a flow's entries.
func flowByFlowEntries(e *FlowEntry) []indexEntry {
	return []indexEntry{{key: append(u64(e.Flow), u64(e.ID)...), value: []byte{}}}
}

// flowDueEntries: a waiting entry is in the due index at DueAt, so the
// scheduler reads only what is due from the front.
func flowDueEntries(e *FlowEntry) []indexEntry {
	if e.State != EntryWaiting {
		return nil
	}
	return []indexEntry{{key: append(u64(nanos(e.DueAt)), u64(e.ID)...), value: []byte{}}}
}

func flowPausedEntries(e *FlowEntry) []indexEntry {
	if e.State != EntryPaused {
		return nil
	}
	return []indexEntry{{key: append(u64(e.Flow), u64(e.ID)...), value: []byte{}}}
}

// flowNumberEntries: every entry is listed under its number, for orders
// by the contact, opt-outs and erasure.
func flowNumberEntries(e *FlowEntry) []indexEntry {
	return []indexEntry{{key: numberKey(e.Number, e.ID), value: []byte{}}}
}

func flowExitEntries(e *FlowEntry) []indexEntry {
	if e.ExitKey == "" {
		return nil
	}
	return []indexEntry{{key: numberKey(e.ExitKey, e.ID), value: []byte{}}}
}

// flowPendingEntries: each text whose outcome may still change, so that
// the outbox's news about a message finds its entry without a scan, and a
// start can catch up on news it missed.
func flowPendingEntries(e *FlowEntry) []indexEntry {
	var out []indexEntry
	for _, r := range e.Steps {
		if r.MessageID == 0 || r.Final {
			continue
		}
		v := append(u64(e.ID), u64(uint64(r.Step))...)
		out = append(out, indexEntry{key: u64(r.MessageID), value: v})
	}
	return out
}

func getFlow(tx *bbolt.Tx, id uint64) (Flow, error) {
	return getJSON[Flow](tx.Bucket(bucketFlows), u64(id), "flow")
}

func getFlowEntry(tx *bbolt.Tx, id uint64) (FlowEntry, error) {
	return getJSON[FlowEntry](tx.Bucket(bucketFlowEntries), u64(id), "flow entry")
}

func getJSON[T any](b *bbolt.Bucket, key []byte, what string) (T, error) {
	var v T
	raw := b.Get(key)
	if raw == nil {
		return v, fmt.Errorf("%s %x: %w", what, key, ErrNotFound)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("store: decode %s %x: %w", what, key, err)
	}
	return v, nil
}

// putJSON stores v as JSON under key in b.
func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// CreateFlow stores a new flow with def as its version 1.
func (db *DB) CreateFlow(f Flow, def json.RawMessage) (Flow, error) {
	if strings.TrimSpace(f.Name) == "" {
		return Flow{}, &FieldError{Field: "name", Message: "must not be empty"}
	}
	if f.Status == "" {
		f.Status = FlowActive
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketFlows)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		now := db.now()
		f.ID, f.Version, f.CreatedAt, f.UpdatedAt = id, 1, now, now
		if err := putJSON(b, u64(id), f); err != nil {
			return err
		}
		v := FlowVersion{Flow: id, Version: 1, Definition: def, CreatedAt: now}
		return putJSON(tx.Bucket(bucketFlowVersions), flowVersionKey(id, 1), v)
	})
	if err != nil {
		return Flow{}, fmt.Errorf("store: create flow: %w", err)
	}
	return f, nil
}

// UpdateFlow saves def as the flow's next version (entries already in
// keep theirs) and renames it; check, when set, runs on the current record
// inside the transaction and may refuse.
func (db *DB) UpdateFlow(id uint64, name string, def json.RawMessage) (Flow, error) {
	var f Flow
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		var err error
		if f, err = getFlow(tx, id); err != nil {
			return err
		}
		if f.Version >= MaxFlowVersions {
			return &FieldError{Field: "definition", Message: fmt.Sprintf("the flow has %d versions, the most kept; copy it into a new flow", MaxFlowVersions)}
		}
		now := db.now()
		f.Version++
		f.UpdatedAt = now
		if strings.TrimSpace(name) != "" {
			f.Name = name
		}
		if err := putJSON(tx.Bucket(bucketFlows), u64(id), f); err != nil {
			return err
		}
		v := FlowVersion{Flow: id, Version: f.Version, Definition: def, CreatedAt: now}
		return putJSON(tx.Bucket(bucketFlowVersions), flowVersionKey(id, f.Version), v)
	})
	if err != nil {
		return Flow{}, err
	}
	return f, nil
}

// GetFlow returns one flow.
func (db *DB) GetFlow(id uint64) (Flow, error) {
	var f Flow
	err := db.bolt.View(func(tx *bbolt.Tx) (err error) { f, err = getFlow(tx, id); return err })
	return f, err
}

// Flows lists every flow, oldest first.
func (db *DB) Flows() ([]Flow, error) {
	var out []Flow
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketFlows).ForEach(func(k, v []byte) error {
			var f Flow
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("store: decode flow %x: %w", k, err)
			}
			out = append(out, f)
			return nil
		})
	})
	return out, err
}

// GetFlowVersion returns one version of a flow's definition.
func (db *DB) GetFlowVersion(flow uint64, version int) (FlowVersion, error) {
	var v FlowVersion
	err := db.bolt.View(func(tx *bbolt.Tx) (err error) {
		v, err = getJSON[FlowVersion](tx.Bucket(bucketFlowVersions), flowVersionKey(flow, version), "flow version")
		return err
	})
	return v, err
}

// GetFlowCounters returns a flow's counters.
func (db *DB) GetFlowCounters(flow uint64) (FlowCounters, error) {
	var c FlowCounters
	err := db.bolt.View(func(tx *bbolt.Tx) (err error) { c, err = flowCounters(tx, flow); return err })
	return c, err
}

func flowCounters(tx *bbolt.Tx, flow uint64) (FlowCounters, error) {
	c, err := getJSON[FlowCounters](tx.Bucket(bucketFlowCounters), u64(flow), "flow counters")
	if errors.Is(err, ErrNotFound) {
		return FlowCounters{}, nil
	}
	return c, err
}

// countEntry adds to the flow's counters what changed from old to e (nil
// for an insert or a delete).
func countEntry(tx *bbolt.Tx, old, e *FlowEntry) error {
	ref := e
	if ref == nil {
		ref = old
	}
	c, err := flowCounters(tx, ref.Flow)
	if err != nil {
		return err
	}
	active := func(x *FlowEntry) int64 {
		if x != nil && x.State.Active() {
			return 1
		}
		return 0
	}
	flags := func(x *FlowEntry) (sent, clicked int64) {
		if x == nil {
			return 0, 0
		}
		for _, r := range x.Steps {
			if r.Sent {
				sent++
			}
			if r.Clicked {
				clicked++
			}
		}
		return sent, clicked
	}
	if old == nil {
		c.Entered++
	}
	c.Waiting += active(e) - active(old)
	if e == nil {
		// An erased entry leaves the totals of what happened; only what
		// still waits goes.
	} else {
		s0, c0 := flags(old)
		s1, c1 := flags(e)
		c.Sent += s1 - s0
		c.Clicked += c1 - c0
	}
	return putJSON(tx.Bucket(bucketFlowCounters), u64(ref.Flow), c)
}

// putFlowEntry writes e, its index entries and the counters' change from
// old (nil for a new entry).
func putFlowEntry(tx *bbolt.Tx, old, e *FlowEntry) error {
	if err := putJSON(tx.Bucket(bucketFlowEntries), u64(e.ID), e); err != nil {
		return err
	}
	if err := reindex(tx, flowEntryIndexes(), old, e); err != nil {
		return err
	}
	return countEntry(tx, old, e)
}

// SetFlowStatus pauses or resumes a flow. Resuming puts the entries that
// the pause took out of the due index back in, due at once if their time
// has passed.
func (db *DB) SetFlowStatus(id uint64, status FlowStatus) (Flow, error) {
	if status != FlowActive && status != FlowPaused {
		return Flow{}, &FieldError{Field: "status", Message: "must be active or paused"}
	}
	var f Flow
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		var err error
		if f, err = getFlow(tx, id); err != nil {
			return err
		}
		now := db.now()
		f.Status, f.UpdatedAt = status, now
		if err := putJSON(tx.Bucket(bucketFlows), u64(id), f); err != nil {
			return err
		}
		if status != FlowActive {
			// Waiting entries leave the due index when they next come
			// due: pausing never walks them.
			return nil
		}
		var ids []uint64
		c := tx.Bucket(bucketFlowPaused).Cursor()
		prefix := u64(id)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, binary.BigEndian.Uint64(k[8:]))
		}
		for _, eid := range ids {
			if _, err := updateFlowEntry(tx, eid, now, func(e *FlowEntry) error {
				e.State = EntryWaiting
				if e.DueAt.Before(now) {
					e.DueAt = now
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Flow{}, err
	}
	return f, nil
}

// GetFlowEntry returns one entry.
func (db *DB) GetFlowEntry(id uint64) (FlowEntry, error) {
	var e FlowEntry
	err := db.bolt.View(func(tx *bbolt.Tx) (err error) { e, err = getFlowEntry(tx, id); return err })
	return e, err
}

// UpdateFlowEntry changes entry id with fn and commits. An entry erased
// meanwhile answers ErrNotFound and is not written again. Concurrent
// calls share a commit (the engine runs due entries side by side), so fn
// may run more than once and must only change e.
func (db *DB) UpdateFlowEntry(id uint64, fn func(e *FlowEntry) error) (FlowEntry, error) {
	var out FlowEntry
	err := db.bolt.Batch(func(tx *bbolt.Tx) (err error) {
		out, err = updateFlowEntry(tx, id, db.now(), fn)
		return err
	})
	return out, err
}

func updateFlowEntry(tx *bbolt.Tx, id uint64, now time.Time, fn func(e *FlowEntry) error) (FlowEntry, error) {
	old, err := getFlowEntry(tx, id)
	if err != nil {
		return FlowEntry{}, err
	}
	e, err := getFlowEntry(tx, id) // a copy sharing no slices with old
	if err != nil {
		return FlowEntry{}, err
	}
	if err := fn(&e); err != nil {
		return FlowEntry{}, err
	}
	e.ID, e.UpdatedAt = id, now
	if err := putFlowEntry(tx, &old, &e); err != nil {
		return FlowEntry{}, err
	}
	return e, nil
}

// DueFlowEntries returns up to limit waiting entries due at or before now,
// earliest first. It reads the due index from the front and stops at the
// first entry not yet due: its cost follows what is due, not what waits.
func (db *DB) DueFlowEntries(now time.Time, limit int) ([]FlowEntry, error) {
	var out []FlowEntry
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketFlowDue).Cursor()
		until := nanos(now)
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if binary.BigEndian.Uint64(k[:8]) > until {
				break
			}
			e, err := getFlowEntry(tx, binary.BigEndian.Uint64(k[8:]))
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// NextFlowDue returns when the earliest waiting entry is due.
func (db *DB) NextFlowDue() (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bucketFlowDue).Cursor().First()
		if k != nil {
			at, ok = fromNanos(binary.BigEndian.Uint64(k[:8])), true
		}
		return nil
	})
	return at, ok, err
}

// FlowEntries lists a page of a flow's entries, newest first, and the
// cursor for the next page (0: no more).
func (db *DB) FlowEntries(flow uint64, before uint64, limit int) ([]FlowEntry, uint64, error) {
	limit = clampLimit(limit)
	var out []FlowEntry
	var next uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		ids, more := walkBack(tx.Bucket(bucketFlowByFlow).Cursor(), u64(flow), before, limit)
		for _, id := range ids {
			e, err := getFlowEntry(tx, id)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		if more && len(ids) > 0 {
			next = ids[len(ids)-1]
		}
		return nil
	})
	return out, next, err
}

// FlowEntriesOf lists the entries of a number, oldest first.
func (db *DB) FlowEntriesOf(number string) ([]FlowEntry, error) {
	var out []FlowEntry
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = recordsUnder(tx, bucketFlowByNumber, numberPrefix(number), getFlowEntry)
		return err
	})
	return out, err
}

// FlowEntryOfMessage finds the entry and step that handed message id to
// the outbox, while its outcome may still change.
func (db *DB) FlowEntryOfMessage(id uint64) (entry uint64, step int, ok bool, err error) {
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketFlowPendingSends).Get(u64(id))
		if len(v) == 16 {
			entry, step, ok = binary.BigEndian.Uint64(v[:8]), int(binary.BigEndian.Uint64(v[8:])), true
		}
		return nil
	})
	return
}

// PendingFlowSends lists the texts handed to the outbox whose outcome the
// entries have not yet recorded as final: message ID → entry ID.
func (db *DB) PendingFlowSends() (map[uint64]uint64, error) {
	out := map[uint64]uint64{}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketFlowPendingSends).ForEach(func(k, v []byte) error {
			if len(k) == 8 && len(v) == 16 {
				out[binary.BigEndian.Uint64(k)] = binary.BigEndian.Uint64(v[:8])
			}
			return nil
		})
	})
	return out, err
}

// FlowCursors returns the flow engine's cursors: the last shop event and
// consent ledger entry handled and the last day date triggers ran for.
func (db *DB) FlowCursors() (events, consent uint64, dateRun string, err error) {
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyFlowEventCursor); len(v) == 8 {
			events = binary.BigEndian.Uint64(v)
		}
		if v := meta.Get(keyFlowConsentCursor); len(v) == 8 {
			consent = binary.BigEndian.Uint64(v)
		}
		dateRun = string(meta.Get(keyFlowDateRun))
		return nil
	})
	return
}

// CommitFlowBatch applies b in one transaction: new entries (one per flow
// and key, unless ReenterAfter has passed), orders (exits and
// attribution), exits by number, and the cursors.
func (db *DB) CommitFlowBatch(b FlowBatch) (FlowBatchResult, error) {
	var res FlowBatchResult
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		res = FlowBatchResult{}
		now := db.now()
		for _, e := range b.Enter {
			stored, ok, err := enterFlow(tx, e, now)
			if err != nil {
				return err
			}
			if ok {
				res.Entered = append(res.Entered, stored)
			}
		}
		for _, o := range b.Orders {
			ended, err := applyFlowOrder(tx, o, now)
			if err != nil {
				return err
			}
			res.Ended = append(res.Ended, ended...)
		}
		for _, x := range b.Exits {
			ids := idsUnder(tx.Bucket(bucketFlowByNumber), numberPrefix(x.Number))
			for _, id := range ids {
				e, changed, err := endFlowEntry(tx, id, now, x.Reason)
				if err != nil {
					return err
				}
				if changed {
					res.Ended = append(res.Ended, e)
				}
			}
		}
		meta := tx.Bucket(bucketMeta)
		if b.EventCursor != 0 {
			if err := meta.Put(keyFlowEventCursor, u64(b.EventCursor)); err != nil {
				return err
			}
		}
		if b.ConsentCursor != 0 {
			if err := meta.Put(keyFlowConsentCursor, u64(b.ConsentCursor)); err != nil {
				return err
			}
		}
		if b.DateRun != "" {
			if err := meta.Put(keyFlowDateRun, []byte(b.DateRun)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return FlowBatchResult{}, fmt.Errorf("store: flow batch: %w", err)
	}
	return res, nil
}

// enterFlow stores e as a new entry unless its flow already has one for
// e.Key that may not be entered again yet.
func enterFlow(tx *bbolt.Tx, e FlowEntry, now time.Time) (FlowEntry, bool, error) {
	if e.Flow == 0 || e.Number == "" || e.Key == "" {
		return FlowEntry{}, false, fmt.Errorf("store: flow entry needs a flow, a number and a key")
	}
	once := tx.Bucket(bucketFlowOnce)
	onceKey := append(u64(e.Flow), e.Key...)
	if v := once.Get(onceKey); len(v) == 16 {
		last := fromNanos(binary.BigEndian.Uint64(v[8:]))
		if e.ReenterAfter <= 0 || e.EnteredAt.Sub(last) < e.ReenterAfter {
			return FlowEntry{}, false, nil
		}
	}
	b := tx.Bucket(bucketFlowEntries)
	id, err := b.NextSequence()
	if err != nil {
		return FlowEntry{}, false, err
	}
	e.ID = id
	if e.State == "" {
		e.State = EntryWaiting
	}
	if e.EnteredAt.IsZero() {
		e.EnteredAt = now
	}
	if e.DueAt.IsZero() {
		e.DueAt = e.EnteredAt
	}
	e.UpdatedAt = now
	if err := putFlowEntry(tx, nil, &e); err != nil {
		return FlowEntry{}, false, err
	}
	if err := once.Put(onceKey, append(u64(id), u64(nanos(e.EnteredAt))...)); err != nil {
		return FlowEntry{}, false, err
	}
	return e, true, nil
}

// endFlowEntry exits an active entry with reason; changed is false for one
// already ended.
func endFlowEntry(tx *bbolt.Tx, id uint64, now time.Time, reason string) (FlowEntry, bool, error) {
	changed := false
	e, err := updateFlowEntry(tx, id, now, func(e *FlowEntry) error {
		if !e.State.Active() {
			return errSkipEntry
		}
		e.State, e.Reason, changed = EntryExited, reason, true
		return nil
	})
	if errors.Is(err, errSkipEntry) {
		return FlowEntry{}, false, nil
	}
	return e, changed, err
}

var errSkipEntry = errors.New("entry unchanged")

// applyFlowOrder ends the entries o ends.
func applyFlowOrder(tx *bbolt.Tx, o FlowOrder, now time.Time) ([]FlowEntry, error) {
	var ended []FlowEntry
	reason := "order " + o.OrderID + " placed"
	for _, key := range o.ExitKeys {
		for _, id := range idsUnder(tx.Bucket(bucketFlowByExit), numberPrefix(key)) {
			if e, err := getFlowEntry(tx, id); err != nil {
				return nil, err
			} else if o.Seq != 0 && e.EventSeq >= o.Seq {
				continue
			}
			e, changed, err := endFlowEntry(tx, id, now, reason)
			if err != nil {
				return nil, err
			}
			if changed {
				ended = append(ended, e)
			}
		}
	}
	if o.Number != "" {
		for _, id := range idsUnder(tx.Bucket(bucketFlowByNumber), numberPrefix(o.Number)) {
			e, err := getFlowEntry(tx, id)
			if err != nil {
				return nil, err
			}
			if o.Seq != 0 && e.EventSeq >= o.Seq {
				continue // this order (or a later event) started it
			}
			if e.ExitOnOrder && e.State.Active() {
				ne, changed, err := endFlowEntry(tx, id, now, reason)
				if err != nil {
					return nil, err
				}
				if changed {
					ended = append(ended, ne)
				}
			}
		}
	}
	return ended, nil
}

// eraseFlowEntries deletes every flow entry of number (erasure); the
// flows' totals keep what happened, without the person.
func eraseFlowEntries(tx *bbolt.Tx, number string) (int, error) {
	ids := idsUnder(tx.Bucket(bucketFlowByNumber), numberPrefix(number))
	for _, id := range ids {
		e, err := getFlowEntry(tx, id)
		if err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketFlowEntries).Delete(u64(id)); err != nil {
			return 0, err
		}
		if err := reindex(tx, flowEntryIndexes(), &e, nil); err != nil {
			return 0, err
		}
		if err := countEntry(tx, &e, nil); err != nil {
			return 0, err
		}
		// The key that keeps the contact from entering twice may name the
		// number ("number:+1..."): it goes too.
		onceKey := append(u64(e.Flow), e.Key...)
		if v := tx.Bucket(bucketFlowOnce).Get(onceKey); len(v) == 16 && binary.BigEndian.Uint64(v[:8]) == id {
			if err := tx.Bucket(bucketFlowOnce).Delete(onceKey); err != nil {
				return 0, err
			}
		}
	}
	return len(ids), nil
}

// MessageByKey finds the text sent to number under an idempotency key of
// scope, however long ago: through the idempotency index while the key is
// in it (24 h), then among the number's texts. The flow engine asks it
// after a restart, to learn whether a send it had begun reached the
// outbox.
func (db *DB) MessageByKey(scope, key, number string) (Message, bool, error) {
	var out Message
	var found bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		m, ok, err := findIdempotent(tx, scope, key, db.now())
		if err != nil {
			return err
		}
		if ok && m.To == number {
			out, found = m, true
			return nil
		}
		for _, id := range idsUnder(tx.Bucket(bucketMsgByTo), numberPrefix(number)) {
			m, err := getMessage(tx, id)
			if err != nil {
				return err
			}
			if m.IdempotencyKey == key && m.IdempotencyScope == scope {
				out, found = m, true
				return nil
			}
		}
		return nil
	})
	return out, found, err
}

// ConsentEventsAfter returns up to max entries of the consent ledger with
// ID > id, in order: the flow engine reads opt-ins and opt-outs from it
// with a cursor, as it reads the shop's events.
func (db *DB) ConsentEventsAfter(id uint64, max int) ([]ConsentEvent, error) {
	var out []ConsentEvent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = nil
		c := tx.Bucket(bucketConsentEvents).Cursor()
		for k, v := c.Seek(u64(id + 1)); k != nil && len(out) < max; k, v = c.Next() {
			var ev ConsentEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("store: decode consent event %x: %w", k, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// PruneFlowEntries deletes up to max entries that ended (done or exited)
// before cutoff, oldest first, with their index entries and the key that
// kept them from entering twice; the flows' counters keep what they did.
// It reads entries in the order they entered and stops at the first that
// entered after cutoff, so a pass costs the old entries, not all of them.
func (db *DB) PruneFlowEntries(cutoff time.Time, max int) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		n = 0
		var drop []FlowEntry
		c := tx.Bucket(bucketFlowEntries).Cursor()
		for k, v := c.First(); k != nil && len(drop) < max; k, v = c.Next() {
			var e FlowEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("store: decode flow entry %x: %w", k, err)
			}
			if !e.EnteredAt.Before(cutoff) {
				break
			}
			if !e.State.Active() && e.UpdatedAt.Before(cutoff) {
				drop = append(drop, e)
			}
		}
		for i := range drop {
			e := &drop[i]
			if err := tx.Bucket(bucketFlowEntries).Delete(u64(e.ID)); err != nil {
				return err
			}
			if err := reindex(tx, flowEntryIndexes(), e, nil); err != nil {
				return err
			}
			onceKey := append(u64(e.Flow), e.Key...)
			if v := tx.Bucket(bucketFlowOnce).Get(onceKey); len(v) == 16 && binary.BigEndian.Uint64(v[:8]) == e.ID {
				if err := tx.Bucket(bucketFlowOnce).Delete(onceKey); err != nil {
					return err
				}
			}
		}
		n = len(drop)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune flow entries: %w", err)
	}
	return n, nil
}

package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// Change kinds: what happened, in dotted names that receivers of webhooks
// see as the payload's type. Stored on disk: never rename one.
const (
	ChangeMessageStatus   = "message.status"
	ChangeMessageInbound  = "message.inbound"
	ChangeConsentOptIn    = "consent.opt_in"
	ChangeConsentOptOut   = "consent.opt_out"
	ChangeConsentReview   = "consent.review"
	ChangeLinkClick       = "link.click"
	ChangeOrderAttributed = "order.attributed"
	ChangeModemDown       = "modem.down"
	ChangeModemUp         = "modem.up"
	ChangeSIMBudget       = "sim.budget_exhausted"
	ChangeSIMBalanceLow   = "sim.balance_low"
)

// ChangeKinds lists every kind a consumer may subscribe to, in the order
// the console shows them.
func ChangeKinds() []string {
	return []string{ChangeMessageStatus, ChangeMessageInbound, ChangeConsentOptIn, ChangeConsentOptOut,
		ChangeConsentReview, ChangeLinkClick, ChangeOrderAttributed, ChangeModemDown, ChangeModemUp, ChangeSIMBudget,
		ChangeSIMBalanceLow}
}

// ChangeRetention is how long an entry of the change feed is kept once
// every consumer has read past it: long enough to replay a week to a
// receiver that was broken over a holiday.
const ChangeRetention = 7 * 24 * time.Hour

// Change is one entry of the change feed: a state change, recorded in the
// transaction that made it, so a consumer with a cursor misses none.
type Change struct {
	Seq     uint64          `json:"seq"`
	At      time.Time       `json:"at"`
	Kind    string          `json:"kind"`
	Subject string          `json:"subject"` // the message ID, the number or the modem it is about
	Data    json.RawMessage `json:"data,omitempty"`
}

// changeRecord is a Change as stored: the key holds Seq, and short names
// keep the per-text cost of the feed small (a text makes three or four).
type changeRecord struct {
	At      int64           `json:"t"`
	Kind    string          `json:"k"`
	Subject string          `json:"s,omitempty"`
	Data    json.RawMessage `json:"d,omitempty"`
}

// MessageChange is the Data of a message.status change.
type MessageChange struct {
	ID       uint64 `json:"id"`
	To       string `json:"to"`
	Status   string `json:"status"`
	Previous string `json:"previous,omitempty"` // empty for a new message
	Modem    string `json:"modem,omitempty"`
	Error    string `json:"error,omitempty"`
	// Callback: the message has a per-message callback (Message.Callback),
	// so a consumer reads the message only for those.
	Callback bool `json:"callback,omitempty"`
}

// InboundChange is the Data of a message.inbound change.
type InboundChange struct {
	ID         uint64    `json:"id"`
	From       string    `json:"from"`
	Modem      string    `json:"modem"`
	Text       string    `json:"text"`
	ReceivedAt time.Time `json:"received_at"`
}

// ConsentChange is the Data of a consent.* change.
type ConsentChange struct {
	EventID uint64 `json:"event_id"`
	Number  string `json:"number"`
	Type    string `json:"type"`
	Method  string `json:"method,omitempty"`
	Source  string `json:"source,omitempty"`
	Keyword string `json:"keyword,omitempty"`
}

// LinkClickChange is the Data of a link.click change.
type LinkClickChange struct {
	Code       string    `json:"code"`
	URL        string    `json:"url"`
	Number     string    `json:"number"`
	Origin     string    `json:"origin,omitempty"`
	MessageKey string    `json:"message_key,omitempty"`
	Agent      string    `json:"agent"`
	At         time.Time `json:"at"`
}

// changeWatchers: *bbolt.DB → func(), what OnChange set. Keyed by the bolt
// handle because the functions that write changes (putMessage and its
// kin) get only the transaction, whose DB is the bolt handle.
var changeWatchers sync.Map

// OnChange sets fn to hear, after each commit that appended changes, that
// there is something new to read. fn must not block; readers use their
// own cursor, so a missed call loses nothing.
func (db *DB) OnChange(fn func()) { changeWatchers.Store(db.bolt.DB, fn) }

// appendChange adds an entry to the feed inside tx.
func appendChange(tx *bbolt.Tx, at time.Time, kind, subject string, data any) error {
	b := tx.Bucket(bucketChanges)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	rec := changeRecord{At: at.UnixNano(), Kind: kind, Subject: subject}
	if data != nil {
		if rec.Data, err = json.Marshal(data); err != nil {
			return fmt.Errorf("store: encode change: %w", err)
		}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: encode change: %w", err)
	}
	if err := b.Put(u64(seq), raw); err != nil {
		return err
	}
	if fn, ok := changeWatchers.Load(tx.DB()); ok {
		tx.OnCommit(fn.(func()))
	}
	return nil
}

// AppendChange records a change the process saw without a store write of
// its own (a modem went down, a SIM's budget ran out). data is encoded as
// JSON.
func (db *DB) AppendChange(kind, subject string, data any) (Change, error) {
	var out Change
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		if err := appendChange(tx, db.now(), kind, subject, data); err != nil {
			return err
		}
		out.Seq = tx.Bucket(bucketChanges).Sequence()
		return nil
	})
	if err != nil {
		return Change{}, fmt.Errorf("store: append change: %w", err)
	}
	return db.ChangeAt(out.Seq)
}

// ChangeAt returns the change of seq, or an error wrapping ErrNotFound.
func (db *DB) ChangeAt(seq uint64) (Change, error) {
	var c Change
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketChanges).Get(u64(seq))
		if raw == nil {
			return fmt.Errorf("store: change %d: %w", seq, ErrNotFound)
		}
		var err error
		c, err = decodeChange(u64(seq), raw)
		return err
	})
	return c, err
}

func decodeChange(k, v []byte) (Change, error) {
	var rec changeRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return Change{}, fmt.Errorf("store: decode change %x: %w", k, err)
	}
	return Change{Seq: binary.BigEndian.Uint64(k), At: time.Unix(0, rec.At).UTC(), Kind: rec.Kind,
		Subject: rec.Subject, Data: bytes.Clone(rec.Data)}, nil
}

// changesAfter reads up to max changes with Seq > seq inside tx.
func changesAfter(tx *bbolt.Tx, seq uint64, max int) ([]Change, error) {
	var out []Change
	c := tx.Bucket(bucketChanges).Cursor()
	for k, v := c.Seek(u64(seq + 1)); k != nil && len(out) < max; k, v = c.Next() {
		ch, err := decodeChange(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

// ChangesAfter returns up to max changes after seq, oldest first.
func (db *DB) ChangesAfter(seq uint64, max int) ([]Change, error) {
	var out []Change
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = changesAfter(tx, seq, max)
		return err
	})
	return out, err
}

// LastChangeSeq returns the Seq of the newest change ever appended.
func (db *DB) LastChangeSeq() (uint64, error) {
	var seq uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		seq = tx.Bucket(bucketChanges).Sequence()
		return nil
	})
	return seq, err
}

// ChangeCursor returns how far consumer has read (0: nothing yet).
func (db *DB) ChangeCursor(consumer string) (uint64, error) {
	var seq uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		seq = changeCursor(tx, consumer)
		return nil
	})
	return seq, err
}

func changeCursor(tx *bbolt.Tx, consumer string) uint64 {
	if v := tx.Bucket(bucketChangeCursors).Get([]byte(consumer)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func setChangeCursor(tx *bbolt.Tx, consumer string, seq uint64) error {
	return tx.Bucket(bucketChangeCursors).Put([]byte(consumer), u64(seq))
}

// PruneChanges deletes up to max entries that every consumer's cursor has
// passed and that are older than ChangeRetention, oldest first, and
// returns how many it deleted. With no consumer at all only age counts.
func (db *DB) PruneChanges(max int) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		n = 0
		limit := tx.Bucket(bucketChanges).Sequence()
		err := tx.Bucket(bucketChangeCursors).ForEach(func(_, v []byte) error {
			if len(v) == 8 {
				limit = min(limit, binary.BigEndian.Uint64(v))
			}
			return nil
		})
		if err != nil {
			return err
		}
		cutoff := db.now().Add(-ChangeRetention).UnixNano()
		b := tx.Bucket(bucketChanges)
		var drop [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(drop) < max && binary.BigEndian.Uint64(k) <= limit; k, v = c.Next() {
			var rec changeRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("store: decode change %x: %w", k, err)
			}
			if rec.At >= cutoff {
				break
			}
			drop = append(drop, bytes.Clone(k))
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(drop)
		return nil
	})
	return n, err
}

// messageChanged appends a message.status change when m's status differs
// from old's (nil: a new message).
func messageChanged(tx *bbolt.Tx, old, m *Message) error {
	if old != nil && old.Status == m.Status {
		return nil
	}
	d := MessageChange{ID: m.ID, To: m.To, Status: m.Status.String(), Modem: m.Modem, Error: m.Error, Callback: m.Callback != nil}
	if old != nil {
		d.Previous = old.Status.String()
	}
	at := m.UpdatedAt
	if at.IsZero() {
		at = time.Now()
	}
	return appendChange(tx, at, ChangeMessageStatus, strconv.FormatUint(m.ID, 10), d)
}

// consentChangeKinds maps ledger entries to the change they are; the rest
// (erasure, a double opt-in request sent) are not announced.
var consentChangeKinds = map[ConsentEventType]string{
	EventOptIn: ChangeConsentOptIn, EventDOIConfirm: ChangeConsentOptIn, EventResubscribe: ChangeConsentOptIn,
	EventOptOut:       ChangeConsentOptOut,
	EventOptOutReview: ChangeConsentReview, EventReviewResolved: ChangeConsentReview,
}

// consentChanged appends the change a new ledger entry is, if any.
func consentChanged(tx *bbolt.Tx, ev *ConsentEvent) error {
	kind, ok := consentChangeKinds[ev.Type]
	if !ok {
		return nil
	}
	return appendChange(tx, ev.At, kind, ev.Number, ConsentChange{EventID: ev.ID, Number: ev.Number,
		Type: string(ev.Type), Method: string(ev.Method), Source: ev.Source, Keyword: ev.Keyword})
}

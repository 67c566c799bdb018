package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"
)

// MarketingState is a number's standing for marketing texts. Stored: append
// only.
type MarketingState uint8

const (
	MarketingNone      MarketingState = 0 // never asked
	MarketingPending   MarketingState = 1 // double opt-in requested, no YES yet
	MarketingConfirmed MarketingState = 2 // explicit consent on record
	MarketingOptedOut  MarketingState = 3 // withdrew consent
)

var marketingStateNames = map[MarketingState]string{
	MarketingNone: "none", MarketingPending: "pending",
	MarketingConfirmed: "confirmed", MarketingOptedOut: "opted_out",
}

// String returns the API name of the state.
func (s MarketingState) String() string {
	if n, ok := marketingStateNames[s]; ok {
		return n
	}
	return "invalid"
}

// Consent is the compliance record of one phone number, whether or not
// a contact exists for it: its consent, a pending review, the marketing
// texts sent to it lately (frequency cap) and the automatic replies it got
// (one confirmation per event). It is derived from the ledger and changed
// only together with a ledger append, or by AdmitSend.
type Consent struct {
	Number    string         `json:"number"` // E.164
	Marketing MarketingState `json:"marketing"`
	// OptedOutAll: the number texted a STOP keyword (or asked to stop
	// everything): no text at all goes to it, transactional included, except
	// the one opt-out confirmation and HELP replies.
	OptedOutAll bool `json:"opted_out_all,omitempty"`
	// OptOutByKeyword: the last opt-out came by keyword, so START may undo it
	// (R-START).
	OptOutByKeyword bool `json:"opt_out_by_keyword,omitempty"`
	// Review: an inbound text read like an opt-out without being a keyword
	// (R-STOP-4). Marketing is paused until a person decides.
	Review          bool   `json:"review,omitempty"`
	ReviewInboundID uint64 `json:"review_inbound_id,omitempty"`
	ReviewText      string `json:"review_text,omitempty"`
	// CartReminders: explicit consent to abandoned-cart texts (R-DOI).
	CartReminders bool `json:"cart_reminders,omitempty"`
	// PendingCartReminders: the latest double opt-in request asked for
	// cart reminders too; the number's YES turns CartReminders on. Nobody
	// but the number itself changes what it agreed to.
	PendingCartReminders bool      `json:"pending_cart_reminders,omitempty"`
	ConfirmedAt          time.Time `json:"confirmed_at,omitempty"`
	// RecentMarketing: when marketing texts to this number were handed to a
	// modem, newest last, only those inside the cap window.
	RecentMarketing []time.Time `json:"recent_marketing,omitempty"`
	// LastReply: automatic reply kind ("stop", "help", "start", "doi") →
	// when it was last sent, for "one confirmation per event".
	LastReply map[string]time.Time `json:"last_reply,omitempty"`
	UpdatedAt time.Time            `json:"updated_at"`
}

// The consent ledger's vocabulary. Values are stored as their strings in
// every ledger entry (and in consent_by_inbound keys): append only, never
// change one.

// ConsentEventType is what a ledger entry records.
type ConsentEventType string

const (
	EventOptIn      ConsentEventType = "opt_in"      // consent given (or repeated)
	EventDOIRequest ConsentEventType = "doi_request" // double opt-in request sent
	EventDOIConfirm ConsentEventType = "doi_confirm" // YES to a double opt-in request
	EventOptOut     ConsentEventType = "opt_out"
	// EventOptOutReview: a text read like an opt-out without being a
	// keyword; a person decides (R-STOP-4).
	EventOptOutReview   ConsentEventType = "opt_out_review"
	EventReviewResolved ConsentEventType = "review_resolved" // kept subscribed after review
	EventResubscribe    ConsentEventType = "resubscribe"     // START after a keyword opt-out
	EventErasure        ConsentEventType = "erasure"         // the number was erased on request
)

// ConsentPurpose is what a ledger entry is about.
type ConsentPurpose string

const (
	PurposeMarketing ConsentPurpose = "marketing"
	PurposeAll       ConsentPurpose = "all" // every text: opt-outs of everything, erasure
)

// ConsentMethod is how consent was given or withdrawn (R-OPTIN-1, R-RECORD).
type ConsentMethod string

const (
	MethodWebForm ConsentMethod = "web_form"
	MethodKeyword ConsentMethod = "keyword"
	MethodPOS     ConsentMethod = "pos"
	MethodImport  ConsentMethod = "import"
	MethodAPI     ConsentMethod = "api"
	MethodConsole ConsentMethod = "console"
	// MethodCheckout: the customer ticked the shop's own consent box at
	// its checkout, and the shop's platform told the box (a Shopify
	// customer's sms_marketing_consent).
	MethodCheckout ConsentMethod = "checkout"
)

// ConsentMethods lists every method, in the order forms and errors name
// them.
func ConsentMethods() []ConsentMethod {
	return []ConsentMethod{MethodWebForm, MethodKeyword, MethodPOS, MethodImport, MethodAPI, MethodConsole, MethodCheckout}
}

// ConsentEvent is one entry of the append-only consent ledger: the evidence
// a business shows when challenged (R-RECORD). Only erasure rewrites an
// entry, replacing the number and personal fields with the salted hash.
type ConsentEvent struct {
	ID       uint64           `json:"id"`
	Number   string           `json:"number"` // E.164; after erasure "erased:<hash>"
	At       time.Time        `json:"at"`     // UTC
	TimeZone string           `json:"time_zone,omitempty"`
	Type     ConsentEventType `json:"type"`
	Purpose  ConsentPurpose   `json:"purpose"`
	Method   ConsentMethod    `json:"method,omitempty"` // none for erasure
	// Source: the page URL, POS terminal or staff ID, keyword, file name.
	Source            string `json:"source,omitempty"`
	DisclosureVersion string `json:"disclosure_version,omitempty"`
	DisclosureText    string `json:"disclosure_text,omitempty"` // the exact text shown
	IP                string `json:"ip,omitempty"`
	UserAgent         string `json:"user_agent,omitempty"`
	Terminal          string `json:"terminal,omitempty"` // POS terminal or staff ID
	Keyword           string `json:"keyword,omitempty"`
	InboundID         uint64 `json:"inbound_id,omitempty"` // the text that caused it
	MessageID         uint64 `json:"message_id,omitempty"` // the confirmation or request sent
	Actor             string `json:"actor,omitempty"`      // console user who acted
	Note              string `json:"note,omitempty"`
}

// EraseReport says what an erasure removed.
type EraseReport struct {
	Hash            string `json:"hash"` // what stays in the suppression list
	Contact         bool   `json:"contact"`
	Messages        int    `json:"messages"`
	Inbound         int    `json:"inbound"`
	ConsentEvents   int    `json:"consent_events"`             // pseudonymised, kept as evidence
	ShopEvents      int    `json:"shop_events"`                // deleted
	Links           int    `json:"links"`                      // short links to the number, deleted with their clicks
	FlowEntries     int    `json:"flow_entries"`               // automated flows' entries, deleted
	CampaignMembers int    `json:"campaign_members,omitempty"` // campaign member records, deleted (the counts stay)
}

// SubjectData is everything stored about one number (GDPR Art. 15/20).
type SubjectData struct {
	Contact  *Contact       `json:"contact,omitempty"`
	Consent  Consent        `json:"consent"`
	Events   []ConsentEvent `json:"consent_events"`
	Messages []Message      `json:"messages"`
	Inbound  []Inbound      `json:"inbound"`
	// ShopEvents: what the shop told the box about the number (checkouts,
	// orders, products viewed), oldest first.
	ShopEvents  []ShopEvent `json:"shop_events"`
	FlowEntries []FlowEntry `json:"flow_entries"` // automated flows the number is or was in
	// Links: the short links in the texts to the number, with their
	// click counters.
	Links []Link `json:"links"`
	// CampaignMemberships: the campaigns the number was planned into, with
	// the variant it got (or the holdout, which got nothing).
	CampaignMemberships []CampaignMember `json:"campaign_memberships"`
}

// Event types that subscribe a number: refused for a suppressed number
// unless the person came back on their own (see AppendConsent).
var subscribingTypes = map[ConsentEventType]bool{EventOptIn: true, EventDOIRequest: true, EventDOIConfirm: true, EventResubscribe: true}

// Methods by which a person acts on their own behalf: texting a keyword or
// submitting the join form. Only these may lift a suppression (R-GDPR-2:
// an import or API call cannot re-subscribe an erased number silently).
var ownActMethods = map[ConsentMethod]bool{MethodKeyword: true, MethodWebForm: true}

// AppendConsent appends ev to the consent ledger and changes the number's
// Consent with apply, in one transaction: the evidence and the state it
// justifies are never apart.
//
// The Consent passed to apply is the stored one, or the zero value with
// Number set. apply runs inside the write transaction and must not use the
// DB; its error aborts everything and is returned as is. ev gets its ID,
// and At = now when zero; Consent.UpdatedAt is set.
//
// When ev.InboundID is set and an event of ev.Type was already recorded for
// that inbound text, nothing is written, apply is not called, and the
// recorded event and current Consent are returned with added = false: a
// STOP handled again after a crash records and confirms nothing twice.
//
// A suppressed number (erased on request) cannot be subscribed again
// (opt_in, doi_request, doi_confirm, resubscribe): ErrSuppressed, unless
// ev.Method is "keyword" or "web_form", in which case the suppression entry
// is removed in the same transaction.
func (db *DB) AppendConsent(ev ConsentEvent, apply func(c *Consent) error) (stored ConsentEvent, c Consent, added bool, err error) {
	if err := validateEvent(ev); err != nil {
		return ConsentEvent{}, Consent{}, false, err
	}
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		stored, c, added = ConsentEvent{}, Consent{}, false
		if ev.InboundID != 0 {
			if v := tx.Bucket(bucketConsentByInbound).Get(inboundEventKey(ev.InboundID, ev.Type)); len(v) == 8 {
				var err error
				if stored, err = getEvent(tx, binary.BigEndian.Uint64(v)); err != nil {
					return err
				}
				c, _, err = getConsent(tx, ev.Number)
				return err
			}
		}
		if subscribingTypes[ev.Type] {
			suppressed, hash, err := isSuppressed(tx, ev.Number)
			if err != nil {
				return err
			}
			if suppressed {
				if !ownActMethods[ev.Method] {
					return fmt.Errorf("store: %s: %w", ev.Number, ErrSuppressed)
				}
				if err := tx.Bucket(bucketSuppression).Delete([]byte(hash)); err != nil {
					return err
				}
			}
		}
		cur, _, err := getConsent(tx, ev.Number)
		if err != nil {
			return err
		}
		if apply != nil {
			if err := apply(&cur); err != nil {
				return err
			}
		}
		now := db.now()
		e := ev
		if err := appendEvent(tx, &e, now); err != nil {
			return err
		}
		cur.Number = ev.Number
		cur.UpdatedAt = now
		if err := putConsent(tx, &cur); err != nil {
			return err
		}
		stored, c, added = e, cur, true
		return nil
	})
	if err != nil {
		return ConsentEvent{}, Consent{}, false, err
	}
	return stored, c, added, nil
}

func validateEvent(ev ConsentEvent) error {
	switch {
	case ev.Number == "":
		return &FieldError{Field: "number", Message: "must not be empty"}
	case bytes.IndexByte([]byte(ev.Number), 0) >= 0:
		return &FieldError{Field: "number", Message: "must not contain a NUL byte"}
	case ev.Type == "":
		return &FieldError{Field: "type", Message: "must not be empty"}
	}
	return nil
}

// appendEvent stores a new ledger entry (ID and, when zero, At assigned)
// with its per-number and per-inbound index entries.
func appendEvent(tx *bbolt.Tx, ev *ConsentEvent, now time.Time) error {
	b := tx.Bucket(bucketConsentEvents)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	ev.ID = id
	if ev.At.IsZero() {
		ev.At = now
	}
	ev.At = ev.At.UTC()
	if err := putEvent(tx, ev); err != nil {
		return err
	}
	if err := tx.Bucket(bucketConsentByNumber).Put(numberKey(ev.Number, id), []byte{}); err != nil {
		return err
	}
	if err := consentChanged(tx, ev); err != nil {
		return err
	}
	if ev.InboundID != 0 {
		return tx.Bucket(bucketConsentByInbound).Put(inboundEventKey(ev.InboundID, ev.Type), u64(id))
	}
	return nil
}

func putEvent(tx *bbolt.Tx, ev *ConsentEvent) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("store: encode consent event %d: %w", ev.ID, err)
	}
	return tx.Bucket(bucketConsentEvents).Put(u64(ev.ID), raw)
}

func inboundEventKey(inboundID uint64, typ ConsentEventType) []byte {
	return append(u64(inboundID), typ...)
}

func getEvent(tx *bbolt.Tx, id uint64) (ConsentEvent, error) {
	return getRecord[ConsentEvent](tx, bucketConsentEvents, id, "consent event")
}

// getConsent reads number's Consent; the zero value with Number set and
// false when none is stored.
func getConsent(tx *bbolt.Tx, number string) (Consent, bool, error) {
	raw := tx.Bucket(bucketConsent).Get([]byte(number))
	if raw == nil {
		return Consent{Number: number}, false, nil
	}
	var c Consent
	if err := json.Unmarshal(raw, &c); err != nil {
		return Consent{}, false, fmt.Errorf("store: decode consent of %s: %w", number, err)
	}
	c.Number = number
	return c, true, nil
}

// putConsent writes c and keeps the review queue in step with c.Review.
func putConsent(tx *bbolt.Tx, c *Consent) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: encode consent of %s: %w", c.Number, err)
	}
	key := []byte(c.Number)
	if err := tx.Bucket(bucketConsent).Put(key, raw); err != nil {
		return err
	}
	if c.Review {
		return tx.Bucket(bucketConsentReview).Put(key, []byte{})
	}
	return tx.Bucket(bucketConsentReview).Delete(key)
}

// Consent returns number's compliance record: the zero value with Number
// set when nothing was ever recorded.
func (db *DB) Consent(number string) (Consent, error) {
	var c Consent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		c, _, err = getConsent(tx, number)
		return err
	})
	return c, err
}

// ConsentEvents returns number's ledger, oldest first.
func (db *DB) ConsentEvents(number string) ([]ConsentEvent, error) {
	var out []ConsentEvent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = eventsOf(tx, number)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func eventsOf(tx *bbolt.Tx, number string) ([]ConsentEvent, error) {
	return recordsUnder(tx, bucketConsentByNumber, numberPrefix(number), getEvent)
}

// recordsUnder reads, oldest first, the records whose IDs an index lists
// under prefix (keys prefix | ID), never nil.
func recordsUnder[T any](tx *bbolt.Tx, index, prefix []byte, get func(*bbolt.Tx, uint64) (T, error)) ([]T, error) {
	out := []T{}
	for _, id := range idsUnder(tx.Bucket(index), prefix) {
		r, err := get(tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// idsUnder lists the IDs of keys prefix | ID in b, ascending.
func idsUnder(b *bbolt.Bucket, prefix []byte) []uint64 {
	var ids []uint64
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
		}
	}
	return ids
}

// ReviewQueue returns the numbers whose Consent waits for a person to read
// a text that looked like an opt-out (R-STOP-4), in the order the texts
// arrived.
func (db *DB) ReviewQueue() ([]Consent, error) {
	var out []Consent
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = []Consent{}
		return tx.Bucket(bucketConsentReview).ForEach(func(k, _ []byte) error {
			c, _, err := getConsent(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ReviewInboundID < out[j].ReviewInboundID })
	return out, nil
}

// suppressionSalt is the database's own random salt (schema 4).
func suppressionSalt(tx *bbolt.Tx) ([]byte, error) {
	salt := tx.Bucket(bucketMeta).Get(keySuppressionSalt)
	if len(salt) != 32 {
		return nil, errors.New("store: suppression salt missing or damaged")
	}
	return salt, nil
}

// suppressionHash is hex(sha256(salt | number)): it recognises the number
// when it comes again and reveals nothing without the salt, which never
// leaves the database file.
func suppressionHash(salt []byte, number string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(number))
	return hex.EncodeToString(h.Sum(nil))
}

// isSuppressed reports whether number was erased on request, with its hash.
func isSuppressed(tx *bbolt.Tx, number string) (bool, string, error) {
	salt, err := suppressionSalt(tx)
	if err != nil {
		return false, "", err
	}
	hash := suppressionHash(salt, number)
	return tx.Bucket(bucketSuppression).Get([]byte(hash)) != nil, hash, nil
}

// IsSuppressed reports whether number was erased on request and may not be
// stored or subscribed again except by the person's own act.
func (db *DB) IsSuppressed(number string) (bool, error) {
	var ok bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		ok, _, err = isSuppressed(tx, number)
		return err
	})
	return ok, err
}

// AdmitSend is the compliance guard's commit point: in one transaction it
// loads message id and the Consent of its recipient, lets fn decide (and
// change either), then writes both: the message reindexed, the Consent only
// when fn changed it. suppressed says whether the recipient was erased on
// request. fn runs inside the write transaction and must not use the DB;
// its error is returned as is and nothing is written. A STOP committed
// before is therefore always seen, and two SIMs cannot both take the last
// slot of a frequency cap. A queued text whose exit key was marked
// (Message.ExitKey) is withdrawn here without calling fn.
// The commit is shared (groupcommit.go): fn may run more than once.
func (db *DB) AdmitSend(id uint64, fn func(m *Message, c *Consent, suppressed bool) error) (Message, Consent, error) {
	var outM Message
	var outC Consent
	err := db.bolt.Batch(func(tx *bbolt.Tx) error {
		var c Consent
		var before []byte
		var admittedBefore time.Time
		m, err := db.update(tx, id, func(m *Message) error {
			admittedBefore = m.AdmittedAt
			var err error
			if c, _, err = getConsent(tx, m.To); err != nil {
				return err
			}
			if before, err = json.Marshal(c); err != nil {
				return err
			}
			suppressed, _, err := isSuppressed(tx, m.To)
			if err != nil {
				return err
			}
			// An exit marked before this transaction wins over the send:
			// the order that lands a millisecond before AT+CMGS stops it.
			// A text with a part out already is past recall.
			mark, ended, err := exitedInTx(tx, m)
			if err != nil {
				return err
			}
			if ended && m.Status == StatusQueued {
				withdraw(m, mark, db.now())
				return nil
			}
			return fn(m, &c, suppressed)
		})
		if err != nil {
			return err
		}
		if err := noteMarketingActivity(tx, admittedBefore, &m); err != nil {
			return err
		}
		c.Number = m.To
		// Most texts change no Consent (transactional ones never do): a
		// record for every number ever texted would only be clutter.
		if after, err := json.Marshal(c); err != nil {
			return err
		} else if !bytes.Equal(before, after) {
			c.UpdatedAt = m.UpdatedAt
			if err := putConsent(tx, &c); err != nil {
				return err
			}
		}
		outM, outC = m, c
		return nil
	})
	if err != nil {
		return Message{}, Consent{}, err
	}
	return outM, outC, nil
}

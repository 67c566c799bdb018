package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// Campaigns are one-off sends to an audience (package gateway/campaigns
// decides what they mean). The store keeps them durable: the campaign head
// record with its planning cursor and counts, and one member record per
// person planned (holdout included), written in the same transaction as the
// member's text, so that planning resumed after a crash never texts anyone
// twice.

// CampaignState is where a campaign stands.
type CampaignState string

const (
	CampaignDraft     CampaignState = "draft"     // saved, not yet sent
	CampaignScheduled CampaignState = "scheduled" // Send was pressed; planning starts at StartAt
	CampaignSending   CampaignState = "sending"   // planning or texts still queued
	CampaignPaused    CampaignState = "paused"    // queued texts held back until resumed
	CampaignDone      CampaignState = "done"      // every member planned
	CampaignCancelled CampaignState = "cancelled" // queued texts withdrawn
)

// HoldoutVariant is the variant of a member who gets nothing: the control
// group a campaign's lift is measured against.
const HoldoutVariant = "holdout"

// Campaign is the head record of a campaign.
type Campaign struct {
	ID    uint64        `json:"id"`
	Name  string        `json:"name"`
	State CampaignState `json:"state"`
	// Definition is the campaign as the gateway encoded it (audience
	// snapshot, template, variants, schedule); the store does not read it.
	Definition json.RawMessage `json:"definition"`
	// StartAt is when planning starts (scheduled) or started.
	StartAt time.Time `json:"start_at,omitempty"`
	// Phase names the planning phase the gateway is in ("test", "rest"),
	// for a campaign that tests its variants on part of the audience first.
	Phase string `json:"phase,omitempty"`
	// Cursor is how far planning of the current phase got, in the
	// gateway's own encoding: a restart resumes after it.
	Cursor string `json:"cursor,omitempty"`
	// Planned counts the members planned per variant ("a".."d",
	// HoldoutVariant), moved in the transaction that writes them.
	Planned map[string]int64 `json:"planned,omitempty"`
	// Skipped counts audience members planning left out, per reason.
	Skipped map[string]int64 `json:"skipped,omitempty"`
	// State of the gateway's own (the test-first decision, the winner,
	// the owner's pick), encoded by it.
	Extra json.RawMessage `json:"extra,omitempty"`
	// Note says in words what happened last ("cancelled by alice").
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CampaignMember is one person planned by a campaign: the variant they were
// assigned and the text they were sent (none for the holdout).
type CampaignMember struct {
	Campaign  uint64 `json:"campaign"`
	Variant   string `json:"variant"` // "a".."d", or HoldoutVariant (gets nothing)
	Number    string `json:"number"`
	ContactID uint64 `json:"contact_id,omitempty"`
	// At is the planned send time; for the holdout, when its variant's
	// peers were planned.
	At        time.Time `json:"at"`
	MessageID uint64    `json:"message_id,omitempty"`
}

// CampaignExitKey is the exit key of every text of campaign id: marking it
// withdraws the campaign's queued texts.
func CampaignExitKey(id uint64) string { return "campaign:" + strconv.FormatUint(id, 10) }

// campaignMemberKey is number | 0x00 | campaign ID.
func campaignMemberKey(number string, campaign uint64) []byte { return numberKey(number, campaign) }

// campaignByCampaignKey is campaign ID | number.
func campaignByCampaignKey(campaign uint64, number string) []byte {
	return append(u64(campaign), number...)
}

func getCampaign(tx *bbolt.Tx, id uint64) (Campaign, error) {
	return getJSON[Campaign](tx.Bucket(bucketCampaigns), u64(id), "campaign")
}

// CreateCampaign stores a new campaign and returns it with its ID.
func (db *DB) CreateCampaign(c Campaign) (Campaign, error) {
	if strings.TrimSpace(c.Name) == "" {
		return Campaign{}, &FieldError{Field: "name", Message: "must not be empty"}
	}
	if c.State == "" {
		c.State = CampaignDraft
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCampaigns)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		now := db.now()
		c.ID, c.CreatedAt, c.UpdatedAt = id, now, now
		return putJSON(b, u64(id), c)
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("store: create campaign: %w", err)
	}
	return c, nil
}

// GetCampaign returns campaign id.
func (db *DB) GetCampaign(id uint64) (Campaign, error) {
	var c Campaign
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		c, err = getCampaign(tx, id)
		return err
	})
	return c, err
}

// Campaigns lists every campaign, newest first. A shop keeps tens of them.
func (db *DB) Campaigns() ([]Campaign, error) {
	var out []Campaign
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketCampaigns).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var cp Campaign
			if err := json.Unmarshal(v, &cp); err != nil {
				return fmt.Errorf("store: decode campaign %x: %w", k, err)
			}
			out = append(out, cp)
		}
		return nil
	})
	return out, err
}

// UpdateCampaign changes campaign id through fn in one transaction; an
// error from fn changes nothing.
func (db *DB) UpdateCampaign(id uint64, fn func(c *Campaign) error) (Campaign, error) {
	var out Campaign
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		c, err := getCampaign(tx, id)
		if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		c.ID, c.UpdatedAt = id, db.now()
		out = c
		return putJSON(tx.Bucket(bucketCampaigns), u64(id), c)
	})
	return out, err
}

// DeleteCampaign removes a draft campaign. A campaign that was sent is a
// record of what was sent and stays.
func (db *DB) DeleteCampaign(id uint64) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		c, err := getCampaign(tx, id)
		if err != nil {
			return err
		}
		if c.State != CampaignDraft {
			return fmt.Errorf("%w: a %s campaign cannot be deleted", ErrConflict, c.State)
		}
		return tx.Bucket(bucketCampaigns).Delete(u64(id))
	})
}

// CampaignPlan is one member a planning batch records, with its text
// (nil for the holdout) and the text's short links.
type CampaignPlan struct {
	Member  CampaignMember
	Message *Message
	// Links are the short links in Message's text, each with the code the
	// text carries; they are stored with the member, in the same
	// transaction. A code already taken (or a link the message key and URL
	// already have) is replaced, in the text too.
	Links []Link
}

// CampaignBatch is a page of planning, committed in one transaction with
// the cursor that says the page is done: a crash before the commit plans
// the page again, after it never.
type CampaignBatch struct {
	Campaign uint64
	Plans    []CampaignPlan
	// Skipped counts audience members left out by the page, per reason.
	Skipped map[string]int64
	// Cursor replaces Campaign.Cursor.
	Cursor string
	// Update, when set, changes the campaign in the same transaction (the
	// state once the last page is planned).
	Update func(c *Campaign) error
	// NewLinkCode makes a code for a link whose code is taken.
	NewLinkCode func() (string, error)
}

// CampaignBatchResult says what a CampaignBatch stored.
type CampaignBatchResult struct {
	Campaign Campaign
	// Messages are the texts stored by the batch (not those of members
	// planned before).
	Messages []Message
	// Existing counts the plans whose member was already recorded: nothing
	// was stored for them.
	Existing int
}

// CommitCampaignBatch records a page of planning in one transaction: each
// plan's text is enqueued and its member written, unless the member was
// recorded before (then nothing is stored for it, whatever its text), so
// planning the same page twice stores it once. A campaign that is no
// longer sending (paused, cancelled) refuses the batch with ErrConflict.
func (db *DB) CommitCampaignBatch(b CampaignBatch) (CampaignBatchResult, error) {
	var res CampaignBatchResult
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		res = CampaignBatchResult{}
		c, err := getCampaign(tx, b.Campaign)
		if err != nil {
			return err
		}
		if c.State != CampaignSending {
			return fmt.Errorf("%w: the campaign is %s", ErrConflict, c.State)
		}
		byNumber := tx.Bucket(bucketCampaignMembersByNumber)
		byCampaign := tx.Bucket(bucketCampaignMembers)
		newCode := b.NewLinkCode
		if newCode == nil {
			newCode = func() (string, error) { return "", errors.New("the batch makes no link codes") }
		}
		if c.Planned == nil {
			c.Planned = map[string]int64{}
		}
		for _, p := range b.Plans {
			m := p.Member
			m.Campaign = b.Campaign
			if m.Number == "" || m.Variant == "" {
				return fmt.Errorf("store: campaign member without number or variant")
			}
			key := campaignMemberKey(m.Number, m.Campaign)
			if byNumber.Get(key) != nil {
				res.Existing++
				continue
			}
			if p.Message != nil {
				msg := *p.Message
				for _, l := range p.Links {
					stored, err := ensureLink(tx, l, newCode, db.now().UTC())
					if err != nil {
						return fmt.Errorf("short link for %s: %w", m.Number, err)
					}
					if stored.Code != l.Code {
						msg.Text = strings.ReplaceAll(msg.Text, "/l/"+l.Code, "/l/"+stored.Code)
					}
				}
				stored, existed, err := db.enqueue(tx, msg)
				if err != nil {
					return fmt.Errorf("enqueue text to %s: %w", m.Number, err)
				}
				m.MessageID = stored.ID
				if !existed {
					res.Messages = append(res.Messages, stored)
				}
			}
			if err := putJSON(byNumber, key, m); err != nil {
				return err
			}
			if err := byCampaign.Put(campaignByCampaignKey(m.Campaign, m.Number), []byte{}); err != nil {
				return err
			}
			c.Planned[m.Variant]++
		}
		for reason, n := range b.Skipped {
			if c.Skipped == nil {
				c.Skipped = map[string]int64{}
			}
			c.Skipped[reason] += n
		}
		c.Cursor = b.Cursor
		if b.Update != nil {
			if err := b.Update(&c); err != nil {
				return err
			}
		}
		c.UpdatedAt = db.now()
		res.Campaign = c
		return putJSON(tx.Bucket(bucketCampaigns), u64(c.ID), c)
	})
	if err != nil {
		return CampaignBatchResult{}, fmt.Errorf("store: commit campaign batch: %w", err)
	}
	return res, nil
}

// CampaignMemberships returns every campaign member record of number, in
// campaign order.
func (db *DB) CampaignMemberships(number string) ([]CampaignMember, error) {
	var out []CampaignMember
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = campaignMembershipsOf(tx, number)
		return err
	})
	return out, err
}

// campaignMembershipsOf reads number's member records in tx, by campaign.
func campaignMembershipsOf(tx *bbolt.Tx, number string) ([]CampaignMember, error) {
	var out []CampaignMember
	prefix := numberPrefix(number)
	c := tx.Bucket(bucketCampaignMembersByNumber).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m CampaignMember
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("store: decode campaign member %q: %w", k, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// CampaignMemberOf returns the member record of number in campaign, if
// planned.
func (db *DB) CampaignMemberOf(campaign uint64, number string) (CampaignMember, bool, error) {
	var m CampaignMember
	var found bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketCampaignMembersByNumber).Get(campaignMemberKey(number, campaign))
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, &m)
	})
	return m, found, err
}

// CampaignMembers returns up to limit members of campaign in number order,
// starting after the number after (empty: from the first), and whether
// more follow.
func (db *DB) CampaignMembers(campaign uint64, after string, limit int) ([]CampaignMember, bool, error) {
	var out []CampaignMember
	more := false
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		prefix := u64(campaign)
		byNumber := tx.Bucket(bucketCampaignMembersByNumber)
		c := tx.Bucket(bucketCampaignMembers).Cursor()
		k, _ := c.Seek(campaignByCampaignKey(campaign, after))
		if after != "" && k != nil && string(k[8:]) == after {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(out) == limit {
				more = true
				break
			}
			number := string(k[8:])
			var m CampaignMember
			raw := byNumber.Get(campaignMemberKey(number, campaign))
			if raw == nil {
				continue
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("store: decode campaign member %q: %w", number, err)
			}
			out = append(out, m)
		}
		return nil
	})
	return out, more, err
}

// CancelCampaign marks the campaign cancelled and its exit key ended, in
// one transaction: every text of it still queued is withdrawn at once (and
// one being handed to a modem is refused at the guard's commit point). The
// withdrawn texts are returned (and told to the OnWithdrawn watcher).
func (db *DB) CancelCampaign(id uint64, note string) (Campaign, []Message, error) {
	var out Campaign
	var withdrawn []Message
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		withdrawn = nil
		c, err := getCampaign(tx, id)
		if err != nil {
			return err
		}
		switch c.State {
		case CampaignDone, CampaignCancelled:
			return fmt.Errorf("%w: a %s campaign cannot be cancelled", ErrConflict, c.State)
		}
		now := db.now()
		withdrawn, err = markExit(tx, db, ExitMark{Key: CampaignExitKey(id), At: now, Reason: "the campaign was cancelled"})
		if err != nil {
			return err
		}
		c.State, c.Note, c.UpdatedAt = CampaignCancelled, note, now
		out = c
		return putJSON(tx.Bucket(bucketCampaigns), u64(id), c)
	})
	if err != nil {
		return Campaign{}, nil, fmt.Errorf("store: cancel campaign: %w", err)
	}
	db.announceWithdrawn(withdrawn)
	return out, withdrawn, nil
}

// CampaignPausedHold is the Hold of a queued campaign text held back
// because its campaign is paused.
const CampaignPausedHold = "campaign paused"

// campaignHoldUntil is where a paused campaign's texts wait: past any
// expiry, so the dispatcher never sees them until resume moves them back.
var campaignHoldUntil = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// HoldCampaignTexts moves up to max queued texts of campaign out of the
// dispatcher's way (their due time far ahead, Hold CampaignPausedHold), in
// one short transaction, and returns them with whether more may remain.
// A text already handed to a modem is no longer queued and is left alone.
func (db *DB) HoldCampaignTexts(campaign uint64, max int) ([]Message, bool, error) {
	return db.moveCampaignTexts(campaign, max, func(m *Message) bool {
		if m.Hold == CampaignPausedHold {
			return false
		}
		m.NextAttemptAt, m.Hold = campaignHoldUntil, CampaignPausedHold
		return true
	})
}

// ReleaseCampaignTexts undoes HoldCampaignTexts for up to max texts: each
// is due again at its member's planned time, or now if that has passed.
func (db *DB) ReleaseCampaignTexts(campaign uint64, now time.Time, max int) ([]Message, bool, error) {
	return db.moveCampaignTexts(campaign, max, func(m *Message) bool {
		if m.Hold != CampaignPausedHold {
			return false
		}
		m.NextAttemptAt, m.Hold = now, ""
		return true
	})
}

// moveCampaignTexts applies change to up to max queued texts of campaign
// that it changes (returns true for), in one transaction. For release, the
// member's planned time replaces a due time in the past of it.
func (db *DB) moveCampaignTexts(campaign uint64, max int, change func(m *Message) bool) ([]Message, bool, error) {
	var out []Message
	more := false
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		out, more = nil, false
		prefix := append([]byte(CampaignExitKey(campaign)), 0)
		var ids []uint64
		c := tx.Bucket(bucketMsgByExit).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) == len(prefix)+8 {
				ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
			}
		}
		byNumber := tx.Bucket(bucketCampaignMembersByNumber)
		for _, id := range ids {
			if len(out) == max {
				more = true
				break
			}
			changed := false
			m, err := db.update(tx, id, func(m *Message) error {
				if m.Status != StatusQueued {
					return nil
				}
				changed = change(m)
				if changed && m.Hold == "" {
					// Released: not before the member's own planned time.
					if raw := byNumber.Get(campaignMemberKey(m.To, campaign)); raw != nil {
						var mem CampaignMember
						if err := json.Unmarshal(raw, &mem); err == nil && mem.At.After(m.NextAttemptAt) {
							m.NextAttemptAt = mem.At
						}
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("move message %d: %w", id, err)
			}
			if changed {
				out = append(out, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: move campaign texts: %w", err)
	}
	return out, more, nil
}

// eraseCampaignMembers deletes the member records of number (erasure).
// The campaign's counts stay: they are totals, not personal data.
func eraseCampaignMembers(tx *bbolt.Tx, number string) (int, error) {
	prefix := numberPrefix(number)
	byNumber := tx.Bucket(bucketCampaignMembersByNumber)
	var campaigns []uint64
	c := byNumber.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			campaigns = append(campaigns, binary.BigEndian.Uint64(k[len(prefix):]))
		}
	}
	for _, id := range campaigns {
		if err := byNumber.Delete(campaignMemberKey(number, id)); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketCampaignMembers).Delete(campaignByCampaignKey(id, number)); err != nil {
			return 0, err
		}
	}
	return len(campaigns), nil
}

// ContactsByID returns the contacts of ids that exist, in one read, for
// rendering a page of a campaign's texts.
func (db *DB) ContactsByID(ids []uint64) (map[uint64]Contact, error) {
	out := make(map[uint64]Contact, len(ids))
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		for _, id := range ids {
			c, err := getContact(tx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out[id] = c
		}
		return nil
	})
	return out, err
}

// ConsentStanding is what the guard reads about one number.
type ConsentStanding struct {
	Consent    Consent
	Suppressed bool
}

// ConsentsOf returns the consent record and suppression of each number, in
// one read, for a campaign's dry run asking the guard about every member.
func (db *DB) ConsentsOf(numbers []string) (map[string]ConsentStanding, error) {
	out := make(map[string]ConsentStanding, len(numbers))
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		for _, n := range numbers {
			c, _, err := getConsent(tx, n)
			if err != nil {
				return err
			}
			sup, _, err := isSuppressed(tx, n)
			if err != nil {
				return err
			}
			out[n] = ConsentStanding{Consent: c, Suppressed: sup}
		}
		return nil
	})
	return out, err
}

package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// erasedPrefix marks a ledger entry whose number was erased: what follows
// is the number's suppression hash, so the evidence of one person stays
// together without saying who they were.
const erasedPrefix = "erased:"

// EraseNumber erases everything stored about number on the person's
// request (GDPR Art. 17, docs/compliance.md R-GDPR-2), in one transaction: the
// contact, the outbound messages to it with all their index entries, the
// texts and waiting segments received from it, its activity summary and
// tag index entries (what audience rules read), its Consent and review
// entry, its place in the per-SIM recipient counters (re-keyed, so the
// counts stay right) and the rejected rows of contact imports that name
// it, and the change feed entries and webhook deliveries naming it. The
// consent ledger is kept as evidence but
// pseudonymised: Number becomes "erased:<hash>" and the personal fields
// (IP, user agent, terminal, note, and any field quoting the number) are
// cleared. An "erasure" event is appended and the salted hash goes on the
// suppression list, so a later import or API call cannot subscribe the
// number again. Erasing a number that has nothing stored still suppresses
// it.
func (db *DB) EraseNumber(number string) (EraseReport, error) {
	if number == "" {
		return EraseReport{}, &FieldError{Field: "number", Message: "must not be empty"}
	}
	var rep EraseReport
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		rep = EraseReport{}
		salt, err := suppressionSalt(tx)
		if err != nil {
			return err
		}
		rep.Hash = suppressionHash(salt, number)
		pseudonym := erasedPrefix + rep.Hash
		now := db.now()
		if rep.Contact, err = eraseContact(tx, number); err != nil {
			return fmt.Errorf("contact: %w", err)
		}
		if rep.Messages, err = eraseMessages(tx, number); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		if rep.Inbound, err = eraseInbound(tx, number); err != nil {
			return fmt.Errorf("inbound: %w", err)
		}
		if rep.ShopEvents, err = eraseEvents(tx, number); err != nil {
			return fmt.Errorf("shop events: %w", err)
		}
		if err := eraseActivity(tx, number); err != nil {
			return fmt.Errorf("activity: %w", err)
		}
		if err := tx.Bucket(bucketConsent).Delete([]byte(number)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketConsentReview).Delete([]byte(number)); err != nil {
			return err
		}
		// The console's read marker is keyed by the number: personal data.
		if err := tx.Bucket(bucketInboxRead).Delete([]byte(number)); err != nil {
			return err
		}
		if rep.ConsentEvents, err = pseudonymiseLedger(tx, number, pseudonym); err != nil {
			return fmt.Errorf("consent ledger: %w", err)
		}
		if err := appendEvent(tx, &ConsentEvent{Number: pseudonym, Type: EventErasure, Purpose: PurposeAll}, now); err != nil {
			return err
		}
		if err := rekeyUsage(tx, number, pseudonym); err != nil {
			return fmt.Errorf("sim usage: %w", err)
		}
		if rep.Links, err = eraseLinks(tx, number); err != nil {
			return fmt.Errorf("short links: %w", err)
		}
		if err := eraseAttribution(tx, number); err != nil {
			return fmt.Errorf("attribution: %w", err)
		}
		if err := eraseImportRows(tx, number); err != nil {
			return fmt.Errorf("import reports: %w", err)
		}
		if rep.FlowEntries, err = eraseFlowEntries(tx, number); err != nil {
			return fmt.Errorf("flow entries: %w", err)
		}
		if rep.CampaignMembers, err = eraseCampaignMembers(tx, number); err != nil {
			return fmt.Errorf("campaign members: %w", err)
		}
		if err := eraseChanges(tx, number); err != nil {
			return fmt.Errorf("change feed: %w", err)
		}
		entry, err := json.Marshal(struct {
			At time.Time `json:"at"`
		}{now.UTC()})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketSuppression).Put([]byte(rep.Hash), entry)
	})
	if err != nil {
		return EraseReport{}, fmt.Errorf("store: erase number: %w", err)
	}
	return rep, nil
}

func eraseContact(tx *bbolt.Tx, number string) (bool, error) {
	id := contactIDByNumber(tx, number)
	if id == 0 {
		return false, nil
	}
	c, err := getContact(tx, id)
	if err != nil {
		return false, err
	}
	if err := indexContactTags(tx, &c, nil); err != nil {
		return false, err
	}
	if err := tx.Bucket(bucketContacts).Delete(u64(id)); err != nil {
		return false, err
	}
	return true, tx.Bucket(bucketContactsByNumber).Delete([]byte(number))
}

// eraseMessages deletes every message to number; reindex removes each
// index entry the message implied (status, due, idempotency key, pending
// reports, recipient).
func eraseMessages(tx *bbolt.Tx, number string) (int, error) {
	n := 0
	for _, id := range idsUnder(tx.Bucket(bucketMsgByTo), numberPrefix(number)) {
		m, err := getMessage(tx, id)
		if errors.Is(err, ErrNotFound) {
			// A dangling entry: drop it so nothing of the number remains.
			if err := tx.Bucket(bucketMsgByTo).Delete(numberKey(number, id)); err != nil {
				return n, err
			}
			continue
		}
		if err != nil {
			return n, err
		}
		if err := tx.Bucket(bucketMessages).Delete(u64(id)); err != nil {
			return n, err
		}
		if err := reindex(tx, messageIndexes(), &m, nil); err != nil {
			return n, err
		}
		if err := countChange(tx, &m, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// eraseInbound deletes the texts from number, their pending marks, and any
// segments still waiting for their siblings.
func eraseInbound(tx *bbolt.Tx, number string) (int, error) {
	n := 0
	byFrom := tx.Bucket(bucketInboundByFrom)
	for _, id := range idsUnder(byFrom, numberPrefix(number)) {
		in, err := getInbound(tx, id)
		switch {
		case err == nil:
			n++
			if err := countInbound(tx, &in, -1); err != nil {
				return n, err
			}
		case !errors.Is(err, ErrNotFound):
			return n, err
		}
		for _, del := range []struct {
			b   *bbolt.Bucket
			key []byte
		}{
			{tx.Bucket(bucketInbound), u64(id)},
			{tx.Bucket(bucketInboundPending), u64(id)},
			{byFrom, numberKey(number, id)},
		} {
			if err := del.b.Delete(del.key); err != nil {
				return n, err
			}
		}
	}
	// Segments are keyed modem | 0 | from | ...: few are ever stored, so a
	// scan is cheaper than another index.
	parts := tx.Bucket(bucketInboundParts)
	var drop [][]byte
	err := parts.ForEach(func(k, v []byte) error {
		var p InboundPart
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("decode inbound part: %w", err)
		}
		if p.From == number {
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, deleteKeys(parts, drop)
}

// pseudonymiseLedger rewrites number's ledger entries under pseudonym.
func pseudonymiseLedger(tx *bbolt.Tx, number, pseudonym string) (int, error) {
	byNumber := tx.Bucket(bucketConsentByNumber)
	ids := idsUnder(byNumber, numberPrefix(number))
	for _, id := range ids {
		ev, err := getEvent(tx, id)
		if err != nil {
			return 0, err
		}
		pseudonymise(&ev, number, pseudonym)
		if err := putEvent(tx, &ev); err != nil {
			return 0, err
		}
		if err := byNumber.Delete(numberKey(number, id)); err != nil {
			return 0, err
		}
		if err := byNumber.Put(numberKey(pseudonym, id), []byte{}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// pseudonymise keeps what an event proves (when, what, how, which
// disclosure) and drops who: the number, the network and device details,
// free text, and any other field that quotes the number (a join page URL
// with ?phone=, say).
func pseudonymise(ev *ConsentEvent, number, pseudonym string) {
	ev.Number = pseudonym
	ev.IP, ev.UserAgent, ev.Terminal, ev.Note = "", "", "", ""
	digits := strings.TrimPrefix(number, "+")
	for _, f := range []*string{&ev.Source, &ev.Keyword, &ev.DisclosureText, &ev.Actor} {
		if strings.Contains(*f, number) || (len(digits) >= 5 && strings.Contains(*f, digits)) {
			*f = ""
		}
	}
}

// rekeyUsage replaces number by pseudonym in the per-SIM distinct-recipient
// keys ("d" and "m"), so that this month's counts stay what they were. The
// bucket holds only the current day and month per SIM: a scan is small.
func rekeyUsage(tx *bbolt.Tx, number, pseudonym string) error {
	b := tx.Bucket(bucketSIMUsage)
	suffix := append([]byte{0}, number...) // the recipient ends the key
	var old [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		if len(k) > 0 && (k[0] == 'd' || k[0] == 'm') && bytes.HasSuffix(k, suffix) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range old {
		nk := append(bytes.Clone(k[:len(k)-len(number)]), pseudonym...)
		if err := b.Delete(k); err != nil {
			return err
		}
		if err := b.Put(nk, []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// Subject returns everything stored about number (GDPR Art. 15 and 20):
// the contact if any, its Consent and ledger, and the texts to and from it,
// oldest first.
func (db *DB) Subject(number string) (SubjectData, error) {
	var s SubjectData
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		s = SubjectData{}
		if id := contactIDByNumber(tx, number); id != 0 {
			c, err := getContact(tx, id)
			if err != nil {
				return err
			}
			s.Contact = &c
		}
		var err error
		if s.Consent, _, err = getConsent(tx, number); err != nil {
			return err
		}
		if s.Events, err = eventsOf(tx, number); err != nil {
			return err
		}
		if s.Messages, err = recordsUnder(tx, bucketMsgByTo, numberPrefix(number), getMessage); err != nil {
			return err
		}
		if s.Inbound, err = recordsUnder(tx, bucketInboundByFrom, numberPrefix(number), getInbound); err != nil {
			return err
		}
		if s.ShopEvents, err = shopEventsOf(tx, number, "", time.Time{}); err != nil {
			return err
		}
		if s.FlowEntries, err = recordsUnder(tx, bucketFlowByNumber, numberPrefix(number), getFlowEntry); err != nil {
			return err
		}
		if s.Links, err = linksOf(tx, number); err != nil {
			return err
		}
		if s.CampaignMemberships, err = campaignMembershipsOf(tx, number); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return SubjectData{}, fmt.Errorf("store: subject data: %w", err)
	}
	return s, nil
}

// eraseChanges deletes the entries of the change feed and the webhook
// deliveries (pending or kept for the console) that name number: what was
// not yet delivered about the person is not delivered any more. The feed
// holds at most ChangeRetention of entries past every cursor, so the scan
// is bounded.
func eraseChanges(tx *bbolt.Tx, number string) error {
	quoted, err := json.Marshal(number)
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bucketChanges, bucketWebhookDeliveries} {
		b := tx.Bucket(name)
		var keys [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if bytes.Contains(v, quoted) {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := deleteKeys(b, keys); err != nil {
			return err
		}
		if bytes.Equal(name, bucketWebhookDeliveries) {
			if err := deleteKeys(tx.Bucket(bucketWebhookPending), keys); err != nil {
				return err
			}
		}
	}
	return nil
}

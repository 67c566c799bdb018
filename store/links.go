package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// Link is one short link: the code a text carries and the URL it stands
// for, fixed when the text was made. A code is never reused and its URL
// never changes, so a click always lands where the text said it would.
type Link struct {
	Code   string `json:"code"`
	URL    string `json:"url"`
	Number string `json:"number,omitempty"` // E.164 of the text's recipient
	// Origin names what sent the text ("flow:3:entry:77:step:2",
	// "console"), so clicks can be counted per flow, step or campaign.
	Origin string `json:"origin,omitempty"`
	// MessageKey is the idempotency key of the text that carries the link:
	// one code per (message, URL).
	MessageKey string    `json:"message_key"`
	CreatedAt  time.Time `json:"created_at"`

	// Counters kept by RecordClicks: clicks by people, and fetches by
	// link-preview robots and HEAD requests, which are not clicks.
	Clicks       int       `json:"clicks,omitempty"`
	Previews     int       `json:"previews,omitempty"`
	FirstClickAt time.Time `json:"first_click_at,omitzero"`
	LastClickAt  time.Time `json:"last_click_at,omitzero"`
}

// Click is one request for a short link.
type Click struct {
	Code string    `json:"code"`
	At   time.Time `json:"at"`
	// Agent is the class of the user agent: "browser", "head", or the
	// preview robot's name ("Slackbot", "WhatsApp", ...). The full header
	// is not kept: it identifies a device more than the count needs.
	Agent string `json:"agent"`
	// Preview: a robot fetched the link to show a preview, or a HEAD
	// request asked about it; it does not count as a click.
	Preview bool `json:"preview,omitempty"`
	// ContactID is the contact of the link's number when the click was
	// stored, 0 when there is none.
	ContactID uint64 `json:"contact_id,omitempty"`
}

// LinkStats sums the links of an origin prefix.
type LinkStats struct {
	Links        int `json:"links"`
	Clicks       int `json:"clicks"`        // every click by a person
	UniqueClicks int `json:"unique_clicks"` // links clicked at least once
	Numbers      int `json:"numbers"`       // distinct numbers that clicked
	Previews     int `json:"previews"`      // preview robots and HEAD requests
}

// Bounds of a link. A code is base62 (gateway/links makes them); the URL
// bound keeps a record small, and no shop's cart URL comes near it.
const (
	MinLinkCode   = 7
	maxLinkCode   = 32
	MaxLinkURL    = 2048
	maxLinkOrigin = 200
	maxMessageKey = 255
)

// ValidLinkCode reports whether code could be a short link's code: 7 to
// 32 characters of [0-9A-Za-z]. The redirect checks it before reading the
// store, so a probe with junk costs no transaction.
func ValidLinkCode(code string) bool {
	if len(code) < MinLinkCode || len(code) > maxLinkCode {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// CheckLinkURL checks that raw can be the target of a redirect: an
// absolute http or https URL with a host, no credentials, no control
// characters. field names it in the error.
func CheckLinkURL(field, raw string) error {
	if raw == "" {
		return &FieldError{Field: field, Message: "must not be empty"}
	}
	if len(raw) > MaxLinkURL {
		return &FieldError{Field: field, Message: fmt.Sprintf("is %d bytes long; a link may have at most %d", len(raw), MaxLinkURL)}
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || r == ' ' {
			return &FieldError{Field: field, Message: fmt.Sprintf("%q contains a space or control character", raw)}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return &FieldError{Field: field, Message: fmt.Sprintf("%q is not a URL: %v", raw, err)}
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return &FieldError{Field: field, Message: fmt.Sprintf("%q must be an absolute http:// or https:// URL", raw)}
	}
	if u.User != nil {
		return &FieldError{Field: field, Message: fmt.Sprintf("%q must not carry a user name or password", raw)}
	}
	return nil
}

func (l *Link) validate() error {
	switch {
	case !ValidLinkCode(l.Code):
		return &FieldError{Field: "code", Message: fmt.Sprintf("%q must be %d to %d letters and digits", l.Code, MinLinkCode, maxLinkCode)}
	case l.MessageKey == "":
		return &FieldError{Field: "message_key", Message: "must not be empty: a code belongs to one message"}
	case len(l.MessageKey) > maxMessageKey:
		return &FieldError{Field: "message_key", Message: fmt.Sprintf("longer than %d bytes", maxMessageKey)}
	case strings.IndexByte(l.MessageKey, 0) >= 0 || strings.IndexByte(l.Origin, 0) >= 0 || strings.IndexByte(l.Number, 0) >= 0:
		return &FieldError{Field: "message_key", Message: "message key, origin and number must not contain a NUL byte"}
	case len(l.Origin) > maxLinkOrigin:
		return &FieldError{Field: "origin", Message: fmt.Sprintf("longer than %d bytes", maxLinkOrigin)}
	}
	return CheckLinkURL("url", l.URL)
}

// Index keys of the link buckets (see schema.go). Every part before the
// last ends in 0x00, which no part contains, so no key prefixes another's.
func linkKeyKey(messageKey, url string) []byte {
	return []byte(messageKey + "\x00" + url)
}

func linkOriginKey(origin, number, code string) []byte {
	return []byte(origin + "\x00" + number + "\x00" + code)
}

func linkNumberKey(number, code string) []byte { return []byte(number + "\x00" + code) }

func linkClickPrefix(code string) []byte { return []byte(code + "\x00") }

// ErrLinkCodeTaken is returned by EnsureLinks when newCode keeps making
// codes that exist: with 62^7 codes that means a broken generator.
var ErrLinkCodeTaken = errors.New("store: every new link code tried was taken")

// EnsureLinks stores a link for each of ls that has none yet for its
// (MessageKey, URL), in one transaction, and returns the stored links in
// the order given: an existing one keeps its code, so making the same
// message again (a retry after a crash) gives the same short links. The
// Code of each l is ignored; newCode makes codes for the new ones.
func (db *DB) EnsureLinks(ls []Link, newCode func() (string, error)) ([]Link, error) {
	out := make([]Link, len(ls))
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		now := db.now().UTC()
		for i, l := range ls {
			l.Code = ""
			stored, err := ensureLink(tx, l, newCode, now)
			if err != nil {
				return err
			}
			out[i] = stored
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ensureLink is one link of EnsureLinks inside tx: the stored link of its
// (MessageKey, URL) if there is one; else l stored under l.Code when that
// is set and free, or under a fresh code from newCode.
func ensureLink(tx *bbolt.Tx, l Link, newCode func() (string, error), now time.Time) (Link, error) {
	links := tx.Bucket(bucketLinks)
	byKey := tx.Bucket(bucketLinksByKey)
	if code := byKey.Get(linkKeyKey(l.MessageKey, l.URL)); code != nil {
		return getLink(tx, string(code))
	}
	if l.Code != "" && (!ValidLinkCode(l.Code) || links.Get([]byte(l.Code)) != nil) {
		l.Code = ""
	}
	for try := 0; l.Code == "" && try < 8; try++ {
		code, err := newCode()
		if err != nil {
			return Link{}, fmt.Errorf("store: new link code: %w", err)
		}
		if links.Get([]byte(code)) == nil {
			l.Code = code
		}
	}
	if l.Code == "" {
		return Link{}, ErrLinkCodeTaken
	}
	l.CreatedAt = now
	l.Clicks, l.Previews, l.FirstClickAt, l.LastClickAt = 0, 0, time.Time{}, time.Time{}
	if err := l.validate(); err != nil {
		return Link{}, err
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return Link{}, err
	}
	if err := links.Put([]byte(l.Code), raw); err != nil {
		return Link{}, err
	}
	if err := byKey.Put(linkKeyKey(l.MessageKey, l.URL), []byte(l.Code)); err != nil {
		return Link{}, err
	}
	if err := tx.Bucket(bucketLinksByOrigin).Put(linkOriginKey(l.Origin, l.Number, l.Code), []byte{}); err != nil {
		return Link{}, err
	}
	if l.Number != "" {
		if err := tx.Bucket(bucketLinksByNumber).Put(linkNumberKey(l.Number, l.Code), []byte{}); err != nil {
			return Link{}, err
		}
	}
	return l, nil
}

func getLink(tx *bbolt.Tx, code string) (Link, error) {
	var l Link
	raw := tx.Bucket(bucketLinks).Get([]byte(code))
	if raw == nil {
		return l, fmt.Errorf("store: link %q: %w", code, ErrNotFound)
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return l, fmt.Errorf("store: decode link %q: %w", code, err)
	}
	return l, nil
}

// LinkByCode returns the link of code, or an error wrapping ErrNotFound.
func (db *DB) LinkByCode(code string) (Link, error) {
	if !ValidLinkCode(code) {
		return Link{}, fmt.Errorf("store: link %q: %w", code, ErrNotFound)
	}
	var l Link
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		l, err = getLink(tx, code)
		return err
	})
	return l, err
}

// RecordClicks stores clicks and previews in one transaction and adds them
// to their links' counters; each click (not a preview) is a link.click in
// the change feed. A click on a link that no longer exists (its
// number was erased since) is dropped.
func (db *DB) RecordClicks(cs []Click) error {
	if len(cs) == 0 {
		return nil
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		links := tx.Bucket(bucketLinks)
		changed := map[string]*Link{}
		// texts: the message each clicked link is in, found once per code.
		type textRef struct {
			id   uint64
			kind Kind
		}
		texts := map[string]textRef{}
		for _, c := range cs {
			l, ok := changed[c.Code]
			if !ok {
				stored, err := getLink(tx, c.Code)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				l = &stored
				changed[c.Code] = l
			}
			c.ContactID = contactIDByNumber(tx, l.Number)
			if c.Preview {
				l.Previews++
			} else {
				l.Clicks++
				if l.FirstClickAt.IsZero() || c.At.Before(l.FirstClickAt) {
					l.FirstClickAt = c.At
				}
				if c.At.After(l.LastClickAt) {
					l.LastClickAt = c.At
				}
			}
			bucket := tx.Bucket(bucketLinkClicks)
			if c.Preview {
				bucket = tx.Bucket(bucketLinkPreviews)
			}
			seq, err := bucket.NextSequence()
			if err != nil {
				return err
			}
			raw, err := json.Marshal(c)
			if err != nil {
				return err
			}
			if err := bucket.Put(append(linkClickPrefix(c.Code), u64(seq)...), raw); err != nil {
				return err
			}
			if !c.Preview {
				ref, ok := texts[c.Code]
				if !ok {
					if ref.id, ref.kind, err = linkMessage(tx, l); err != nil {
						return err
					}
					texts[c.Code] = ref
				}
				if err := indexClick(tx, l, c, seq, ref.id, ref.kind); err != nil {
					return err
				}
				if err := noteClickActivity(tx, l.Number, c.At); err != nil {
					return err
				}
				if err := appendChange(tx, c.At, ChangeLinkClick, l.Number, LinkClickChange{Code: c.Code, URL: l.URL,
					Number: l.Number, Origin: l.Origin, MessageKey: l.MessageKey, Agent: c.Agent, At: c.At}); err != nil {
					return err
				}
			}
		}
		for code, l := range changed {
			raw, err := json.Marshal(l)
			if err != nil {
				return err
			}
			if err := links.Put([]byte(code), raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// LinkClicks returns up to max stored requests of code, oldest first:
// clicks, or with previews the fetches that did not count.
func (db *DB) LinkClicks(code string, previews bool, max int) ([]Click, error) {
	bucket := bucketLinkClicks
	if previews {
		bucket = bucketLinkPreviews
	}
	var out []Click
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		prefix := linkClickPrefix(code)
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < max; k, v = c.Next() {
			var cl Click
			if err := json.Unmarshal(v, &cl); err != nil {
				return fmt.Errorf("store: decode click %q: %w", k, err)
			}
			out = append(out, cl)
		}
		return nil
	})
	return out, err
}

// Clicked reports whether number clicked any link of a text of exactly
// this origin: the flows' "clicked the previous text" condition.
func (db *DB) Clicked(number, origin string) (bool, error) {
	clicked := false
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		prefix := []byte(origin + "\x00" + number + "\x00")
		c := tx.Bucket(bucketLinksByOrigin).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			l, err := getLink(tx, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			if l.Clicks > 0 {
				clicked = true
				return nil
			}
		}
		return nil
	})
	return clicked, err
}

// LinkStatsOf sums the links whose origin starts with originPrefix
// ("flow:3:" for a flow, "flow:3:entry:77:step:2" for one text, "" for
// all).
func (db *DB) LinkStatsOf(originPrefix string) (LinkStats, error) {
	var st LinkStats
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		numbers := map[string]bool{}
		prefix := []byte(originPrefix)
		c := tx.Bucket(bucketLinksByOrigin).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			code := k[bytes.LastIndexByte(k, 0)+1:]
			l, err := getLink(tx, string(code))
			if err != nil {
				return err
			}
			st.Links++
			st.Clicks += l.Clicks
			st.Previews += l.Previews
			if l.Clicks > 0 {
				st.UniqueClicks++
				numbers[l.Number] = true
			}
		}
		st.Numbers = len(numbers)
		return nil
	})
	return st, err
}

// linksOf returns number's links (Subject).
func linksOf(tx *bbolt.Tx, number string) ([]Link, error) {
	prefix := []byte(number + "\x00")
	var out []Link
	c := tx.Bucket(bucketLinksByNumber).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		l, err := getLink(tx, string(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// eraseLinks deletes number's links, their clicks and their index entries
// (EraseNumber): a link records who got which text.
func eraseLinks(tx *bbolt.Tx, number string) (int, error) {
	prefix := []byte(number + "\x00")
	var codes []string
	c := tx.Bucket(bucketLinksByNumber).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		codes = append(codes, string(k[len(prefix):]))
	}
	for _, code := range codes {
		l, err := getLink(tx, code)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return 0, err
		}
		if err == nil {
			if err := tx.Bucket(bucketLinksByKey).Delete(linkKeyKey(l.MessageKey, l.URL)); err != nil {
				return 0, err
			}
			if err := tx.Bucket(bucketLinksByOrigin).Delete(linkOriginKey(l.Origin, l.Number, l.Code)); err != nil {
				return 0, err
			}
		}
		for _, bucket := range [][]byte{bucketLinkClicks, bucketLinkPreviews} {
			if err := deletePrefix(tx.Bucket(bucket), linkClickPrefix(code)); err != nil {
				return 0, err
			}
		}
		if err := tx.Bucket(bucketLinks).Delete([]byte(code)); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketLinksByNumber).Delete(linkNumberKey(number, code)); err != nil {
			return 0, err
		}
	}
	return len(codes), nil
}

// deletePrefix deletes every key of b that starts with prefix.
func deletePrefix(b *bbolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

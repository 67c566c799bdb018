package webui

import (
	"errors"
	"html"
	"html/template"
	"slices"

	"github.com/simgate/simgate/gateway"
)

// people names customers on the pages: a shop owner knows "Ana Lima", not
// +12015550123. One per request; it looks each number up once.
type people struct {
	gw    *gateway.Gateway
	names map[string]string
}

func newPeople(gw *gateway.Gateway) *people {
	return &people{gw: gw, names: map[string]string{}}
}

// Name is the contact's name for number, or "" when there is no contact
// or it has no name.
func (p *people) Name(number string) string {
	if p == nil || number == "" {
		return ""
	}
	if n, ok := p.names[number]; ok {
		return n
	}
	c, err := p.gw.Contacts().ByNumber(number)
	if err != nil && !errors.Is(err, gateway.ErrNotFound) {
		// A page still helps with the bare number; the next page retries.
		return ""
	}
	p.names[number] = c.Name
	return c.Name
}

// Who is the template's way to show a number: the name with the number
// beside it, or the number alone.
func (p *people) Who(number string) template.HTML {
	num := `<span class="num">` + html.EscapeString(number) + `</span>`
	if n := p.Name(number); n != "" {
		return template.HTML(`<span class="person">` + html.EscapeString(n) + `</span> ` + num)
	}
	return template.HTML(num)
}

// Label is Who as plain text, for titles: "Ana Lima (+12015550123)".
func (p *people) Label(number string) string {
	if n := p.Name(number); n != "" {
		return n + " (" + number + ")"
	}
	return number
}

// conversation is one number's exchange with the shop.
type conversation struct {
	Number string
	Last   gateway.Inbound
	// LastKeyword names the keyword the last text was ("stop", "help",
	// ...): the gateway has answered it, nobody needs to.
	LastKeyword string
	Count       int
	// Unread counts the texts after the last read mark that a person
	// should read: handled keywords are not among them.
	Unread int
	// Review: the number has an open opt-out review (its text read like
	// "stop texting me").
	Review bool
}

// inboxConversations is how many conversations the inbox lists: the
// newest ones. The walk that finds them stops there, so the page (and the
// menu's badge, on every page) costs the same in a box's second year as in
// its first week.
const inboxConversations = 100

// conversations lists the newest inboxConversations conversations, newest
// first. It walks received texts newest first until it has that many
// numbers (or scanLimit texts, when a few numbers wrote thousands). Each
// conversation's counts come from the sender index; only its unread texts
// (after the read marker: a few) are read, to leave out the keywords the
// gateway answered by itself.
func (s *server) conversations() ([]*conversation, error) {
	review, err := s.gw.ReviewQueue()
	if err != nil {
		return nil, err
	}
	byNumber := map[string]*conversation{}
	var list []*conversation
	var before uint64
	for walked := 0; walked < scanLimit && len(list) < inboxConversations; {
		page, next, err := s.gw.Inbox(before, 100)
		if err != nil {
			return nil, err
		}
		for _, m := range page { // newest first
			walked++
			if byNumber[m.From] == nil && len(list) < inboxConversations {
				c := &conversation{Number: m.From, Last: m, LastKeyword: s.gw.InboundKeyword(m.Text)}
				c.Review = slices.ContainsFunc(review, func(r gateway.Consent) bool { return r.Number == m.From })
				byNumber[m.From] = c
				list = append(list, c)
			}
		}
		if next == 0 {
			break
		}
		before = next
	}
	for _, c := range list {
		total, unread, err := s.gw.InboundCountFrom(c.Number)
		if err != nil {
			return nil, err
		}
		c.Count = total
		if unread == 0 {
			continue
		}
		newest, _, err := s.gw.InboundFrom(c.Number, 0, min(unread, threadTexts))
		if err != nil {
			return nil, err
		}
		for _, m := range newest {
			if s.gw.InboundKeyword(m.Text) == "" {
				c.Unread++
			}
		}
	}
	return list, nil
}

// navBadges are the counts beside menu entries; 0 shows no badge.
type navBadges struct {
	Inbox  int // conversations with unread texts
	Review int // opt-out reviews waiting for a decision
}

func (s *server) navBadges() navBadges {
	var b navBadges
	if list, err := s.conversations(); err == nil {
		for _, c := range list {
			if c.Unread > 0 {
				b.Inbox++
			}
		}
	}
	if q, err := s.gw.ReviewQueue(); err == nil {
		b.Review = len(q)
	}
	return b
}

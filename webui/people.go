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
	c, err := p.gw.ContactByNumber(number)
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

// conversations groups the newest scanLimit received texts by number,
// newest conversation first.
func (s *server) conversations() ([]*conversation, error) {
	in, err := s.recentInbound(scanLimit)
	if err != nil {
		return nil, err
	}
	review, err := s.gw.ReviewQueue()
	if err != nil {
		return nil, err
	}
	byNumber := map[string]*conversation{}
	var list []*conversation
	for _, m := range in { // newest first
		c := byNumber[m.From]
		if c == nil {
			c = &conversation{Number: m.From, Last: m, LastKeyword: s.gw.InboundKeyword(m.Text)}
			c.Review = slices.ContainsFunc(review, func(r gateway.Consent) bool { return r.Number == m.From })
			byNumber[m.From] = c
			list = append(list, c)
		}
		c.Count++
	}
	read := make(map[string]uint64, len(list))
	for _, c := range list {
		if read[c.Number], err = s.gw.InboxRead(c.Number); err != nil {
			return nil, err
		}
	}
	for _, m := range in {
		if m.ID > read[m.From] && s.gw.InboundKeyword(m.Text) == "" {
			byNumber[m.From].Unread++
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

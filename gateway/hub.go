package gateway

import (
	"sync"
	"time"
)

// Event is one live change: a message's state, an inbound text or a modem's
// health. Exactly one of the pointers is set, matching Type.
type Event struct {
	Type    string       `json:"type"` // "message", "inbound", "modem", "alert", "alert_cleared", "consent"
	At      time.Time    `json:"at"`
	Message *Message     `json:"message,omitempty"`
	Inbound *Inbound     `json:"inbound,omitempty"`
	Modem   *ModemStatus `json:"modem,omitempty"`
	Alert   *Alert       `json:"alert,omitempty"`
	Import  *ImportJob   `json:"import,omitempty"`  // progress of a contact import (Type "import")
	Consent *Consent     `json:"consent,omitempty"` // a number's consent changed (Type "consent")
}

// Hub fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full is dropped (its Done channel closes) so that one slow
// browser can neither stall the dispatcher nor grow memory without bound.
type Hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives events on C until it is closed or dropped.
type Subscription struct {
	C    <-chan Event
	c    chan Event
	done chan struct{}
	hub  *Hub
	once sync.Once
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: make(map[*Subscription]struct{})} }

// Subscribe registers a subscriber with a buffer of buf events.
func (h *Hub) Subscribe(buf int) *Subscription {
	if buf < 1 {
		buf = 1
	}
	c := make(chan Event, buf)
	s := &Subscription{C: c, c: c, done: make(chan struct{}), hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Done is closed when the subscription ends, by Close or because it fell
// behind.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.once.Do(func() { close(s.done) })
}

// Publish delivers e to every subscriber that has room and drops the rest.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.c <- e:
		default:
			delete(h.subs, s)
			s.once.Do(func() { close(s.done) })
		}
	}
}

// Subscribers reports how many subscriptions are live.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (g *Gateway) publishMessage(m Message) {
	g.hub.Publish(Event{Type: "message", At: g.now(), Message: &m})
}

func (g *Gateway) publishInbound(in Inbound) {
	g.hub.Publish(Event{Type: "inbound", At: g.now(), Inbound: &in})
}

func (g *Gateway) publishModem(st ModemStatus) {
	g.hub.Publish(Event{Type: "modem", At: g.now(), Modem: &st})
}

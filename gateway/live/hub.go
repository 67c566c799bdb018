// Package live carries the gateway's live state to whoever watches it: a
// typed fan-out hub for change events and the set of active alerts.
//
// It must not decide anything about texts, modems or consent, and it
// imports nothing from simgate: the parts say what changed, this package
// only passes it on and remembers which alerts are open.
package live

import "sync"

// Hub fans events out to subscribers. Publishing never blocks: a subscriber
// whose buffer is full is dropped (its Done channel closes) so that one slow
// browser can neither stall the dispatcher nor grow memory without bound.
type Hub[E any] struct {
	mu   sync.Mutex
	subs map[*Subscription[E]]struct{}
}

// Subscription receives events on C until it is closed or dropped.
type Subscription[E any] struct {
	C    <-chan E
	c    chan E
	done chan struct{}
	hub  *Hub[E]
	once sync.Once
}

// NewHub returns an empty hub.
func NewHub[E any]() *Hub[E] { return &Hub[E]{subs: make(map[*Subscription[E]]struct{})} }

// Subscribe registers a subscriber with a buffer of buf events.
func (h *Hub[E]) Subscribe(buf int) *Subscription[E] {
	if buf < 1 {
		buf = 1
	}
	c := make(chan E, buf)
	s := &Subscription[E]{C: c, c: c, done: make(chan struct{}), hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Done is closed when the subscription ends, by Close or because it fell
// behind.
func (s *Subscription[E]) Done() <-chan struct{} { return s.done }

// Close ends the subscription.
func (s *Subscription[E]) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.once.Do(func() { close(s.done) })
}

// Publish delivers e to every subscriber that has room and drops the rest.
func (h *Hub[E]) Publish(e E) {
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
func (h *Hub[E]) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

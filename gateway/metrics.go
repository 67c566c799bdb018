package gateway

import (
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/store"
)

// Meter is told, as it happens, what the monitoring figures (GET /metrics,
// package webui) count: parts accepted by the network or failed, by SIM and
// by class (transactional, marketing, compliance), and each message's time
// from submit to its delivery report. Its methods run on the send and
// report paths and must not block.
type Meter interface {
	PartSent(modem, class string)
	PartFailed(modem, class string)
	Delivered(modem, class string, latency time.Duration)
}

// SetMeter makes m hear the outbox's parts and deliveries from now on (nil
// stops it). The HTTP layer sets it when it builds its handler; the last
// one set is told.
func (g *Gateway) SetMeter(m Meter) {
	if m == nil {
		g.meter.to.Store(nil)
		return
	}
	g.meter.to.Store(&m)
}

// StoreSize is the database file's size and the bytes of its free pages,
// from what bbolt knows without reading a page (cheap enough for every
// scrape, unlike DataFile's page measurement).
func (g *Gateway) StoreSize() (size, free int64) { return g.db.FileSize() }

// meterRelay is the outbox's meter: it passes each count on to the Meter
// set last, converting the store's kinds to their API names.
type meterRelay struct{ to atomic.Pointer[Meter] }

func (r *meterRelay) PartSent(modem string, kind store.Kind) {
	if m := r.to.Load(); m != nil {
		(*m).PartSent(modem, kind.String())
	}
}

func (r *meterRelay) PartFailed(modem string, kind store.Kind) {
	if m := r.to.Load(); m != nil {
		(*m).PartFailed(modem, kind.String())
	}
}

func (r *meterRelay) Delivered(modem string, kind store.Kind, latency time.Duration) {
	if m := r.to.Load(); m != nil {
		(*m).Delivered(modem, kind.String(), latency)
	}
}

package outbox

import (
	"time"

	"github.com/simgate/simgate/store"
)

// SetMeter makes m hear the parts and deliveries from now on (nil stops
// it). The HTTP layer sets it when it builds its handler, after the queue
// is running; the last one set is told.
func (q *Queue) SetMeter(m Meter) {
	if m == nil {
		q.meter.Store(nil)
		return
	}
	q.meter.Store(&m)
}

// The monitoring hooks: each says what happened to the Meter set last, if
// any. Kept apart so the send and report paths read as one line each.

func (q *Queue) meterSent(modemName string, kind store.Kind) {
	if m := q.meter.Load(); m != nil {
		(*m).PartSent(modemName, kind.String())
	}
}

func (q *Queue) meterFailed(modemName string, kind store.Kind) {
	if m := q.meter.Load(); m != nil {
		(*m).PartFailed(modemName, kind.String())
	}
}

// meterReport tells the meter what a status report changed in msg: part
// seq failed, or the message is now delivered (the report that settled
// it), timed from its submit to now.
func (q *Queue) meterReport(modemName string, msg store.Message, seq int, now time.Time) {
	m := q.meter.Load()
	if m == nil || seq < 1 || seq > len(msg.Parts) {
		return
	}
	switch {
	case msg.Parts[seq-1].Status == store.StatusFailed:
		(*m).PartFailed(modemName, msg.Kind.String())
	case msg.Status == store.StatusDelivered:
		(*m).Delivered(modemName, msg.Kind.String(), now.Sub(msg.CreatedAt))
	}
}

package outbox

import (
	"time"

	"github.com/simgate/simgate/store"
)

// The monitoring hooks: each says what happened to Config.Meter, if one
// is set. Kept apart so the send and report paths read as one line each.

func (q *Queue) meterSent(modemName string, kind store.Kind) {
	if q.cfg.Meter != nil {
		q.cfg.Meter.PartSent(modemName, kind)
	}
}

func (q *Queue) meterFailed(modemName string, kind store.Kind) {
	if q.cfg.Meter != nil {
		q.cfg.Meter.PartFailed(modemName, kind)
	}
}

// meterReport tells the meter what a status report changed in msg: part
// seq failed, or the message is now delivered (the report that settled
// it), timed from its submit to now.
func (q *Queue) meterReport(modemName string, msg store.Message, seq int, now time.Time) {
	if q.cfg.Meter == nil || seq < 1 || seq > len(msg.Parts) {
		return
	}
	switch {
	case msg.Parts[seq-1].Status == store.StatusFailed:
		q.cfg.Meter.PartFailed(modemName, msg.Kind)
	case msg.Status == store.StatusDelivered:
		q.cfg.Meter.Delivered(modemName, msg.Kind, now.Sub(msg.CreatedAt))
	}
}

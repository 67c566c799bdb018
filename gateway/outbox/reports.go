package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// handleReport matches a status report to the part it is about, on
// (modem, MR, recipient, time window) as gammu does, and moves the part and
// its message on. The MR alone is not enough: it is 8 bits and wraps every
// 256 submits. Unmatched reports are logged and dropped.
func (q *Queue) handleReport(modemName string, rep modem.StatusReport) error {
	outcome := rep.Outcome()
	if outcome == modem.OutcomePending {
		return nil // the SMSC is still trying; a final report follows
	}
	now := q.now()
	window := q.cfg.ReportWindow
	digits := digitsOf(rep.Recipient)
	recipientOK := func(to string) bool {
		if len(digits) < 6 {
			return true // garbage RA (seen on ZTE modems): MR and time must do
		}
		return sameNumber(digitsOf(to), digits)
	}
	// Collect every outstanding part with this MR and recipient, then take
	// the one sent closest to the report's SCTS (when the SMSC took it).
	// "Newest first" is not enough: once the MR has wrapped, a late report
	// for an old part would land on the newer part that reuses its MR.
	type candidate struct {
		id     uint64
		seq    int
		sentAt time.Time
	}
	var cands []candidate
	_, _, _, err := q.db.FindReport(modemName, rep.MR, now.Add(-window), func(m store.Message, seq int, sentAt time.Time) bool {
		if recipientOK(m.To) {
			cands = append(cands, candidate{m.ID, seq, sentAt})
		}
		return false // keep walking: we choose below
	})
	if err != nil {
		return fmt.Errorf("match status report: %w", err)
	}
	var best *candidate
	bestGap := time.Duration(-1)
	for i := range cands {
		c := &cands[i]
		gap := time.Duration(0)
		if !rep.SCTS.IsZero() {
			gap = rep.SCTS.Sub(c.sentAt).Abs()
		}
		// With no usable SCTS (or equal gaps) the newest part wins, as
		// FindReport lists newest first.
		if best == nil || gap < bestGap {
			best, bestGap = c, gap
		}
	}
	if best == nil {
		return q.unmatchedReport(modemName, rep, now)
	}
	if !rep.SCTS.IsZero() && bestGap > window {
		q.log.Info("status report too far from any submit", "modem", modemName, "mr", rep.MR, "gap", bestGap)
		return nil
	}
	id, seq := best.id, best.seq
	msg, err := q.db.UpdateBatch(id, func(m *store.Message) error {
		if seq < 1 || seq > len(m.Parts) || m.Parts[seq-1].Status != store.StatusSent {
			return errSkip
		}
		p := &m.Parts[seq-1]
		p.DoneAt = now
		if outcome == modem.OutcomeDelivered {
			p.Status = store.StatusDelivered
		} else {
			p.Status = store.StatusFailed
			p.Error = fmt.Sprintf("status report: TP-ST 0x%02X", rep.Status)
		}
		settleMessage(m, now)
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record status report: %w", err)
	}
	q.meterReport(modemName, msg, seq, now)
	q.notify.MessageChanged(msg)
	return nil
}

// settleMessage sets a sent message's status from its parts once every part
// has its final report: delivered when all were, failed when any was not.
func settleMessage(m *store.Message, now time.Time) {
	if m.Status != store.StatusSent {
		return
	}
	failed := 0
	for _, p := range m.Parts {
		switch p.Status {
		case store.StatusDelivered:
		case store.StatusFailed:
			failed++
		default:
			return // still waiting for a report
		}
	}
	if failed > 0 {
		m.Error = fmt.Sprintf("%d of %d parts not delivered", failed, len(m.Parts))
		SetStatus(m, now, store.StatusFailed, m.Error)
		return
	}
	SetStatus(m, now, store.StatusDelivered, "delivered")
}

// digitsOf keeps only the digits of a number.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sameNumber compares two digit strings where one may be in national format
// (a report's RA is sometimes "602396602" for "+420602396602"): equal, or
// the longer ends with the shorter once its leading trunk zero is dropped.
func sameNumber(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	b = strings.TrimLeft(b, "0")
	return len(b) >= 6 && strings.HasSuffix(a, b)
}

// reportPatience is how long an unmatched status report is kept on the
// modem for another try. A report can overtake the commit of its part's MR
// (the SMSC answers within a second; a Pi's SD card can take longer to
// fsync); the modem's next sweep hands it over again.
const reportPatience = 5 * time.Minute

// errReportEarly leaves a status report on the modem for the next sweep.
var errReportEarly = errors.New("status report matches no part yet: kept on the modem for the next sweep")

// unmatchedReport decides about a report that matched no outstanding part:
// retried for reportPatience, then dropped with a log line.
func (q *Queue) unmatchedReport(modemName string, rep modem.StatusReport, now time.Time) error {
	key := fmt.Sprintf("%s|%d|%s|%d", modemName, rep.MR, rep.Recipient, rep.SCTS.UnixNano())
	q.reportMu.Lock()
	defer q.reportMu.Unlock()
	if q.unmatched == nil {
		q.unmatched = map[string]time.Time{}
	}
	for k, t := range q.unmatched {
		if now.Sub(t) > 2*reportPatience {
			delete(q.unmatched, k)
		}
	}
	first, seen := q.unmatched[key]
	if !seen || q.hasKeptMR(modemName, rep.MR) {
		// While an MR of this modem waits in memory for the disk, the
		// report may be its: the patience starts once it is written.
		q.unmatched[key] = now
		first = now
	}
	if now.Sub(first) < reportPatience {
		return errReportEarly
	}
	delete(q.unmatched, key)
	q.log.Info("status report matched no message", "modem", modemName, "mr", rep.MR, "status", fmt.Sprintf("0x%02X", rep.Status))
	return nil
}

// reportSweepInterval is how often parts past the report window leave the
// report index. The window is days long; ten minutes late is nothing, and
// an idle sweep costs one read.
const reportSweepInterval = 10 * time.Minute

// reportSweepBatch bounds one write transaction of the sweep, so a year's
// backlog after an upgrade never holds the writer long.
const reportSweepBatch = 500

// sweepReports runs ExpireReports now and every reportSweepInterval until
// ctx is done.
func (q *Queue) sweepReports(ctx context.Context) {
	t := time.NewTicker(reportSweepInterval)
	defer t.Stop()
	for {
		if _, err := q.ExpireReports(); err != nil && ctx.Err() == nil {
			q.log.Error("expire status reports", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExpireReports stops waiting for the status reports of parts sent longer
// than the report window ago: they stay `sent`, with the error "no status
// report within <window>", and leave the report index, so matching a
// report costs the same however many reports the network never sent.
// It returns how many messages it changed.
func (q *Queue) ExpireReports() (int, error) {
	note := "no status report within " + windowText(q.cfg.ReportWindow)
	total := 0
	for {
		msgs, walked, err := q.db.ExpireReports(q.now().Add(-q.cfg.ReportWindow), note, reportSweepBatch)
		if err != nil {
			return total, fmt.Errorf("gateway: %w", err)
		}
		for _, m := range msgs {
			q.notify.MessageChanged(m)
		}
		total += len(msgs)
		if walked < reportSweepBatch {
			return total, nil
		}
	}
}

// windowText writes a report window the way people say it: "72 h", "90 min".
func windowText(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}

package contacts

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/simgate/simgate/store"
)

// importJobs are the imports running in this process. Every job's context
// derives from ctx, which StopImports ends; wg counts the jobs, and the
// starts in progress, that StopImports waits for.
type importJobs struct {
	ctx  context.Context
	stop context.CancelCauseFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	running map[string]*runningImport
}

// runningImport is a job of this process: its live state, how to cancel
// it, and its end.
type runningImport struct {
	job    ImportJob // guarded by importJobs.mu
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the job has ended
}

func (s *importJobs) init() {
	s.ctx, s.stop = context.WithCancelCause(context.Background())
	s.running = map[string]*runningImport{}
}

// reserve makes room for a new job: its context, and a place among the
// jobs StopImports waits for, which release gives back. After StopImports
// it refuses.
func (s *importJobs) reserve() (context.Context, context.CancelCauseFunc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, nil, fmt.Errorf("gateway: import refused: %w: %w", errImportsStopped, context.Canceled)
	}
	s.wg.Add(1)
	ctx, cancel := context.WithCancelCause(s.ctx)
	return ctx, cancel, nil
}

func (s *importJobs) release() { s.wg.Done() }

// add lists a started job as running.
func (s *importJobs) add(rec store.ImportJob, cancel context.CancelCauseFunc) *runningImport {
	r := &runningImport{job: jobFromRecord(rec), cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[rec.ID] = r
	return r
}

// end marks r's end. A job whose last record was written leaves the list
// (the store answers for it); one whose record could not be written stays,
// so that its live state still tells how it ended.
func (s *importJobs) end(r *runningImport, persisted bool) {
	s.mu.Lock()
	if persisted {
		delete(s.running, r.job.ID)
	}
	s.mu.Unlock()
	close(r.done)
}

func (s *importJobs) find(id string) *runningImport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[id]
}

// update changes r's live state and returns a copy of it.
func (s *importJobs) update(r *runningImport, fn func(*ImportJob)) ImportJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&r.job)
	return copyJob(r.job)
}

// snapshot copies r's live state.
func (s *importJobs) snapshot(r *runningImport) ImportJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyJob(r.job)
}

// copyJob is j sharing no map or slice with it, without rejected rows.
func copyJob(j ImportJob) ImportJob {
	j.Columns = maps.Clone(j.Columns)
	j.IgnoredColumns = slices.Clone(j.IgnoredColumns)
	j.Report.Rejected = nil
	return j
}

func (r *runningImport) ended() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// interruptLeftovers marks the jobs a crash or a stop left running as
// interrupted. New calls it, before any import can run.
func (b *Book) interruptLeftovers() error {
	ids, err := b.db.InterruptImportJobs(b.now(), interruptedReason)
	if err != nil {
		return fmt.Errorf("gateway: contacts: %w", err)
	}
	if len(ids) > 0 {
		b.log.Warn("contact imports were interrupted by the last stop", "jobs", ids)
	}
	return nil
}

// StopImports cancels every running import and waits until each has
// recorded its end (interrupted, with the rows of the batches it wrote);
// imports asked for later are refused. The gateway's Run calls it on its
// way out, so the store is never closed under an import.
func (b *Book) StopImports() {
	b.imports.mu.Lock()
	b.imports.stopped = true
	b.imports.mu.Unlock()
	b.imports.stop(errImportsStopped)
	b.imports.wg.Wait()
}

// Cancel stops a running import: no further row is read, and the rows of
// the batches already written stay (they are upserts). It waits until the
// job recorded its end, or ctx is done, and returns the job as it is then:
// cancelled, or still running when ctx ended first (or done, when the file
// ended before the cancel took). store.ErrNotFound for an unknown job,
// store.ErrConflict for one that has already ended. actor is logged.
func (b *Book) Cancel(ctx context.Context, id, actor string) (ImportJob, error) {
	r := b.imports.find(id)
	if r == nil || r.ended() {
		j, err := b.Job(id)
		if err != nil {
			return ImportJob{}, err
		}
		return ImportJob{}, fmt.Errorf("import job %q has ended (%s): %w", id, j.State, store.ErrConflict)
	}
	r.cancel(errImportCancelled)
	b.log.Info("contact import cancelled", "job", id, "by", actor)
	select {
	case <-r.done:
	case <-ctx.Done():
		return b.imports.snapshot(r), nil
	}
	return b.Job(id)
}

// Job returns an import job with its rejected rows (none while it runs);
// store.ErrNotFound when it is unknown or was pruned.
func (b *Book) Job(id string) (ImportJob, error) {
	if r := b.imports.find(id); r != nil {
		j := b.imports.snapshot(r)
		j.Report.Rejected = []ImportRejection{}
		if j.State != ImportRunning {
			// Its end could not be written: show what the store has.
			j.Report.Rejected, _ = b.rejections(id)
		}
		return j, nil
	}
	rec, err := b.db.ImportJob(id)
	if errors.Is(err, store.ErrNotFound) {
		return ImportJob{}, fmt.Errorf("import job %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return ImportJob{}, fmt.Errorf("gateway: import job: %w", err)
	}
	j := jobFromRecord(rec)
	if j.Report.Rejected, err = b.rejections(id); err != nil {
		return ImportJob{}, fmt.Errorf("gateway: import job: %w", err)
	}
	return j, nil
}

// rejections are the rejected rows kept for job id, without their cells.
func (b *Book) rejections(id string) ([]ImportRejection, error) {
	out := []ImportRejection{}
	err := b.db.EachImportRejection(id, func(r store.ImportRejection) error {
		out = append(out, ImportRejection{Row: r.Row, Number: r.Number, Reason: r.Reason})
		return nil
	})
	return out, err
}

// Jobs lists the jobs kept, newest first, without their rejected rows.
func (b *Book) Jobs() []ImportJob {
	recs, err := b.db.ImportJobs()
	if err != nil {
		b.log.Error("list import jobs", "error", err)
	}
	stored := make(map[string]bool, len(recs))
	for _, rec := range recs {
		stored[rec.ID] = true
	}
	b.imports.mu.Lock()
	out := make([]ImportJob, 0, len(recs))
	var fresh []ImportJob
	for _, rec := range recs {
		if r := b.imports.running[rec.ID]; r != nil {
			out = append(out, copyJob(r.job))
		} else {
			out = append(out, jobFromRecord(rec))
		}
	}
	// A job just started is in memory only until its record is written.
	for id, r := range b.imports.running {
		if !stored[id] {
			fresh = append(fresh, copyJob(r.job))
		}
	}
	b.imports.mu.Unlock()
	slices.SortFunc(fresh, func(a, b ImportJob) int { return b.StartedAt.Compare(a.StartedAt) })
	return append(fresh, out...)
}

// Wait blocks until the job ends or ctx is done, then returns it.
func (b *Book) Wait(ctx context.Context, id string) (ImportJob, error) {
	if r := b.imports.find(id); r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
			return ImportJob{}, ctx.Err()
		}
	}
	return b.Job(id)
}

// WriteRejectedCSV writes a job's rejected rows as CSV: row, number and
// reason, then the row's own columns, so the file can be fixed and
// imported again with the same mapping. The rows stream from the store.
// Every cell that came from the upload goes through CSVSafe, as in the
// export: the download is opened in a spreadsheet, and a cell of the file
// may be a formula. The number reads back unchanged (a leading apostrophe
// is not part of a number).
func (b *Book) WriteRejectedCSV(w io.Writer, id string) error {
	rec, err := b.db.ImportJob(id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("import job %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("gateway: rejected rows: %w", err)
	}
	cw := csv.NewWriter(w)
	header := []string{"row", "number", "reason"}
	for _, h := range rec.Headers {
		header = append(header, CSVSafe(h))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, 0, len(header))
	err = b.db.EachImportRejection(id, func(r store.ImportRejection) error {
		row = append(row[:0], fmt.Sprint(r.Row), CSVSafe(r.Number), CSVSafe(r.Reason))
		for _, f := range r.Fields {
			row = append(row, CSVSafe(f))
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

package contacts

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/simgate/simgate/store"
)

// importer is one running import: its input, the job's record as last
// written, and the batch being gathered. Its memory is the batch
// (importBatch records, importBatchBytes of cells) and the CSV reader's
// buffers, whatever the file holds: rejected rows go to the store with
// their batch, and the numbers seen are the store's to remember.
type importer struct {
	b    *Book
	ctx  context.Context // ends with Cancel (errImportCancelled) or StopImports (errImportsStopped)
	opts ImportOptions
	in   *importInput
	run  *runningImport    // the live state Job, Wait and the progress events read
	rec  store.ImportJob   // the record as the last batch wrote it
	rows []store.ImportRow // the batch's valid rows
	// cells are rows' records, index for index, for the report of a row
	// the store refuses (suppressed, duplicate).
	cells    [][]string
	rejected []store.ImportRejection // the batch's invalid rows, when the report still keeps rows
	// read, invalid and size count the batch's records, its invalid rows
	// and the bytes of cells it holds; first and last are its lines.
	read, invalid, size int
	first, last         int
	lastPub             time.Time
}

// work stores the job's record, then reads the file.
func (im *importer) work() error {
	rec, err := im.b.db.CreateImportJob(im.rec, keptImportJobs)
	if err != nil {
		return fmt.Errorf("record the job: %w", err)
	}
	im.rec = rec
	return im.readAll()
}

// readAll reads the rows to the end of the file and writes them; the
// first error, or the end of the job's context, stops it.
func (im *importer) readAll() error {
	for {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		rec, line, err := im.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		im.add(rec, line)
		if im.read >= importBatch || im.size >= importBatchBytes {
			if err := im.flush(nil); err != nil {
				return err
			}
			// A written batch is always shown: the throttled updates
			// below may all fall before it when rows arrive fast and
			// then the upload stalls, leaving the job's page behind.
			im.publish(true)
		}
		if (im.rec.RowsRead+im.read)%256 == 0 {
			im.publish(false)
		}
	}
}

// next reads one record and the line it starts on (quoted fields may span
// lines).
func (im *importer) next() ([]string, int, error) {
	rec, err := im.in.csv.Read()
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) && parseErr.Err != csv.ErrFieldCount {
		// A broken quote can swallow the rest of the file; stop with
		// the line rather than guess where the next row starts.
		return nil, 0, fmt.Errorf("line %d: %w", parseErr.Line, parseErr.Err)
	}
	if err != nil {
		if cause := context.Cause(im.ctx); cause != nil {
			return nil, 0, cause // the input was closed because the job was stopped
		}
		return nil, 0, err
	}
	line, _ := im.in.csv.FieldPos(0)
	im.in.limit.startRow(rowAfter(im.in.csv, rec))
	return rec, line, nil
}

// add validates one record: a valid row joins the batch, an invalid one is
// counted and, while the report keeps rows, kept for it. Whether two rows
// share a number is the store's to find, when the batch is written.
func (im *importer) add(rec []string, line int) {
	if im.read == 0 {
		im.first = line
	}
	im.read++
	im.last = line
	if isBlankRecord(rec) {
		return
	}
	up, number, reason := im.b.importRow(rec, im.in, im.opts)
	if reason == "" {
		im.rows = append(im.rows, store.ImportRow{Row: line, ContactUpsert: up})
		im.cells = append(im.cells, slices.Clone(rec))
		im.size += cellsSize(rec)
		return
	}
	im.invalid++
	if !im.rec.RejectedTruncated { // past the limit only the count goes on
		r := rejection(line, number, reason, slices.Clone(rec))
		im.rejected = append(im.rejected, r)
		im.size += rejectionSize(r)
	}
}

// rejection is a row for the report, its number and reason cut to
// maxRejectionText; it keeps cells, which must not be reused.
func rejection(line int, number, reason string, cells []string) store.ImportRejection {
	return store.ImportRejection{Row: line, Number: cutText(number, maxRejectionText),
		Reason: cutText(reason, maxRejectionText), Fields: cells}
}

func cellsSize(cells []string) int {
	n := 0
	for _, c := range cells {
		n += len(c)
	}
	return n
}

func rejectionSize(r store.ImportRejection) int {
	return len(r.Number) + len(r.Reason) + cellsSize(r.Fields)
}

// cutText returns the longest prefix of s of at most n bytes that ends
// between two characters.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// flush writes the batch with the job's record in one transaction, counts
// what the store did with each row and keeps the rejected rows the report
// still has room for. end, when set, finishes the record in the same
// transaction.
func (im *importer) flush(end func(j *store.ImportJob)) error {
	rows, cells, invalid := im.rows, im.cells, slices.Clone(im.rejected)
	read, invalidCount, offset := im.read, im.invalid, im.in.csv.InputOffset()
	rec, err := im.b.db.WriteImportBatch(im.rec.ID, rows, func(j *store.ImportJob, results []store.ImportResult) ([]store.ImportRejection, error) {
		j.RowsRead += read
		j.BytesRead = offset
		j.Invalid += invalidCount
		rejected := invalid
		for i, res := range results {
			switch res.Outcome {
			case store.UpsertCreated:
				j.Imported++
			case store.UpsertUpdated:
				j.Updated++
			case store.UpsertSuppressed:
				j.Suppressed++
				rejected = append(rejected, rejection(rows[i].Row, res.Contact.Number, "suppressed: erased on request", cells[i]))
			case store.UpsertDuplicate:
				// Rejected, not merged: two rows for one person usually
				// mean one of them is wrong, and a person should pick
				// which.
				j.Invalid++
				rejected = append(rejected, rejection(rows[i].Row, res.Contact.Number, fmt.Sprintf("duplicate of row %d", res.DuplicateOf), cells[i]))
			}
			if res.ConsentKept {
				j.ConsentKept++
			}
		}
		if end != nil {
			end(j)
		}
		return keepRejections(j, rejected), nil
	})
	if err != nil {
		if read == 0 {
			return fmt.Errorf("write the job's record: %w", err)
		}
		return fmt.Errorf("write rows %d to %d: %w", im.first, im.last, err)
	}
	im.rec = rec
	im.rows, im.cells, im.rejected = im.rows[:0], im.cells[:0], im.rejected[:0]
	im.read, im.invalid, im.size = 0, 0, 0
	return nil
}

// keepRejections picks the rejected rows j's report still has room for,
// in file order, and counts them in j; once one does not fit, the report
// is truncated and keeps no later row.
func keepRejections(j *store.ImportJob, rejected []store.ImportRejection) []store.ImportRejection {
	slices.SortFunc(rejected, func(a, b store.ImportRejection) int { return a.Row - b.Row })
	kept := rejected[:0]
	for _, r := range rejected {
		size := int64(rejectionSize(r))
		if j.RejectedTruncated || j.RejectedKept >= maxKeptRejections || j.RejectedBytes+size > maxKeptRejectedBytes {
			j.RejectedTruncated = true
			continue
		}
		j.RejectedKept++
		j.RejectedBytes += size
		kept = append(kept, r)
	}
	return kept
}

// publish updates the live state and sends a progress event, at most
// every importProgressEvery unless forced. Its counts include the batch
// not yet written.
func (im *importer) publish(force bool) {
	if !force && time.Since(im.lastPub) < importProgressEvery {
		return
	}
	im.lastPub = time.Now()
	rec, read, invalid, offset := im.rec, im.read, im.invalid, im.in.csv.InputOffset()
	snap := im.b.imports.update(im.run, func(j *ImportJob) {
		*j = jobFromRecord(rec)
		if j.State == ImportRunning {
			j.RowsRead += read
			j.BytesRead = offset
			j.Report.Invalid += invalid
		}
	})
	im.b.notify.ImportProgress(snap)
}

// Why a job's context ended.
var (
	errImportCancelled = errors.New("import cancelled")
	errImportsStopped  = errors.New("the gateway is stopping")
)

// interruptedReason is the error of a job the gateway stopped under.
const interruptedReason = "the gateway stopped while the file was being read; the rows counted were written and stay"

// finish records how the job ended. A job read to its end writes its last
// batch with the final record; one that stopped early (cancelled,
// interrupted, failed) drops the batch it was gathering and keeps the
// counts of the batches written. If even that cannot be written the live
// state still tells the end, and the next start marks the record
// interrupted.
func (im *importer) finish(readErr error) {
	now := im.b.now().UTC()
	state, msg := ImportDone, ""
	switch cause := context.Cause(im.ctx); {
	case errors.Is(cause, errImportCancelled):
		state = ImportCancelled
	case errors.Is(cause, errImportsStopped):
		state, msg = ImportInterrupted, interruptedReason
	case readErr != nil:
		state, msg = ImportFailed, readErr.Error()
	}
	end := func(j *store.ImportJob) { j.State, j.FinishedAt, j.Error = state, now, msg }
	if state != ImportDone {
		im.rows, im.cells, im.rejected = nil, nil, nil
		im.read, im.invalid = 0, 0
	}
	err := im.flush(end)
	if err != nil && state == ImportDone {
		state, msg = ImportFailed, err.Error()
		im.rows, im.cells, im.rejected = nil, nil, nil
		im.read, im.invalid = 0, 0
		err = im.flush(end) // records the failure without the batch
	}
	persisted := err == nil
	if !persisted {
		im.rec.State, im.rec.FinishedAt, im.rec.Error = state, now, msg
		im.b.log.Error("record the end of a contact import", "job", im.rec.ID, "state", state, "error", err)
	}
	im.log()
	im.read, im.invalid = 0, 0
	im.publish(true)
	im.b.imports.end(im.run, persisted)
}

// log tells how the job ended.
func (im *importer) log() {
	j := im.rec
	switch j.State {
	case ImportDone:
		im.b.log.Info("contacts imported", "job", j.ID, "rows", j.RowsRead, "created", j.Imported,
			"updated", j.Updated, "invalid", j.Invalid, "suppressed", j.Suppressed, "by", im.opts.Actor)
	case ImportFailed:
		im.b.log.Error("contact import failed", "job", j.ID, "rows", j.RowsRead, "error", j.Error)
	default:
		im.b.log.Warn("contact import stopped", "job", j.ID, "state", j.State, "rows", j.RowsRead,
			"created", j.Imported, "updated", j.Updated)
	}
}

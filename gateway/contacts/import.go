package contacts

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// Import tuning.
const (
	// importBatch rows go to the store in one transaction: one fsync per
	// thousand rows keeps a 100k-row file well above 10,000 rows/s on an SD
	// card while a crash loses at most the batch being written (the rows
	// are upserts, so the file can simply be imported again).
	importBatch = 1000
	// importProgressEvery bounds the live progress events to ten a second:
	// enough for a smooth bar, few enough for a Raspberry Pi's websocket.
	importProgressEvery = 100 * time.Millisecond
	// keptImportJobs: jobs live in memory only; the last few are enough to
	// look at the report after the page was reloaded.
	keptImportJobs = 10
	// maxKeptRejections bounds the memory of one job's report; the counts
	// stay exact beyond it.
	maxKeptRejections = 10_000
	// maxImportHeaders guards against a "header" that is really a blob.
	maxImportHeaders = 200
	// ImportSpoolPattern names upload spool files in the data directory;
	// leftovers of a crash are removed at start.
	ImportSpoolPattern = "import-*.csv.tmp"
)

// Import job states.
const (
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportOptions say how to read a CSV file of contacts.
type ImportOptions struct {
	// FileName is recorded as the source of every opt-in from the file.
	FileName string
	// Columns maps a CSV header to a field: "number", "name", "first_name",
	// "last_name", "time_zone", "language", "tags", "consent",
	// "attr:<key>" or "ignore". Headers not listed map by their name when
	// it is a well-known one (phone, mobile, email ...); others are ignored
	// and listed in the job.
	Columns map[string]string
	// DisclosureVersion is the saved disclosure text the people in the
	// file agreed to. Required when the file has a consent column.
	DisclosureVersion string
	// TotalBytes is the file's size when known, for the progress bar.
	TotalBytes int64
	// Actor is the console user or token name that started the import.
	Actor string
}

// ImportRejection is one row that was not stored.
type ImportRejection struct {
	Row    int      `json:"row"` // line number in the file, the header being 1
	Number string   `json:"number,omitempty"`
	Reason string   `json:"reason"`
	Fields []string `json:"-"` // the row as read, for the rejected-rows download
}

// ImportReport counts what happened to the rows.
type ImportReport struct {
	Imported    int `json:"imported"`     // new contacts
	Updated     int `json:"updated"`      // existing contacts merged with their row
	Invalid     int `json:"invalid"`      // rows refused (bad field, duplicate in the file)
	Suppressed  int `json:"suppressed"`   // numbers erased on request: nothing stored (R-GDPR-2)
	ConsentKept int `json:"consent_kept"` // opt-ins ignored because the number had opted out
	// Rejected lists every row not stored, invalid and suppressed alike,
	// in file order; at most maxKeptRejections of them.
	Rejected          []ImportRejection `json:"rejected"`
	RejectedTruncated bool              `json:"rejected_truncated,omitempty"`
}

// ImportJob is the state of one import, as the API and the console show it.
type ImportJob struct {
	ID             string            `json:"id"`
	State          string            `json:"state"` // running, done, failed
	FileName       string            `json:"file_name,omitempty"`
	Columns        map[string]string `json:"columns"`                   // header → field, as used
	IgnoredColumns []string          `json:"ignored_columns,omitempty"` // headers that mapped to nothing
	StartedAt      time.Time         `json:"started_at"`
	FinishedAt     time.Time         `json:"finished_at,omitzero"`
	RowsRead       int               `json:"rows_read"`
	BytesRead      int64             `json:"bytes_read"`
	TotalBytes     int64             `json:"total_bytes,omitempty"`
	Error          string            `json:"error,omitempty"`
	Report         ImportReport      `json:"report"`

	headers []string
	done    chan struct{}
}

// Percent is how far the job got by bytes read, or -1 when the size is
// unknown.
func (j ImportJob) Percent() int {
	if j.State != ImportRunning {
		return 100
	}
	if j.TotalBytes <= 0 {
		return -1
	}
	return int(min(100, j.BytesRead*100/j.TotalBytes))
}

// Headers are the file's column names, for the rejected-rows download.
func (j ImportJob) Headers() []string { return slices.Clone(j.headers) }

// importJobs keeps the recent jobs in memory.
type importJobs struct {
	mu   sync.Mutex
	jobs []*ImportJob // oldest first, at most keptImportJobs
}

// field kinds a column can map to.
const (
	colIgnore = iota
	colNumber
	colName
	colFirstName
	colLastName
	colTimeZone
	colLanguage
	colTags
	colConsent
	colAttr
)

type column struct {
	kind int
	attr string // for colAttr
}

// wellKnownColumns maps normalised header names to fields, for files whose
// columns were not mapped by hand.
var wellKnownColumns = map[string]string{
	"number": "number", "phone": "number", "phone_number": "number", "mobile": "number",
	"mobile_number": "number", "mobile_phone": "number", "cell": "number", "cell_phone": "number",
	"msisdn": "number", "telephone": "number", "tel": "number", "sms": "number",
	"name": "name", "full_name": "name", "fullname": "name",
	"first_name": "first_name", "firstname": "first_name", "given_name": "first_name",
	"last_name": "last_name", "lastname": "last_name", "surname": "last_name", "family_name": "last_name",
	"time_zone": "time_zone", "timezone": "time_zone", "tz": "time_zone",
	"language": "language", "lang": "language", "locale": "language",
	"tags": "tags", "tag": "tags", "labels": "tags",
	"consent": "consent", "marketing_consent": "consent", "sms_consent": "consent", "opt_in": "consent",
	"email": "attr:email", "e_mail": "attr:email", "email_address": "attr:email",
}

// headerKey normalises a header for the well-known lookup: "Mobile Phone"
// → "mobile_phone".
func headerKey(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	return strings.NewReplacer(" ", "_", "-", "_", ".", "_").Replace(h)
}

// parseColumn reads a field name of ImportOptions.Columns.
func parseColumn(header, field string) (column, error) {
	field = strings.TrimSpace(field)
	if key, ok := strings.CutPrefix(field, "attr:"); ok {
		if !attributeKeyPattern.MatchString(key) {
			return column{}, &store.FieldError{Field: "columns." + header, Message: fmt.Sprintf(
				"attribute key %q must be 1 to %d characters of a-z, 0-9 and _", key, MaxAttributeKey)}
		}
		return column{kind: colAttr, attr: key}, nil
	}
	kinds := map[string]int{"": colIgnore, "ignore": colIgnore, "number": colNumber, "name": colName,
		"first_name": colFirstName, "last_name": colLastName, "time_zone": colTimeZone,
		"language": colLanguage, "tags": colTags, "consent": colConsent}
	k, ok := kinds[field]
	if !ok {
		return column{}, &store.FieldError{Field: "columns." + header, Message: fmt.Sprintf(
			"%q is not a field; use number, name, first_name, last_name, time_zone, language, tags, consent, attr:<key> or ignore", field)}
	}
	return column{kind: k}, nil
}

// mapColumns decides what each header holds.
func mapColumns(headers []string, explicit map[string]string) ([]column, map[string]string, []string, error) {
	cols := make([]column, len(headers))
	used := map[string]string{}
	var ignored []string
	for h := range explicit {
		if !slices.Contains(headers, h) {
			return nil, nil, nil, &store.FieldError{Field: "columns." + h, Message: fmt.Sprintf(
				"the file has no column %q (its header row: %s)", h, strings.Join(headers, ", "))}
		}
	}
	seen := map[string]string{} // field → header, for single-valued fields
	for i, h := range headers {
		field, ok := explicit[h]
		if !ok {
			field, ok = wellKnownColumns[headerKey(h)]
		}
		if key, attr := strings.CutPrefix(h, "attr:"); !ok && attr && attributeKeyPattern.MatchString(key) {
			field, ok = h, true // a column of Export
		}
		if !ok {
			ignored = append(ignored, h)
			continue
		}
		c, err := parseColumn(h, field)
		if err != nil {
			return nil, nil, nil, err
		}
		cols[i] = c
		if c.kind == colIgnore {
			ignored = append(ignored, h)
			continue
		}
		canonical := field
		if prev, dup := seen[canonical]; dup {
			return nil, nil, nil, &store.FieldError{Field: "columns." + h, Message: fmt.Sprintf(
				"both %q and %q map to %s; map one of them to ignore", prev, h, canonical)}
		}
		seen[canonical] = h
		used[h] = canonical
	}
	if _, ok := seen["number"]; !ok {
		return nil, nil, nil, &store.FieldError{Field: "columns", Message: fmt.Sprintf(
			"no column holds the phone number (header row: %s); map one to number", strings.Join(headers, ", "))}
	}
	return cols, used, ignored, nil
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// ImportSpool creates a temporary file in the data directory for an upload
// to be streamed into before it is imported: the HTTP request can then end
// while the import runs, and a 100k-row file never sits in memory. The
// data directory, not /tmp, because /tmp is often a small RAM disk on the
// boxes simgate runs on.
func (b *Book) ImportSpool() (*os.File, error) {
	return os.CreateTemp(filepath.Dir(b.db.Path()), ImportSpoolPattern)
}

// removeStaleSpools deletes upload spools left by a crash. New calls it,
// before any import can be running.
func (b *Book) removeStaleSpools() {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(b.db.Path()), ImportSpoolPattern))
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			b.log.Warn("remove stale import spool", "file", m, "error", err)
		}
	}
}

// Import starts importing a CSV file of contacts and returns the
// job at once. The header row is read and the column mapping checked
// before it returns, so a file without a number column or a consent column
// without a disclosure version is a *store.FieldError, not a failed job. The rows
// are then read in a goroutine, streamed (the file is never held whole),
// validated with the API's rules and written in batches of importBatch.
//
// Import owns r: when r is an io.Closer it is closed when the job
// ends (or on an error here).
func (b *Book) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportJob, error) {
	closeInput := func() {
		if c, ok := r.(io.Closer); ok {
			_ = c.Close()
		}
	}
	if err := ctx.Err(); err != nil {
		closeInput()
		return nil, err
	}
	job, rows, err := b.startImport(r, opts)
	if err != nil {
		closeInput()
		return nil, err
	}
	b.imports.add(job)
	snap := b.imports.snapshot(job, false)
	go func() {
		defer closeInput()
		b.runImport(job, rows, opts)
	}()
	return &snap, nil
}

// importInput is a started import: the CSV reader past the header, its
// byte counter and the column mapping.
type importInput struct {
	csv        *csv.Reader
	counter    *countingReader
	cols       []column
	disclosure compliance.Disclosure
	hasConsent bool
}

func (b *Book) startImport(r io.Reader, opts ImportOptions) (*ImportJob, *importInput, error) {
	counter := &countingReader{r: r}
	cr := csv.NewReader(counter)
	cr.ReuseRecord = true   // one allocation per file, not per row
	cr.FieldsPerRecord = -1 // short rows are the row's problem, not the file's
	cr.LazyQuotes = true    // spreadsheet exports put stray quotes in names
	headers, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &store.FieldError{Field: "file", Message: "is empty: it needs a header row naming the columns"}
	}
	if err != nil {
		return nil, nil, &store.FieldError{Field: "file", Message: "is not CSV: " + err.Error()}
	}
	if len(headers) > maxImportHeaders {
		return nil, nil, &store.FieldError{Field: "file", Message: fmt.Sprintf("has %d columns; at most %d are read", len(headers), maxImportHeaders)}
	}
	headers = slices.Clone(headers)
	for i, h := range headers {
		headers[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // Excel's byte order mark
	}
	cols, used, ignored, err := mapColumns(headers, opts.Columns)
	if err != nil {
		return nil, nil, err
	}
	in := &importInput{csv: cr, counter: counter, cols: cols}
	for _, c := range cols {
		if c.kind == colConsent {
			in.hasConsent = true
		}
	}
	if in.hasConsent {
		// An opt-in without the text the person agreed to is no evidence
		// (R-RECORD): refuse the file rather than record half a consent.
		if opts.DisclosureVersion == "" {
			return nil, nil, &store.FieldError{Field: "disclosure_version", Message: "is required when the file has a consent column: " +
				"name the saved disclosure text the people in the file agreed to"}
		}
		d, found, err := b.disclosures.DisclosureVersion(opts.DisclosureVersion)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway: import: %w", err)
		}
		if !found {
			return nil, nil, &store.FieldError{Field: "disclosure_version", Message: fmt.Sprintf(
				"%q is not a saved disclosure version (see Settings → Compliance)", opts.DisclosureVersion)}
		}
		in.disclosure = d
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	job := &ImportJob{
		ID:             hex.EncodeToString(id),
		State:          ImportRunning,
		FileName:       opts.FileName,
		Columns:        used,
		IgnoredColumns: ignored,
		StartedAt:      b.now().UTC(),
		TotalBytes:     opts.TotalBytes,
		Report:         ImportReport{Rejected: []ImportRejection{}},
		headers:        headers,
		done:           make(chan struct{}),
	}
	return job, in, nil
}

// pendingRow is a valid row waiting for its batch.
type pendingRow struct {
	row    int
	fields []string // kept only until the batch is written, for a suppressed row's report
}

// runImport reads every row and reports the outcome in job.
func (b *Book) runImport(job *ImportJob, in *importInput, opts ImportOptions) {
	im := &importer{
		b: b, job: job, in: in, opts: opts,
		report:    ImportReport{Rejected: []ImportRejection{}},
		seen:      map[string]int{},
		batch:     make([]store.ContactUpsert, 0, importBatch),
		batchRows: make([]pendingRow, 0, importBatch),
		lastPub:   time.Now(),
	}
	im.finish(im.readAll())
}

// importer is one running import: its job, its input, the rows waiting
// for the next batch and the counts so far.
type importer struct {
	b    *Book
	job  *ImportJob
	in   *importInput
	opts ImportOptions

	report    ImportReport
	seen      map[string]int // number → first row holding it
	batch     []store.ContactUpsert
	batchRows []pendingRow // batch's rows, index for index
	rows      int          // records read, blank ones included
	lastPub   time.Time
}

// readAll reads the rows to the end of the file and writes them; the
// first error stops it.
func (im *importer) readAll() error {
	for {
		rec, line, err := im.next()
		if errors.Is(err, io.EOF) {
			return im.flush()
		}
		if err != nil {
			return err
		}
		if !isBlankRecord(rec) {
			if err := im.add(rec, line); err != nil {
				return err
			}
		}
		if im.rows%256 == 0 {
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
		return nil, 0, err
	}
	im.rows++
	line, _ := im.in.csv.FieldPos(0)
	return rec, line, nil
}

// add validates one record: a row to write joins the batch (written when
// full), any other is rejected.
func (im *importer) add(rec []string, line int) error {
	up, number, reason := im.b.importRow(rec, im.in, im.opts)
	switch {
	case reason != "":
		im.report.Invalid++
		im.reject(line, number, reason, rec)
	case im.seen[number] != 0:
		// Rejected, not merged: two rows for one person usually mean
		// one of them is wrong, and a person should pick which.
		im.report.Invalid++
		im.reject(line, number, fmt.Sprintf("duplicate of row %d", im.seen[number]), rec)
	default:
		im.seen[number] = line
		im.batch = append(im.batch, up)
		im.batchRows = append(im.batchRows, pendingRow{row: line, fields: slices.Clone(rec)})
		if len(im.batch) == importBatch {
			return im.flush()
		}
	}
	return nil
}

// reject keeps a refused row for the report, up to maxKeptRejections.
func (im *importer) reject(row int, number, reason string, fields []string) {
	if len(im.report.Rejected) >= maxKeptRejections {
		im.report.RejectedTruncated = true
		return
	}
	im.report.Rejected = append(im.report.Rejected, ImportRejection{Row: row, Number: number, Reason: reason, Fields: slices.Clone(fields)})
}

// flush writes the batch in one transaction and counts what happened to
// each row.
func (im *importer) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	results, err := im.b.db.UpsertContacts(im.batch)
	if err != nil {
		return fmt.Errorf("write rows %d to %d: %w", im.batchRows[0].row, im.batchRows[len(im.batchRows)-1].row, err)
	}
	for i, res := range results {
		switch res.Outcome {
		case store.UpsertCreated:
			im.report.Imported++
		case store.UpsertUpdated:
			im.report.Updated++
		case store.UpsertSuppressed:
			im.report.Suppressed++
			im.reject(im.batchRows[i].row, im.batch[i].Contact.Number, "suppressed: erased on request", im.batchRows[i].fields)
		}
		if res.ConsentKept {
			im.report.ConsentKept++
		}
	}
	im.batch, im.batchRows = im.batch[:0], im.batchRows[:0]
	return nil
}

// publish sends a progress event, at most every importProgressEvery
// unless forced.
func (im *importer) publish(force bool) {
	if !force && time.Since(im.lastPub) < importProgressEvery {
		return
	}
	im.lastPub = time.Now()
	im.b.imports.update(im.job, func(j *ImportJob) {
		j.RowsRead = im.rows
		j.BytesRead = im.in.counter.n.Load()
		j.Report.Imported, j.Report.Updated = im.report.Imported, im.report.Updated
		j.Report.Invalid, j.Report.Suppressed, j.Report.ConsentKept = im.report.Invalid, im.report.Suppressed, im.report.ConsentKept
	})
	im.b.notify.ImportProgress(im.b.imports.snapshot(im.job, false))
}

// finish records how the job ended, logs it and tells the last progress.
func (im *importer) finish(failure error) {
	report := im.report
	sort.SliceStable(report.Rejected, func(a, b int) bool { return report.Rejected[a].Row < report.Rejected[b].Row })
	im.b.imports.update(im.job, func(j *ImportJob) {
		j.RowsRead = im.rows
		j.BytesRead = im.in.counter.n.Load()
		j.Report = report
		j.FinishedAt = im.b.now().UTC()
		j.State = ImportDone
		if failure != nil {
			j.State = ImportFailed
			j.Error = failure.Error()
		}
	})
	if failure != nil {
		im.b.log.Error("contact import failed", "job", im.job.ID, "rows", im.rows, "error", failure)
	} else {
		im.b.log.Info("contacts imported", "job", im.job.ID, "rows", im.rows, "created", report.Imported,
			"updated", report.Updated, "invalid", report.Invalid, "suppressed", report.Suppressed, "by", im.opts.Actor)
	}
	im.publish(true)
	close(im.job.done)
}

func isBlankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// importRow turns one record into an upsert, or says why it cannot be
// one. number is the row's number as far as it could be read.
func (b *Book) importRow(rec []string, in *importInput, opts ImportOptions) (up store.ContactUpsert, number, reason string) {
	c := store.Contact{Source: "import"}
	var first, last string
	optIn := false
	for i, col := range in.cols {
		if col.kind == colIgnore || i >= len(rec) {
			continue
		}
		v := strings.TrimSpace(rec[i])
		switch col.kind {
		case colNumber:
			c.Number = v
		case colName:
			c.Name = v
		case colFirstName:
			first = v
		case colLastName:
			last = v
		case colTimeZone:
			c.TimeZone = v
		case colLanguage:
			c.Language = v
		case colTags:
			for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' }) {
				if t = strings.TrimSpace(t); t != "" {
					c.Tags = append(c.Tags, t)
				}
			}
		case colConsent:
			yes, ok := parseConsentCell(v)
			if !ok {
				return up, c.Number, fmt.Sprintf("consent: %q is neither yes nor no", v)
			}
			optIn = yes
		case colAttr:
			if v != "" {
				if c.Attributes == nil {
					c.Attributes = map[string]string{}
				}
				c.Attributes[col.attr] = v
			}
		}
	}
	if c.Name == "" {
		c.Name = strings.TrimSpace(first + " " + last)
	}
	if err := b.normalizeContact(&c); err != nil {
		var fe *store.FieldError
		if errors.As(err, &fe) {
			return up, c.Number, fe.Error()
		}
		return up, c.Number, err.Error()
	}
	up.Contact = c
	if optIn {
		up.OptIn = &store.ConsentEvent{
			Number:            c.Number,
			TimeZone:          c.TimeZone,
			Type:              store.EventOptIn,
			Purpose:           store.PurposeMarketing,
			Method:            store.MethodImport,
			Source:            opts.FileName,
			DisclosureVersion: in.disclosure.Version,
			DisclosureText:    in.disclosure.Text,
			Actor:             opts.Actor,
		}
	}
	return up, c.Number, ""
}

// parseConsentCell reads a consent column's cell. An empty cell is "no":
// silence is not consent (GDPR Recital 32).
func parseConsentCell(v string) (yes, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "y", "true", "1", "x", "opted_in", "opt_in", "opt-in", "subscribed", "confirmed":
		return true, true
	case "", "no", "n", "false", "0", "opted_out", "unsubscribed":
		return false, true
	}
	return false, false
}

// Job returns a snapshot of an import job; store.ErrNotFound when it is
// unknown or no longer among the last keptImportJobs.
func (b *Book) Job(id string) (ImportJob, error) {
	j := b.imports.find(id)
	if j == nil {
		return ImportJob{}, fmt.Errorf("import job %q: %w", id, store.ErrNotFound)
	}
	return b.imports.snapshot(j, true), nil
}

// Jobs lists the recent jobs, newest first, without their rejected
// rows.
func (b *Book) Jobs() []ImportJob {
	b.imports.mu.Lock()
	jobs := slices.Clone(b.imports.jobs)
	b.imports.mu.Unlock()
	out := make([]ImportJob, 0, len(jobs))
	for i := len(jobs) - 1; i >= 0; i-- {
		out = append(out, b.imports.snapshot(jobs[i], false))
	}
	return out
}

// Wait blocks until the job ends or ctx is done, then returns it.
func (b *Book) Wait(ctx context.Context, id string) (ImportJob, error) {
	j := b.imports.find(id)
	if j == nil {
		return ImportJob{}, fmt.Errorf("import job %q: %w", id, store.ErrNotFound)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return ImportJob{}, ctx.Err()
	}
	return b.imports.snapshot(j, true), nil
}

// WriteRejectedCSV writes a job's rejected rows as CSV: row, number and
// reason, then the row's own columns, so the file can be fixed and
// imported again with the same mapping. Every cell that came from the
// upload goes through csvSafe, as in the export: the download is opened in
// a spreadsheet, and a cell of the file may be a formula. The number
// reads back unchanged (a leading apostrophe is not part of a number).
func (b *Book) WriteRejectedCSV(w io.Writer, id string) error {
	j, err := b.Job(id)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	header := []string{"row", "number", "reason"}
	for _, h := range j.headers {
		header = append(header, csvSafe(h))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, rej := range j.Report.Rejected {
		rec := []string{fmt.Sprint(rej.Row), csvSafe(rej.Number), csvSafe(rej.Reason)}
		for _, f := range rej.Fields {
			rec = append(rec, csvSafe(f))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (s *importJobs) add(j *ImportJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = append(s.jobs, j)
	if len(s.jobs) > keptImportJobs {
		// A running job leaves the list but finishes; its report is then
		// only in the log.
		s.jobs = slices.Delete(s.jobs, 0, len(s.jobs)-keptImportJobs)
	}
}

func (s *importJobs) find(id string) *ImportJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

func (s *importJobs) update(j *ImportJob, fn func(*ImportJob)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(j)
}

// snapshot copies a job under the lock; withRejected includes the
// rejected rows (large), which progress events leave out.
func (s *importJobs) snapshot(j *ImportJob, withRejected bool) ImportJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *j
	c.Columns = maps.Clone(j.Columns)
	c.IgnoredColumns = slices.Clone(j.IgnoredColumns)
	if withRejected {
		// The slice only grows by append in runImport's own copy and is
		// replaced whole at the end, so sharing its backing array is safe.
		c.Report.Rejected = j.Report.Rejected
	} else {
		c.Report.Rejected = nil
	}
	return c
}

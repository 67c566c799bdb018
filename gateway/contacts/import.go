package contacts

import (
	"bufio"
	"bytes"
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
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// Import tuning.
const (
	// importBatch records are written in one transaction: one fsync per
	// thousand rows keeps a 100k-row file well above 10,000 rows/s on an SD
	// card while a crash loses at most the batch being written (the rows
	// are upserts, so the file can simply be imported again).
	importBatch = 1000
	// importBatchBytes also ends a batch: a thousand rows of 64 KiB would
	// hold 64 MB until written. With it a job holds a few MB whatever its
	// rows look like.
	importBatchBytes = 1 << 20
	// importProgressEvery bounds the live progress events to ten a second:
	// enough for a smooth bar, few enough for a Raspberry Pi's websocket.
	importProgressEvery = 100 * time.Millisecond
	// keptImportJobs: the store keeps the last ten jobs, so a report can
	// be looked at after a reload or a restart; older finished jobs are
	// pruned, with their rejected rows, when a new one starts.
	keptImportJobs = 10
	// maxKeptRejections and maxKeptRejectedBytes bound the rejected rows
	// one job keeps in the store, the first ones in file order; the counts
	// stay exact beyond them. Ten thousand rows of 64 KiB would be 640 MB
	// on an SD card: 16 MB is far more than anyone reads.
	maxKeptRejections    = 10_000
	maxKeptRejectedBytes = 16 << 20
	// maxRejectionText bounds the number and the reason a rejected row
	// shows in the report (the reason quotes the refused value); the row's
	// own cells are kept whole for the download.
	maxRejectionText = 200
	// maxImportHeaders guards against a "header" that is really a blob.
	maxImportHeaders = 200
	// maxHeaderName bounds one column name: a header is echoed in the
	// job's column list and in error messages.
	maxHeaderName = 256
	// maxImportLine bounds a line of the file, and a row that spans lines
	// (a quoted field with line breaks). A contact row is a few hundred
	// bytes; 64 KiB leaves room for long notes while a file that is not
	// CSV (no line breaks, or a quote that never closes) is refused after
	// 64 KiB instead of being read whole into memory.
	maxImportLine = 64 << 10
	// importReadBuffer is the CSV reader's buffer; a row is known to be
	// too long at most this far past maxImportLine.
	importReadBuffer = 64 << 10
	// ImportSpoolPattern names upload spool files in the data directory;
	// leftovers of a crash are removed at start.
	ImportSpoolPattern = "import-*.csv.tmp"
)

// Import job states.
const (
	ImportRunning = store.ImportRunning
	ImportDone    = store.ImportDone
	ImportFailed  = store.ImportFailed
	// ImportCancelled: stopped by Cancel.
	ImportCancelled = store.ImportCancelled
	// ImportInterrupted: the gateway stopped (or crashed) while the job
	// ran.
	ImportInterrupted = store.ImportInterrupted
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
	Fields []string `json:"-"` // the row as read; only in the rejected-rows download
}

// ImportReport counts what happened to the rows.
type ImportReport struct {
	Imported    int `json:"imported"`     // new contacts
	Updated     int `json:"updated"`      // existing contacts merged with their row
	Invalid     int `json:"invalid"`      // rows refused (bad field, duplicate in the file)
	Suppressed  int `json:"suppressed"`   // numbers erased on request: nothing stored (R-GDPR-2)
	ConsentKept int `json:"consent_kept"` // opt-ins ignored because the number had opted out
	// Rejected lists the rows not stored, invalid and suppressed alike,
	// in file order: the first maxKeptRejections of them, within
	// maxKeptRejectedBytes.
	Rejected          []ImportRejection `json:"rejected"`
	RejectedTruncated bool              `json:"rejected_truncated,omitempty"`
}

// ImportJob is the state of one import, as the API and the console show it.
// A job that stopped early (failed, cancelled, interrupted) counts the
// rows of the batches written before it stopped: those stay (the rows are
// upserts), the ones read after were neither written nor counted.
type ImportJob struct {
	ID             string            `json:"id"`
	State          string            `json:"state"` // running, done, failed, cancelled, interrupted
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
}

// Percent is how far the job got by bytes read, or -1 when the size of a
// running job is unknown. A finished or failed job is at 100; a cancelled
// or interrupted one where it stopped, when the size is known.
func (j ImportJob) Percent() int {
	stoppedEarly := j.State == ImportCancelled || j.State == ImportInterrupted
	if j.State != ImportRunning && !(stoppedEarly && j.TotalBytes > 0) {
		return 100
	}
	if j.TotalBytes <= 0 {
		return -1
	}
	return int(min(100, j.BytesRead*100/j.TotalBytes))
}

// jobFromRecord is how a stored job shows, without its rejected rows.
func jobFromRecord(r store.ImportJob) ImportJob {
	columns := maps.Clone(r.Columns)
	if columns == nil {
		columns = map[string]string{}
	}
	return ImportJob{
		ID: r.ID, State: r.State, FileName: r.FileName, Columns: columns, IgnoredColumns: slices.Clone(r.IgnoredColumns),
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, RowsRead: r.RowsRead, BytesRead: r.BytesRead,
		TotalBytes: r.TotalBytes, Error: r.Error,
		Report: ImportReport{Imported: r.Imported, Updated: r.Updated, Invalid: r.Invalid, Suppressed: r.Suppressed,
			ConsentKept: r.ConsentKept, RejectedTruncated: r.RejectedTruncated},
	}
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

// Import starts importing a CSV file of contacts and returns the job at
// once. The header row is read and the column mapping checked before it
// returns, so a file without a number column or a consent column without a
// disclosure version is a *store.FieldError, not a failed job. The rows
// are then read in a goroutine, streamed (the file is never held whole),
// validated with the API's rules and written in batches of importBatch,
// each with the job's record (store.WriteImportBatch).
//
// ctx bounds the start only: the job runs until the end of the file, until
// Cancel, or until StopImports. Imports may start before the gateway's Run
// (the console serves while Run starts up); Run's StopImports ends them all
// the same way. Once StopImports was called, Import refuses with an error
// wrapping context.Canceled.
//
// Import owns r: when r is an io.Closer it is closed when the job ends (or
// on an error here), and also when the job is cancelled, so that a read
// blocked on a slow upload ends.
func (b *Book) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportJob, error) {
	closeInput := sync.OnceFunc(func() {
		if c, ok := r.(io.Closer); ok {
			_ = c.Close()
		}
	})
	if err := ctx.Err(); err != nil {
		closeInput()
		return nil, err
	}
	jobCtx, cancel, err := b.imports.reserve()
	if err != nil {
		closeInput()
		return nil, err
	}
	stopClosing := context.AfterFunc(jobCtx, closeInput)
	im, err := b.startImport(jobCtx, r, opts)
	if err != nil {
		// Stopped while the header was read: that, not the read error
		// the closed input caused, is why.
		if cause := context.Cause(jobCtx); cause != nil {
			err = fmt.Errorf("gateway: import refused: %w: %w", cause, context.Canceled)
		}
		stopClosing()
		cancel(nil)
		b.imports.release()
		closeInput()
		return nil, err
	}
	im.run = b.imports.add(im.rec, cancel)
	snap := b.imports.snapshot(im.run)
	go func() {
		defer b.imports.release()
		defer cancel(nil) // the job is over: release its context
		defer closeInput()
		defer stopClosing()
		im.finish(im.work())
	}()
	return &snap, nil
}

// importInput is a started import: the CSV reader past the header, the
// limit on its lines and the column mapping.
type importInput struct {
	csv        *csv.Reader
	limit      *lineLimit
	cols       []column
	disclosure compliance.Disclosure
	hasConsent bool
}

// startImport reads the header, checks the mapping and makes the job's
// record; the job stores it (importer.work), so that the request starting
// an import does not wait for a write.
func (b *Book) startImport(ctx context.Context, r io.Reader, opts ImportOptions) (*importer, error) {
	limit := &lineLimit{r: r, line: 1, rowLine: 1}
	cr := csv.NewReader(bufio.NewReaderSize(limit, importReadBuffer))
	cr.ReuseRecord = true   // one allocation per file, not per row
	cr.FieldsPerRecord = -1 // short rows are the row's problem, not the file's
	cr.LazyQuotes = true    // spreadsheet exports put stray quotes in names
	headers, err := readHeader(cr, limit)
	if err != nil {
		return nil, err
	}
	cols, used, ignored, err := mapColumns(headers, opts.Columns)
	if err != nil {
		return nil, err
	}
	in := &importInput{csv: cr, limit: limit, cols: cols}
	for _, c := range cols {
		if c.kind == colConsent {
			in.hasConsent = true
		}
	}
	if in.hasConsent {
		// An opt-in without the text the person agreed to is no evidence
		// (R-RECORD): refuse the file rather than record half a consent.
		if opts.DisclosureVersion == "" {
			return nil, &store.FieldError{Field: "disclosure_version", Message: "is required when the file has a consent column: " +
				"name the saved disclosure text the people in the file agreed to"}
		}
		d, found, err := b.disclosures.DisclosureVersion(opts.DisclosureVersion)
		if err != nil {
			return nil, fmt.Errorf("gateway: import: %w", err)
		}
		if !found {
			return nil, &store.FieldError{Field: "disclosure_version", Message: fmt.Sprintf(
				"%q is not a saved disclosure version (see Settings → Compliance)", opts.DisclosureVersion)}
		}
		in.disclosure = d
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	rec := store.ImportJob{
		ID:             hex.EncodeToString(id),
		State:          ImportRunning,
		FileName:       opts.FileName,
		Actor:          opts.Actor,
		Columns:        used,
		IgnoredColumns: ignored,
		Headers:        headers,
		StartedAt:      b.now().UTC(),
		BytesRead:      cr.InputOffset(),
		TotalBytes:     opts.TotalBytes,
	}
	return &importer{b: b, ctx: ctx, opts: opts, in: in, rec: rec, lastPub: time.Now()}, nil
}

// readHeader reads the header row: the column names, trimmed, without
// Excel's byte order mark.
func readHeader(cr *csv.Reader, limit *lineLimit) ([]string, error) {
	headers, err := cr.Read()
	var tooLong *lineTooLongError
	switch {
	case errors.Is(err, io.EOF):
		return nil, &store.FieldError{Field: "file", Message: "is empty: it needs a header row naming the columns"}
	case errors.As(err, &tooLong):
		// Never echoed: a "header" this long is rarely a header at all.
		return nil, &store.FieldError{Field: "file", Message: fmt.Sprintf(
			"has a header row longer than %d KiB: is it a CSV file whose first line names the columns?", maxImportLine>>10)}
	case err != nil:
		return nil, &store.FieldError{Field: "file", Message: "is not CSV: " + err.Error()}
	}
	if len(headers) > maxImportHeaders {
		return nil, &store.FieldError{Field: "file", Message: fmt.Sprintf("has %d columns; at most %d are read", len(headers), maxImportHeaders)}
	}
	limit.startRow(rowAfter(cr, headers))
	headers = slices.Clone(headers)
	for i, h := range headers {
		headers[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // Excel's byte order mark
		if len(headers[i]) > maxHeaderName {
			return nil, &store.FieldError{Field: "file", Message: fmt.Sprintf(
				"column %d of the header row is named with more than %d bytes", i+1, maxHeaderName)}
		}
	}
	return headers, nil
}

// rowAfter is the line after the record cr just read, where the next row
// starts unless blank lines come first.
func rowAfter(cr *csv.Reader, rec []string) int {
	last := len(rec) - 1
	line, _ := cr.FieldPos(last)
	return line + strings.Count(rec[last], "\n") + 1
}

// lineLimit stops reading an import when a line is longer than
// maxImportLine, or a row of several lines (a quoted field with line
// breaks, or a quote that never closes) grows past it. It sits below the
// CSV reader's buffer, so the row limit is checked with that buffer's
// slack; the line limit is exact.
type lineLimit struct {
	r        io.Reader
	line     int   // the line being read, from 1
	lineLen  int   // its bytes so far, line break excluded
	rowLine  int   // the line the row being read starts on
	rowBytes int64 // bytes read since that row began
}

// lineTooLongError names where the input broke the limit.
type lineTooLongError struct {
	line int
	row  bool // a row of several lines, not one line
}

func (e *lineTooLongError) Error() string {
	if e.row {
		return fmt.Sprintf("line %d: the row starting there is longer than %d KiB (a quoted field without its closing quote?)",
			e.line, maxImportLine>>10)
	}
	return fmt.Sprintf("line %d is longer than %d KiB", e.line, maxImportLine>>10)
}

// startRow notes that the next row starts on line (as far as the CSV
// reader has read: blank lines before it are skipped by the reader).
func (l *lineLimit) startRow(line int) {
	l.rowLine, l.rowBytes = line, 0
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for rest := p[:n]; ; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.lineLen += len(rest)
			break
		}
		if l.lineLen+i > maxImportLine {
			return 0, &lineTooLongError{line: l.line}
		}
		l.line, l.lineLen, rest = l.line+1, 0, rest[i+1:]
	}
	if l.lineLen > maxImportLine {
		return 0, &lineTooLongError{line: l.line}
	}
	l.rowBytes += int64(n)
	if l.rowBytes > maxImportLine+importReadBuffer {
		return 0, &lineTooLongError{line: l.rowLine, row: true}
	}
	return n, err
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

package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Import job states. A job is running until it ends one of the other ways;
// a job the gateway stopped under (a shutdown, a crash) is interrupted.
const (
	ImportRunning     = "running"
	ImportDone        = "done"
	ImportFailed      = "failed"
	ImportCancelled   = "cancelled"
	ImportInterrupted = "interrupted"
)

// ImportJob is the record of one CSV contact import: how far it got and
// what happened to its rows. It is written with every batch of rows, in
// the batch's transaction, so after a crash it tells exactly which rows
// were written.
type ImportJob struct {
	ID             string            `json:"id"`
	Seq            uint64            `json:"seq"` // creation order, set by CreateImportJob
	State          string            `json:"state"`
	FileName       string            `json:"file_name,omitempty"`
	Actor          string            `json:"actor,omitempty"`
	Columns        map[string]string `json:"columns,omitempty"` // header → field, as used
	IgnoredColumns []string          `json:"ignored_columns,omitempty"`
	Headers        []string          `json:"headers,omitempty"` // the file's header row, for the rejected rows' download
	StartedAt      time.Time         `json:"started_at"`
	FinishedAt     time.Time         `json:"finished_at,omitzero"`
	RowsRead       int               `json:"rows_read"` // records read by the last batch written
	BytesRead      int64             `json:"bytes_read"`
	TotalBytes     int64             `json:"total_bytes,omitempty"`
	Error          string            `json:"error,omitempty"`

	Imported    int `json:"imported"`
	Updated     int `json:"updated"`
	Invalid     int `json:"invalid"`
	Suppressed  int `json:"suppressed"`
	ConsentKept int `json:"consent_kept"`

	// RejectedKept and RejectedBytes count the rejected rows stored; the
	// caller bounds them and sets RejectedTruncated when it stops keeping.
	RejectedKept      int   `json:"rejected_kept"`
	RejectedBytes     int64 `json:"rejected_bytes"`
	RejectedTruncated bool  `json:"rejected_truncated,omitempty"`
}

// ImportRejection is one row of an import that was not stored.
type ImportRejection struct {
	Row    int      `json:"row"` // the line it starts on
	Number string   `json:"number,omitempty"`
	Reason string   `json:"reason"`
	Fields []string `json:"fields,omitempty"` // the row as read
}

// ImportRow is a valid row of an import, to be upserted.
type ImportRow struct {
	Row int // the line it starts on
	ContactUpsert
}

// ImportResult is what WriteImportBatch did with one ImportRow.
type ImportResult struct {
	UpsertResult
	// DuplicateOf is the row that gave the number to the job first, when
	// Outcome is UpsertDuplicate.
	DuplicateOf int
}

// maxImportJobID bounds a job ID, which is part of the keys.
const maxImportJobID = 64

func checkImportJobID(id string) error {
	if id == "" || len(id) > maxImportJobID || strings.IndexByte(id, 0) >= 0 {
		return &FieldError{Field: "id", Message: fmt.Sprintf("must be 1 to %d bytes without NUL", maxImportJobID)}
	}
	return nil
}

func getImportJob(tx *bbolt.Tx, id string) (ImportJob, error) {
	var j ImportJob
	raw := tx.Bucket(bucketImportJobs).Get([]byte(id))
	if raw == nil {
		return j, fmt.Errorf("store: import job %q: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return j, fmt.Errorf("store: decode import job %q: %w", id, err)
	}
	return j, nil
}

func putImportJob(tx *bbolt.Tx, j *ImportJob) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("store: encode import job %q: %w", j.ID, err)
	}
	return tx.Bucket(bucketImportJobs).Put([]byte(j.ID), raw)
}

// deleteNested removes the bucket named id inside parent, if there is one.
func deleteNested(tx *bbolt.Tx, parent []byte, id string) error {
	err := tx.Bucket(parent).DeleteBucket([]byte(id))
	if errors.Is(err, bolterrors.ErrBucketNotFound) {
		return nil
	}
	return err
}

// deleteImportJob removes a job's record, its rejected rows and its
// numbers seen.
func deleteImportJob(tx *bbolt.Tx, id string) error {
	if err := deleteNested(tx, bucketImportRejected, id); err != nil {
		return err
	}
	if err := deleteNested(tx, bucketImportSeen, id); err != nil {
		return err
	}
	return tx.Bucket(bucketImportJobs).Delete([]byte(id))
}

// CreateImportJob stores a new running job (j.State is set to running and
// j.Seq assigned) and prunes the oldest finished jobs until at most keep
// jobs are left; running jobs are never pruned. ErrExists when the ID is
// taken.
func (db *DB) CreateImportJob(j ImportJob, keep int) (ImportJob, error) {
	if err := checkImportJobID(j.ID); err != nil {
		return ImportJob{}, err
	}
	j.State = ImportRunning
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		jobs := tx.Bucket(bucketImportJobs)
		if jobs.Get([]byte(j.ID)) != nil {
			return fmt.Errorf("store: import job %q: %w", j.ID, ErrExists)
		}
		seq, err := jobs.NextSequence()
		if err != nil {
			return err
		}
		j.Seq = seq
		if err := putImportJob(tx, &j); err != nil {
			return err
		}
		return pruneImportJobs(tx, keep)
	})
	if err != nil {
		return ImportJob{}, fmt.Errorf("store: create import job: %w", err)
	}
	return j, nil
}

// pruneImportJobs deletes the oldest finished jobs while more than keep
// are stored.
func pruneImportJobs(tx *bbolt.Tx, keep int) error {
	all, err := listImportJobs(tx)
	if err != nil {
		return err
	}
	excess := len(all) - keep
	for i := len(all) - 1; i >= 0 && excess > 0; i-- { // oldest first
		if all[i].State == ImportRunning {
			continue
		}
		if err := deleteImportJob(tx, all[i].ID); err != nil {
			return err
		}
		excess--
	}
	return nil
}

// listImportJobs decodes every job, newest first.
func listImportJobs(tx *bbolt.Tx) ([]ImportJob, error) {
	var out []ImportJob
	err := tx.Bucket(bucketImportJobs).ForEach(func(k, v []byte) error {
		var j ImportJob
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("store: decode import job %q: %w", k, err)
		}
		out = append(out, j)
		return nil
	})
	slices.SortFunc(out, func(a, b ImportJob) int { return compareUint64(b.Seq, a.Seq) })
	return out, err
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ImportJob returns one job's record; ErrNotFound when there is none.
func (db *DB) ImportJob(id string) (ImportJob, error) {
	var j ImportJob
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		j, err = getImportJob(tx, id)
		return err
	})
	return j, err
}

// ImportJobs lists the stored jobs, newest first.
func (db *DB) ImportJobs() ([]ImportJob, error) {
	var out []ImportJob
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = listImportJobs(tx)
		return err
	})
	return out, err
}

// WriteImportBatch writes one batch of running job id in one transaction
// (one fsync). Each row is upserted as by UpsertContacts, except that a
// number an earlier row of the same job holds is not written: its Outcome
// is UpsertDuplicate. Then update is called with the job's record and the
// results, index for index with rows; it brings the record up to date and
// returns the rejected rows to keep, which are stored with it. Rows may be
// empty: a batch that only moves the record (progress, the end of the
// job). When update leaves the job finished, the numbers it has seen are
// dropped. A job that is not running is ErrConflict; update's error
// undoes the whole batch.
func (db *DB) WriteImportBatch(id string, rows []ImportRow, update func(j *ImportJob, results []ImportResult) ([]ImportRejection, error)) (ImportJob, error) {
	upserts := make([]ContactUpsert, len(rows))
	for i, r := range rows {
		upserts[i] = r.ContactUpsert
	}
	prepared, err := prepareUpserts(upserts)
	if err != nil {
		return ImportJob{}, err
	}
	var out ImportJob
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		j, err := getImportJob(tx, id)
		if err != nil {
			return err
		}
		if j.State != ImportRunning {
			return fmt.Errorf("store: import job %q is %s: %w", id, j.State, ErrConflict)
		}
		results, err := writeImportRows(tx, id, rows, prepared, db.now())
		if err != nil {
			return err
		}
		rejected, err := update(&j, results)
		if err != nil {
			return err
		}
		if err := putImportRejections(tx, id, rejected); err != nil {
			return err
		}
		if j.State != ImportRunning {
			if err := deleteNested(tx, bucketImportSeen, id); err != nil {
				return err
			}
		}
		j.ID = id
		out = j
		return putImportJob(tx, &j)
	})
	if err != nil {
		return ImportJob{}, fmt.Errorf("store: write import batch: %w", err)
	}
	return out, nil
}

// writeImportRows upserts rows (prepared holds their contacts, checked)
// and notes each number as seen by job id.
func writeImportRows(tx *bbolt.Tx, id string, rows []ImportRow, prepared []Contact, now time.Time) ([]ImportResult, error) {
	results := make([]ImportResult, len(rows))
	if len(rows) == 0 {
		return results, nil
	}
	salt, err := suppressionSalt(tx)
	if err != nil {
		return nil, err
	}
	seen, err := tx.Bucket(bucketImportSeen).CreateBucketIfNotExists([]byte(id))
	if err != nil {
		return nil, err
	}
	for i, row := range rows {
		number := []byte(prepared[i].Number)
		if first := seen.Get(number); len(first) == 8 {
			results[i] = ImportResult{UpsertResult: UpsertResult{Outcome: UpsertDuplicate, Contact: prepared[i]},
				DuplicateOf: int(binary.BigEndian.Uint64(first))}
			continue
		}
		if err := seen.Put(number, u64(uint64(row.Row))); err != nil {
			return nil, err
		}
		res, err := upsertContact(tx, salt, row.ContactUpsert, prepared[i], now)
		if err != nil {
			return nil, err
		}
		results[i].UpsertResult = res
	}
	return results, nil
}

func putImportRejections(tx *bbolt.Tx, id string, rejected []ImportRejection) error {
	if len(rejected) == 0 {
		return nil
	}
	b, err := tx.Bucket(bucketImportRejected).CreateBucketIfNotExists([]byte(id))
	if err != nil {
		return err
	}
	for _, r := range rejected {
		if r.Row <= 0 {
			return &FieldError{Field: "row", Message: "must be positive"}
		}
		raw, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("store: encode rejected row %d: %w", r.Row, err)
		}
		if err := b.Put(u64(uint64(r.Row)), raw); err != nil {
			return err
		}
	}
	return nil
}

// importRejectionPage is how many rejected rows EachImportRejection reads
// per read transaction, as EachContact does.
const importRejectionPage = 500

// EachImportRejection calls fn for every rejected row kept for job id, in
// row order, outside any transaction (fn may write to a slow client).
// fn's error stops the walk and is returned as is. ErrNotFound when the
// job is unknown.
func (db *DB) EachImportRejection(id string, fn func(ImportRejection) error) error {
	var after uint64
	for {
		page := make([]ImportRejection, 0, importRejectionPage)
		err := db.bolt.View(func(tx *bbolt.Tx) error {
			if tx.Bucket(bucketImportJobs).Get([]byte(id)) == nil {
				return fmt.Errorf("store: import job %q: %w", id, ErrNotFound)
			}
			b := tx.Bucket(bucketImportRejected).Bucket([]byte(id))
			if b == nil {
				return nil
			}
			c := b.Cursor()
			for k, v := c.Seek(u64(after + 1)); k != nil && len(page) < importRejectionPage; k, v = c.Next() {
				var r ImportRejection
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("store: decode rejected row %x of import %q: %w", k, id, err)
				}
				page = append(page, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < importRejectionPage {
			return nil
		}
		after = uint64(page[len(page)-1].Row)
	}
}

// InterruptImportJobs marks every job still running as interrupted, with
// reason as its error, and drops the numbers they had seen. The gateway
// calls it at start, before any import can run: a running job found then
// was left by a crash or a stop. It returns the IDs it marked.
func (db *DB) InterruptImportJobs(at time.Time, reason string) ([]string, error) {
	var ids []string
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		ids = nil
		all, err := listImportJobs(tx)
		if err != nil {
			return err
		}
		for _, j := range all {
			if j.State != ImportRunning {
				continue
			}
			j.State, j.FinishedAt, j.Error = ImportInterrupted, at.UTC(), reason
			if err := putImportJob(tx, &j); err != nil {
				return err
			}
			if err := deleteNested(tx, bucketImportSeen, j.ID); err != nil {
				return err
			}
			ids = append(ids, j.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: interrupt import jobs: %w", err)
	}
	return ids, nil
}

// eraseImportRows deletes every rejected import row and seen-number entry
// of number (EraseNumber). Rows are matched by their Number, which is
// E.164 whenever the row's number could be read; a row whose number could
// not be read names nobody.
func eraseImportRows(tx *bbolt.Tx, number string) error {
	quoted, err := json.Marshal(number)
	if err != nil {
		return err
	}
	needle := append([]byte(`"number":`), quoted...)
	err = tx.Bucket(bucketImportRejected).ForEachBucket(func(job []byte) error {
		b := tx.Bucket(bucketImportRejected).Bucket(job)
		var doomed [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if !bytes.Contains(v, needle) {
				return nil
			}
			var r ImportRejection
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode rejected row %x of import %q: %w", k, job, err)
			}
			if r.Number == number {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketImportSeen).ForEachBucket(func(job []byte) error {
		return tx.Bucket(bucketImportSeen).Bucket(job).Delete([]byte(number))
	})
}

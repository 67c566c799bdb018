package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// importRow is a valid import row for number, starting on line row.
func importRow(row int, number string) ImportRow {
	return ImportRow{Row: row, ContactUpsert: ContactUpsert{Contact: Contact{Number: number, Name: fmt.Sprintf("row %d", row), TimeZone: "UTC"}}}
}

// countBatch is a WriteImportBatch update that counts the outcomes the
// way the gateway does and rejects the duplicates and suppressed rows.
func countBatch(rows []ImportRow, extra ...ImportRejection) func(j *ImportJob, results []ImportResult) ([]ImportRejection, error) {
	return func(j *ImportJob, results []ImportResult) ([]ImportRejection, error) {
		rejected := slices.Clone(extra)
		for i, r := range results {
			switch r.Outcome {
			case UpsertCreated:
				j.Imported++
			case UpsertUpdated:
				j.Updated++
			case UpsertSuppressed:
				j.Suppressed++
				rejected = append(rejected, ImportRejection{Row: rows[i].Row, Number: r.Contact.Number, Reason: "suppressed"})
			case UpsertDuplicate:
				j.Invalid++
				rejected = append(rejected, ImportRejection{Row: rows[i].Row, Number: r.Contact.Number, Reason: fmt.Sprintf("duplicate of row %d", r.DuplicateOf)})
			}
		}
		j.RowsRead += len(rows) + len(extra)
		j.Invalid += len(extra)
		j.RejectedKept += len(rejected)
		return rejected, nil
	}
}

func rejectionsOf(t *testing.T, db *DB, id string) []ImportRejection {
	t.Helper()
	var out []ImportRejection
	if err := db.EachImportRejection(id, func(r ImportRejection) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportBatches: rows go in with the job's record, a number twice in
// the job (in one batch or across two) is written once and reported as a
// duplicate of the first row, a suppressed number is not written, and the
// rejected rows come back in row order.
func TestImportBatches(t *testing.T) {
	db := openTest(t)
	suppress(t, db, "+15550109")
	if _, err := db.CreateContact(Contact{Number: "+15550101", Name: "Old", TimeZone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	job, err := db.CreateImportJob(ImportJob{ID: "j1", State: ImportDone, FileName: "a.csv", Headers: []string{"phone", "name"}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != ImportRunning || job.Seq == 0 {
		t.Fatalf("created job %+v, want running with a sequence", job)
	}
	if _, err := db.CreateImportJob(ImportJob{ID: "j1"}, 10); !errors.Is(err, ErrExists) {
		t.Errorf("second job j1: %v, want ErrExists", err)
	}

	first := []ImportRow{importRow(2, "+15550101"), importRow(3, "+15550102"), importRow(5, "+15550102"), importRow(6, "+15550109")}
	bad := ImportRejection{Row: 4, Number: "nope", Reason: "number: is not a phone number", Fields: []string{"nope", "x"}}
	job, err = db.WriteImportBatch("j1", first, countBatch(first, bad))
	if err != nil {
		t.Fatal(err)
	}
	second := []ImportRow{importRow(7, "+15550103"), importRow(8, "+15550101")}
	job, err = db.WriteImportBatch("j1", second, countBatch(second))
	if err != nil {
		t.Fatal(err)
	}
	if job.Imported != 2 || job.Updated != 1 || job.Suppressed != 1 || job.Invalid != 3 || job.RowsRead != 7 || job.RejectedKept != 4 {
		t.Errorf("job after two batches %+v", job)
	}
	stored, err := db.ImportJob("j1")
	if err != nil || stored.Imported != job.Imported || stored.FileName != "a.csv" || !slices.Equal(stored.Headers, []string{"phone", "name"}) {
		t.Errorf("stored job %+v, %v", stored, err)
	}
	var got []string
	for _, r := range rejectionsOf(t, db, "j1") {
		got = append(got, fmt.Sprintf("%d %s %s", r.Row, r.Number, r.Reason))
	}
	want := []string{"4 nope number: is not a phone number", "5 +15550102 duplicate of row 3", "6 +15550109 suppressed", "8 +15550101 duplicate of row 2"}
	if !slices.Equal(got, want) {
		t.Errorf("rejected rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c, err := db.ContactByNumber("+15550101"); err != nil || c.Name != "row 2" {
		t.Errorf("contact of the first row: %+v, %v (a duplicate row must not overwrite it)", c, err)
	}
	if n, _ := db.CountContacts(); n != 3 {
		t.Errorf("%d contacts, want 3", n)
	}

	// update's error undoes the whole batch, rows included.
	failing := []ImportRow{importRow(9, "+15550104")}
	_, err = db.WriteImportBatch("j1", failing, func(*ImportJob, []ImportResult) ([]ImportRejection, error) {
		return nil, errors.New("no")
	})
	if err == nil {
		t.Fatal("a failing update wrote its batch")
	}
	if _, err := db.ContactByNumber("+15550104"); !errors.Is(err, ErrNotFound) {
		t.Errorf("row of the undone batch stored: %v", err)
	}

	// The end of the job drops the numbers it saw; a finished job takes
	// no more rows.
	if _, err := db.WriteImportBatch("j1", nil, func(j *ImportJob, _ []ImportResult) ([]ImportRejection, error) {
		j.State, j.FinishedAt = ImportDone, time.Now()
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if hits := findInFile(t, db, "15550103"); slices.ContainsFunc(hits, func(h string) bool { return strings.HasPrefix(h, string(bucketImportSeen)) }) {
		t.Errorf("numbers seen by a finished job are still stored: %q", hits)
	}
	if _, err := db.WriteImportBatch("j1", nil, countBatch(nil)); !errors.Is(err, ErrConflict) {
		t.Errorf("batch for a finished job: %v, want ErrConflict", err)
	}
	if _, err := db.WriteImportBatch("nope", nil, countBatch(nil)); !errors.Is(err, ErrNotFound) {
		t.Errorf("batch for an unknown job: %v, want ErrNotFound", err)
	}
	if err := db.EachImportRejection("nope", func(ImportRejection) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("rejections of an unknown job: %v, want ErrNotFound", err)
	}
}

// TestImportRejectionsPaged: more rejected rows than one read page come
// back all, in row order.
func TestImportRejectionsPaged(t *testing.T) {
	db := openTest(t, WithNoSync())
	if _, err := db.CreateImportJob(ImportJob{ID: "j"}, 10); err != nil {
		t.Fatal(err)
	}
	const n = 2*importRejectionPage + 7
	var rejected []ImportRejection
	for i := n; i >= 1; i-- { // written out of order: the key orders them
		rejected = append(rejected, ImportRejection{Row: i + 1, Reason: "bad"})
	}
	if _, err := db.WriteImportBatch("j", nil, func(*ImportJob, []ImportResult) ([]ImportRejection, error) { return rejected, nil }); err != nil {
		t.Fatal(err)
	}
	got := rejectionsOf(t, db, "j")
	if len(got) != n {
		t.Fatalf("%d rejected rows, want %d", len(got), n)
	}
	for i, r := range got {
		if r.Row != i+2 {
			t.Fatalf("rejection %d is row %d, want %d", i, r.Row, i+2)
		}
	}
}

// TestImportJobsPruned: a new job prunes the oldest finished ones, with
// their rejected rows, down to keep; a running job is never pruned.
func TestImportJobsPruned(t *testing.T) {
	db := openTest(t)
	finish := func(id string) {
		t.Helper()
		if _, err := db.WriteImportBatch(id, nil, func(j *ImportJob, _ []ImportResult) ([]ImportRejection, error) {
			j.State = ImportDone
			return []ImportRejection{{Row: 2, Number: "x", Reason: "bad " + id}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("j%d", i)
		if _, err := db.CreateImportJob(ImportJob{ID: id}, 3); err != nil {
			t.Fatal(err)
		}
		if id != "j1" { // j1 stays running
			finish(id)
		}
	}
	jobs, err := db.ImportJobs()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if !slices.Equal(ids, []string{"j5", "j4", "j1"}) {
		t.Errorf("jobs kept %v, want j5 j4 and the running j1, newest first", ids)
	}
	if hits := findInFile(t, db, "bad j2", "bad j3"); len(hits) != 0 {
		t.Errorf("rejected rows of pruned jobs are still stored: %q", hits)
	}
	if _, err := db.ImportJob("j2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("pruned job j2: %v", err)
	}
}

// TestInterruptImportJobs: a job left running (the gateway stopped or
// crashed under it) is marked interrupted when the file is opened again,
// with the counts of its last batch; finished jobs stay as they are.
func TestInterruptImportJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"done", "running"} {
		if _, err := db.CreateImportJob(ImportJob{ID: id}, 10); err != nil {
			t.Fatal(err)
		}
	}
	rows := []ImportRow{importRow(2, "+15550101"), importRow(3, "+15550102")}
	if _, err := db.WriteImportBatch("running", rows, countBatch(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteImportBatch("done", nil, func(j *ImportJob, _ []ImportResult) ([]ImportRejection, error) {
		j.State = ImportDone
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // the crash: nothing more is written
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	ids, err := db.InterruptImportJobs(at, "stopped")
	if err != nil || !slices.Equal(ids, []string{"running"}) {
		t.Fatalf("InterruptImportJobs = %v, %v; want [running]", ids, err)
	}
	j, err := db.ImportJob("running")
	if err != nil || j.State != ImportInterrupted || j.Error != "stopped" || !j.FinishedAt.Equal(at) || j.Imported != 2 || j.RowsRead != 2 {
		t.Errorf("interrupted job %+v, %v", j, err)
	}
	if j, _ := db.ImportJob("done"); j.State != ImportDone {
		t.Errorf("finished job became %s", j.State)
	}
	if hits := findInFile(t, db, "15550101"); slices.ContainsFunc(hits, func(h string) bool { return strings.HasPrefix(h, string(bucketImportSeen)) }) {
		t.Errorf("numbers seen by an interrupted job are still stored: %q", hits)
	}
}

// TestEraseNumberDropsImportRows: R-GDPR-2 reaches the import reports: a
// rejected row naming the erased number, and the running job's note that
// it saw the number, are deleted; other rows stay.
func TestEraseNumberDropsImportRows(t *testing.T) {
	db := openTest(t)
	if _, err := db.CreateImportJob(ImportJob{ID: "j"}, 10); err != nil {
		t.Fatal(err)
	}
	rows := []ImportRow{importRow(2, "+15550100"), importRow(3, "+15550200")}
	bad := []ImportRejection{
		{Row: 4, Number: "+15550100", Reason: "tags: too long", Fields: []string{"(555) 0100", "Pat"}},
		{Row: 5, Number: "+15550200", Reason: "tags: too long", Fields: []string{"555 0200", "Sam"}},
	}
	if _, err := db.WriteImportBatch("j", rows, func(j *ImportJob, _ []ImportResult) ([]ImportRejection, error) { return bad, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EraseNumber("+15550100"); err != nil {
		t.Fatal(err)
	}
	if hits := findInFile(t, db, "15550100", "Pat"); len(hits) != 0 {
		t.Errorf("the erased number is still in the import records:\n%s", strings.Join(hits, "\n"))
	}
	if got := rejectionsOf(t, db, "j"); len(got) != 1 || got[0].Row != 5 {
		t.Errorf("rejected rows after erasure %+v, want row 5 only", got)
	}
}

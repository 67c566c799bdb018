package gateway

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/simgate/simgate/gateway/contacts"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/store"
)

const testDisclosure = "Shop: recurring automated marketing texts, up to 4 msgs/month. Msg&data rates may apply. " +
	"Reply HELP for help, STOP to cancel. Consent is not a condition of purchase."

// saveDisclosure stores compliance settings with a disclosure version.
func saveDisclosure(t testing.TB, g *Gateway, version string) {
	t.Helper()
	saveSettings(t, g, func(s *ComplianceSettings) { s.Disclosure = Disclosure{Version: version, Text: testDisclosure} })
}

// saveSettings changes the compliance settings of a box with its brand set.
func saveSettings(t testing.TB, g *Gateway, change func(s *ComplianceSettings)) {
	t.Helper()
	s := g.ComplianceSettings()
	s.Brand = "Shop"
	s.SupportContact = "help@example.com"
	s.Frequency = "up to 4 msgs/month"
	change(&s)
	if err := g.SaveComplianceSettings(s, "test"); err != nil {
		t.Fatalf("SaveComplianceSettings: %v", err)
	}
}

// importFile runs an import to its end.
func importFile(t testing.TB, g *Gateway, body string, opts contacts.ImportOptions) contacts.ImportJob {
	t.Helper()
	job, err := g.Contacts().Import(context.Background(), strings.NewReader(body), opts)
	if err != nil {
		t.Fatalf("ImportContacts: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done, err := g.Contacts().Wait(ctx, job.ID)
	if err != nil {
		t.Fatalf("WaitImport: %v", err)
	}
	if done.State != contacts.ImportDone {
		t.Fatalf("job %s: %s", done.State, done.Error)
	}
	return done
}

func rejectionAt(j contacts.ImportJob, row int) (contacts.ImportRejection, bool) {
	for _, r := range j.Report.Rejected {
		if r.Row == row {
			return r, true
		}
	}
	return contacts.ImportRejection{}, false
}

func TestImportContactsRowsAndReport(t *testing.T) {
	g := newContactsGateway(t)
	ctx := context.Background()
	if _, err := g.Contacts().Create(ctx, contacts.Contact{Number: "+12015550100", Name: "Old Name", Tags: []string{"old"}}); err != nil {
		t.Fatal(err)
	}
	// Line numbers: the header is line 1; row 4's quoted note spans two
	// lines, so the row after it starts on line 6.
	file := "\ufeffMobile Phone,First Name,Last Name,Email,Tags,Shoe Size\n" +
		"(201) 555-0101,Ana,Lima,ana@example.com,VIP;newsletter,38\n" + // 2 created
		"+12015550100,Bo,,bo@example.com,vip|summer,44\n" + // 3 updated (existing contact)
		"\"+1 201 555 0102\",\"Cy\",\"Multi\nline\",,,\n" + // 4-5 created
		"not a number,Di,,,,\n" + // 6 invalid
		"201-555-0101,Ana again,,,,\n" + // 7 duplicate of row 2
		",,,,,\n" + // 8 blank: skipped
		"+12015550103,Ed,,,\"" + strings.Repeat("t", contacts.MaxTagLength+1) + "\",\n" + // 9 invalid tag
		"+12015550104\n" // 10 short row: fine
	job := importFile(t, g.Gateway, file, contacts.ImportOptions{FileName: "shop.csv", Columns: map[string]string{"Shoe Size": "attr:shoe_size"}})
	r := job.Report
	if r.Imported != 3 || r.Updated != 1 || r.Invalid != 3 || r.Suppressed != 0 {
		t.Fatalf("report %+v, want 3 created, 1 updated, 3 invalid", r)
	}
	if job.RowsRead != 8 {
		t.Errorf("rows read %d, want 8 records", job.RowsRead)
	}
	for row, want := range map[int]string{6: "number: is not a phone number", 7: "duplicate of row 2", 9: "tags: tag"} {
		rej, ok := rejectionAt(job, row)
		if !ok || !strings.Contains(rej.Reason, want) {
			t.Errorf("row %d: rejection %+v (found %v), want reason with %q; all: %+v", row, rej, ok, want, r.Rejected)
		}
	}
	if job.Columns["Mobile Phone"] != "number" || job.Columns["Email"] != "attr:email" || job.Columns["Shoe Size"] != "attr:shoe_size" {
		t.Errorf("columns %v", job.Columns)
	}
	ana, err := g.Contacts().ByNumber("+12015550101")
	if err != nil {
		t.Fatal(err)
	}
	if ana.Name != "Ana Lima" || ana.Attributes["email"] != "ana@example.com" || ana.Attributes["shoe_size"] != "38" ||
		strings.Join(ana.Tags, ",") != "newsletter,vip" || ana.Source != "import" || ana.TimeZone == "" {
		t.Errorf("imported contact %+v", ana)
	}
	bo, err := g.Contacts().ByNumber("+12015550100")
	if err != nil {
		t.Fatal(err)
	}
	if bo.Name != "Bo" || !strings.Contains(strings.Join(bo.Tags, ","), "summer") {
		t.Errorf("updated contact %+v", bo)
	}
	// Importing never records consent without a consent column.
	if _, events := consentOf(t, g.Gateway, "+12015550101"); len(events) != 0 {
		t.Errorf("%d ledger events from an import without consent", len(events))
	}

	var buf bytes.Buffer
	if err := g.Contacts().WriteRejectedCSV(&buf, job.ID); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0][:4], ",") != "row,number,reason,Mobile Phone" || recs[1][0] != "6" || recs[1][3] != "not a number" {
		t.Errorf("rejected CSV %q", recs)
	}
}

func TestImportMappingErrors(t *testing.T) {
	g := newContactsGateway(t)
	for _, tc := range []struct {
		name, file string
		opts       contacts.ImportOptions
		field      string
	}{
		{"empty file", "", contacts.ImportOptions{}, "file"},
		{"no number column", "Name,City\nAna,Paris\n", contacts.ImportOptions{}, "columns"},
		{"unknown field", "Phone,Size\n+12015550101,9\n", contacts.ImportOptions{Columns: map[string]string{"Size": "shoe"}}, "columns.Size"},
		{"bad attribute key", "Phone,Size\n+12015550101,9\n", contacts.ImportOptions{Columns: map[string]string{"Size": "attr:Shoe Size"}}, "columns.Size"},
		{"missing column", "Phone\n+12015550101\n", contacts.ImportOptions{Columns: map[string]string{"Mobile": "number"}}, "columns.Mobile"},
		{"two number columns", "Phone,Mobile\n+12015550101,+12015550102\n", contacts.ImportOptions{}, "columns.Mobile"},
		{"consent without disclosure", "Phone,Consent\n+12015550101,yes\n", contacts.ImportOptions{}, "disclosure_version"},
		{"unsaved disclosure", "Phone,Consent\n+12015550101,yes\n", contacts.ImportOptions{DisclosureVersion: "v9"}, "disclosure_version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Contacts().Import(context.Background(), strings.NewReader(tc.file), tc.opts)
			wantField(t, err, tc.field)
		})
	}
	if n, _ := g.Contacts().Count(); n != 0 {
		t.Errorf("%d contacts stored by refused files", n)
	}
}

func TestImportConsentColumn(t *testing.T) {
	g := newContactsGateway(t)
	saveDisclosure(t, g.Gateway, "v1")
	// +12015550103 texted STOP before: an import must not subscribe it again.
	if _, _, _, err := g.db.AppendConsent(store.ConsentEvent{Number: "+12015550103", Type: EventOptOut, Purpose: PurposeMarketing, Method: MethodKeyword, Keyword: "STOP"},
		func(c *store.Consent) error { c.Marketing = store.MarketingOptedOut; return nil }); err != nil {
		t.Fatal(err)
	}
	file := "phone,consent\n+12015550101,yes\n+12015550102,no\n+12015550103,Y\n+12015550104,maybe\n+12015550105,\n"
	job := importFile(t, g.Gateway, file, contacts.ImportOptions{FileName: "pos-export.csv", DisclosureVersion: "v1", Actor: "ana"})
	r := job.Report
	if r.Imported != 4 || r.Invalid != 1 || r.ConsentKept != 1 {
		t.Fatalf("report %+v, want 4 created, 1 invalid (maybe), 1 consent kept", r)
	}
	if rej, _ := rejectionAt(job, 5); !strings.Contains(rej.Reason, "consent") {
		t.Errorf("row 5 rejection %+v", rej)
	}
	cons, events := consentOf(t, g.Gateway, "+12015550101")
	if cons.Marketing != MarketingConfirmed || len(events) != 1 {
		t.Fatalf("consent %v with %d events, want confirmed with 1", cons.Marketing, len(events))
	}
	ev := events[0]
	if ev.Type != EventOptIn || ev.Method != MethodImport || ev.Source != "pos-export.csv" || ev.DisclosureVersion != "v1" ||
		ev.DisclosureText != testDisclosure || ev.Actor != "ana" || ev.Purpose != PurposeMarketing {
		t.Errorf("ledger event %+v", ev)
	}
	for _, n := range []string{"+12015550102", "+12015550105"} {
		if c, ev := consentOf(t, g.Gateway, n); c.Marketing != MarketingNone || len(ev) != 0 {
			t.Errorf("%s (no or empty consent cell): %v with %d events", n, c.Marketing, len(ev))
		}
	}
	if c, _ := consentOf(t, g.Gateway, "+12015550103"); c.Marketing != MarketingOptedOut {
		t.Errorf("an opted-out number became %v through an import", c.Marketing)
	}
}

// TestImportSuppressedNumber is R-GDPR-2 through the import: an erased
// number is reported suppressed and nothing about it is stored again.
func TestImportSuppressedNumber(t *testing.T) {
	g := newContactsGateway(t)
	ctx := context.Background()
	c, err := g.Contacts().Create(ctx, contacts.Contact{Number: "+12015550101", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.EraseContact(ctx, c.ID, "ana"); err != nil {
		t.Fatal(err)
	}
	job := importFile(t, g.Gateway, "phone,name\n+12015550102,Bo\n201 555 0101,Ana\n", contacts.ImportOptions{FileName: "again.csv"})
	r := job.Report
	if r.Imported != 1 || r.Suppressed != 1 || r.Invalid != 0 {
		t.Fatalf("report %+v, want 1 created, 1 suppressed", r)
	}
	rej, ok := rejectionAt(job, 3)
	if !ok || rej.Reason != "suppressed: erased on request" || rej.Number != "+12015550101" {
		t.Errorf("row 3: %+v", rej)
	}
	if _, err := g.Contacts().ByNumber("+12015550101"); !errors.Is(err, ErrNotFound) {
		t.Errorf("erased number stored again: %v", err)
	}
}

// TestImportStreamsWithProgress imports 5,000 rows and watches the live
// progress events (the 100k-row case is BenchmarkImportContacts).
func TestImportStreamsWithProgress(t *testing.T) {
	g := newContactsGateway(t)
	sub := g.Hub().Subscribe(1000)
	defer sub.Close()
	const rows = 5000
	file := contactsCSV(rows)
	job, err := g.Contacts().Import(context.Background(), io.NopCloser(strings.NewReader(file)),
		contacts.ImportOptions{FileName: "big.csv", TotalBytes: int64(len(file))})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != contacts.ImportRunning || job.TotalBytes != int64(len(file)) {
		t.Errorf("started job %+v", job)
	}
	var last contacts.ImportJob
	events := 0
	for last.State != contacts.ImportDone && last.State != contacts.ImportFailed {
		select {
		case ev := <-sub.C:
			if ev.Type != "import" || ev.Import == nil || ev.Import.ID != job.ID {
				continue
			}
			events++
			if ev.Import.RowsRead < last.RowsRead || ev.Import.BytesRead < last.BytesRead {
				t.Errorf("progress went back: %d→%d rows", last.RowsRead, ev.Import.RowsRead)
			}
			last = *ev.Import
		case <-time.After(time.Minute):
			t.Fatal("no final import event")
		}
	}
	if last.State != contacts.ImportDone || last.RowsRead != rows || last.BytesRead != int64(len(file)) || last.Percent() != 100 {
		t.Fatalf("final event %+v", last)
	}
	if last.Report.Imported != rows {
		t.Errorf("imported %d, want %d", last.Report.Imported, rows)
	}
	if n, _ := g.Contacts().Count(); n != rows {
		t.Errorf("%d contacts stored, want %d", n, rows)
	}
	got, err := g.Contacts().Job(job.ID)
	if err != nil || got.Report.Imported != rows {
		t.Errorf("ImportJob = %+v, %v", got.Report, err)
	}
	if _, err := g.Contacts().Job("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}

// contactsCSV makes a file of n distinct valid US numbers with a name, an
// email and tags.
func contactsCSV(n int) string {
	var b strings.Builder
	b.WriteString("phone,name,email,tags\n")
	for i := range n {
		// 201-555-01xx numbers are fictional but only 100 of them;
		// spread over valid exchanges instead.
		fmt.Fprintf(&b, "+1201%03d%04d,Customer %d,c%d@example.com,vip;newsletter\n", 200+i/10000, i%10000, i, i)
	}
	return b.String()
}

func TestExportContactsCSV(t *testing.T) {
	g := newContactsGateway(t)
	ctx := context.Background()
	saveDisclosure(t, g.Gateway, "v1")
	importFile(t, g.Gateway, "phone,name,email,city,consent\n+12015550101,\"Lima, Ana\",ana@example.com,Paris,yes\n+12015550102,Bo,,,no\n",
		contacts.ImportOptions{DisclosureVersion: "v1", Columns: map[string]string{"city": "attr:city"}})
	var buf bytes.Buffer
	if err := g.Contacts().Export(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	exported := buf.String()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "number,name,time_zone,language,tags,marketing,created_at,attr:city,attr:email"
	if len(recs) != 3 || strings.Join(recs[0], ",") != want {
		t.Fatalf("export %q, want header %s and 2 rows", recs, want)
	}
	if recs[1][0] != "+12015550101" || recs[1][1] != "Lima, Ana" || recs[1][5] != "confirmed" || recs[1][7] != "Paris" || recs[1][8] != "ana@example.com" {
		t.Errorf("row 1 %q", recs[1])
	}
	if recs[2][5] != "none" || recs[2][7] != "" {
		t.Errorf("row 2 %q", recs[2])
	}
	// The export reads back in as an update of the same contacts.
	again := importFile(t, g.Gateway, exported, contacts.ImportOptions{})
	if again.Report.Updated != 2 || again.Report.Imported != 0 || again.Report.Invalid != 0 {
		t.Errorf("re-import of the export: %+v, want 2 updated", again.Report)
	}
	if again.Columns["attr:city"] != "attr:city" || again.Columns["tags"] != "tags" {
		t.Errorf("re-import mapped %v", again.Columns)
	}
}

// BenchmarkImportContacts streams 100k rows through the import with fsync
// on (the store's default) and reports rows/s. The target is 10,000.
func BenchmarkImportContacts(b *testing.B) {
	const rows = 100_000
	file := contactsCSV(rows)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		g := newContactsGateway(b)
		b.StartTimer()
		start := time.Now()
		job := importFile(b, g.Gateway, file, contacts.ImportOptions{FileName: "bench.csv", TotalBytes: int64(len(file))})
		elapsed += time.Since(start)
		if job.Report.Imported != rows {
			b.Fatalf("imported %d of %d: %+v", job.Report.Imported, rows, job.Report.Rejected[:min(3, len(job.Report.Rejected))])
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
}

// TestStaleSpools: an upload spool left by a crash is removed when the
// gateway is created, and one written after that - an import that began
// as soon as the console served - survives Run starting up.
func TestStaleSpools(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		stale := filepath.Join(dir, "import-stale.csv.tmp")
		db, err := store.Open(filepath.Join(dir, "simgate.db"), store.WithoutGroupCommit())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if matched, _ := filepath.Match(contacts.ImportSpoolPattern, filepath.Base(stale)); !matched {
			t.Fatalf("test file %s does not match the spool pattern %s", stale, contacts.ImportSpoolPattern)
		}
		if err := os.WriteFile(stale, []byte("number\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		g, err := New(db, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("stale spool still there after New: %v", err)
		}
		live, err := g.Contacts().ImportSpool()
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := g.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(live.Name()); err != nil {
			t.Fatalf("a spool being written was removed when Run started: %v", err)
		}
	})
}

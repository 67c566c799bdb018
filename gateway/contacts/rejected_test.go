package contacts

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// TestRejectedCSVDefusesFormulas: every cell of rejected.csv that came
// from the uploaded file (its header, the number as read, the row's own
// cells) is written as the contacts export writes a customer's text, so a
// spreadsheet opening the download shows a formula as text instead of
// running it.
func TestRejectedCSVDefusesFormulas(t *testing.T) {
	b, _ := newBook(t)
	file := "phone,name,tags,@note\n" +
		"=1+2,Ana,,x\n" + // the number itself is a formula
		"+12015550101,\"=HYPERLINK(\"\"http://evil.example\"\")\",\"a,b\",-3\n" + // refused for its tags
		"+12015550102,Bo,,fine\n"
	job, err := b.Import(t.Context(), strings.NewReader(file), ImportOptions{Columns: map[string]string{"@note": "attr:note"}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := b.Wait(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Report.Invalid != 2 || done.Report.Imported != 1 {
		t.Fatalf("report %+v, want 2 refused and 1 imported", done.Report)
	}
	var buf bytes.Buffer
	if err := b.WriteRejectedCSV(&buf, job.ID); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("rejected.csv has %d records, want a header and 2 rows: %q", len(recs), recs)
	}
	for i, rec := range recs {
		for j, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("record %d cell %d starts a formula: %q", i, j, cell)
			}
		}
	}
	for _, want := range [][2]string{{recs[0][6], "'@note"}, {recs[1][1], "'=1+2"}, {recs[1][3], "'=1+2"},
		{recs[2][1], "'+12015550101"}, {recs[2][4], `'=HYPERLINK("http://evil.example")`}, {recs[2][6], "'-3"}} {
		if want[0] != want[1] {
			t.Errorf("cell %q, want %q", want[0], want[1])
		}
	}
}

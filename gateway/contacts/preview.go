package contacts

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
)

// ImportPreview is what an import of a file would do, read without
// writing anything: each column's header, the field it would fill ("" for
// a column left out) and the first rows, so a person sees how every
// column will be used before the import starts.
type ImportPreview struct {
	Headers []string
	Fields  []string   // per header: "number", "name", "consent", "attr:email", ... or ""
	Rows    [][]string // the first rows, each as long as Headers
	// Problem is why the import would be refused as mapped (no number
	// column, two columns for one field, ...); nil when it would start.
	Problem error
}

// PreviewImport reads the header row and the first rows of a CSV file and
// says how each column would be used with the explicit mapping columns
// (as ImportOptions.Columns; headers not in it map by their well-known
// name). A file that cannot be read at all is an error; a mapping that
// would be refused is the preview's Problem.
func PreviewImport(r io.Reader, columns map[string]string, rows int) (ImportPreview, error) {
	limit := &lineLimit{r: r, line: 1, rowLine: 1}
	cr := csv.NewReader(bufio.NewReaderSize(limit, importReadBuffer))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	headers, err := readHeader(cr, limit)
	if err != nil {
		return ImportPreview{}, err
	}
	p := ImportPreview{Headers: headers, Fields: make([]string, len(headers))}
	for i, h := range headers {
		field, ok := columns[h]
		if !ok {
			field, ok = wellKnownColumns[headerKey(h)]
		}
		if key, attr := strings.CutPrefix(h, "attr:"); !ok && attr && attributeKeyPattern.MatchString(key) {
			field = h
		}
		if field == "ignore" {
			field = ""
		}
		p.Fields[i] = field
	}
	_, _, _, p.Problem = mapColumns(headers, columns)
	for len(p.Rows) < rows {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			break // the import reports the row; the preview shows what it could read
		}
		limit.startRow(rowAfter(cr, rec))
		if isBlankRecord(rec) {
			continue
		}
		row := slices.Clone(rec)
		for len(row) < len(headers) {
			row = append(row, "")
		}
		p.Rows = append(p.Rows, row[:len(headers)])
	}
	return p, nil
}

package webui

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
)

// The console's import is two steps: the file is uploaded and kept, the
// page shows how each column will be used (and lets the owner change it),
// and only "Import" writes. A column the gateway would leave out, such as
// "Marketing OK", is then seen rather than silently ignored.

// pendingImportTTL is how long an uploaded file waits for its import to
// be confirmed; the spool is removed after it.
const pendingImportTTL = 30 * time.Minute

// previewRows is how many rows the preview shows.
const previewRows = 5

// pendingImport is an uploaded file waiting for confirmation.
type pendingImport struct {
	file    spoolFile
	opts    contacts.ImportOptions
	user    string
	expires time.Time
}

// pendingImports holds uploads between preview and import, by random id.
type pendingImports struct {
	mu sync.Mutex
	m  map[string]*pendingImport
}

func (p *pendingImports) put(pi *pendingImport, now time.Time) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]*pendingImport{}
	}
	for k, old := range p.m { // the sweep: an abandoned preview does not keep its file
		if now.After(old.expires) {
			_ = old.file.Close()
			delete(p.m, k)
		}
	}
	p.m[id] = pi
	return id
}

// take removes and returns the pending upload id of user; nil when it is
// unknown, expired or someone else's.
func (p *pendingImports) take(id, user string, now time.Time) *pendingImport {
	p.mu.Lock()
	defer p.mu.Unlock()
	pi := p.m[id]
	if pi == nil || pi.user != user {
		return nil
	}
	delete(p.m, id)
	if now.After(pi.expires) {
		_ = pi.file.Close()
		return nil
	}
	return pi
}

// peek returns the pending upload without removing it.
func (p *pendingImports) peek(id, user string) *pendingImport {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pi := p.m[id]; pi != nil && pi.user == user {
		return pi
	}
	return nil
}

// importFieldChoices are the uses a column can be put to, in the words of
// the preview's menus.
var importFieldChoices = []struct{ Value, Label string }{
	{"", "Leave out"},
	{"number", "Phone number"},
	{"name", "Name"},
	{"first_name", "First name"},
	{"last_name", "Last name"},
	{"tags", "Tags"},
	{"consent", "Agreed to marketing (yes/no)"},
	{"time_zone", "Time zone"},
	{"language", "Language"},
	{"attr:email", "Email (other details)"},
	{"keep", "Keep as another detail"},
}

// previewColumn is one column of the preview.
type previewColumn struct {
	Header  string
	Field   string   // the chosen use: a choice's Value
	Samples []string // its first values
}

type importPreviewData struct {
	ID         string
	FileName   string
	Columns    []previewColumn
	Choices    []struct{ Value, Label string }
	Rows       int // how many sample rows were read
	Problem    string
	Disclosure string
	HasConsent bool
}

// fieldWords names what an import column filled, for the job page:
// "attr:email" → "Email (other details)".
func fieldWords(field string) string {
	for _, c := range importFieldChoices {
		if c.Value == field && c.Value != "" {
			return c.Label
		}
	}
	if key, ok := strings.CutPrefix(field, "attr:"); ok {
		return "Other detail “" + key + "”"
	}
	return field
}

// choiceOf maps a gateway field to the preview's menu value.
func choiceOf(field string) string {
	if strings.HasPrefix(field, "attr:") && field != "attr:email" {
		return "keep"
	}
	return field
}

// columnsFromForm reads the preview's menus back into ImportOptions.Columns.
func columnsFromForm(r *http.Request, headers []string) map[string]string {
	cols := map[string]string{}
	for i, h := range headers {
		v := r.PostFormValue("use." + strconv.Itoa(i))
		switch v {
		case "":
			cols[h] = "ignore"
		case "keep":
			cols[h] = "attr:" + attrKey(h)
		default:
			cols[h] = v
		}
	}
	return cols
}

// attrKey makes an attribute key from a header: "Loyalty Card #" →
// "loyalty_card".
func attrKey(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	k := strings.Trim(b.String(), "_")
	if k == "" {
		k = "column"
	}
	if len(k) > contacts.MaxAttributeKey {
		k = k[:contacts.MaxAttributeKey]
	}
	return k
}

// renderPreview reads the pending file's head with cols and shows it.
func (s *server) renderPreview(w http.ResponseWriter, r *http.Request, status int, id string, pi *pendingImport, cols map[string]string, errMsg string) error {
	if _, err := pi.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	p, err := s.gw.Contacts().PreviewImport(pi.file, cols, previewRows)
	if err != nil {
		return err
	}
	d := importPreviewData{ID: id, FileName: pi.opts.FileName, Choices: importFieldChoices, Rows: len(p.Rows),
		Disclosure: pi.opts.DisclosureVersion}
	if d.Disclosure == "" {
		d.Disclosure = s.gw.ComplianceSettings().Disclosure.Version
	}
	for i, h := range p.Headers {
		c := previewColumn{Header: h, Field: choiceOf(p.Fields[i])}
		for _, row := range p.Rows {
			c.Samples = append(c.Samples, row[i])
		}
		d.HasConsent = d.HasConsent || c.Field == "consent"
		d.Columns = append(d.Columns, c)
	}
	if p.Problem != nil {
		d.Problem = importProblem(p.Problem)
	}
	return s.render(w, r, status, "import", view{Title: "Check the columns of " + pi.opts.FileName, Nav: "contacts", Error: errMsg,
		Data: &importPageData{Preview: &d}})
}

// importProblem says in words why an import would be refused.
func importProblem(err error) string {
	var fe *gateway.FieldError
	if errors.As(err, &fe) {
		msg := fe.Message
		msg = strings.ReplaceAll(msg, "map one to number", "choose “Phone number” for one column")
		msg = strings.ReplaceAll(msg, "map one of them to ignore", "choose “Leave out” for one of them")
		return "The import cannot start yet: " + msg + "."
	}
	return err.Error()
}

// importPreviewStart answers the upload (POST /contacts/import): keep the
// file and show how its columns will be used.
func (s *server) importPreviewStart(w http.ResponseWriter, r *http.Request, u user) error {
	file, opts, err := s.readImportUpload(w, r)
	if err != nil {
		return s.importFormError(w, r, err)
	}
	pi := &pendingImport{file: file, opts: opts, user: u.Name, expires: s.now().Add(pendingImportTTL)}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		_ = file.Close()
		return err
	}
	if _, err := s.gw.Contacts().PreviewImport(file, opts.Columns, 0); err != nil {
		_ = file.Close()
		return s.importFormError(w, r, err)
	}
	id := s.pending.put(pi, s.now())
	return s.renderPreview(w, r, http.StatusOK, id, pi, opts.Columns, "")
}

// importConfirm answers POST /contacts/import/confirm: with the owner's
// choice per column, start the import of the kept file, or (action=check)
// show the preview again with the new choices.
func (s *server) importConfirm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	id := r.PostFormValue("upload")
	if r.PostFormValue("action") == "cancel" {
		if pi := s.pending.take(id, u.Name, s.now()); pi != nil {
			_ = pi.file.Close()
		}
		seeOther(w, r, "/contacts/import")
		return nil
	}
	pi := s.pending.peek(id, u.Name)
	if pi == nil {
		d := importPageData{Disclosure: s.gw.ComplianceSettings().Disclosure.Version, Jobs: s.gw.Contacts().Jobs()}
		return s.render(w, r, http.StatusNotFound, "import", view{Title: "Import contacts", Nav: "contacts",
			Error: "That upload is no longer waiting (uploads wait 30 minutes). Choose the file again.", Data: &d})
	}
	if _, err := pi.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	head, err := s.gw.Contacts().PreviewImport(pi.file, nil, 0)
	if err != nil {
		return err
	}
	cols := columnsFromForm(r, head.Headers)
	pi.opts.DisclosureVersion = strings.TrimSpace(r.PostFormValue("disclosure_version"))
	if r.PostFormValue("action") == "check" {
		return s.renderPreview(w, r, http.StatusOK, id, pi, cols, "")
	}
	// What Import would refuse is said on the preview, with the file still
	// kept: Import closes its file when it refuses one.
	if _, err := pi.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	p, err := s.gw.Contacts().PreviewImport(pi.file, cols, 0)
	if err != nil {
		return err
	}
	if p.Problem != nil {
		return s.renderPreview(w, r, http.StatusBadRequest, id, pi, cols, importProblem(p.Problem))
	}
	if slices.Contains(p.Fields, "consent") {
		v := pi.opts.DisclosureVersion
		_, found, err := s.gw.DisclosureVersion(v)
		if err != nil {
			return err
		}
		if v == "" || !found {
			return s.renderPreview(w, r, http.StatusBadRequest, id, pi, cols,
				"Name the consent text the people in the file agreed to: a version saved in Settings → Compliance.")
		}
	}
	if pi = s.pending.take(id, u.Name, s.now()); pi == nil {
		seeOther(w, r, "/contacts/import")
		return nil
	}
	if _, err := pi.file.Seek(0, io.SeekStart); err != nil {
		_ = pi.file.Close()
		return err
	}
	opts := pi.opts
	opts.Columns, opts.Actor = cols, u.Name
	job, err := s.gw.Contacts().Import(r.Context(), pi.file, opts) // owns the file from here
	if err != nil {
		return s.importFormError(w, r, err)
	}
	seeOther(w, r, "/contacts/import?job="+url.QueryEscape(job.ID))
	return nil
}

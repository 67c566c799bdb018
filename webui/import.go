package webui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
)

// maxImportBytes bounds a CSV upload. It is its own limit, not
// Config.MaxBodyBytes: 100 MB holds about a million contacts, and the file
// is streamed to disk, never held in memory.
const maxImportBytes = 100 << 20

// maxImportFormValue bounds each non-file field of a multipart upload.
const maxImportFormValue = 4 << 10

// importColumnFields are the form fields that name the CSV column holding
// a field, for people who do not want to write map.<header>=<field>.
var importColumnFields = map[string]string{
	"number_column": "number", "name_column": "name", "tags_column": "tags", "consent_column": "consent",
	"time_zone_column": "time_zone", "language_column": "language", "email_column": "attr:email",
}

// spoolFile is an upload copied to the data directory; Close removes it.
type spoolFile struct{ *os.File }

func (f spoolFile) Close() error {
	err := f.File.Close()
	_ = os.Remove(f.Name())
	return err
}

// spool streams src into a spool file and rewinds it. It stops with a 413
// once more than maxImportBytes arrived.
func (s *server) spool(src io.Reader) (spoolFile, int64, error) {
	f, err := s.gw.Contacts().ImportSpool()
	if err != nil {
		return spoolFile{}, 0, fmt.Errorf("spool upload: %w", err)
	}
	sf := spoolFile{f}
	n, err := io.Copy(f, io.LimitReader(src, maxImportBytes+1))
	if err == nil && n > maxImportBytes {
		err = &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge,
			Message: fmt.Sprintf("the file is larger than %d MB; split it", maxImportBytes>>20)}
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = sf.Close()
		return spoolFile{}, 0, err
	}
	return sf, n, nil
}

// readImportUpload spools the CSV of an upload and collects its options:
// a text/csv body (options in the query) or a multipart form with a "file"
// part (options in the query or other parts). The body is read under a
// deadline per read (uploadBody): a slow upload goes on as long as data
// arrives, a stalled one is refused with 408.
func (s *server) readImportUpload(w http.ResponseWriter, r *http.Request) (spoolFile, contacts.ImportOptions, error) {
	s.uploadBody(w, r)
	params := url.Values{}
	for k, v := range r.URL.Query() {
		params[k] = v
	}
	var (
		file     spoolFile
		size     int64
		fileName string
	)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && (mt == "text/csv" || mt == "application/csv" || mt == "text/plain"):
		file, size, err = s.spool(r.Body)
		if err != nil {
			return spoolFile{}, contacts.ImportOptions{}, err
		}
	case err == nil && mt == "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return spoolFile{}, contacts.ImportOptions{}, invalid("file", "malformed multipart body: %s", err.Error())
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if file.File != nil {
					_ = file.Close()
				}
				var stalled *apiError
				if errors.As(err, &stalled) {
					return spoolFile{}, contacts.ImportOptions{}, stalled
				}
				return spoolFile{}, contacts.ImportOptions{}, invalid("file", "malformed multipart body: %s", err.Error())
			}
			if part.FormName() == "file" && file.File == nil {
				fileName = part.FileName()
				if file, size, err = s.spool(part); err != nil {
					return spoolFile{}, contacts.ImportOptions{}, err
				}
				continue
			}
			v, err := io.ReadAll(io.LimitReader(part, maxImportFormValue+1))
			if err != nil || len(v) > maxImportFormValue {
				if file.File != nil {
					_ = file.Close()
				}
				var stalled *apiError
				if errors.As(err, &stalled) {
					return spoolFile{}, contacts.ImportOptions{}, stalled
				}
				return spoolFile{}, contacts.ImportOptions{}, invalid(part.FormName(), "is longer than %d bytes", maxImportFormValue)
			}
			params.Add(part.FormName(), string(v))
		}
		if file.File == nil {
			return spoolFile{}, contacts.ImportOptions{}, invalid("file", "is missing: choose a CSV file")
		}
	default:
		return spoolFile{}, contacts.ImportOptions{}, &apiError{Status: http.StatusUnsupportedMediaType, Code: codeUnsupportedMedia,
			Message: "Content-Type must be text/csv (the file as the body) or multipart/form-data (a file part)"}
	}
	if v := params.Get("file_name"); v != "" {
		fileName = v
	}
	opts := contacts.ImportOptions{FileName: filepath.Base(strings.TrimSpace(fileName)), TotalBytes: size,
		DisclosureVersion: strings.TrimSpace(params.Get("disclosure_version")), Columns: map[string]string{}}
	if opts.FileName == "." || opts.FileName == "/" {
		opts.FileName = "upload.csv"
	}
	for k, vs := range params {
		if header, ok := strings.CutPrefix(k, "map."); ok && len(vs) > 0 {
			opts.Columns[header] = strings.TrimSpace(vs[0])
		}
		if field, ok := importColumnFields[k]; ok && len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
			opts.Columns[strings.TrimSpace(vs[0])] = field
		}
	}
	return file, opts, nil
}

// importContactsAPI answers POST /api/v1/contacts/import with 202 and the
// job; its progress is at the Location.
func (s *server) importContactsAPI(w http.ResponseWriter, r *http.Request) error {
	file, opts, err := s.readImportUpload(w, r)
	if err != nil {
		return err
	}
	opts.Actor = "token:" + callerToken(r).Name
	job, err := s.gw.Contacts().Import(r.Context(), file, opts) // owns file from here
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/contacts/import/"+job.ID)
	return writeJSON(w, http.StatusAccepted, job)
}

// importJobAPI answers GET /api/v1/contacts/import/{job}.
func (s *server) importJobAPI(w http.ResponseWriter, r *http.Request, id string) error {
	job, err := s.gw.Contacts().Job(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, job)
}

// cancelImportWait bounds how long a cancel request waits for the job to
// record its end: a job stops at its next row, so this is only reached
// when the store is very slow, and the answer is then 202.
const cancelImportWait = 5 * time.Second

// cancelImportAPI answers POST /api/v1/contacts/import/{job}/cancel: 200
// with the job once it stopped, 202 with it while it is still stopping,
// 404 for an unknown job and 409 for one that has ended.
func (s *server) cancelImportAPI(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), cancelImportWait)
	defer cancel()
	job, err := s.gw.Contacts().Cancel(ctx, r.PathValue("job"), "token:"+callerToken(r).Name)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if job.State == contacts.ImportRunning {
		status = http.StatusAccepted
		w.Header().Set("Location", "/api/v1/contacts/import/"+job.ID)
	}
	return writeJSON(w, status, job)
}

// importRejectedAPI answers GET /api/v1/contacts/import/{job}/rejected.csv.
func (s *server) importRejectedAPI(w http.ResponseWriter, r *http.Request) error {
	return s.writeRejected(w, r.PathValue("job"))
}

func (s *server) writeRejected(w http.ResponseWriter, id string) error {
	if _, err := s.gw.Contacts().Job(id); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="rejected-`+url.PathEscape(id)+`.csv"`)
	return s.gw.Contacts().WriteRejectedCSV(w, id)
}

// importPageData is the import page: the upload form or one job.
type importPageData struct {
	Preview    *importPreviewData // the upload's columns, before anything is written
	Job        *contacts.ImportJob
	Jobs       []contacts.ImportJob
	Disclosure string // current disclosure version, the form's default
}

// importPage answers GET /contacts/import (the form and recent jobs) and
// GET /contacts/import?job= (one job's progress and report).
func (s *server) importPage(w http.ResponseWriter, r *http.Request, u user) error {
	d := importPageData{Disclosure: s.gw.ComplianceSettings().Disclosure.Version}
	v := view{Title: "Import contacts", Nav: "contacts", Data: &d}
	if id := r.URL.Query().Get("job"); id != "" {
		job, err := s.gw.Contacts().Job(id)
		if errors.Is(err, gateway.ErrNotFound) {
			v.Error = importGone
			d.Jobs = s.gw.Contacts().Jobs()
			return s.render(w, r, http.StatusNotFound, "import", v)
		}
		if err != nil {
			return err
		}
		d.Job = &job
		v.Title = "Import of " + job.FileName
		return s.render(w, r, http.StatusOK, "import", v)
	}
	d.Jobs = s.gw.Contacts().Jobs()
	return s.render(w, r, http.StatusOK, "import", v)
}

// importGone explains a job id the gateway does not know.
const importGone = "That import is no longer in the list (the gateway keeps the last 10)."

// cancelImportForm answers POST /contacts/import/cancel (form field job):
// stop the import and show its page again, cancelled. An unknown job is
// 404 and one that has ended 409, each on the import page.
func (s *server) cancelImportForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	id := r.PostFormValue("job")
	ctx, cancel := context.WithTimeout(r.Context(), cancelImportWait)
	defer cancel()
	_, err := s.gw.Contacts().Cancel(ctx, id, u.Name)
	if err == nil {
		seeOther(w, r, "/contacts/import?job="+url.QueryEscape(id))
		return nil
	}
	d := importPageData{Disclosure: s.gw.ComplianceSettings().Disclosure.Version}
	v := view{Title: "Import contacts", Nav: "contacts", Data: &d}
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		v.Error = importGone
		d.Jobs = s.gw.Contacts().Jobs()
		return s.render(w, r, http.StatusNotFound, "import", v)
	case errors.Is(err, gateway.ErrConflict):
		job, jerr := s.gw.Contacts().Job(id)
		if jerr != nil {
			return jerr
		}
		d.Job = &job
		v.Title = "Import of " + job.FileName
		v.Error = "This import had already ended; nothing was cancelled."
		return s.render(w, r, http.StatusConflict, "import", v)
	}
	return err
}

// importFormError shows the upload form again with what was wrong with
// the file or its options; errors it cannot explain are returned.
func (s *server) importFormError(w http.ResponseWriter, r *http.Request, err error) error {
	msg := formError(err)
	var api *apiError
	if msg == "" && errors.As(err, &api) && api.Status < 500 {
		msg = api.Message
	}
	if msg == "" {
		return err
	}
	d := importPageData{Disclosure: s.gw.ComplianceSettings().Disclosure.Version, Jobs: s.gw.Contacts().Jobs()}
	return s.render(w, r, http.StatusBadRequest, "import", view{Title: "Import contacts", Nav: "contacts", Error: msg, Data: &d})
}

// importRejectedPage answers GET /contacts/import/rejected.csv?job=.
func (s *server) importRejectedPage(w http.ResponseWriter, r *http.Request, u user) error {
	return s.writeRejected(w, r.URL.Query().Get("job"))
}

// importStatusJSON answers GET /contacts/import/status?job= with the job
// as JSON, for the job page's script after its live stream (re)connects.
func (s *server) importStatusJSON(w http.ResponseWriter, r *http.Request, u user) error {
	job, err := s.gw.Contacts().Job(r.URL.Query().Get("job"))
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	job.Report.Rejected = nil // the page reloads for the report
	return writeJSON(w, http.StatusOK, job)
}

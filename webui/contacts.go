package webui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
)

// contactRoutes declares the contact API and console pages (contacts,
// import, export, GDPR).
//
// The job and subject routes share one pattern, GET
// /api/v1/contacts/{id}/{sub}: "/contacts/import/{job}" and
// "/contacts/{id}/export" would both match /contacts/import/export, and
// ServeMux refuses two patterns where neither is more specific.
// contactSub dispatches on the path values instead. The console avoids the
// clash with /contacts/import?job=.
func (s *server) contactRoutes() {
	m := s.mux
	m.Handle("POST /api/v1/contacts", s.api(s.createContact))
	m.Handle("GET /api/v1/contacts", s.api(s.listContacts))
	m.Handle("GET /api/v1/contacts/export", s.api(s.exportContactsCSV))
	m.Handle("POST /api/v1/contacts/import", s.api(s.importContactsAPI))
	m.Handle("GET /api/v1/contacts/import/{job}/rejected.csv", s.api(s.importRejectedAPI))
	m.Handle("POST /api/v1/contacts/import/{job}/cancel", s.api(s.cancelImportAPI))
	m.Handle("GET /api/v1/contacts/{id}", s.api(s.getContact))
	m.Handle("PATCH /api/v1/contacts/{id}", s.api(s.patchContact))
	m.Handle("DELETE /api/v1/contacts/{id}", s.api(s.deleteContact))
	m.Handle("GET /api/v1/contacts/{id}/{sub}", s.api(s.contactSub)) // {id}/export and import/{job}
	m.Handle("POST /api/v1/contacts/{id}/erase", s.api(s.eraseContactAPI))

	m.Handle("GET /contacts", s.console(s.contactsPage))
	m.Handle("GET /contacts/new", s.console(s.newContactPage))
	m.Handle("POST /contacts/new", s.form(s.createContactForm))
	m.Handle("GET /contacts/export", s.console(s.exportContactsPage))
	m.Handle("GET /contacts/import", s.console(s.importPage))
	m.Handle("POST /contacts/import", s.form(s.importPreviewStart))
	m.Handle("POST /contacts/import/confirm", s.form(s.importConfirm))
	m.Handle("GET /contacts/import/rejected.csv", s.console(s.importRejectedPage))
	m.Handle("GET /contacts/import/status", s.console(s.importStatusJSON)) // for app.js, which has no token
	m.Handle("POST /contacts/import/cancel", s.form(s.cancelImportForm))
	m.Handle("GET /contacts/{id}", s.console(s.contactPage))
	m.Handle("POST /contacts/{id}", s.form(s.saveContactForm))
	m.Handle("GET /contacts/{id}/export", s.console(s.subjectDownload))
	m.Handle("GET /contacts/{id}/erase", s.console(s.eraseConfirmPage))
	m.Handle("POST /contacts/{id}/erase", s.form(s.eraseContactForm))
	m.Handle("POST /contacts/{id}/opt-in", s.form(s.recordOptIn))
}

// contactRequest is the body of POST /api/v1/contacts.
type contactRequest struct {
	Number     string            `json:"number"`
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"`
	Tags       []string          `json:"tags"`
	TimeZone   string            `json:"time_zone"`
	Language   string            `json:"language"`
	Source     string            `json:"source"`
}

// contactPatchRequest is the body of PATCH /api/v1/contacts/{id}: absent
// (or null) fields stay as they are.
type contactPatchRequest struct {
	Number     *string            `json:"number"`
	Name       *string            `json:"name"`
	Attributes *map[string]string `json:"attributes"`
	Tags       *[]string          `json:"tags"`
	TimeZone   *string            `json:"time_zone"`
	Language   *string            `json:"language"`
}

// createContact answers POST /api/v1/contacts: 201 with the contact; 409
// when the number has a contact (conflict) or was erased (suppressed).
func (s *server) createContact(w http.ResponseWriter, r *http.Request) error {
	var in contactRequest
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := s.gw.Contacts().Create(r.Context(), contacts.Contact{Number: in.Number, Name: in.Name, Attributes: in.Attributes,
		Tags: in.Tags, TimeZone: in.TimeZone, Language: in.Language, Source: in.Source})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/contacts/"+strconv.FormatUint(c.ID, 10))
	return writeJSON(w, http.StatusCreated, c)
}

// getContact answers GET /api/v1/contacts/{id}.
func (s *server) getContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	c, err := s.gw.Contacts().Get(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// patchContact answers PATCH /api/v1/contacts/{id}.
func (s *server) patchContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	var in contactPatchRequest
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := s.gw.Contacts().Update(r.Context(), id, contacts.Patch{Number: in.Number, Name: in.Name,
		Attributes: in.Attributes, Tags: in.Tags, TimeZone: in.TimeZone, Language: in.Language})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// deleteContact answers DELETE /api/v1/contacts/{id} with 204. The
// ledger and texts stay; erasing a person is POST .../erase.
func (s *server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	if err := s.gw.Contacts().Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// contactList is a page of contacts, oldest first.
type contactList struct {
	Contacts   []contacts.Contact `json:"contacts"`
	NextCursor *string            `json:"next_cursor"` // pass as ?after=
}

// listContacts answers GET /api/v1/contacts?q=&tag=&after=&limit=.
func (s *server) listContacts(w http.ResponseWriter, r *http.Request) error {
	f, err := parseContactFilter(r)
	if err != nil {
		return err
	}
	rows, next, err := s.gw.Contacts().List(f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, contactList{Contacts: rows, NextCursor: cursorString(next)})
}

func parseContactFilter(r *http.Request) (contacts.Filter, error) {
	q := r.URL.Query()
	f := contacts.Filter{Query: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag")), Limit: defaultLimit}
	if len(f.Query) > 100 {
		return f, invalid("q", "is longer than 100 characters")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return f, invalid("limit", "must be a whole number from 1 to %d", maxLimit)
		}
		f.Limit = n
	}
	if v := q.Get("after"); v != "" {
		c, err := strconv.ParseUint(v, 10, 64)
		if err != nil || c == 0 {
			return f, invalid("after", "must be a next_cursor value from a previous page")
		}
		f.After = c
	}
	return f, nil
}

// contactSub answers GET /api/v1/contacts/{id}/export and GET
// /api/v1/contacts/import/{job} (one pattern, see contactRoutes).
func (s *server) contactSub(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("id") == "import" {
		return s.importJobAPI(w, r, r.PathValue("sub"))
	}
	if r.PathValue("sub") != "export" {
		return errNoRoute
	}
	return s.subjectExportAPI(w, r)
}

// subjectData is everything stored about the person of the path's {id}.
func (s *server) subjectData(r *http.Request) (gateway.SubjectData, error) {
	id, err := pathID(r, "contact")
	if err != nil {
		return gateway.SubjectData{}, err
	}
	return s.gw.ExportSubject(r.Context(), id)
}

// subjectExportAPI answers GET /api/v1/contacts/{id}/export (R-GDPR-1).
func (s *server) subjectExportAPI(w http.ResponseWriter, r *http.Request) error {
	d, err := s.subjectData(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// eraseContactAPI answers POST /api/v1/contacts/{id}/erase (R-GDPR-2).
func (s *server) eraseContactAPI(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	rep, err := s.gw.EraseContact(r.Context(), id, "token:"+callerToken(r).Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// exportContactsCSV answers GET /api/v1/contacts/export.
func (s *server) exportContactsCSV(w http.ResponseWriter, r *http.Request) error {
	s.writeContactsCSV(w, r)
	return nil
}

// writeContactsCSV streams the export. Once the first byte is out an
// error can only cut the download short (and is logged): a CSV has no way
// to say "failed" at its end.
func (s *server) writeContactsCSV(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="contacts-`+s.now().Format("2006-01-02")+`.csv"`)
	if err := s.gw.Contacts().Export(r.Context(), w); err != nil {
		s.log.Error("contact export cut short", "err", err)
	}
}

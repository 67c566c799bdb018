package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/segments"
)

// segmentRoutes declares saved segments: the API and the console's
// Segments page with its rule builder.
func (s *server) segmentRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/segments", s.api(s.listSegments))
	m.Handle("POST /api/v1/segments", s.api(s.createSegment))
	m.Handle("POST /api/v1/segments/preview", s.api(s.previewSegment))
	m.Handle("GET /api/v1/segments/{id}", s.api(s.getSegment))
	m.Handle("PUT /api/v1/segments/{id}", s.api(s.updateSegment))
	m.Handle("DELETE /api/v1/segments/{id}", s.api(s.deleteSegment))
	m.Handle("GET /api/v1/segments/{id}/members.csv", s.api(s.segmentCSV))

	m.Handle("GET /segments", s.console(s.segmentsPage))
	m.Handle("GET /segments/new", s.console(s.segmentEditPage))
	m.Handle("POST /segments/new", s.form(s.segmentForm))
	m.Handle("POST /segments/preview", s.form(s.segmentLivePreview))
	m.Handle("GET /segments/{id}", s.console(s.segmentEditPage))
	m.Handle("POST /segments/{id}", s.form(s.segmentForm))
	m.Handle("GET /segments/{id}/count", s.console(s.segmentCount))
	m.Handle("GET /segments/{id}/members.csv", s.console(func(w http.ResponseWriter, r *http.Request, _ user) error {
		return s.segmentCSV(w, r)
	}))
}

func (s *server) listSegments(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.Segments().List()
	if err != nil {
		return err
	}
	if list == nil {
		list = []segments.Segment{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Segments []segments.Segment `json:"segments"`
	}{list})
}

func (s *server) getSegment(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	seg, err := s.gw.Segments().Get(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, seg)
}

func (s *server) createSegment(w http.ResponseWriter, r *http.Request) error {
	return s.saveSegment(w, r, 0, http.StatusCreated)
}

func (s *server) updateSegment(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	return s.saveSegment(w, r, id, http.StatusOK)
}

func (s *server) saveSegment(w http.ResponseWriter, r *http.Request, id uint64, status int) error {
	var in segments.Input
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	seg, err := s.gw.Segments().Save(r.Context(), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, status, seg)
}

func (s *server) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	if err := s.gw.Segments().Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// previewRequest is the body of a preview: the definition being edited.
type previewRequest struct {
	Definition json.RawMessage `json:"definition"`
}

// readPreview decodes a preview body and its definition, naming the
// field of any problem.
func (s *server) readPreview(w http.ResponseWriter, r *http.Request) (segments.Definition, error) {
	var in previewRequest
	if err := s.decodeJSON(w, r, &in); err != nil {
		return segments.Definition{}, err
	}
	if len(in.Definition) == 0 {
		return segments.Definition{}, invalid("definition", "must be given")
	}
	return segments.ParseDefinition(in.Definition, "definition")
}

// previewSegment answers POST /api/v1/segments/preview: how many contacts
// the definition chooses, how many of them may get marketing texts, who is
// left out and why, and the first members. Nothing is stored.
func (s *server) previewSegment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.readPreview(w, r)
	if err != nil {
		return err
	}
	p, err := s.gw.Segments().Preview(r.Context(), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// segmentCSV answers GET …/segments/{id}/members.csv.
func (s *server) segmentCSV(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	// Written to a buffer first: an error after the first byte could not
	// become an error answer any more.
	var buf bytes.Buffer
	if err := s.gw.Segments().WriteCSV(r.Context(), &buf, id); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="segment-%d.csv"`, id))
	_, err = w.Write(buf.Bytes())
	return err
}

// The console.

type segmentsData struct {
	Segments []segments.Segment
}

func (s *server) segmentsPage(w http.ResponseWriter, r *http.Request, u user) error {
	list, err := s.gw.Segments().List()
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "segments", view{Title: "Segments", Nav: "segments",
		Notice: segmentNotice(r.URL.Query().Get("done")), Data: segmentsData{Segments: list}})
}

func segmentNotice(key string) string {
	switch key {
	case "saved":
		return "The segment is saved."
	case "deleted":
		return "The segment is deleted."
	}
	return ""
}

// reasonCount is one line of "left out, and why".
type reasonCount struct {
	Reason string `json:"reason"`
	Words  string `json:"words"`
	Count  int    `json:"count"`
}

// consolePreview is a preview with its reasons in words, most first.
type consolePreview struct {
	segments.Preview
	Reasons []reasonCount `json:"reasons"`
}

func withWords(p segments.Preview) consolePreview {
	out := consolePreview{Preview: p, Reasons: []reasonCount{}}
	for reason, n := range p.LeftOut {
		out.Reasons = append(out.Reasons, reasonCount{Reason: reason, Words: segments.ReasonWords[reason], Count: n})
	}
	slices.SortFunc(out.Reasons, func(a, b reasonCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}

// segmentLivePreview answers the editor's debounced POST /segments/preview
// with the count, the reasons in words and the first members; a
// definition that does not read yet is a 400 naming its field in words.
func (s *server) segmentLivePreview(w http.ResponseWriter, r *http.Request, u user) error {
	d, err := s.readPreview(w, r)
	if msg := segmentFormError(err); msg != "" {
		return writeJSON(w, http.StatusBadRequest, struct {
			Error string `json:"error"`
		}{msg})
	}
	if err != nil {
		return err
	}
	p, err := s.gw.Segments().Preview(r.Context(), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, withWords(p))
}

// segmentCount answers the list page's GET /segments/{id}/count.
func (s *server) segmentCount(w http.ResponseWriter, r *http.Request, u user) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	seg, err := s.gw.Segments().Get(id)
	if err != nil {
		return err
	}
	p, err := s.gw.Segments().Preview(r.Context(), seg.Definition)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, withWords(p))
}

type segmentEditData struct {
	ID         uint64
	Name       string
	Definition string // JSON, what the rule builder reads and writes
	Preview    *consolePreview
}

// emptyDefinition starts a new segment: every rule must hold, none yet.
const emptyDefinition = `{"match":"all","rules":[]}`

func (s *server) segmentEditPage(w http.ResponseWriter, r *http.Request, u user) error {
	d := segmentEditData{Definition: emptyDefinition}
	title := "New segment"
	if r.PathValue("id") != "" {
		id, err := parseID(r)
		if err != nil {
			return err
		}
		seg, err := s.gw.Segments().Get(id)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(seg.Definition)
		if err != nil {
			return err
		}
		d = segmentEditData{ID: seg.ID, Name: seg.Name, Definition: string(raw)}
		title = "Segment: " + seg.Name
		p, err := s.gw.Segments().Preview(r.Context(), seg.Definition)
		if err != nil {
			return err
		}
		cp := withWords(p)
		d.Preview = &cp
	}
	return s.render(w, r, http.StatusOK, "segment", view{Title: title, Nav: "segments",
		Notice: segmentNotice(r.URL.Query().Get("done")), Data: d})
}

// segmentForm answers POST /segments/new and /segments/{id}: save
// (action=save) or delete.
func (s *server) segmentForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	d := segmentEditData{Name: r.PostFormValue("name"), Definition: r.PostFormValue("definition")}
	if r.PathValue("id") != "" {
		id, err := parseID(r)
		if err != nil {
			return err
		}
		d.ID = id
	}
	title := "New segment"
	if d.ID != 0 {
		title = "Segment: " + d.Name
	}
	if r.PostFormValue("action") == "delete" {
		if d.ID == 0 {
			return gateway.ErrNotFound
		}
		err := s.gw.Segments().Delete(r.Context(), d.ID)
		if errors.Is(err, gateway.ErrConflict) {
			return s.render(w, r, http.StatusConflict, "segment", view{Title: title, Nav: "segments",
				Error: "This segment cannot be deleted: " + err.Error() + ".", Data: d})
		}
		if err != nil {
			return err
		}
		seeOther(w, r, "/segments?done=deleted")
		return nil
	}
	seg, err := s.gw.Segments().Save(r.Context(), d.ID, segments.Input{Name: d.Name, Definition: json.RawMessage(d.Definition)})
	if msg := segmentFormError(err); msg != "" {
		return s.render(w, r, http.StatusBadRequest, "segment", view{Title: title, Nav: "segments", Error: msg, Data: d})
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("/segments/%d?done=saved", seg.ID))
	return nil
}

var rulePath = regexp.MustCompile(`rules\[(\d+)\]`)

// segmentFormError says a field error in a shop owner's words: "Rule 2,
// group rule 1: days must be ...".
func segmentFormError(err error) string {
	var fe *gateway.FieldError
	if !errors.As(err, &fe) {
		return ""
	}
	field := strings.TrimPrefix(strings.TrimPrefix(fe.Field, "definition"), ".")
	var where []string
	prefix := "Rule"
	for _, m := range rulePath.FindAllStringSubmatch(field, -1) {
		n, _ := strconv.Atoi(m[1])
		where = append(where, fmt.Sprintf("%s %d", prefix, n+1))
		prefix = "its rule"
	}
	setting := field
	if i := strings.LastIndex(field, "]."); i >= 0 {
		setting = field[i+2:]
	} else if strings.HasSuffix(field, "]") {
		setting = ""
	}
	switch {
	case fe.Field == "name":
		return "The name " + fe.Message + "."
	case fe.Field == "definition" || field == "":
		return "The rules " + fe.Message + "."
	case len(where) == 0:
		return "The rules' " + setting + " " + fe.Message + "."
	case setting == "":
		return strings.Join(where, ", ") + ": " + fe.Message + "."
	}
	return strings.Join(where, ", ") + ": " + strings.ReplaceAll(setting, "_", " ") + " " + fe.Message + "."
}

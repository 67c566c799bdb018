package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/templates"
)

// templateRoutes declares the message templates: the API and the
// console's Templates page.
func (s *server) templateRoutes() {
	m := s.mux
	m.Handle("GET /api/v1/templates", s.api(s.listTemplates))
	m.Handle("POST /api/v1/templates", s.api(s.createTemplate))
	m.Handle("POST /api/v1/templates/lint", s.api(s.lintTemplate))
	m.Handle("POST /api/v1/templates/preview", s.api(s.previewTemplate))
	m.Handle("GET /api/v1/templates/{id}", s.api(s.getTemplate))
	m.Handle("PUT /api/v1/templates/{id}", s.api(s.updateTemplate))
	m.Handle("DELETE /api/v1/templates/{id}", s.api(s.deleteTemplate))

	m.Handle("GET /templates", s.console(s.templatesPage))
	m.Handle("GET /templates/new", s.console(s.templateEditPage))
	m.Handle("POST /templates/new", s.form(s.templateForm))
	m.Handle("GET /templates/{id}", s.console(s.templateEditPage))
	m.Handle("POST /templates/{id}", s.form(s.templateForm))
}

// templateAnswer is a saved template with the notices of its lint.
type templateAnswer struct {
	templates.Template
	Problems []templates.Problem `json:"problems"`
}

func (s *server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.gw.Templates().List()
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []templates.Template{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Templates []templates.Template `json:"templates"`
	}{ts})
}

func (s *server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	t, err := s.gw.Templates().Get(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	return s.saveTemplate(w, r, 0, http.StatusCreated)
}

func (s *server) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	if _, err := s.gw.Templates().Get(id); err != nil {
		return err
	}
	return s.saveTemplate(w, r, id, http.StatusOK)
}

// saveTemplate stores the body's template, or answers 422 with every
// problem the linter found.
func (s *server) saveTemplate(w http.ResponseWriter, r *http.Request, id uint64, status int) error {
	var in templates.Input
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	in.ID = id
	t, problems, err := s.gw.Templates().Save(in)
	var pe *templates.ProblemsError
	if errors.As(err, &pe) {
		return writeProblems(w, pe.Problems)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, status, templateAnswer{Template: t, Problems: nonNil(problems)})
}

func nonNil(ps []templates.Problem) []templates.Problem {
	if ps == nil {
		return []templates.Problem{}
	}
	return ps
}

// writeProblems answers 422 with the error shape every answer has (the
// first error problem) and the whole list beside it.
func writeProblems(w http.ResponseWriter, ps []templates.Problem) error {
	first := ps[0]
	for _, p := range ps {
		if !p.Notice {
			first = p
			break
		}
	}
	return writeJSON(w, http.StatusUnprocessableEntity, struct {
		Error    errorDetail         `json:"error"`
		Problems []templates.Problem `json:"problems"`
	}{errorDetail{Code: codeUnprocessable, Field: first.Field, Message: first.Field + ": " + first.Message}, ps})
}

func (s *server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID(r)
	if err != nil {
		return err
	}
	if err := s.gw.Templates().Delete(id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// lintTemplate answers POST /api/v1/templates/lint {"body", "kind"} with
// every problem, saving nothing.
func (s *server) lintTemplate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Body string `json:"body"`
		Kind string `json:"kind"`
	}
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	ps, err := s.gw.Templates().Lint(in.Body, in.Kind)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Problems []templates.Problem `json:"problems"`
	}{nonNil(ps)})
}

// previewTemplate answers POST /api/v1/templates/preview.
func (s *server) previewTemplate(w http.ResponseWriter, r *http.Request) error {
	var in templates.PreviewRequest
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := s.gw.Templates().Preview(in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// Console pages.

type templatesData struct {
	Templates []templates.Template
}

// templatesPage answers GET /templates.
func (s *server) templatesPage(w http.ResponseWriter, r *http.Request, u user) error {
	ts, err := s.gw.Templates().List()
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "templates", view{Title: "Templates", Nav: "templates",
		Notice: doneNotice(r.URL.Query().Get("done")), Data: templatesData{Templates: ts}})
}

type templateEditData struct {
	ID       uint64
	Name     string
	Kind     string
	Body     string
	Number   string // the preview's sample contact
	EventSeq string
	Problems []templates.Problem
	Preview  *templates.Preview
}

// templateEditPage answers GET /templates/new and /templates/{id}.
func (s *server) templateEditPage(w http.ResponseWriter, r *http.Request, u user) error {
	d := templateEditData{Kind: string(gateway.KindMarketing)}
	title := "New template"
	if r.PathValue("id") != "" {
		id, err := parseID(r)
		if err != nil {
			return err
		}
		t, err := s.gw.Templates().Get(id)
		if err != nil {
			return err
		}
		d = templateEditData{ID: t.ID, Name: t.Name, Kind: string(t.Kind), Body: t.Body}
		title = "Template: " + t.Name
		// A saved template has no errors, but may have notices (the
		// opt-out line the box adds), and contacts added since may lack a
		// variable: the page says so.
		if d.Problems, err = s.gw.Templates().Lint(t.Body, t.Kind); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, "template", view{Title: title, Nav: "templates",
		Notice: doneNotice(r.URL.Query().Get("done")), Data: d})
}

// templateForm answers POST /templates/new and /templates/{id}: save
// (action=save), check (lint), preview or delete.
func (s *server) templateForm(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	d := templateEditData{Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Body: r.PostFormValue("body"),
		Number: strings.TrimSpace(r.PostFormValue("number")), EventSeq: strings.TrimSpace(r.PostFormValue("event_seq"))}
	if r.PathValue("id") != "" {
		id, err := parseID(r)
		if err != nil {
			return err
		}
		d.ID = id
	}
	title := "New template"
	if d.ID != 0 {
		title = "Template: " + d.Name
	}
	page := func(status int, notice, msg string) error {
		return s.render(w, r, status, "template", view{Title: title, Nav: "templates", Notice: notice, Error: msg, Data: d})
	}
	switch r.PostFormValue("action") {
	case "delete":
		if d.ID == 0 {
			return gateway.ErrNotFound
		}
		if err := s.gw.Templates().Delete(d.ID); err != nil {
			return err
		}
		seeOther(w, r, "/templates?done=template-deleted")
		return nil
	case "check":
		ps, err := s.gw.Templates().Lint(d.Body, d.Kind)
		if msg := formError(err); msg != "" {
			return page(http.StatusBadRequest, "", msg)
		}
		if err != nil {
			return err
		}
		d.Problems = ps
		if len(ps) == 0 {
			return page(http.StatusOK, "No problems found.", "")
		}
		return page(http.StatusOK, "", "")
	case "preview":
		var seq uint64
		if d.EventSeq != "" {
			n, err := strconv.ParseUint(d.EventSeq, 10, 64)
			if err != nil {
				return page(http.StatusBadRequest, "", "The event number must be a whole number.")
			}
			seq = n
		}
		p, err := s.gw.Templates().Preview(templates.PreviewRequest{Body: d.Body, Kind: d.Kind, Number: d.Number, EventSeq: seq})
		if err != nil {
			if errors.Is(err, gateway.ErrNotFound) {
				return page(http.StatusBadRequest, "", "There is no contact with that number.")
			}
			return page(http.StatusBadRequest, "", "The preview failed: "+err.Error())
		}
		d.Preview = &p
		return page(http.StatusOK, "", "")
	}
	t, _, err := s.gw.Templates().Save(templates.Input{ID: d.ID, Name: d.Name, Kind: d.Kind, Body: d.Body})
	var pe *templates.ProblemsError
	if errors.As(err, &pe) {
		d.Problems = pe.Problems
		return page(http.StatusUnprocessableEntity, "", fmt.Sprintf("Not saved: the template has %d problem(s), listed below.", len(pe.Problems)))
	}
	if msg := formError(err); msg != "" {
		return page(http.StatusBadRequest, "", msg)
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("/templates/%d?done=template-saved", t.ID))
	return nil
}

package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/simgate/simgate/gateway"
)

// optInForm is the contact page's "record their consent" form as typed.
type optInForm struct {
	Method      string // "pos" (in the shop) or "console" (phone call, email, paper)
	Source      string // where: "paper form at the counter", "phone call"
	Terminal    string // pos: till or staff member
	DoubleOptIn bool
	Cart        bool
	Note        string
}

// optInData is the form's state on the contact page.
type optInData struct {
	Form       optInForm
	Disclosure string // the current consent text's version; "" when none is saved
	Error      string
	Field      string // the field the error is about
}

func readOptInForm(r *http.Request) optInForm {
	return optInForm{Method: r.PostFormValue("method"), Source: strings.TrimSpace(r.PostFormValue("source")),
		Terminal: strings.TrimSpace(r.PostFormValue("terminal")), DoubleOptIn: r.PostFormValue("double_opt_in") != "",
		Cart: r.PostFormValue("cart_reminders") != "", Note: strings.TrimSpace(r.PostFormValue("note"))}
}

// optInError says what went wrong with a consent the owner tried to
// record, in words, and which field it is about.
func (s *server) optInError(err error) (msg, field string) {
	var fe *gateway.FieldError
	switch {
	case errors.As(err, &fe):
		label := map[string]string{"method": "How they agreed", "source": "Where they agreed", "terminal": "The till or staff member",
			"disclosure_version": "The consent text", "note": "The note", "number": "The phone number"}[fe.Field]
		if label == "" {
			label = fe.Field
		}
		return label + " " + fe.Message + ".", fe.Field
	case errors.Is(err, gateway.ErrSuppressed):
		return "This number was erased at its owner's request: only the person can sign up again, by texting your join word.", ""
	case errors.Is(err, gateway.ErrConflict) && strings.Contains(err.Error(), "opted out"):
		return "This customer opted out. Only they can undo that: tick “Ask them to confirm by text” so they get a text and can reply YES.", "double_opt_in"
	case errors.Is(err, gateway.ErrConflict):
		return "Consent cannot be recorded yet: " + strings.TrimPrefix(err.Error(), "conflict: ") + ".", ""
	}
	return "", ""
}

// recordOptIn answers POST /contacts/{id}/opt-in: the owner records the
// consent a customer gave in the shop or another way, with where and the
// consent text they saw (the version in force).
func (s *server) recordOptIn(w http.ResponseWriter, r *http.Request, u user) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	c, d, err := s.contactFromPath(r)
	if err != nil {
		return err
	}
	f := readOptInForm(r)
	method := gateway.MethodConsole
	if f.Method == "pos" {
		method = gateway.MethodPOS
	}
	ev, _, err := s.gw.OptIn(r.Context(), gateway.OptInRequest{Number: c.Number, Method: method, Source: f.Source,
		Terminal: f.Terminal, DisclosureVersion: s.gw.ComplianceSettings().Disclosure.Version, DoubleOptIn: f.DoubleOptIn,
		CartReminders: f.Cart, Note: f.Note, Actor: u.Name})
	if err == nil {
		done := "opted_in"
		switch {
		case f.DoubleOptIn && ev.ID != 0:
			done = "doi_sent"
		case ev.ID == 0:
			done = "opt_in_unchanged"
		}
		seeOther(w, r, fmt.Sprintf("/contacts/%d?done=%s#opt-in", c.ID, done))
		return nil
	}
	msg, field := s.optInError(err)
	if msg == "" {
		return err
	}
	d.OptIn.Form, d.OptIn.Error, d.OptIn.Field = f, msg, field
	return s.render(w, r, http.StatusBadRequest, "contact", view{Title: contactTitle(c), Nav: "contacts",
		Error: "Consent was not recorded: see the form below.", Data: d})
}

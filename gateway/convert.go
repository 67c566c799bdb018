package gateway

import (
	"time"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Conversions from the parts' records to the facade's views (views.go).
// Views are made once where a record leaves the facade: a call's result or
// a published event, never per subscriber.

// view adapts a record conversion to a call's (record, error) result.
func view[R, V any](conv func(R) V) func(R, error) (V, error) {
	return func(r R, err error) (V, error) {
		if err != nil {
			var zero V
			return zero, err
		}
		return conv(r), nil
	}
}

// viewList is view for a list; the list is never nil.
func viewList[R, V any](conv func(R) V) func([]R, error) ([]V, error) {
	return func(rs []R, err error) ([]V, error) {
		if err != nil {
			return nil, err
		}
		return mapViews(rs, conv), nil
	}
}

// viewPage is view for a page of a list and its cursor.
func viewPage[R, V any](conv func(R) V) func([]R, uint64, error) ([]V, uint64, error) {
	return func(rs []R, next uint64, err error) ([]V, uint64, error) {
		if err != nil {
			return nil, 0, err
		}
		return mapViews(rs, conv), next, nil
	}
}

func mapViews[R, V any](rs []R, conv func(R) V) []V {
	out := make([]V, len(rs))
	for i, r := range rs {
		out[i] = conv(r)
	}
	return out
}

// ptr is the address of a copy of v.
func ptr[T any](v T) *T { return &v }

// optTime is null for an unknown (zero) time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// optString is null for "".
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func messageView(m store.Message) Message {
	v := Message{ID: m.ID, Status: Status(m.Status.String()), Kind: Kind(m.Kind.String()), To: m.To, Text: m.Text,
		Encoding: m.Encoding, Parts: make([]Part, len(m.Parts)), CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
		ExpiresAt: optTime(m.ExpiresAt), Error: optString(m.Error), Hold: optString(m.Hold),
		History: make([]Transition, len(m.History)), Modem: m.Modem, NextAttemptAt: m.NextAttemptAt, BodyPurged: m.BodyPurged}
	if m.Encoding == modem.EncodingUCS2 {
		v.UCS2Chars = modem.PlanText(m.Text).UCS2Chars
	}
	for i, p := range m.Parts {
		v.Parts[i] = Part{Seq: p.Seq, Modem: optString(p.Modem), Status: Status(p.Status.String()),
			SentAt: optTime(p.SentAt), DoneAt: optTime(p.DoneAt), Error: optString(p.Error)}
		if p.MR >= 0 { // the store keeps -1 until +CMGS answered
			v.Parts[i].MR = &p.MR
		}
	}
	for i, t := range m.History {
		v.History[i] = Transition{At: t.At.UTC(), Status: Status(t.Status.String()), Note: t.Note}
	}
	return v
}

func inboundView(in store.Inbound) Inbound {
	return Inbound{ID: in.ID, Modem: in.Modem, From: in.From, Text: in.Text, SentAt: in.SentAt.UTC(),
		ReceivedAt: in.ReceivedAt.UTC(), Parts: in.Parts, BodyPurged: in.BodyPurged}
}

// listFilter is f for the store; an unknown status is a *FieldError.
func listFilter(f ListFilter) (store.ListFilter, error) {
	st, ok := store.ParseStatus(string(f.Status))
	if f.Status != "" && !ok {
		return store.ListFilter{}, &FieldError{Field: "status", Message: "is not a message status"}
	}
	return store.ListFilter{Status: st, Before: f.Before, Limit: f.Limit}, nil
}

// submitRequest is r for the outbox; an unknown kind is a *FieldError.
func submitRequest(r SubmitRequest) (outbox.SubmitRequest, error) {
	k, ok := store.ParseKind(string(r.Kind))
	if r.Kind != "" && !ok {
		return outbox.SubmitRequest{}, &FieldError{Field: "kind", Message: "must be transactional or marketing"}
	}
	return outbox.SubmitRequest{To: r.To, Text: r.Text, IdempotencyKey: r.IdempotencyKey,
		IdempotencyScope: r.IdempotencyScope, ExpiresAt: r.ExpiresAt, Kind: k}, nil
}

func contactView(c store.Contact) Contact {
	v := Contact{ID: c.ID, Number: c.Number, Name: c.Name, Attributes: c.Attributes, Tags: c.Tags,
		TimeZone: c.TimeZone, TimeZoneDerived: c.TimeZoneDerived, Language: c.Language, Source: c.Source,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	return v
}

// contactRecord is the record a new contact starts from.
func contactRecord(c Contact) store.Contact {
	return store.Contact{Number: c.Number, Name: c.Name, Attributes: c.Attributes, Tags: c.Tags,
		TimeZone: c.TimeZone, Language: c.Language, Source: c.Source}
}

func consentView(c store.Consent) Consent {
	return Consent{Number: c.Number, OptedOutAll: c.OptedOutAll, OptOutByKeyword: c.OptOutByKeyword, Review: c.Review,
		ReviewInboundID: c.ReviewInboundID, ReviewText: c.ReviewText, CartReminders: c.CartReminders,
		PendingCartReminders: c.PendingCartReminders,
		ConfirmedAt:          c.ConfirmedAt, RecentMarketing: c.RecentMarketing, LastReply: c.LastReply, UpdatedAt: c.UpdatedAt,
		Marketing: MarketingState(c.Marketing.String())}
}

func consentEventView(e store.ConsentEvent) ConsentEvent {
	return ConsentEvent{ID: e.ID, Number: e.Number, At: e.At, TimeZone: e.TimeZone, Type: e.Type,
		Purpose: e.Purpose, Method: e.Method, Source: e.Source, DisclosureVersion: e.DisclosureVersion,
		DisclosureText: e.DisclosureText, IP: e.IP, UserAgent: e.UserAgent, Terminal: e.Terminal, Keyword: e.Keyword,
		InboundID: e.InboundID, MessageID: e.MessageID, Actor: e.Actor, Note: e.Note}
}

// consentChange is the views of what a consent call recorded. The record
// comes with some errors too (the current one, with ErrOptedOut).
func consentChange(ev store.ConsentEvent, c store.Consent, err error) (ConsentEvent, Consent, error) {
	return consentEventView(ev), consentView(c), err
}

func evidenceView(e consent.Evidence) Evidence {
	return Evidence{Number: e.Number, Events: mapViews(e.Events, consentEventView), Disclosures: e.Disclosures,
		ExportedAt: e.ExportedAt, Consent: consentView(e.Consent)}
}

func subjectView(d store.SubjectData, at time.Time) SubjectData {
	v := SubjectData{ExportedAt: at.UTC(), Consent: consentView(d.Consent), ConsentEvents: mapViews(d.Events, consentEventView),
		Messages: mapViews(d.Messages, messageView), Inbound: mapViews(d.Inbound, inboundView)}
	if d.Contact != nil {
		c := contactView(*d.Contact)
		v.Profile = &c
	}
	return v
}

func modemStatusView(st outbox.ModemStatus) ModemStatus {
	return ModemStatus{Name: st.Name, Path: st.Path, State: st.State, Identity: Identity(st.Identity),
		Health: Health(st.Health), LastError: st.LastError, Since: st.Since, Sent: st.Sent, Budget: st.Budget, Paused: st.Paused}
}

func healthView(h modem.Health) Health                { return Health(h) }
func ussdReplyView(r modem.USSDReply) USSDReply       { return USSDReply(r) }
func eraseReportView(r store.EraseReport) EraseReport { return EraseReport(r) }
func tokenView(t store.Token) Token                   { return Token(t) }
func sessionView(s store.Session) Session             { return Session(s) }
func userView(u store.User) User                      { return User{Name: u.Name, CreatedAt: u.CreatedAt} }

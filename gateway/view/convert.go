package view

import (
	"time"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/gateway/flows"
	"github.com/simgate/simgate/gateway/outbox"
	"github.com/simgate/simgate/gateway/shopevents"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Conversions from the parts' records to the views (view.go), and from the
// facade's requests to the parts'. The facade makes a view once where a
// record leaves it: a call's result or a published event, never per
// subscriber.

// One adapts a record conversion to a call's (record, error) result: the
// zero view with the error, else the record converted.
func One[R, V any](conv func(R) V) func(R, error) (V, error) {
	return func(r R, err error) (V, error) {
		if err != nil {
			var zero V
			return zero, err
		}
		return conv(r), nil
	}
}

// List is One for a list; the list is never nil without an error.
func List[R, V any](conv func(R) V) func([]R, error) ([]V, error) {
	return func(rs []R, err error) ([]V, error) {
		if err != nil {
			return nil, err
		}
		return mapViews(rs, conv), nil
	}
}

// Page is One for a page of a list and its cursor.
func Page[R, V any](conv func(R) V) func([]R, uint64, error) ([]V, uint64, error) {
	return func(rs []R, next uint64, err error) ([]V, uint64, error) {
		if err != nil {
			return nil, 0, err
		}
		return mapViews(rs, conv), next, nil
	}
}

// Map converts every record of rs; the result is never nil.
func Map[R, V any](rs []R, conv func(R) V) []V { return mapViews(rs, conv) }

func mapViews[R, V any](rs []R, conv func(R) V) []V {
	out := make([]V, len(rs))
	for i, r := range rs {
		out[i] = conv(r)
	}
	return out
}

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

// FromMessage is the view of a stored message.
func FromMessage(m store.Message) Message {
	v := Message{ID: m.ID, Status: Status(m.Status.String()), Kind: Kind(m.Kind.String()), To: m.To, Text: m.Text,
		Encoding: m.Encoding, Parts: make([]Part, len(m.Parts)), CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
		ExpiresAt: optTime(m.ExpiresAt), Error: optString(m.Error), Hold: optString(m.Hold),
		History: make([]Transition, len(m.History)), Origin: m.Origin, Modem: m.Modem, NextAttemptAt: m.NextAttemptAt, BodyPurged: m.BodyPurged}
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

// FromInbound is the view of a received text.
func FromInbound(in store.Inbound) Inbound {
	return Inbound{ID: in.ID, Modem: in.Modem, From: in.From, Text: in.Text, SentAt: in.SentAt.UTC(),
		ReceivedAt: in.ReceivedAt.UTC(), Parts: in.Parts, BodyPurged: in.BodyPurged}
}

// ListFilterRecord is f for the store; an unknown status is a *FieldError.
func ListFilterRecord(f ListFilter) (store.ListFilter, error) {
	st, ok := store.ParseStatus(string(f.Status))
	if f.Status != "" && !ok {
		return store.ListFilter{}, &store.FieldError{Field: "status", Message: "is not a message status"}
	}
	return store.ListFilter{Status: st, Before: f.Before, Limit: f.Limit}, nil
}

// SubmitRecord is r for the outbox; an unknown kind is a *FieldError.
func SubmitRecord(r SubmitRequest) (outbox.SubmitRequest, error) {
	k, ok := store.ParseKind(string(r.Kind))
	if r.Kind != "" && !ok {
		return outbox.SubmitRequest{}, &store.FieldError{Field: "kind", Message: "must be transactional or marketing"}
	}
	req := outbox.SubmitRequest{To: r.To, Text: r.Text, IdempotencyKey: r.IdempotencyKey,
		IdempotencyScope: r.IdempotencyScope, ExpiresAt: r.ExpiresAt, Kind: k}
	if c := r.Callback; c != nil {
		req.Callback = &store.Callback{URL: c.URL, Format: c.Format, Params: c.Params, AllowPrivate: c.AllowPrivate}
	}
	return req, nil
}

// FromConsent is the view of a number's consent record.
func FromConsent(c store.Consent) Consent {
	return Consent{Number: c.Number, OptedOutAll: c.OptedOutAll, OptOutByKeyword: c.OptOutByKeyword, Review: c.Review,
		ReviewInboundID: c.ReviewInboundID, ReviewText: c.ReviewText, CartReminders: c.CartReminders,
		PendingCartReminders: c.PendingCartReminders,
		ConfirmedAt:          c.ConfirmedAt, RecentMarketing: c.RecentMarketing, LastReply: c.LastReply, UpdatedAt: c.UpdatedAt,
		Marketing: MarketingState(c.Marketing.String())}
}

// FromConsentEvent is the view of one consent ledger entry.
func FromConsentEvent(e store.ConsentEvent) ConsentEvent {
	return ConsentEvent{ID: e.ID, Number: e.Number, At: e.At, TimeZone: e.TimeZone, Type: e.Type,
		Purpose: e.Purpose, Method: e.Method, Source: e.Source, DisclosureVersion: e.DisclosureVersion,
		DisclosureText: e.DisclosureText, IP: e.IP, UserAgent: e.UserAgent, Terminal: e.Terminal, Keyword: e.Keyword,
		InboundID: e.InboundID, MessageID: e.MessageID, Actor: e.Actor, Note: e.Note}
}

// FromConsentChange is the views of what a consent call recorded. The record
// comes with some errors too (the current one, with consent.ErrOptedOut).
func FromConsentChange(ev store.ConsentEvent, c store.Consent, err error) (ConsentEvent, Consent, error) {
	return FromConsentEvent(ev), FromConsent(c), err
}

// FromEvidence is the view of a number's consent evidence.
func FromEvidence(e consent.Evidence) Evidence {
	return Evidence{Number: e.Number, Events: mapViews(e.Events, FromConsentEvent), Disclosures: e.Disclosures,
		ExportedAt: e.ExportedAt, Consent: FromConsent(e.Consent)}
}

// FromSubject is the view of everything stored about one person, exported
// at at.
func FromSubject(d store.SubjectData, at time.Time) SubjectData {
	v := SubjectData{ExportedAt: at.UTC(), Consent: FromConsent(d.Consent), ConsentEvents: mapViews(d.Events, FromConsentEvent),
		Messages: mapViews(d.Messages, FromMessage), Inbound: mapViews(d.Inbound, FromInbound),
		ShopEvents:  mapViews(d.ShopEvents, shopevents.EventOf),
		FlowEntries: mapViews(d.FlowEntries, flows.EntryOf),
		Links: mapViews(d.Links, func(l store.Link) SubjectLink {
			return SubjectLink{URL: l.URL, Origin: l.Origin, CreatedAt: l.CreatedAt, Clicks: l.Clicks, FirstClickAt: l.FirstClickAt, LastClickAt: l.LastClickAt}
		}),
		Campaigns: mapViews(d.CampaignMemberships, func(m store.CampaignMember) SubjectCampaign {
			return SubjectCampaign{Campaign: m.Campaign, Variant: m.Variant, At: m.At, MessageID: m.MessageID}
		})}
	if d.Contact != nil {
		c := contacts.ContactOf(*d.Contact)
		v.Profile = &c
	}
	return v
}

// FromModemStatus is the view of one modem's status.
func FromModemStatus(st outbox.ModemStatus) ModemStatus {
	return ModemStatus{Name: st.Name, Path: st.Path, State: st.State, Identity: Identity(st.Identity),
		Health: Health(st.Health), LastError: st.LastError, Since: st.Since, Sent: st.Sent, Budget: st.Budget, Paused: st.Paused}
}

// FromHealth is the view of one health reading.
func FromHealth(h modem.Health) Health { return Health(h) }

// FromUSSDReply is the view of the network's USSD answer.
func FromUSSDReply(r modem.USSDReply) USSDReply { return USSDReply(r) }

// FromEraseReport is the view of what an erasure removed.
func FromEraseReport(r store.EraseReport) EraseReport { return EraseReport(r) }

// FromLinkStats is the view of a sum of short links.
func FromLinkStats(s store.LinkStats) LinkStats { return LinkStats(s) }

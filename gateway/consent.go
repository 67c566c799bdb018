package gateway

import (
	"context"

	"github.com/simgate/simgate/gateway/consent"
	"github.com/simgate/simgate/gateway/view"
	"github.com/simgate/simgate/store"
)

// Consent and its ledger (package consent).
type (
	OptInRequest  = consent.OptInRequest
	OptOutRequest = consent.OptOutRequest
)

// Consent methods (R-OPTIN-1, R-RECORD), stored in the ledger as package
// store declares them.
const (
	MethodWebForm = consent.MethodWebForm
	MethodKeyword = consent.MethodKeyword
	MethodPOS     = consent.MethodPOS
	MethodImport  = consent.MethodImport
	MethodAPI     = consent.MethodAPI
	MethodConsole = consent.MethodConsole
)

// What a ledger entry records and what it is about, as package store
// declares them.
const (
	EventOptIn          = store.EventOptIn
	EventDOIRequest     = store.EventDOIRequest
	EventDOIConfirm     = store.EventDOIConfirm
	EventOptOut         = store.EventOptOut
	EventOptOutReview   = store.EventOptOutReview
	EventReviewResolved = store.EventReviewResolved
	EventResubscribe    = store.EventResubscribe
	EventErasure        = store.EventErasure

	PurposeMarketing = store.PurposeMarketing
	PurposeAll       = store.PurposeAll
)

// ConsentMethods lists the accepted methods, for forms and errors.
func ConsentMethods() []string { return consent.Methods() }

// Review decisions.
const (
	ReviewOptOut = consent.ReviewOptOut
	ReviewKeep   = consent.ReviewKeep
)

// ErrOptedOut is returned when a single opt-in would re-subscribe a number
// that opted out: only the person can undo that.
var ErrOptedOut = consent.ErrOptedOut

// OptIn records consent to marketing texts and queues the text it calls
// for (the confirmation, or the double opt-in request).
func (g *Gateway) OptIn(ctx context.Context, r OptInRequest) (ConsentEvent, Consent, error) {
	return view.FromConsentChange(g.consent.OptIn(ctx, r))
}

// OptOut records an opt-out asked for outside a keyword and holds back the
// number's queued texts at once (R-STOP-2).
func (g *Gateway) OptOut(ctx context.Context, r OptOutRequest) (ConsentEvent, Consent, error) {
	return view.FromConsentChange(g.consent.OptOut(ctx, r))
}

// ResolveReview ends an opt-out review (R-STOP-4) with "opt_out" or
// "keep"; ErrConflict when no review is open.
func (g *Gateway) ResolveReview(ctx context.Context, number, decision, actor string) (ConsentEvent, Consent, error) {
	return view.FromConsentChange(g.consent.ResolveReview(ctx, number, decision, actor))
}

// Consent returns a number's compliance record (the zero record when the
// number is unknown).
func (g *Gateway) Consent(number string) (Consent, error) {
	return view.One(view.FromConsent)(g.consent.Consent(number))
}

// ConsentEvents returns a number's ledger, oldest first.
func (g *Gateway) ConsentEvents(number string) ([]ConsentEvent, error) {
	return view.List(view.FromConsentEvent)(g.consent.Events(number))
}

// ReviewQueue lists the numbers whose texts read like an opt-out and wait
// for a person's decision.
func (g *Gateway) ReviewQueue() ([]Consent, error) {
	return view.List(view.FromConsent)(g.consent.ReviewQueue())
}

// ConsentEvidence gathers what a business shows when its consent to text a
// number is challenged (R-RECORD).
func (g *Gateway) ConsentEvidence(number string) (Evidence, error) {
	return view.One(view.FromEvidence)(g.consent.Evidence(number))
}

// ExportSubject gathers everything stored about a contact's number (GDPR
// Art. 15 and 20, R-GDPR-1).
func (g *Gateway) ExportSubject(ctx context.Context, id uint64) (SubjectData, error) {
	d, err := g.consent.ExportSubject(ctx, id)
	if err != nil {
		return SubjectData{}, err
	}
	return view.FromSubject(d, g.cfg.Clock()), nil
}

// EraseContact erases a person on request (GDPR Art. 17, R-GDPR-2); the
// number stays on the suppression list.
func (g *Gateway) EraseContact(ctx context.Context, id uint64, actor string) (EraseReport, error) {
	return view.One(view.FromEraseReport)(g.consent.EraseContact(ctx, id, actor))
}

// PurgeBodies blanks the text of messages older than the body retention
// setting and returns how many it blanked (R-RECORD: rows stay).
func (g *Gateway) PurgeBodies(ctx context.Context) (int, error) { return g.consent.PurgeBodies(ctx) }

// InboundKeyword names the keyword a received text is ("stop", "start",
// "help", "yes", "join" with the configured join word), or "" for an
// ordinary text: the console shows such texts as handled, not as new.
func (g *Gateway) InboundKeyword(text string) string {
	return consent.KeywordOf(text, g.policy.Settings().JoinKeyword)
}

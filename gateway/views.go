package gateway

import (
	"github.com/simgate/simgate/gateway/view"
)

// The shapes webui, cmd and the API see are package view's; these names
// keep them the facade's, so callers import gateway alone.
type (
	Status         = view.Status
	Kind           = view.Kind
	MarketingState = view.MarketingState
	Message        = view.Message
	Part           = view.Part
	Transition     = view.Transition
	ListFilter     = view.ListFilter
	Inbound        = view.Inbound
	Consent        = view.Consent
	ConsentEvent   = view.ConsentEvent
	Evidence       = view.Evidence
	SubjectData    = view.SubjectData
	EraseReport    = view.EraseReport
	ModemStatus    = view.ModemStatus
	Identity       = view.Identity
	Health         = view.Health
	Plan           = view.Plan
	USSDReply      = view.USSDReply
	SubmitRequest  = view.SubmitRequest
	Event          = view.Event
	// Callback is a per-message status callback (SubmitRequest.Callback).
	Callback = view.Callback
)

// Message states.
const (
	StatusQueued     = view.StatusQueued
	StatusSending    = view.StatusSending
	StatusSent       = view.StatusSent
	StatusDelivered  = view.StatusDelivered
	StatusFailed     = view.StatusFailed
	StatusUnknown    = view.StatusUnknown // may or may not have gone out: a person decides
	StatusSuppressed = view.StatusSuppressed
	StatusExpired    = view.StatusExpired
)

// Message kinds.
const (
	KindTransactional = view.KindTransactional
	KindMarketing     = view.KindMarketing
	KindCompliance    = view.KindCompliance // the box's own replies about consent
)

// Marketing states.
const (
	MarketingNone      = view.MarketingNone
	MarketingPending   = view.MarketingPending // double opt-in requested, no YES yet
	MarketingConfirmed = view.MarketingConfirmed
	MarketingOptedOut  = view.MarketingOptedOut
)

// ParseStatus checks an API status name.
func ParseStatus(name string) (Status, bool) { return view.ParseStatus(name) }

// ParseKind checks an API kind name ("transactional", "marketing", ...).
func ParseKind(name string) (Kind, bool) { return view.ParseKind(name) }

// ptr is the address of a copy of v.
func ptr[T any](v T) *T { return &v }

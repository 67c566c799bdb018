package webui

// routes declares every route of the HTTP surface. Keep it the only place
// where patterns appear, so the whole surface can be read at a glance.
//
// s.api wraps a handler that needs a bearer token; routes without it are
// public. Console pages (session auth) will get their own wrapper here.
func (s *server) routes() {
	m := s.mux

	m.Handle("GET /healthz", s.public(s.health))

	m.Handle("POST /api/v1/messages", s.api(s.submit))
	m.Handle("GET /api/v1/messages", s.api(s.listMessages))
	m.Handle("GET /api/v1/messages/{id}", s.api(s.getMessage))
	m.Handle("POST /api/v1/messages/{id}/resend", s.api(s.resend))
	m.Handle("POST /api/v1/messages/{id}/drop", s.api(s.drop))

	m.Handle("GET /api/v1/inbox", s.api(s.inbox))

	m.Handle("GET /api/v1/settings/compliance", s.api(s.getComplianceSettings))
	m.Handle("PUT /api/v1/settings/compliance", s.api(s.putComplianceSettings))

	m.Handle("GET /api/v1/modems", s.api(s.modems))
	m.Handle("POST /api/v1/modems/{name}/ussd", s.api(s.ussd))
}

package webui

// routes declares the core API: messages, inbox, compliance settings,
// modems and /healthz. The rest of the surface is declared by concern, each
// list in one function: consoleRoutes (console_routes.go: console pages and
// the live stream), contactRoutes (contacts.go), consentRoutes
// (consent.go), linkRoutes (links.go: short links), templateRoutes
// (templates.go) and compatRoutes (below: the Twilio, Kannel and SMSEagle
// APIs). Handler calls them all; no pattern is registered anywhere else.
//
// s.api wraps a handler that needs a bearer token; routes without it are
// public. s.console needs a session cookie, and s.form a session and a
// same-origin post.
func (s *server) routes() {
	m := s.mux

	m.Handle("GET /healthz", s.public(s.health))
	m.Handle("GET /metrics", s.api(s.metricsPage))

	m.Handle("POST /api/v1/messages", s.api(s.submit))
	m.Handle("GET /api/v1/messages", s.api(s.listMessages))
	m.Handle("GET /api/v1/messages/{id}", s.api(s.getMessage))
	m.Handle("POST /api/v1/messages/{id}/resend", s.api(s.resend))
	m.Handle("POST /api/v1/messages/{id}/drop", s.api(s.drop))

	m.Handle("GET /api/v1/inbox", s.api(s.inbox))

	m.Handle("GET /api/v1/settings/compliance", s.api(s.getComplianceSettings))
	m.Handle("PUT /api/v1/settings/compliance", s.api(s.putComplianceSettings))

	m.Handle("GET /api/v1/modems", s.api(s.modems))

	s.compatRoutes()
	m.Handle("POST /api/v1/modems/{name}/ussd", s.api(s.ussd))
}

// compatRoutes declares the APIs of other gateways that shops already speak
// (compat_twilio.go, compat_kannel.go, compat_smseagle.go). Each checks its
// own credentials and answers in its own shapes.
func (s *server) compatRoutes() {
	m := s.mux
	const tw = "/2010-04-01/Accounts/{account}/Messages"
	m.Handle("POST "+tw+".json", s.twilio(s.twilioCreate))
	m.Handle("GET "+tw+".json", s.twilio(s.twilioList))
	m.Handle("GET "+tw+"/{sid}", s.twilio(s.twilioFetch))

	m.HandleFunc("GET /cgi-bin/sendsms", s.kannelSend)
	m.HandleFunc("POST /cgi-bin/sendsms", s.kannelSend)

	m.HandleFunc("GET /index.php/http_api/send_sms", s.eagleV1Send)
	m.HandleFunc("GET /http_api/send_sms", s.eagleV1Send)
	m.Handle("POST /api/v2/messages/sms", s.public(s.eagleV2Send))
	m.Handle("POST /index.php/api/v2/messages/sms", s.public(s.eagleV2Send))
}

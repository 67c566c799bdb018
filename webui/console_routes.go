package webui

import "net/http"

// consoleRoutes declares the console's routes and the live stream (the
// core API is in routes.go; contact and consent routes, API and console,
// are in contacts.go and consent.go). s.console needs a session cookie; s.form also
// refuses cross-origin requests (CSRF) and wraps every state-changing
// console route, login included.
func (s *server) consoleRoutes() {
	m := s.mux
	m.HandleFunc(streamRoute, s.stream) // session cookie or bearer token, same Origin only

	m.HandleFunc("GET /static/", s.serveStatic)
	m.HandleFunc("GET /login", s.loginPage)
	m.Handle("POST /login", s.csrf.Handler(http.HandlerFunc(s.login)))
	m.Handle("POST /logout", s.form(s.logout))
	m.Handle("GET /{$}", s.console(s.dashboard))
	m.Handle("GET /console/counts", s.console(s.countsJSON))
	m.Handle("GET /compose", s.console(s.composePage))
	m.Handle("POST /compose", s.form(s.compose))
	m.Handle("POST /compose/template", s.form(s.composeTemplate))
	m.Handle("POST /console/plan", s.form(s.plan))
	m.Handle("GET /messages", s.console(s.messagesPage))
	m.Handle("GET /messages/{id}", s.console(s.messagePage))
	m.Handle("POST /messages/{id}/resend", s.form(s.messageAction(true)))
	m.Handle("POST /messages/{id}/drop", s.form(s.messageAction(false)))
	m.Handle("GET /inbox", s.console(s.inboxPage))
	m.Handle("GET /inbox/{number}", s.console(s.threadPage))
	m.Handle("POST /inbox/{number}/reply", s.form(s.reply))
	m.Handle("GET /modems", s.console(s.modemsPage))
	m.Handle("POST /modems/{name}/ussd", s.form(s.consoleUSSD))
	m.Handle("POST /modems/{name}/pause", s.form(s.pauseModem(true)))
	m.Handle("POST /modems/{name}/resume", s.form(s.pauseModem(false)))
	m.Handle("GET /settings", s.console(s.settingsPage))
	m.Handle("GET /api/v1/backup", s.console(s.backupDownload))
	m.Handle("POST /settings/tokens", s.form(s.createToken))
	m.Handle("POST /settings/tokens/{id}/revoke", s.form(s.revokeToken))
	m.Handle("POST /settings/users", s.form(s.addUser))
	m.Handle("POST /settings/users/{name}/remove", s.form(s.removeUser))
	m.Handle("POST /settings/password", s.form(s.changePassword))
}

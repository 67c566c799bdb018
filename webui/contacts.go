package webui

// contactRoutes declares the contact API and console pages (contacts,
// import, export, GDPR).
func (s *server) contactRoutes() {
}

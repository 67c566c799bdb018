package webui

// consentRoutes declares the consent API, the public /join page, the
// review queue and the compliance settings page.
func (s *server) consentRoutes() {
}

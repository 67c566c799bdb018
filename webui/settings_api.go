package webui

import (
	"net/http"
)

// getComplianceSettings answers the shop's compliance settings: brand,
// disclosure, reply templates, quiet-hour windows ("08:00-21:00"), the
// frequency cap and body retention.
func (s *server) getComplianceSettings(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.gw.ComplianceSettings())
}

// putComplianceSettings changes the settings. Fields left out of the body
// keep their current values; a bad field answers 400 naming it and saves
// nothing.
func (s *server) putComplianceSettings(w http.ResponseWriter, r *http.Request) error {
	cur := s.gw.ComplianceSettings()
	if err := s.decodeJSON(w, r, &cur); err != nil {
		return err
	}
	if err := s.gw.SaveComplianceSettings(cur, "api:"+callerToken(r).Name); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.gw.ComplianceSettings())
}

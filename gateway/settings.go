package gateway

import (
	"fmt"

	"github.com/simgate/simgate/gateway/compliance"
)

// Compliance settings (package compliance).
type (
	ComplianceSettings = compliance.Settings
	Window             = compliance.Window
	Disclosure         = compliance.Disclosure
	ReplyTemplates     = compliance.ReplyTemplates
)

// Default windows (COMPLIANCE.md R-QH).
var (
	DefaultQuietWindow  = compliance.DefaultQuietWindow
	DefaultStrictWindow = compliance.DefaultStrictWindow
)

// Frequency cap bounds (R-MINI-TCPA-FREQ).
const (
	DefaultMarketingPer24h = compliance.DefaultMarketingPer24h
	MaxMarketingPer24h     = compliance.MaxMarketingPer24h
	CapWindow              = compliance.CapWindow
)

// MinBodyRetention is the shortest age at which message bodies may be
// purged.
const MinBodyRetention = compliance.MinBodyRetention

// ParseWindow reads "08:00-21:00" (24:00 is allowed as an end).
func ParseWindow(field, text string) (Window, error) { return compliance.ParseWindow(field, text) }

// settingsKey is where the compliance settings live in the store's kv area.
const settingsNS, settingsKey = "settings", "compliance"

// ComplianceSettings returns the current settings (the defaults on a new
// box). The value is a copy: change it through SaveComplianceSettings.
func (g *Gateway) ComplianceSettings() ComplianceSettings {
	g.settingsMu.RLock()
	defer g.settingsMu.RUnlock()
	return g.settings.Clone()
}

func (g *Gateway) loadComplianceSettings() (ComplianceSettings, error) {
	s := compliance.Defaults()
	if _, err := g.db.GetJSON(settingsNS, settingsKey, &s); err != nil {
		return compliance.Defaults(), err
	}
	return s, nil
}

// SaveComplianceSettings validates s and stores it; a bad field gives a
// *FieldError and changes nothing. Every disclosure version ever saved is
// kept, so a ledger entry's version can always be shown with its text.
func (g *Gateway) SaveComplianceSettings(s ComplianceSettings, actor string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.UpdatedAt = g.now().UTC()
	s.UpdatedBy = actor
	if s.Disclosure.Version != "" {
		var old Disclosure
		found, err := g.db.GetJSON(disclosureNS, s.Disclosure.Version, &old)
		if err != nil {
			return fmt.Errorf("gateway: read disclosure: %w", err)
		}
		if found && old.Text != s.Disclosure.Text {
			return &FieldError{Field: "disclosure.version", Message: fmt.Sprintf(
				"version %q was already used for a different text; give the new text a new version", s.Disclosure.Version)}
		}
		if !found {
			if err := g.db.PutJSON(disclosureNS, s.Disclosure.Version, s.Disclosure); err != nil {
				return fmt.Errorf("gateway: save disclosure: %w", err)
			}
		}
	}
	if err := g.db.PutJSON(settingsNS, settingsKey, s); err != nil {
		return fmt.Errorf("gateway: save settings: %w", err)
	}
	g.settingsMu.Lock()
	g.settings = s.Clone()
	g.settingsMu.Unlock()
	g.kick() // a wider window or a higher cap may free deferred texts
	return nil
}

// disclosureNS keeps every disclosure version: version → Disclosure.
const disclosureNS = "disclosures"

// DisclosureVersion returns the text of a saved disclosure version.
func (g *Gateway) DisclosureVersion(version string) (Disclosure, bool, error) {
	var d Disclosure
	if version == "" {
		return d, false, nil
	}
	found, err := g.db.GetJSON(disclosureNS, version, &d)
	return d, found, err
}

package gateway

import "github.com/simgate/simgate/gateway/compliance"

// Compliance settings (package compliance).
type (
	ComplianceSettings = compliance.Settings
	Window             = compliance.Window
	Disclosure         = compliance.Disclosure
	ReplyTemplates     = compliance.ReplyTemplates
)

// Default windows (docs/compliance.md R-QH).
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

// ComplianceSettings returns the current settings (the defaults on a new
// box). The value is a copy: change it through SaveComplianceSettings.
func (g *Gateway) ComplianceSettings() ComplianceSettings { return g.policy.Settings() }

// SaveComplianceSettings validates s and stores it; a bad field gives a
// *FieldError and changes nothing. Every disclosure version ever saved is
// kept, so a ledger entry's version can always be shown with its text.
func (g *Gateway) SaveComplianceSettings(s ComplianceSettings, actor string) error {
	if err := g.policy.Save(s, actor); err != nil {
		return err
	}
	g.outbox.Wake() // a wider window or a higher cap may free deferred texts
	return nil
}

// DisclosureVersion returns the text of a saved disclosure version.
func (g *Gateway) DisclosureVersion(version string) (Disclosure, bool, error) {
	return g.policy.DisclosureVersion(version)
}

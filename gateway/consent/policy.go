package consent

import (
	"fmt"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// settingsKey is where the compliance settings live in the store's kv area.
const settingsNS, settingsKey = "settings", "compliance"

// disclosureNS keeps every disclosure version: version → Disclosure.
const disclosureNS = "disclosures"

// Policy holds the shop's compliance settings: read once when the gateway
// starts, replaced whole by Save, persisted in the store with every
// disclosure version ever saved.
type Policy struct {
	db  *store.DB
	now func() time.Time

	mu       sync.RWMutex
	settings compliance.Settings
}

// LoadPolicy reads the saved settings (the defaults on a new box). A
// damaged record is an error: start-up fails rather than silently falling
// back to the defaults.
func LoadPolicy(db *store.DB, clock func() time.Time) (*Policy, error) {
	s := compliance.Defaults()
	if _, err := db.GetJSON(settingsNS, settingsKey, &s); err != nil {
		return nil, err
	}
	return &Policy{db: db, now: clock, settings: s}, nil
}

// Settings returns the current settings. The value is a copy: change it
// through Save.
func (p *Policy) Settings() compliance.Settings {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.settings.Clone()
}

// Save validates s and stores it; a bad field gives a *FieldError and
// changes nothing. Every disclosure version ever saved is kept, so a ledger
// entry's version can always be shown with its text.
func (p *Policy) Save(s compliance.Settings, actor string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.UpdatedAt = p.now().UTC()
	s.UpdatedBy = actor
	if s.Disclosure.Version != "" {
		var old compliance.Disclosure
		found, err := p.db.GetJSON(disclosureNS, s.Disclosure.Version, &old)
		if err != nil {
			return fmt.Errorf("gateway: read disclosure: %w", err)
		}
		if found && old.Text != s.Disclosure.Text {
			return &compliance.FieldError{Field: "disclosure.version", Message: fmt.Sprintf(
				"version %q was already used for a different text; give the new text a new version", s.Disclosure.Version)}
		}
		if !found {
			if err := p.db.PutJSON(disclosureNS, s.Disclosure.Version, s.Disclosure); err != nil {
				return fmt.Errorf("gateway: save disclosure: %w", err)
			}
		}
	}
	if err := p.db.PutJSON(settingsNS, settingsKey, s); err != nil {
		return fmt.Errorf("gateway: save settings: %w", err)
	}
	p.mu.Lock()
	p.settings = s.Clone()
	p.mu.Unlock()
	return nil
}

// DisclosureVersion returns the text of a saved disclosure version.
func (p *Policy) DisclosureVersion(version string) (compliance.Disclosure, bool, error) {
	var d compliance.Disclosure
	if version == "" {
		return d, false, nil
	}
	found, err := p.db.GetJSON(disclosureNS, version, &d)
	return d, found, err
}

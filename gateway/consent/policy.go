package consent

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

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
	doc, err := db.ComplianceSettings()
	if err != nil {
		return nil, fmt.Errorf("gateway: read compliance settings: %w", err)
	}
	// A document saved by an older simgate lacks the fields added since:
	// decoding over the defaults gives those their default values.
	if doc != nil {
		if err := json.Unmarshal(doc, &s); err != nil {
			return nil, fmt.Errorf("gateway: decode compliance settings: %w", err)
		}
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

// Save validates s and stores it; a bad field gives a *store.FieldError and
// changes nothing. Every disclosure version ever saved is kept, so a ledger
// entry's version can always be shown with its text: a version already
// saved with another text is a *store.FieldError too. The settings and a
// new disclosure version are saved together or not at all.
func (p *Policy) Save(s compliance.Settings, actor string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.UpdatedAt = p.now().UTC()
	s.UpdatedBy = actor
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("gateway: encode compliance settings: %w", err)
	}
	if err := p.db.SaveComplianceSettings(doc, s.Disclosure); err != nil {
		return err
	}
	p.mu.Lock()
	p.settings = s.Clone()
	p.mu.Unlock()
	return nil
}

// DisclosureVersion returns the text of a saved disclosure version.
func (p *Policy) DisclosureVersion(version string) (compliance.Disclosure, bool, error) {
	if version == "" {
		return compliance.Disclosure{}, false, nil
	}
	return p.db.Disclosure(version)
}

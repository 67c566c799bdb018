package live

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Alert is a condition a person should look at. It stays until the
// condition clears.
type Alert struct {
	Key     string    `json:"key"` // kind + "/" + modem: one alert per condition
	Kind    string    `json:"kind"`
	Modem   string    `json:"modem,omitempty"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
}

// Alerts holds the active alerts. The zero value is ready to use.
type Alerts struct {
	mu     sync.Mutex
	active map[string]Alert
}

// Raise records an alert (keeping its first Since) and reports whether it
// is new.
func (a *Alerts) Raise(al Alert) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.active == nil {
		a.active = map[string]Alert{}
	}
	if old, ok := a.active[al.Key]; ok {
		al.Since = old.Since
		a.active[al.Key] = al
		return false
	}
	a.active[al.Key] = al
	return true
}

// Clear removes an alert and reports whether it was active.
func (a *Alerts) Clear(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.active[key]
	delete(a.active, key)
	return ok
}

// List returns the active alerts, oldest first.
func (a *Alerts) List() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.active))
	for _, al := range a.active {
		out = append(out, al)
	}
	slices.SortFunc(out, func(x, y Alert) int {
		if c := x.Since.Compare(y.Since); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	return out
}

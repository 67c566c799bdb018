package gateway

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestPartsDependOneWay keeps the gateway's parts in their rooms: each may
// import only the simgate packages below it (consent and outbox meet only
// through interfaces the facade wires), none imports the facade, and
// compliance stays free of I/O so the judge is a pure function.
func TestPartsDependOneWay(t *testing.T) {
	const mod = "github.com/simgate/simgate/"
	allowed := map[string][]string{
		"live":       nil,
		"compliance": {"store"},
		"access":     {"store"},
		"contacts":   {"store", "gateway/compliance"},
		"consent":    {"store", "gateway/compliance", "gateway/contacts"},
		"outbox":     {"store", "modem", "gateway/compliance", "gateway/contacts"},
	}
	noIO := []string{"os", "io", "io/fs", "net", "log", "log/slog", "database/sql"}
	for part, ok := range allowed {
		pkg, err := build.ImportDir(part, 0)
		if err != nil {
			t.Fatalf("read package %s: %v", part, err)
		}
		for _, imp := range pkg.Imports {
			if rest, in := strings.CutPrefix(imp, mod); in && !slices.Contains(ok, rest) {
				t.Errorf("gateway/%s imports %s; it may import only %v", part, imp, ok)
			}
			if part == "compliance" && (slices.Contains(noIO, imp) || strings.HasPrefix(imp, "net/")) {
				t.Errorf("gateway/compliance imports %s: the policy must not do I/O", imp)
			}
		}
	}
}

package attribution

import (
	"os"
	"testing"
)

func mkdirTemp() (string, error) { return os.MkdirTemp("", "simgate-attribution-bench-") }

// TestMain removes the year the benchmarks built, which outlives each run.
func TestMain(m *testing.M) {
	code := m.Run()
	if yearFile.dir != "" {
		_ = os.RemoveAll(yearFile.dir)
	}
	os.Exit(code)
}

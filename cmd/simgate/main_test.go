package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestUsageListsEverySubcommand keeps the usage text and the dispatch
// table in step: each subcommand has a usage line, and each usage line
// names a subcommand that exists.
func TestUsageListsEverySubcommand(t *testing.T) {
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  simgate (\S+)`).FindAllStringSubmatch(usage, -1) {
		listed[m[1]] = true
	}
	for name := range subcommands {
		if !listed[name] {
			t.Errorf("usage does not show subcommand %q", name)
		}
	}
	for name := range listed {
		if _, found := subcommands[name]; !found {
			t.Errorf("usage shows %q, which is no subcommand", name)
		}
	}
	var names []string
	for name := range subcommands {
		names = append(names, name)
	}
	slices.Sort(names)
	t.Logf("subcommands: %s", strings.Join(names, ", "))
}

// TestRunUnknownCommand prints the usage and names the command it did not
// know.
func TestRunUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"frobnicate"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `"frobnicate"`) {
		t.Errorf("run frobnicate: %v, want an unknown command error", err)
	}
	if stderr.String() != usage || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want the usage on stderr only", stdout.String(), stderr.String())
	}
}

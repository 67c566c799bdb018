package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps dependencies pointing one way:
// cmd → webui → gateway → {store, modem}. store and modem are leaves; only
// store touches bbolt, only modem touches serial ports and AT, and only
// webui speaks HTTP to users.
func TestLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/simgate/simgate/"
	forbidden := map[string][]string{
		// package: direct imports it must not have
		"store":     {mod + "modem", mod + "gateway", mod + "webui", "go.bug.st/serial", "github.com/warthog618/", "github.com/gorilla/websocket", "net/http"},
		"modem":     {mod + "store", mod + "gateway", mod + "webui", "go.etcd.io/bbolt", "net/http"},
		"modem/sim": {mod + "store", mod + "gateway", mod + "webui", "go.etcd.io/bbolt"},
		"gateway":   {mod + "webui", mod + "modem/sim", "go.etcd.io/bbolt", "go.bug.st/serial", "github.com/warthog618/", "net/http", "github.com/gorilla/websocket"},
		"webui":     {mod + "store", mod + "modem", "go.etcd.io/bbolt", "go.bug.st/serial", "github.com/warthog618/"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, imp := range strings.Fields(string(out)) {
			for _, b := range bad {
				if within(imp, b) {
					t.Errorf("%s imports %s: against the layering cmd → webui → gateway → {store, modem}", pkg, imp)
				}
			}
		}
	}
	// The leaves must not reach up even indirectly.
	for _, leaf := range []string{"store", "modem"} {
		out, err := exec.Command("go", "list", "-deps", mod+leaf).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", leaf, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+"gateway" || dep == mod+"webui" {
				t.Errorf("%s depends on %s", leaf, dep)
			}
		}
	}
}

// within reports whether import path imp is pkg or below it; a pkg ending
// in "/" names a whole module owner.
func within(imp, pkg string) bool {
	if strings.HasSuffix(pkg, "/") {
		return strings.HasPrefix(imp, pkg)
	}
	return imp == pkg || strings.HasPrefix(imp, pkg+"/")
}

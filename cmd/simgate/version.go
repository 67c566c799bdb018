package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set by the package build (-ldflags "-X main.version=1.2.3");
// a plain `go build` leaves it empty and the module's build information
// (the commit, when built from a git checkout) says what it is.
var version string

// versionString is what `simgate version` prints and the log shows at start.
func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += "+" + s.Value[:12]
				}
			}
		}
	}
	return fmt.Sprintf("simgate %s (%s, %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func runVersion(stdout io.Writer) error {
	_, err := fmt.Fprintln(stdout, versionString())
	return err
}

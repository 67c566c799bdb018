package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/simgate/simgate/store"
)

// runCheck handles "simgate check": it reads every page of simgate.db and
// runs bbolt's consistency check, without changing the file, and prints
// what it found. Damage is a *dataError (exit status 65). The service must
// be stopped: the running daemon holds the file's lock.
func runCheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db); stop the service first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	path := filepath.Join(*data, dbFile)
	rep, err := store.Verify(path, math.MaxInt64)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s on disk", path, mib(rep.Size))
	if rep.InUse > 0 {
		fmt.Fprintf(stdout, ", %s in use", mib(rep.InUse))
	}
	if rep.Schema > 0 {
		fmt.Fprintf(stdout, ", schema version %d", rep.Schema)
	}
	fmt.Fprintf(stdout, "\nchecked %s\n", rep.Checked)
	if !rep.Damaged() {
		fmt.Fprintln(stdout, "no damage found")
		return nil
	}
	fmt.Fprintf(stdout, "%s is damaged:\n", dbFile)
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "  - %s\n", p)
	}
	if rep.More > 0 {
		fmt.Fprintf(stdout, "  ... and %d more\n", rep.More)
	}
	n := len(rep.Problems) + rep.More
	return &dataError{fmt.Errorf("%s is damaged (%d problem%s): restore it from a backup (docs/operations.md, \"Damaged data file\")",
		path, n, plural(n))}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// mib shows a size in MiB with one decimal.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

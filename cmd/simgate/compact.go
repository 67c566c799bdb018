package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/simgate/simgate/store"
)

// runCompact handles "simgate compact": it rewrites the database with the
// service stopped, so that records erased on a customer's request (GDPR)
// leave no fragments in the file's free pages, and deleted history gives
// its space back.
func runCompact(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db); stop the service first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	before, after, err := store.Compact(filepath.Join(*data, dbFile))
	if errors.Is(err, store.ErrDamaged) {
		return &dataError{fmt.Errorf("%w (docs/operations.md, \"Damaged data file\")", err)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compacted %s: %d KiB → %d KiB\n", filepath.Join(*data, dbFile), before/1024, after/1024)
	return nil
}

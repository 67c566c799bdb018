package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"

	"github.com/simgate/simgate/store"
)

// statsBuckets is how many of the largest buckets "simgate stats" lists.
const statsBuckets = 8

// runStats handles "simgate stats": how the file's space is used (its
// size, the share of its pages that hold data, free pages), the message
// and inbound totals from the store's counters and, with --recount, a full
// recount that must equal them (a mismatch is a *dataError, exit status
// 65). The service must be stopped: the running daemon holds the lock;
// the console's settings page shows the fill of a running box.
func runStats(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db); stop the service first")
	recount := fs.Bool("recount", false, "count every message and received text again and compare with the counters")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	path := filepath.Join(*data, dbFile)
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.FileStats()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s on disk, %s of data in %s of pages (%.1f %% fill), %s free for reuse\n",
		path, mib(st.FileBytes), mib(st.Used), mib(st.Alloc), 100*st.Fill(), mib(st.FreeBytes))
	fmt.Fprintln(stdout, "largest buckets:")
	for _, b := range st.Buckets[:min(len(st.Buckets), statsBuckets)] {
		fill := 0.0
		if b.Alloc > 0 {
			fill = 100 * float64(b.Used) / float64(b.Alloc)
		}
		fmt.Fprintf(stdout, "  %-28s %9d keys  %9s  %5.1f %% fill\n", b.Name, b.Keys, mib(b.Alloc), fill)
	}
	counts, err := db.CountByStatus()
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	inbound, err := db.InboundTotal()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "messages: %d (", total)
	statuses := slices.Sorted(maps.Keys(counts))
	for i, s := range statuses {
		if i > 0 {
			fmt.Fprint(stdout, ", ")
		}
		fmt.Fprintf(stdout, "%d %s", counts[s], s)
	}
	fmt.Fprintf(stdout, "); received: %d\n", inbound)
	if total > 0 {
		fmt.Fprintf(stdout, "file bytes per message: %.0f\n", float64(st.FileBytes)/float64(total))
	}
	if !*recount {
		return nil
	}
	diffs, err := db.RecountCheck()
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintln(stdout, "counters: equal to a full recount")
	}
	for _, d := range diffs {
		fmt.Fprintf(stdout, "  counter %s: stored %d, recount %d\n", d.Key, d.Stored, d.Counted)
	}
	// The results of campaigns and flows that the texts imply (sent,
	// delivered, failed, parts, cost) are counters too.
	results, err := db.ResultsRecountCheck()
	if err != nil {
		return err
	}
	if len(results) == 0 {
		fmt.Fprintln(stdout, "results of campaigns and flows: equal to a recount of the texts")
	}
	for _, d := range results {
		fmt.Fprintf(stdout, "  result %s: stored %d, recount %d\n", d.Key, d.Stored, d.Counted)
	}
	if n := len(diffs) + len(results); n > 0 {
		return &dataError{fmt.Errorf("%d counter%s differ from a full recount", n, plural(n))}
	}
	return nil
}

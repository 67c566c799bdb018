package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/simgate/simgate/store"
)

// runToken handles "simgate token create". It opens the database directly,
// so it works before the first start; while the daemon runs the database is
// locked and the error says so.
func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New(`usage: simgate token create --data DIR --name NAME`)
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db)")
	name := fs.String("name", "", "a name for the token, e.g. the shop's website")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	// Creating the directory (openStore) lets a token be made before the
	// first start.
	db, err := openStore(*data, false, store.DefaultStartCheckBytes)
	if err != nil {
		return err
	}
	defer db.Close()
	plaintext, _, err := db.CreateToken(*name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, plaintext)
	return nil
}

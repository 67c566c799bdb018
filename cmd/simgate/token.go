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
		return errors.New(`usage: simgate token create --data DIR --name NAME [--marketing] [--twilio] [--private-callbacks]`)
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db)")
	name := fs.String("name", "", "a name for the token, e.g. the shop's website")
	marketing := fs.Bool("marketing", false, "texts it sends through the Twilio, Kannel and SMSEagle APIs are marketing (consent, quiet hours, frequency cap); without it they are transactional")
	private := fs.Bool("private-callbacks", false, "the status callbacks of its texts (Twilio's StatusCallback, Kannel's dlr-url) may go to private, loopback or the box's own addresses")
	twilio := fs.Bool("twilio", false, "make a Twilio account: prints an Account SID and its Auth Token for Twilio's Messages API")
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
	plaintext, tok, err := db.CreateTokenWith(*name, store.TokenOptions{Marketing: *marketing, Twilio: *twilio, PrivateCallbacks: *private})
	if err != nil {
		return err
	}
	if *twilio {
		// Two lines a script can read: Twilio's names for the two values.
		fmt.Fprintf(stdout, "TWILIO_ACCOUNT_SID=%s\nTWILIO_AUTH_TOKEN=%s\n", tok.TwilioSID, plaintext)
		return nil
	}
	fmt.Fprintln(stdout, plaintext)
	return nil
}

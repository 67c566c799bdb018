package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/simgate/simgate/gateway/compat"
	"github.com/simgate/simgate/gateway/webhooks"
	"github.com/simgate/simgate/store"
)

// runToken handles "simgate token create". It opens the database directly,
// so it works before the first start; while the daemon runs the database is
// locked and the error says so.
func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New(`usage: simgate token create --data DIR --name NAME [--marketing] [--twilio [--twilio-inbound-url URL]] [--private-callbacks]`)
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db)")
	name := fs.String("name", "", "a name for the token, e.g. the shop's website")
	marketing := fs.Bool("marketing", false, "texts it sends through the Twilio, Kannel and SMSEagle APIs are marketing (consent, quiet hours, frequency cap); without it they are transactional")
	private := fs.Bool("private-callbacks", false, "the status callbacks of its texts (Twilio's StatusCallback, Kannel's dlr-url) may go to private, loopback or the box's own addresses")
	twilio := fs.Bool("twilio", false, "make a Twilio account: prints an Account SID and its Auth Token for Twilio's Messages API")
	inbound := fs.String("twilio-inbound-url", "", "with --twilio: post the texts the box receives to this URL in Twilio's inbound format, signed by the account (a webhook endpoint in Settings → Webhooks)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *inbound != "" {
		if !*twilio {
			return errors.New("--twilio-inbound-url needs --twilio")
		}
		if u, err := url.Parse(*inbound); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("--twilio-inbound-url must be an http:// or https:// URL with a host")
		}
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
	plaintext, tok, err := db.CreateTokenWith(*name, store.TokenOptions{Marketing: *marketing, Twilio: *twilio,
		PrivateCallbacks: *private, TwilioInboundURL: *inbound})
	if err != nil {
		return err
	}
	if *inbound != "" {
		// The endpoint is an ordinary webhook endpoint (retries, the
		// console's attempt log, pause) whose format signs as Twilio does.
		secret, err := webhooks.NewSecret()
		if err != nil {
			return err
		}
		ep, err := db.PutWebhookEndpoint(store.WebhookEndpoint{URL: *inbound, Secret: secret, Format: compat.FormatTwilio,
			Kinds: []string{store.ChangeMessageInbound}, AllowPrivate: *private,
			Description: "inbound texts for Twilio account " + tok.TwilioSID + " (" + *name + ")"})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "inbound texts: webhook endpoint %d posts them to %s\n", ep.ID, *inbound)
	}
	if *twilio {
		// Two lines a script can read: Twilio's names for the two values.
		fmt.Fprintf(stdout, "TWILIO_ACCOUNT_SID=%s\nTWILIO_AUTH_TOKEN=%s\n", tok.TwilioSID, plaintext)
		return nil
	}
	fmt.Fprintln(stdout, plaintext)
	return nil
}

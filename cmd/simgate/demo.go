package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/contacts"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
)

// Demo numbers: the 555-01xx range is reserved for fiction in North
// America, so no real phone is ever texted by mistake.
var demoModems = []sim.Config{
	{Number: "+12015550101", Profile: "generic", SubmitLatency: 700 * time.Millisecond},
	{Number: "+12015550102", Profile: "huawei", SubmitLatency: 900 * time.Millisecond},
}

// runDemo runs the whole product on two simulated modems. The modems sit
// behind real ptys and are opened through go.bug.st/serial exactly like
// USB hardware, so the demo exercises the same code as a real box.
func runDemo(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	data := fs.String("data", filepath.Join(os.TempDir(), "simgate-demo"), "data directory for the demo (kept between runs)")
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP listen address")
	control := fs.String("control", "127.0.0.1:8081", "listen address of the simulator's control API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	simCtx, stopSim := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSim()
	network := sim.NewNetwork(sim.NetworkConfig{ReportDelay: 2 * time.Second, Log: log.With("component", "sim")})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopSim()
	var modems []daemonModem
	for i, mc := range demoModems {
		sm, err := network.AddModem(mc)
		if err != nil {
			return err
		}
		link := filepath.Join(*data, fmt.Sprintf("modem%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sm.ServePTY(simCtx, link); err != nil && simCtx.Err() == nil {
				log.Error("simulated modem stopped", "link", link, "error", err)
			}
		}()
		if err := waitForPath(ctx, link, 5*time.Second); err != nil {
			return err
		}
		// The safe defaults, but a faster pace: a newcomer sending a dozen
		// test texts should see them go, not wait ten seconds for each.
		limits := gateway.DefaultLimits()
		limits.PerMinute = 60
		modems = append(modems, daemonModem{Config: modem.Config{Name: fmt.Sprintf("sim%d", i+1), Path: link}, Limits: limits})
	}

	cln, err := net.Listen("tcp", *control)
	if err != nil {
		return fmt.Errorf("simulator control listen: %w", err)
	}
	csrv := &http.Server{Handler: sim.ControlHandler(network), ReadHeaderTimeout: 10 * time.Second}
	wg.Add(1)
	go func() {
		defer wg.Done()
		csrv.Serve(cln)
	}()
	defer csrv.Close()

	cfg := daemonConfig{
		DataDir: *data,
		Listen:  *listen,
		Region:  "US",
		Modems:  modems,
		// The demo's directory is its own and disposable (the modem links
		// are made in it before the store opens): it may always start
		// fresh.
		Init:            true,
		StartCheckBytes: store.DefaultStartCheckBytes,
		Ready: func(db *store.DB, gw *gateway.Gateway, url string) error {
			addr := strings.TrimPrefix(url, "http://")
			if err := setUpDemoShop(gw); err != nil {
				return fmt.Errorf("demo shop: %w", err)
			}
			token, _, err := db.CreateToken(fmt.Sprintf("demo-%d", time.Now().Unix()))
			if err != nil {
				return err
			}
			password, err := createDemoAdmin(db)
			if err != nil {
				return err
			}
			printDemoBanner(stdout, addr, cln.Addr().String(), *data, token, password)
			return nil
		},
	}
	return runDaemon(ctx, cfg, log)
}

// demoDisclosure is the consent text the demo's sign-up page shows.
const demoDisclosure = "By ticking this box you agree to receive recurring automated marketing texts " +
	"(offers, reminders) from Demo Shop at the number given, up to 4 msgs/month. Consent is not a condition " +
	"of purchase. Msg&data rates may apply. Reply HELP for help, STOP to cancel. Terms: https://demo-shop.example/terms, " +
	"privacy: https://demo-shop.example/privacy"

// setUpDemoShop gives a new demo box a brand and a disclosure, so that the
// sign-up page and marketing texts work at once. A box whose settings were
// already saved is left as it is.
func setUpDemoShop(gw *gateway.Gateway) error {
	s := gw.ComplianceSettings()
	if s.Brand != "" {
		return nil
	}
	s.Brand = "Demo Shop"
	s.SupportContact = "help@demo-shop.example"
	s.Frequency = "up to 4 msgs/month"
	s.TermsURL = "https://demo-shop.example/terms"
	s.PrivacyURL = "https://demo-shop.example/privacy"
	s.Disclosure = gateway.Disclosure{Version: "demo-1", Text: demoDisclosure}
	if err := gw.SaveComplianceSettings(s, "demo"); err != nil {
		return err
	}
	// A few customers to look at: one signed up at the till, one never
	// asked (marketing to her is suppressed), one in Los Angeles (quiet
	// hours follow his clock, not the box's).
	ctx := context.Background()
	for _, c := range []struct {
		contact contacts.Contact
		optIn   bool
	}{
		{contacts.Contact{Number: "+12015550123", Name: "Ada Lovelace", Tags: []string{"vip", "regular"}, Language: "en"}, true},
		{contacts.Contact{Number: "+12015550124", Name: "Grace Hopper", Tags: []string{"regular"}, Language: "en"}, false},
		{contacts.Contact{Number: "+13105550125", Name: "Alan Turing", Tags: []string{"online"}, Language: "en",
			Attributes: map[string]string{"city": "Los Angeles"}}, true},
	} {
		if _, err := gw.Contacts().Create(ctx, c.contact); err != nil {
			return fmt.Errorf("sample contact %s: %w", c.contact.Name, err)
		}
		if c.optIn {
			if _, _, err := gw.OptIn(ctx, gateway.OptInRequest{Number: c.contact.Number, Method: gateway.MethodPOS,
				Source: "demo till", Terminal: "till 1", DisclosureVersion: "demo-1", Actor: "demo"}); err != nil {
				return fmt.Errorf("sample opt-in %s: %w", c.contact.Name, err)
			}
		}
	}
	return nil
}

func printDemoBanner(w io.Writer, addr, control, data, token, password string) {
	fmt.Fprintf(w, `
simgate demo is running on two simulated modems (%s, %s).

  console    http://%s/  (user %s, password %s: new on every start)
  API        http://%s/api/v1
  API token  %s
  data       %s
  simulator  http://%s  (inject inbound texts, faults)

Send a text:
  curl -s -H "Authorization: Bearer %s" -H "Content-Type: application/json" \
       -d '{"to":"+12015550123","text":"Hello from simgate"}' http://%s/api/v1/messages

Then read its status (use the id from the answer):
  curl -s -H "Authorization: Bearer %s" http://%s/api/v1/messages/1

Text the box from a "customer":
  curl -s -d '{"to":"%s","from":"+12015550199","text":"Is my order ready?"}' http://%s/inbound
  curl -s -H "Authorization: Bearer %s" http://%s/api/v1/inbox

A marketing text checks consent, quiet hours and the frequency cap first
(Ada opted in at the till; Grace never did, so hers is suppressed):
  curl -s -H "Authorization: Bearer %s" -H "Content-Type: application/json" \
       -d '{"to":"+12015550124","kind":"marketing","text":"Demo Shop: 20%% off today!"}' http://%s/api/v1/messages

Customers sign up at http://%s/join; texting STOP, START, HELP or JOIN works.

Press Ctrl-C to stop.
`, demoModems[0].Number, demoModems[1].Number, addr, demoAdmin, password, addr, token, data, control,
		token, addr, token, addr, demoModems[0].Number, control, token, addr, token, addr, addr)
}

// waitForPath waits until path exists (the simulator publishes its pty
// symlink asynchronously).
func waitForPath(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Lstat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("simulated modem did not appear at %s", path)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), fmt.Errorf("waiting for %s", path))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

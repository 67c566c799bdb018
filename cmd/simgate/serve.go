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
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/webui"
)

// dbFile is the one file that holds all of simgate's state.
const dbFile = "simgate.db"

// modemFlag collects repeated --modem PATH[,name=NAME] values.
type modemFlag []modem.Config

func (f *modemFlag) String() string { return fmt.Sprint(len(*f), " modems") }

func (f *modemFlag) Set(v string) error {
	fields := strings.Split(v, ",")
	cfg := modem.Config{Path: strings.TrimSpace(fields[0])}
	if cfg.Path == "" {
		return errors.New("empty path")
	}
	for _, kv := range fields[1:] {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q: want key=value", kv)
		}
		switch strings.TrimSpace(k) {
		case "name":
			cfg.Name = strings.TrimSpace(val)
		case "pin":
			cfg.PIN = strings.TrimSpace(val)
		case "smsc":
			cfg.SMSC = strings.TrimSpace(val)
		default:
			return fmt.Errorf("unknown modem option %q (want name, pin or smsc)", k)
		}
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("modem%d", len(*f)+1)
	}
	for _, c := range *f {
		if c.Name == cfg.Name {
			return fmt.Errorf("modem name %q used twice", cfg.Name)
		}
	}
	*f = append(*f, cfg)
	return nil
}

// daemonConfig is what serve and demo share.
type daemonConfig struct {
	DataDir string
	Listen  string
	Region  string
	Modems  []modem.Config
	// Ready, if set, is called with the listener's address once serving.
	Ready func(db *store.DB, addr string) error
}

func runServe(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg daemonConfig
	var modems modemFlag
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (created if missing; holds simgate.db)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&cfg.Region, "region", gateway.DefaultRegion, "default region for numbers without a country code (ISO 3166, e.g. US, GB, DE)")
	fs.Var(&modems, "modem", "modem serial port PATH[,name=NAME][,pin=PIN][,smsc=+NUMBER]; repeat for each modem")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.DataDir == "" {
		return errors.New("--data is required")
	}
	if len(modems) == 0 {
		log.Warn("no --modem given: messages will be queued but not sent")
	}
	cfg.Modems = modems
	cfg.Ready = func(_ *store.DB, addr string) error {
		fmt.Fprintf(stdout, "simgate listening on http://%s\n", addr)
		return nil
	}
	return runDaemon(ctx, cfg, log)
}

// runDaemon opens the store, starts the gateway and the HTTP server, and
// shuts both down in reverse order when ctx is done: the listener stops
// first, then the gateway finishes the submit in flight.
func runDaemon(ctx context.Context, cfg daemonConfig, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, dbFile))
	if err != nil {
		return err
	}
	defer db.Close()
	gw, err := gateway.New(db, gateway.Config{Region: cfg.Region, Log: log})
	if err != nil {
		return err
	}
	for _, mc := range cfg.Modems {
		mc := mc
		mlog := log.With("modem", mc.Name)
		open := func(ctx context.Context) (*modem.Modem, error) { return modem.Open(ctx, mc, mlog) }
		if err := gw.AddModem(gateway.ModemConfig{Name: mc.Name, Path: mc.Path, Limits: gateway.DefaultLimits(), Open: open}); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           webui.Handler(webui.Config{Gateway: gw, Log: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	gctx, stopGateway := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGateway()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := gw.Run(gctx); err != nil {
			errs <- fmt.Errorf("gateway: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http: %w", err)
		}
	}()
	if cfg.Ready != nil {
		if err := cfg.Ready(db, ln.Addr().String()); err != nil {
			errs <- err
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	stopGateway()
	wg.Wait()
	return runErr
}

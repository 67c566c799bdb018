package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

// daemonModem is one modem the daemon drives.
type daemonModem struct {
	modem.Config
	IMEI   string         // if set, only the modem with this IMEI is used
	Limits gateway.Limits // per-SIM limits
}

// modemFlag collects repeated --modem PATH[,name=NAME] values.
type modemFlag []daemonModem

func (f *modemFlag) String() string { return fmt.Sprint(len(*f), " modems") }

func (f *modemFlag) Set(v string) error {
	fields := strings.Split(v, ",")
	cfg := daemonModem{Config: modem.Config{Path: strings.TrimSpace(fields[0])}, Limits: gateway.DefaultLimits()}
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
		case "imei":
			cfg.IMEI = strings.TrimSpace(val)
		case "per_minute", "per_day", "unique_per_day", "unique_per_month":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 0 {
				return fmt.Errorf("%s: want a whole number ≥ 0 (0 turns the limit off), got %q", k, val)
			}
			*map[string]*int{
				"per_minute": &cfg.Limits.PerMinute, "per_day": &cfg.Limits.PerDay,
				"unique_per_day": &cfg.Limits.UniquePerDay, "unique_per_month": &cfg.Limits.UniquePerMonth,
			}[k] = n
		default:
			return fmt.Errorf("unknown modem option %q (want name, pin, smsc, imei, per_minute, per_day, unique_per_day or unique_per_month)", k)
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

// stringList collects a repeated string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// daemonConfig is what serve and demo share.
type daemonConfig struct {
	DataDir string
	Listen  string
	Region  string
	Modems  []daemonModem
	// TLS, when set, serves HTTPS (tlsConfig).
	TLS *tls.Config
	// Ready, if set, is called with the base URL once serving.
	Ready func(db *store.DB, gw *gateway.Gateway, url string) error
}

func runServe(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg daemonConfig
	var modems modemFlag
	cfgPath := fs.String("config", "", "TOML config file (see systemd/simgate.toml); flags given as well override it")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (created if missing; holds simgate.db)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&cfg.Region, "region", gateway.DefaultRegion, "default region for numbers without a country code (ISO 3166, e.g. US, GB, DE)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate file (PEM), with --tls-key")
	tlsKey := fs.String("tls-key", "", "private key file (PEM) for --tls-cert")
	tlsSelf := fs.Bool("tls-self-signed", false, "serve HTTPS with a self-signed certificate made on first start (kept in DATA/tls)")
	var tlsHosts stringList
	fs.Var(&tlsHosts, "tls-host", "extra host name or IP address for the self-signed certificate; repeatable")
	fs.Var(&modems, "modem", "modem serial port PATH[,name=NAME][,pin=PIN][,smsc=+NUMBER][,imei=IMEI][,per_minute=N][,per_day=N][,unique_per_day=N][,unique_per_month=N]; repeat for each modem")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Modems = modems
	if *cfgPath != "" {
		file, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		if cfg, err = mergeConfig(file, fs, cfg); err != nil {
			return err
		}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = os.Getenv("STATE_DIRECTORY") // systemd's StateDirectory=
	}
	if cfg.DataDir == "" {
		return errors.New("--data is required (or data = \"...\" in the config file)")
	}
	if len(cfg.Modems) == 0 {
		log.Warn("no modem configured: messages will be queued but not sent")
	}
	var err error
	if cfg.TLS, err = tlsConfig(*tlsCert, *tlsKey, *tlsSelf, cfg.DataDir, tlsHosts); err != nil {
		return err
	}
	cfg.Ready = func(_ *store.DB, _ *gateway.Gateway, url string) error {
		fmt.Fprintf(stdout, "simgate listening on %s\n", url)
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
	for _, dm := range cfg.Modems {
		mlog := log.With("modem", dm.Name)
		open := func(ctx context.Context) (*modem.Modem, error) {
			mc := dm.Config
			if dm.IMEI != "" {
				// Configured by identity: find the port again on every
				// reconnect, since a replugged modem may come back elsewhere.
				entry := []modemEntry{{Name: dm.Name, IMEI: dm.IMEI}}
				if err := resolveIMEIs(ctx, entry, defaultProbeTimeout); err != nil {
					return nil, fmt.Errorf("looking for IMEI %s: %w", dm.IMEI, err)
				}
				if entry[0].Path == "" {
					if mc.Path == "" {
						return nil, fmt.Errorf("no serial port answers with IMEI %s", dm.IMEI)
					}
				} else {
					mc.Path = entry[0].Path
				}
			}
			return modem.Open(ctx, mc, mlog)
		}
		shown := dm.Path
		if shown == "" {
			shown = "IMEI " + dm.IMEI
		}
		if err := gw.AddModem(gateway.ModemConfig{Name: dm.Name, Path: shown, IMEI: dm.IMEI, Limits: dm.Limits, Open: open}); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		// Done closes live websocket streams on shutdown: Shutdown does not
		// close hijacked connections.
		Handler:           webui.Handler(webui.Config{Gateway: gw, Log: log, Done: ctx.Done()}),
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
		serve := func() error { return srv.Serve(ln) }
		if cfg.TLS != nil {
			srv.TLSConfig = cfg.TLS
			serve = func() error { return srv.ServeTLS(ln, "", "") }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http: %w", err)
		}
	}()
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	if cfg.Ready != nil {
		if err := cfg.Ready(db, gw, scheme+"://"+ln.Addr().String()); err != nil {
			errs <- err
		}
	}
	if err := sdNotify("READY=1\nSTATUS=listening on " + ln.Addr().String()); err != nil {
		log.Warn("systemd notify failed", "error", err)
	}
	wctx, stopWatchdog := context.WithCancel(context.Background())
	if iv := watchdogInterval(); iv > 0 {
		ticker := time.NewTicker(iv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ticker.Stop()
			watchdogLoop(wctx, ticker.C, gw.Healthy, log)
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	stopWatchdog()
	sdNotify("STOPPING=1")
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

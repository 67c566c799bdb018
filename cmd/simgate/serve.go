package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
	"github.com/simgate/simgate/gateway/backups"
	"github.com/simgate/simgate/gateway/httpout"
	"github.com/simgate/simgate/gateway/webhooks"
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
	// Clock is the test clock (SIMGATE_TEST_CLOCK); nil: the real one.
	Clock   *testClock
	DataDir string
	Listen  string
	Region  string
	// UploadIdleTimeout is how long a CSV upload may send nothing before
	// it is refused; zero: webui.DefaultUploadIdleTimeout.
	UploadIdleTimeout time.Duration
	// USSDAllow is the USSD allow-list (gateway.Config.USSDAllow): nil
	// for the default.
	USSDAllow []string
	// PublicURL is the console as customers reach it; /join sign-ups are
	// recorded as made there.
	PublicURL string
	// PublicListen, when set, is a second listener serving only the paths
	// customers and shops reach (/l/, /join, /hooks/): the console never
	// faces the internet.
	PublicListen string
	Join         joinConfig // the public sign-up page's bounds
	Backup       backupConfig
	Modems       []daemonModem
	// Init lets the store start a new, empty database where the data
	// directory holds other files but no simgate.db, or an empty one
	// (openStore); a new, empty data directory needs no Init.
	Init bool
	// StartCheckBytes bounds the check of simgate.db at start
	// (store.WithStartCheck).
	StartCheckBytes int64
	// EventMaxBodyBytes caps an event batch or a shop's webhook body;
	// zero: webui's default.
	EventMaxBodyBytes int64
	// WebhookTimeout bounds one attempt of an outgoing webhook; zero takes
	// webhooks.DefaultTimeout.
	WebhookTimeout time.Duration
	// TLS, when set, serves HTTPS (tlsConfig).
	TLS *tls.Config
	// Ready, if set, is called with the base URL once serving.
	Ready func(db *store.DB, gw *gateway.Gateway, url string) error
	// PublicReady, if set, is called with the public listener's base URL
	// once it serves.
	PublicReady func(url string)
}

func runServe(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := daemonConfig{Backup: defaultBackupConfig}
	var modems modemFlag
	cfgPath := fs.String("config", "", "TOML config file (see systemd/simgate.toml); flags given as well override it")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (created if missing; holds simgate.db)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&cfg.Region, "region", gateway.DefaultRegion, "default region for numbers without a country code (ISO 3166, e.g. US, GB, DE)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "the box's address as customers reach it (https://...): short links are made on it, and the consent ledger records /join sign-ups as made there")
	fs.StringVar(&cfg.PublicListen, "public-listen", "", "address of a second listener that serves only /l/ (short links), /join and /hooks/ (e.g. 0.0.0.0:8081); the console and API stay on --listen")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate file (PEM), with --tls-key")
	tlsKey := fs.String("tls-key", "", "private key file (PEM) for --tls-cert")
	tlsSelf := fs.Bool("tls-self-signed", false, "serve HTTPS with a self-signed certificate made on first start (kept in DATA/tls)")
	initDB := fs.Bool("init", false, "start a new, empty database even though the data directory holds files but no simgate.db, or a 0-byte one (never replaces a database with data in it)")
	startCheck := fs.Int64("start-check-mib", defaultStartCheckMiB, "check every page of simgate.db at start when it is at most this many MiB; a larger file gets a shorter check (simgate check does the whole file)")
	var tlsHosts stringList
	fs.Var(&tlsHosts, "tls-host", "extra host name or IP address for the self-signed certificate; repeatable")
	fs.Var(&modems, "modem", "modem serial port PATH[,name=NAME][,pin=PIN][,smsc=+NUMBER][,imei=IMEI][,per_minute=N][,per_day=N][,unique_per_day=N][,unique_per_month=N]; repeat for each modem")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Modems = modems
	cfg.Init = *initDB
	cfg.StartCheckBytes = *startCheck << 20
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
	if cfg.StartCheckBytes < 0 {
		return &configError{fmt.Errorf("start_check_mib: %d is negative (0 checks only the headers and the compliance records)", cfg.StartCheckBytes>>20)}
	}
	if len(cfg.Modems) == 0 {
		log.Warn("no modem configured: messages will be queued but not sent")
	}
	if cfg.PublicURL != "" {
		if err := checkPublicURL(cfg.PublicURL); err != nil {
			return fmt.Errorf("--public-url %q %v", cfg.PublicURL, err)
		}
		cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	if cfg.PublicListen != "" {
		if err := checkListen(cfg.PublicListen); err != nil {
			return &configError{fmt.Errorf("--public-listen %q is not host:port (e.g. \"0.0.0.0:8081\"): %v", cfg.PublicListen, err)}
		}
		if sameListen(cfg.PublicListen, cfg.Listen) {
			return &configError{fmt.Errorf("--public-listen %q is the console's listen address too: give the public listener a port of its own", cfg.PublicListen)}
		}
	}
	// Decided before anything (the TLS certificate) is written into it.
	fresh, err := dataDirIsNew(cfg.DataDir)
	if err != nil {
		return err
	}
	cfg.Init = cfg.Init || fresh
	if cfg.TLS, err = tlsConfig(*tlsCert, *tlsKey, *tlsSelf, cfg.DataDir, tlsHosts); err != nil {
		return err
	}
	cfg.Ready = func(_ *store.DB, _ *gateway.Gateway, url string) error {
		fmt.Fprintf(stdout, "simgate listening on %s\n", url)
		return nil
	}
	cfg.PublicReady = func(url string) {
		fmt.Fprintf(stdout, "simgate public listener on %s (serves /l/, /join and /hooks/ only)\n", url)
	}
	return runDaemon(ctx, cfg, log)
}

// runDaemon opens the store, starts the gateway and the HTTP server, and
// shuts both down in reverse order when ctx is done: the listener stops
// first, then the gateway finishes the submit in flight.
func runDaemon(ctx context.Context, cfg daemonConfig, log *slog.Logger) error {
	clock, err := testClockFromEnv()
	if err != nil {
		return err
	}
	var storeOpts []store.Option
	if clock != nil {
		log.Warn("TEST CLOCK: "+testClockEnv+" is set, so this daemon's clock is not the real time; never set it on a box that sends real texts",
			"starts_at", clock.Now().Format(time.RFC3339))
		cfg.Clock = clock
		storeOpts = append(storeOpts, store.WithClock(clock.Now))
	}
	db, err := openStore(cfg.DataDir, cfg.Init, cfg.StartCheckBytes, storeOpts...)
	if err != nil {
		return err
	}
	// Closed last, once the gateway has stopped writing to it.
	defer db.Close()
	gw, err := newGateway(db, cfg, log)
	if err != nil {
		return err
	}
	ln, srv, err := listenHTTP(ctx, cfg, gw, log)
	if err != nil {
		return err
	}
	stopControl, err := listenControl(ctx, cfg.DataDir, gw, cfg.Clock, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopControl()
	d := &daemon{cfg: cfg, log: log, db: db, gw: gw, ln: ln, srv: srv}
	if cfg.PublicListen != "" {
		if d.pubLn, err = net.Listen("tcp", cfg.PublicListen); err != nil {
			ln.Close()
			return fmt.Errorf("public listen: %w", err)
		}
		d.pubSrv = publicServer(srv, cfg.TLS, log)
	}
	return d.run(ctx)
}

// openStore opens (creating them if need be) the data directory and the
// database in it, which the store checks first (store.Open). startCheck
// bounds that check (store.WithStartCheck).
//
// A database is only ever started fresh in a new data directory, or with
// init: a directory that holds files but no simgate.db, or a simgate.db of
// 0 bytes, has lost its database, and starting an empty one there would
// forget every STOP and consent the shop had. Such a refusal, and a
// damaged file, are *dataError.
func openStore(dataDir string, init bool, startCheck int64, extra ...store.Option) (*store.DB, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dataDir, dbFile)
	if !init {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			others, err := dataDirEntries(dataDir)
			if err != nil {
				return nil, fmt.Errorf("data directory: %w", err)
			}
			if len(others) > 0 {
				return nil, &dataError{fmt.Errorf("data directory %s holds %s but no %s: the database was moved or lost, and starting an empty one would forget every opt-out and consent\n%s",
					dataDir, strings.Join(others, ", "), dbFile, lostDatabaseHelp)}
			}
		}
	}
	opts := append([]store.Option{store.WithStartCheck(startCheck)}, extra...)
	if init {
		opts = append(opts, store.WithInit())
	}
	db, err := store.Open(path, opts...)
	switch {
	case errors.Is(err, store.ErrEmptyFile):
		return nil, &dataError{fmt.Errorf("%w\n%s", err, lostDatabaseHelp)}
	case errors.Is(err, store.ErrDamaged):
		return nil, &dataError{fmt.Errorf("%w\n%s", err, damagedDatabaseHelp)}
	}
	return db, err
}

const (
	lostDatabaseHelp = `  If this is a new installation, start once with --init to begin an empty database.
  Otherwise restore simgate.db from a backup (docs/operations.md, "Restore from a backup").`
	damagedDatabaseHelp = `  simgate will not run on it: run "simgate check --data DIR" for the full report,
  then restore simgate.db from a backup (docs/operations.md, "Damaged data file").`
)

// dataDirIsNew reports whether dir does not exist yet or holds nothing
// (lost+found, on a file system of its own, does not count): a database
// may be started fresh there.
func dataDirIsNew(dir string) (bool, error) {
	others, err := dataDirEntries(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("data directory: %w", err)
	}
	return len(others) == 0, nil
}

// dataDirEntries names what dir holds, lost+found aside.
func dataDirEntries(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "lost+found" {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// dataError marks an error as the data file's fault (damaged, empty, or
// missing from a used data directory), so main exits with EX_DATAERR (65),
// which simgate.service does not restart on: a restart cannot mend it.
type dataError struct{ err error }

func (e *dataError) Error() string { return e.err.Error() }
func (e *dataError) Unwrap() error { return e.err }

// newGateway makes the gateway over db with the configured modems; none
// is opened before the gateway runs.
func newGateway(db *store.DB, cfg daemonConfig, log *slog.Logger) (*gateway.Gateway, error) {
	webhookTimeout := cfg.WebhookTimeout
	if webhookTimeout <= 0 {
		webhookTimeout = webhooks.DefaultTimeout
	}
	gcfg := gateway.Config{Region: cfg.Region, USSDAllow: cfg.USSDAllow, Signup: cfg.Join.Signup, PublicURL: cfg.PublicURL, Log: log,
		WebhookSender: httpout.New(webhookTimeout, nil)}
	if cfg.Backup.Keep > 0 {
		gcfg.Backups = backups.Config{Dir: cfg.Backup.Dir, Keep: cfg.Backup.Keep, At: cfg.Backup.At}
		if gcfg.Backups.Dir == "" {
			gcfg.Backups.Dir = filepath.Join(cfg.DataDir, "backups")
		}
	}
	if cfg.Clock != nil {
		gcfg.Clock = cfg.Clock.Now
	}
	gw, err := gateway.New(db, gcfg)
	if err != nil {
		return nil, err
	}
	for _, dm := range cfg.Modems {
		shown := dm.Path
		if shown == "" {
			shown = "IMEI " + dm.IMEI
		}
		mc := gateway.ModemConfig{Name: dm.Name, Path: shown, IMEI: dm.IMEI, Limits: dm.Limits, Open: modemOpener(dm, log.With("modem", dm.Name))}
		if err := gw.AddModem(mc); err != nil {
			return nil, err
		}
	}
	return gw, nil
}

// modemOpener returns how the gateway opens dm, at start and on every
// reconnect.
func modemOpener(dm daemonModem, mlog *slog.Logger) func(ctx context.Context) (*modem.Modem, error) {
	return func(ctx context.Context) (*modem.Modem, error) {
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
}

// listenHTTP opens the listening socket and makes the server for the web
// console and API; nothing is served before daemon.run.
func listenHTTP(ctx context.Context, cfg daemonConfig, gw *gateway.Gateway, log *slog.Logger) (net.Listener, *http.Server, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		// Done closes live websocket streams on shutdown: Shutdown does not
		// close hijacked connections.
		// ReadTimeout covers whole requests (JSON bodies, forms); an
		// upload's body is read under a deadline per read instead
		// (UploadIdleTimeout), so that a slow one is not cut off.
		Handler: webui.Handler(webui.Config{Gateway: gw, Log: log, Done: ctx.Done(),
			UploadIdleTimeout: cfg.UploadIdleTimeout,
			PublicURL:         cfg.PublicURL, JoinPerAddressPerDay: cfg.Join.PerAddressPerDay,
			EventMaxBodyBytes: cfg.EventMaxBodyBytes}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         cfg.TLS, // used by serveHTTP when set
	}
	return ln, srv, nil
}

// publicServer is the server of the public listener: the console's handler
// behind webui.Public, which lets through only /l/, /join, /hooks/ (and the
// static files /join loads), so both listeners share the sign-up page's
// limits. Its timeouts are the console's, shorter where nothing public
// needs long: no upload is public.
func publicServer(console *http.Server, tlsCfg *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           webui.Public(console.Handler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsCfg,
	}
}

// daemon is the running service: the parts runDaemon built, which run
// starts and stops.
type daemon struct {
	cfg daemonConfig
	log *slog.Logger
	db  *store.DB
	gw  *gateway.Gateway
	ln  net.Listener
	srv *http.Server
	// pubLn and pubSrv are the public listener, nil without one.
	pubLn  net.Listener
	pubSrv *http.Server
}

// run starts the gateway and the HTTP server, announces readiness, and
// when ctx is done or either fails stops them: the listener first, then
// the gateway. It returns the failure that ended the run, if any.
func (d *daemon) run(ctx context.Context) error {
	// The gateway outlives ctx: it stops only after the HTTP server has,
	// so that no request finds it gone.
	gctx, stopGateway := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGateway()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := d.gw.Run(gctx); err != nil {
			errs <- fmt.Errorf("gateway: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := d.serveHTTP(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http: %w", err)
		}
	}()
	if d.pubSrv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(d.pubSrv, d.pubLn, d.cfg.TLS != nil); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("public http: %w", err)
			}
		}()
	}
	d.announceReady(errs)
	stopWatchdog := d.startWatchdog(&wg)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	stopWatchdog()
	sdNotify("STOPPING=1")
	d.log.Info("shutting down")
	d.stopHTTP()
	stopGateway()
	wg.Wait()
	return runErr
}

// serveHTTP serves HTTP, or HTTPS when configured, until the server is shut
// down.
func (d *daemon) serveHTTP() error { return serve(d.srv, d.ln, d.cfg.TLS != nil) }

// serve serves srv on ln, with TLS when asked, until srv is shut down.
func serve(srv *http.Server, ln net.Listener, useTLS bool) error {
	if useTLS {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// announceReady tells the Ready hook (serve prints the URL, demo seeds its
// data) and systemd that the daemon serves; a failing hook ends the run.
func (d *daemon) announceReady(errs chan<- error) {
	scheme := "http"
	if d.cfg.TLS != nil {
		scheme = "https"
	}
	if d.cfg.Ready != nil {
		if err := d.cfg.Ready(d.db, d.gw, scheme+"://"+d.ln.Addr().String()); err != nil {
			errs <- err
		}
	}
	if d.pubLn != nil && d.cfg.PublicReady != nil {
		d.cfg.PublicReady(scheme + "://" + d.pubLn.Addr().String())
	}
	if err := sdNotify("READY=1\nSTATUS=listening on " + d.ln.Addr().String()); err != nil {
		d.log.Warn("systemd notify failed", "error", err)
	}
}

// startWatchdog pings systemd's watchdog while the gateway is healthy, if
// the unit asks for it; the returned func stops it.
func (d *daemon) startWatchdog(wg *sync.WaitGroup) (stop func()) {
	wctx, stop := context.WithCancel(context.Background())
	if iv := watchdogInterval(); iv > 0 {
		ticker := time.NewTicker(iv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ticker.Stop()
			watchdogLoop(wctx, ticker.C, d.gw.Healthy, d.log)
		}()
	}
	return stop
}

// stopHTTP stops accepting connections and waits up to 10 s for requests
// in progress; past that it closes what is left.
func (d *daemon) stopHTTP() {
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d.pubSrv != nil {
		// The public listener first, so no new click or webhook arrives
		// while the console's requests finish; both within the same 10 s.
		if err := d.pubSrv.Shutdown(shutCtx); err != nil {
			d.pubSrv.Close()
		}
	}
	if err := d.srv.Shutdown(shutCtx); err != nil {
		d.srv.Close()
	}
}

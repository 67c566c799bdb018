package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/backups"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Limits come from gateway (Limits, DefaultLimits): an absent key takes
// the default there, and a value of 0 in the file turns that limit off.

// Lengths from the standards, so a typo is caught at start-up rather than
// by a modem error at the first text.
const (
	minPINDigits  = 4  // SIM PIN: 4 to 8 digits (ETSI TS 102 221 §9.3)
	maxPINDigits  = 8  //
	imeiDigits    = 15 // IMEI as AT+CGSN prints it: 14 digits + check digit (3GPP TS 23.003 §6.2.1)
	maxE164Digits = 15 // SMSC address: an E.164 number has at most 15 digits (ITU-T E.164 §6)
	maxModemName  = 32 // a name shows in URLs, logs and the console's columns
)

// Bounds of event_max_body_kib: below 64 KiB, one Shopify order with its
// customer and addresses may not fit; above 16 MiB, a flood of posts holds
// that much memory each before a signature is even checked.
const (
	minEventBodyKiB = 64
	maxEventBodyKiB = 16 << 10
)

// Bounds of upload_idle_timeout: below a second, a pause of the client's
// network stack fails an upload; above an hour, a dead client holds its
// connection for longer than anyone would wait for an import.
const (
	minUploadIdle = time.Second
	maxUploadIdle = time.Hour
)

// fileConfig is simgate.toml after validation, with relative paths resolved
// and limits filled in. A field the file leaves out is empty, so a flag
// default can apply (see mergeConfig).
//
//	data   = "/var/lib/simgate"   # relative paths are taken from the file's directory
//	listen = "127.0.0.1:8080"
//	region = "US"
//	upload_idle_timeout = "30s"
//	ussd_allow = ["*N#", "*N*N#"] # USSD codes the console and API may send
//	public_url = "https://texts.example.com"   # the console as customers reach it; short links are on it
//	public_listen = "0.0.0.0:8081"   # optional second listener serving only /l/, /join and /hooks/
//	event_max_body_kib = 512      # cap of an event batch or a shop's webhook body
//	webhook_timeout = "10s"       # one attempt of an outgoing webhook or callback
//	[join]                        # the public sign-up page's bounds
//	budget_percent = 10
//	[limits]                      # defaults for every modem
//	per_day = 300
//	[[modem]]
//	name = "shop1"
//	path = "/dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0"   # or imei = "..."
//	pin  = "1234"
//	smsc = "+447785016005"
//	[modem.limits]                # overrides [limits] for this SIM
//	per_minute = 4
type fileConfig struct {
	Data   string
	Listen string
	Region string
	// UploadIdleTimeout is how long a CSV upload may send nothing; zero
	// when the file leaves it out (webui's default applies).
	UploadIdleTimeout time.Duration
	// USSDAllow is nil when the file leaves ussd_allow out (the default
	// list applies) and empty when it turns USSD off with [].
	USSDAllow []string
	PublicURL string
	// PublicListen is the address of the public listener (/l/, /join,
	// /hooks/ only); "" for none.
	PublicListen string
	Join         joinConfig
	Backup       backupConfig
	// StartCheckMiB bounds the check of simgate.db at start; nil when the
	// file leaves it out.
	StartCheckMiB *int64
	// EventMaxBodyKiB caps the body of an event batch or a shop's webhook;
	// zero when the file leaves it out (webui's default applies).
	EventMaxBodyKiB int64
	// WebhookTimeout bounds one attempt of an outgoing webhook; zero when
	// the file leaves it out (webhooks.DefaultTimeout applies).
	WebhookTimeout time.Duration
	Modems         []modemEntry
}

// joinConfig bounds the public sign-up page; zero fields take the
// defaults of gateway (SignupLimits) and webui.
type joinConfig struct {
	Signup           gateway.SignupLimits
	PerAddressPerDay int
}

// backupConfig is the [backup] table: nightly copies of simgate.db.
// Dir "" means DATA/backups; Keep 0 turns them off.
type backupConfig struct {
	Dir  string
	Keep int
	At   time.Duration // from local midnight
}

// defaultBackupConfig: on unless the file says keep = 0, since a shop
// that never thought of backups is the one that needs them.
var defaultBackupConfig = backupConfig{Keep: backups.DefaultKeep, At: backups.DefaultAt}

// defaultStartCheckMiB is store.DefaultStartCheckBytes (where the number
// comes from) in the unit of start_check_mib.
const defaultStartCheckMiB = store.DefaultStartCheckBytes >> 20

// modemEntry is one [[modem]] table.
type modemEntry struct {
	Name string
	Path string // "" when the modem is to be found by IMEI
	IMEI string // optional with a path; required without one
	PIN  string
	SMSC string
	// Limits is [modem.limits] on top of the file's [limits] on top of the
	// defaults above.
	Limits gateway.Limits
}

// daemonModem is the daemon's view of the entry.
func (m modemEntry) daemonModem() daemonModem {
	return daemonModem{
		Config: modem.Config{Name: m.Name, Path: m.Path, PIN: m.PIN, SMSC: m.SMSC},
		IMEI:   m.IMEI,
		Limits: m.Limits,
	}
}

// The raw* types mirror the file. Limits are pointers so an absent key
// (take the default) differs from 0 (no limit).
type rawConfig struct {
	Data   string `toml:"data"`
	Listen string `toml:"listen"`
	Region string `toml:"region"`
	// UploadIdleTimeout is a string for time.ParseDuration: decoded into a
	// time.Duration, a bare 30 would mean 30 nanoseconds.
	UploadIdleTimeout string    `toml:"upload_idle_timeout"`
	USSDAllow         *[]string `toml:"ussd_allow"`
	PublicURL         string    `toml:"public_url"`
	PublicListen      string    `toml:"public_listen"`
	Join              rawJoin   `toml:"join"`
	Backup            rawBackup `toml:"backup"`
	// StartCheckMiB is start_check_mib (fileConfig.StartCheckMiB).
	StartCheckMiB *int64 `toml:"start_check_mib"`
	// EventMaxBodyKiB is event_max_body_kib (fileConfig.EventMaxBodyKiB).
	EventMaxBodyKiB *int64 `toml:"event_max_body_kib"`
	// WebhookTimeout is a string for time.ParseDuration, as above.
	WebhookTimeout string     `toml:"webhook_timeout"`
	Limits         rawLimits  `toml:"limits"`
	Modem          []rawModem `toml:"modem"`
}

// rawBackup is the [backup] table.
type rawBackup struct {
	Dir  string `toml:"dir"`
	Keep *int   `toml:"keep"`
	At   string `toml:"at"`
}

// apply checks the [backup] table, relative paths taken from dir (the
// file's directory), adding any problem to errs.
func (r rawBackup) apply(dir string, errs []error) (backupConfig, []error) {
	b := defaultBackupConfig
	if r.Dir != "" {
		b.Dir = r.Dir
		if !filepath.IsAbs(b.Dir) {
			b.Dir = filepath.Join(dir, b.Dir)
		}
		b.Dir = filepath.Clean(b.Dir)
	}
	if r.Keep != nil {
		if *r.Keep < 0 || *r.Keep > 1000 {
			errs = append(errs, fmt.Errorf("backup.keep: %d is not between 0 (off) and 1000", *r.Keep))
		} else {
			b.Keep = *r.Keep
		}
	}
	if r.At != "" {
		t, err := time.Parse("15:04", r.At)
		if err != nil {
			errs = append(errs, fmt.Errorf("backup.at: %q is not a time of day like \"03:30\"", r.At))
		} else {
			b.At = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		}
	}
	return b, errs
}

// rawJoin is the [join] table.
type rawJoin struct {
	BudgetPercent     *int `toml:"budget_percent"`
	PerAddressPerDay  *int `toml:"per_address_per_day"`
	PerNumberPerMonth *int `toml:"per_number_per_month"`
	ChallengePerHour  *int `toml:"challenge_per_hour"`
}

type rawModem struct {
	Name   string    `toml:"name"`
	Path   string    `toml:"path"`
	IMEI   string    `toml:"imei"`
	PIN    string    `toml:"pin"`
	SMSC   string    `toml:"smsc"`
	Limits rawLimits `toml:"limits"`
}

type rawLimits struct {
	PerMinute      *int `toml:"per_minute"`
	PerDay         *int `toml:"per_day"`
	UniquePerDay   *int `toml:"unique_per_day"`
	UniquePerMonth *int `toml:"unique_per_month"`
}

// configError marks an error as the config file's fault, so main can exit
// with EX_CONFIG (78), which simgate.service's RestartPreventExitStatus=
// treats as "restarting won't help".
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// loadConfig reads and validates the TOML file at path. Every problem is
// reported, not just the first, each prefixed by the key it is about, with
// modems counted from 1 in file order: "modem[2].pin: must be 4 to 8 digits".
// A key simgate does not know is an error too, because a misspelt limit
// that is silently ignored is a limit that is not enforced. Errors are
// *configError.
func loadConfig(path string) (fileConfig, error) {
	cfg, err := readConfig(path)
	if err != nil {
		return fileConfig{}, &configError{err}
	}
	return cfg, nil
}

// readConfig is loadConfig without the error type.
func readConfig(path string) (fileConfig, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return fileConfig{}, fmt.Errorf("config: %w", err)
	}
	// Untyped first: syntax errors come out here, and it serves to place
	// unknown keys (see unknownKeys) and to explain a common slip.
	var generic map[string]any
	if _, err := toml.Decode(string(text), &generic); err != nil {
		return fileConfig{}, fmt.Errorf("config %s: %w", path, err)
	}
	if _, ok := generic["modem"].(map[string]any); ok {
		return fileConfig{}, fmt.Errorf("config %s: modem: write [[modem]], with two brackets, once per modem", path)
	}
	var raw rawConfig
	md, err := toml.Decode(string(text), &raw)
	if err != nil {
		return fileConfig{}, fmt.Errorf("config %s: %w", path, err)
	}
	var errs []error
	errs = append(errs, unknownKeys(md, generic)...)
	cfg, verrs := raw.validate(filepath.Dir(path))
	errs = append(errs, verrs...)
	if len(errs) > 0 {
		return fileConfig{}, fmt.Errorf("config %s:\n%w", path, errors.Join(errs...))
	}
	return cfg, nil
}

// unknownKeys names every key the decoder did not use. TOML keys in an
// array of tables carry no index, so generic, the file decoded untyped,
// tells which [[modem]] holds each one.
func unknownKeys(md toml.MetaData, generic map[string]any) []error {
	reported := map[string]bool{}
	var errs []error
	for _, k := range md.Undecoded() {
		// A misspelt table ([modem.limit]) makes its keys undecoded too;
		// naming the table is enough.
		if covered(reported, k) {
			continue
		}
		reported[k.String()] = true
		if len(k) > 1 && k[0] == "modem" {
			modems, _ := generic["modem"].([]map[string]any)
			for i, m := range modems {
				if has(m, k[1:]) {
					errs = append(errs, fmt.Errorf("modem[%d].%s: unknown key", i+1, toml.Key(k[1:])))
				}
			}
			continue
		}
		errs = append(errs, fmt.Errorf("%s: unknown key", k))
	}
	return errs
}

// covered reports whether a parent table of k was already reported.
func covered(reported map[string]bool, k toml.Key) bool {
	for n := 1; n < len(k); n++ {
		if reported[k[:n].String()] {
			return true
		}
	}
	return false
}

// has reports whether the nested key path exists in m.
func has(m map[string]any, path []string) bool {
	for i, p := range path {
		v, ok := m[p]
		if !ok {
			return false
		}
		if i == len(path)-1 {
			return true
		}
		if m, ok = v.(map[string]any); !ok {
			return false
		}
	}
	return false
}

// validate checks every value and resolves it; dir is the config file's
// directory, against which a relative data path is taken (under systemd the
// working directory is /, which would make "data" mean something else).
func (r rawConfig) validate(dir string) (fileConfig, []error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	cfg := fileConfig{Listen: r.Listen}

	if r.Data != "" {
		cfg.Data = r.Data
		if !filepath.IsAbs(cfg.Data) {
			cfg.Data = filepath.Join(dir, cfg.Data)
		}
		cfg.Data = filepath.Clean(cfg.Data)
	}
	if r.Listen != "" {
		if err := checkListen(r.Listen); err != nil {
			bad("listen", "%q is not host:port (e.g. \"127.0.0.1:8080\"): %v", r.Listen, err)
		}
	}
	if r.PublicListen != "" {
		if err := checkListen(r.PublicListen); err != nil {
			bad("public_listen", "%q is not host:port (e.g. \"0.0.0.0:8081\"): %v", r.PublicListen, err)
		} else if sameListen(r.PublicListen, r.Listen) {
			bad("public_listen", "%q is the console's listen address too: give the public listener a port of its own", r.PublicListen)
		} else {
			cfg.PublicListen = r.PublicListen
		}
	}
	if r.Region != "" {
		cfg.Region = strings.ToUpper(r.Region)
		if !phonenumbers.GetSupportedRegions()[cfg.Region] {
			bad("region", "%q is not a known region (want an ISO 3166 code such as \"US\", \"GB\" or \"DE\")", r.Region)
		}
	}
	if r.UploadIdleTimeout != "" {
		d, err := time.ParseDuration(r.UploadIdleTimeout)
		if err != nil || d < minUploadIdle || d > maxUploadIdle {
			bad("upload_idle_timeout", "%q is not a duration from %s to %s (e.g. \"30s\" or \"2m\")", r.UploadIdleTimeout, minUploadIdle, maxUploadIdle)
		} else {
			cfg.UploadIdleTimeout = d
		}
	}
	if r.USSDAllow != nil {
		cfg.USSDAllow = append([]string{}, *r.USSDAllow...)
		if err := gateway.CheckUSSDAllow(cfg.USSDAllow); err != nil {
			errs = append(errs, err)
		}
	}
	if r.PublicURL != "" {
		if err := checkPublicURL(r.PublicURL); err != nil {
			bad("public_url", "%q %v", r.PublicURL, err)
		} else {
			cfg.PublicURL = strings.TrimRight(r.PublicURL, "/")
		}
	}
	cfg.Join, errs = r.Join.apply(errs)
	if r.EventMaxBodyKiB != nil {
		if k := *r.EventMaxBodyKiB; k < minEventBodyKiB || k > maxEventBodyKiB {
			bad("event_max_body_kib", "%d must be %d to %d (KiB)", k, minEventBodyKiB, maxEventBodyKiB)
		} else {
			cfg.EventMaxBodyKiB = k
		}
	}
	if r.WebhookTimeout != "" {
		// A second is the least a receiver across the internet needs; a
		// minute is where a hanging receiver costs its queue too much.
		if d, err := time.ParseDuration(r.WebhookTimeout); err != nil || d < time.Second || d > time.Minute {
			bad("webhook_timeout", "%q must be a duration from 1s to 1m", r.WebhookTimeout)
		} else {
			cfg.WebhookTimeout = d
		}
	}
	cfg.Backup, errs = r.Backup.apply(dir, errs)
	if r.StartCheckMiB != nil {
		if *r.StartCheckMiB < 0 {
			bad("start_check_mib", "%d is negative (0 checks only the headers and the compliance records at start)", *r.StartCheckMiB)
		} else {
			cfg.StartCheckMiB = r.StartCheckMiB
		}
	}
	base, lerrs := r.Limits.apply("limits", gateway.DefaultLimits())
	errs = append(errs, lerrs...)

	names := map[string]int{}
	paths := map[string]int{}
	imeis := map[string]int{}
	for i, rm := range r.Modem {
		n := i + 1
		key := fmt.Sprintf("modem[%d]", n)
		m := modemEntry{Name: rm.Name, Path: rm.Path, IMEI: rm.IMEI, PIN: rm.PIN, SMSC: rm.SMSC}
		if m.Name == "" {
			m.Name = fmt.Sprintf("modem%d", n) // the same default as --modem
		} else if err := checkModemName(m.Name); err != nil {
			bad(key+".name", "%q %v", m.Name, err)
		}
		if first, dup := names[m.Name]; dup {
			bad("modem names must be unique", "%s.name %q is also modem[%d]'s", key, m.Name, first)
		} else {
			names[m.Name] = n
		}

		switch {
		case m.Path == "" && m.IMEI == "":
			bad(key+".path", "required (or set imei to find the modem by its identity)")
		case m.Path != "" && !filepath.IsAbs(m.Path):
			bad(key+".path", "%q is not an absolute path (prefer /dev/serial/by-id/..., which survives USB renumbering)", m.Path)
		case m.Path != "":
			m.Path = filepath.Clean(m.Path)
			if first, dup := paths[m.Path]; dup {
				bad(key+".path", "%q is also modem[%d]'s: one port can serve one modem entry", m.Path, first)
			} else {
				paths[m.Path] = n
			}
		}
		if m.IMEI != "" {
			if len(m.IMEI) != imeiDigits || !allDigits(m.IMEI) {
				bad(key+".imei", "%q is not %d digits (as AT+CGSN or `simgate ports` shows it)", m.IMEI, imeiDigits)
			} else if first, dup := imeis[m.IMEI]; dup {
				bad(key+".imei", "%q is also modem[%d]'s", m.IMEI, first)
			} else {
				imeis[m.IMEI] = n
			}
		}
		// The PIN is never echoed: error messages end up in logs.
		if m.PIN != "" && (len(m.PIN) < minPINDigits || len(m.PIN) > maxPINDigits || !allDigits(m.PIN)) {
			bad(key+".pin", "must be %d to %d digits", minPINDigits, maxPINDigits)
		}
		if m.SMSC != "" {
			d := strings.TrimPrefix(m.SMSC, "+")
			if !strings.HasPrefix(m.SMSC, "+") || d == "" || len(d) > maxE164Digits || !allDigits(d) {
				bad(key+".smsc", "%q is not an international number (+ and up to %d digits, e.g. \"+447785016005\")", m.SMSC, maxE164Digits)
			}
		}
		var lerrs []error
		m.Limits, lerrs = rm.Limits.apply(key+".limits", base)
		errs = append(errs, lerrs...)
		cfg.Modems = append(cfg.Modems, m)
	}
	return cfg, errs
}

// apply returns base with the limits set in r, checking each is
// non-negative; prefix names the table in errors.
func (r rawLimits) apply(prefix string, base gateway.Limits) (gateway.Limits, []error) {
	var errs []error
	set := func(name string, v *int, dst *int) {
		if v == nil {
			return
		}
		if *v < 0 {
			errs = append(errs, fmt.Errorf("%s.%s: %d is negative (use 0 for no limit)", prefix, name, *v))
			return
		}
		*dst = *v
	}
	set("per_minute", r.PerMinute, &base.PerMinute)
	set("per_day", r.PerDay, &base.PerDay)
	set("unique_per_day", r.UniquePerDay, &base.UniquePerDay)
	set("unique_per_month", r.UniquePerMonth, &base.UniquePerMonth)
	return base, errs
}

// apply checks the [join] table's values, adding any problem to errs.
func (r rawJoin) apply(errs []error) (joinConfig, []error) {
	var j joinConfig
	set := func(name string, v *int, lo, hi int, dst *int) {
		switch {
		case v == nil:
		case *v < lo || *v > hi:
			errs = append(errs, fmt.Errorf("join.%s: %d is not between %d and %d", name, *v, lo, hi))
		default:
			*dst = *v
		}
	}
	const many = 1 << 20 // no sensible shop goes near it
	set("budget_percent", r.BudgetPercent, 1, 100, &j.Signup.Share)
	set("per_address_per_day", r.PerAddressPerDay, 1, many, &j.PerAddressPerDay)
	set("per_number_per_month", r.PerNumberPerMonth, 1, many, &j.Signup.PerNumber)
	set("challenge_per_hour", r.ChallengePerHour, 1, many, &j.Signup.BusyPerHour)
	return j, errs
}

// checkPublicURL accepts an absolute http or https URL with no query or
// fragment: the address of the console that customers reach.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL: %v", err)
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return errors.New(`is not an address such as "https://texts.example.com"`)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return errors.New("must not have a query, a fragment or a user name")
	}
	return nil
}

// sameListen reports whether two listen addresses are one socket; port 0
// (any free port) never clashes.
func sameListen(a, b string) bool {
	_, port, err := net.SplitHostPort(a)
	return err == nil && port != "0" && a == b
}

// checkListen accepts host:port with a numeric port; the host may be empty
// (all interfaces) or a name.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkModemName keeps names usable as they are in API paths
// (/api/v1/modems/{name}), log fields and file names.
func checkModemName(name string) error {
	if len(name) > maxModemName {
		return fmt.Errorf("is longer than %d characters", maxModemName)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("may only hold letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// mergeConfig lays the file under the command line: a value from a flag
// the user actually gave (fs.Visit sees only those) wins; otherwise the
// file's value is used if it has one; otherwise the flag's default stays.
// --modem flags, if any, replace the file's modems as a whole, since mixing
// two lists would make names and limits ambiguous. file.Modems whose Path
// is still empty (IMEI only) must be resolved first (resolveIMEIs).
func mergeConfig(file fileConfig, fs *flag.FlagSet, cfg daemonConfig) (daemonConfig, error) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["data"] && file.Data != "" {
		cfg.DataDir = file.Data
	}
	if !given["listen"] && file.Listen != "" {
		cfg.Listen = file.Listen
	}
	if !given["region"] && file.Region != "" {
		cfg.Region = file.Region
	}
	cfg.UploadIdleTimeout = file.UploadIdleTimeout // no flag
	cfg.USSDAllow = file.USSDAllow                 // no flag: the list is the owner's, in the file
	if !given["public-url"] && file.PublicURL != "" {
		cfg.PublicURL = file.PublicURL
	}
	if !given["public-listen"] && file.PublicListen != "" {
		cfg.PublicListen = file.PublicListen
	}
	cfg.Join = file.Join
	cfg.EventMaxBodyBytes = file.EventMaxBodyKiB << 10 // no flag
	cfg.WebhookTimeout = file.WebhookTimeout           // no flag
	cfg.Backup = file.Backup
	if !given["start-check-mib"] && file.StartCheckMiB != nil {
		cfg.StartCheckBytes = *file.StartCheckMiB << 20
	}
	if !given["modem"] {
		cfg.Modems = nil
		for _, m := range file.Modems {
			// A modem configured by IMEI alone that is not plugged in yet is
			// looked for again on every reconnect.
			cfg.Modems = append(cfg.Modems, m.daemonModem())
		}
	}
	return cfg, nil
}

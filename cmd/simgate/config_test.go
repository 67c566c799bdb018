package main

import (
	"errors"
	"flag"
	"github.com/simgate/simgate/gateway"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// writeConfig writes text to simgate.toml in a fresh directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "simgate.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	path := writeConfig(t, `
data = "/var/lib/simgate"
listen = "127.0.0.1:8080"
region = "gb"
upload_idle_timeout = "2m"

[limits]
per_day = 300
unique_per_month = 0

[[modem]]
name = "shop1"
path = "/dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0"
pin = "1234"
smsc = "+447785016005"
[modem.limits]
per_minute = 4

[[modem]]
imei = "861234567890123"
`)
	got, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := fileConfig{
		Data:   "/var/lib/simgate",
		Listen: "127.0.0.1:8080",
		Region: "GB",
		// A string, read by time.ParseDuration.
		UploadIdleTimeout: 2 * time.Minute,
		Backup:            defaultBackupConfig,
		Modems: []modemEntry{
			{
				Name: "shop1", Path: "/dev/serial/by-id/usb-HUAWEI_Mobile-if02-port0", PIN: "1234", SMSC: "+447785016005",
				Limits: gateway.Limits{PerMinute: 4, PerDay: 300, UniquePerDay: gateway.DefaultUniquePerDay, UniquePerMonth: 0},
			},
			{
				Name: "modem2", IMEI: "861234567890123",
				Limits: gateway.Limits{PerMinute: gateway.DefaultPerMinute, PerDay: 300, UniquePerDay: gateway.DefaultUniquePerDay, UniquePerMonth: 0},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestLoadConfigJoin: the public URL and the sign-up page's bounds reach
// the gateway's and the web's configuration; left out, they are zero so
// the defaults there apply.
func TestLoadConfigJoin(t *testing.T) {
	got, err := loadConfig(writeConfig(t, `
public_url = "https://texts.rosas.example/"
public_listen = "0.0.0.0:8081"
[join]
budget_percent = 5
per_address_per_day = 8
per_number_per_month = 2
challenge_per_hour = 12
`))
	if err != nil {
		t.Fatal(err)
	}
	want := joinConfig{Signup: gateway.SignupLimits{Share: 5, PerNumber: 2, BusyPerHour: 12}, PerAddressPerDay: 8}
	if got.PublicURL != "https://texts.rosas.example" || got.PublicListen != "0.0.0.0:8081" || got.Join != want {
		t.Errorf("got %q %+v, want the URL without its slash and %+v", got.PublicURL, got.Join, want)
	}
	partial, err := loadConfig(writeConfig(t, "[join]\nbudget_percent = 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (joinConfig{Signup: gateway.SignupLimits{Share: 20}}); partial.Join != want {
		t.Errorf("got %+v, want %+v", partial.Join, want)
	}
}

func TestLoadConfigEmpty(t *testing.T) {
	got, err := loadConfig(writeConfig(t, "# nothing yet\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Nightly backups are on by default: the one table that is not zero.
	if !reflect.DeepEqual(got, fileConfig{Backup: defaultBackupConfig}) {
		t.Errorf("got %+v, want the zero config (flag defaults apply) with default backups", got)
	}
}

func TestLoadConfigBackup(t *testing.T) {
	got, err := loadConfig(writeConfig(t, "[backup]\ndir = \"copies\"\nkeep = 3\nat = \"22:15\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Backup.Keep != 3 || got.Backup.At != 22*time.Hour+15*time.Minute || filepath.Base(got.Backup.Dir) != "copies" || !filepath.IsAbs(got.Backup.Dir) {
		t.Errorf("backup config %+v", got.Backup)
	}
	off, err := loadConfig(writeConfig(t, "[backup]\nkeep = 0\n"))
	if err != nil || off.Backup.Keep != 0 {
		t.Errorf("keep = 0: %+v, %v", off.Backup, err)
	}
	for _, bad := range []string{"keep = -1", "keep = 5000", `at = "25:00"`, `at = "3am"`} {
		_, err := loadConfig(writeConfig(t, "[backup]\n"+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "backup.") {
			t.Errorf("[backup] %s: err %v, want one naming backup.*", bad, err)
		}
	}
}

// ussd_allow: left out, the gateway's default applies (nil); [] turns USSD
// off; a list is kept as written.
func TestLoadConfigUSSDAllow(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", nil},
		{`ussd_allow = []`, []string{}},
		{`ussd_allow = ["*N#", "*#10#", "**21*N#"]`, []string{"*N#", "*#10#", "**21*N#"}},
	} {
		got, err := loadConfig(writeConfig(t, tc.text))
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		if !reflect.DeepEqual(got.USSDAllow, tc.want) || (got.USSDAllow == nil) != (tc.want == nil) {
			t.Errorf("%s: got %#v, want %#v", tc.text, got.USSDAllow, tc.want)
		}
	}
}

func TestLoadConfigRelativeData(t *testing.T) {
	path := writeConfig(t, `data = "state"`)
	got, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(path), "state"); got.Data != want {
		t.Errorf("data: got %q, want %q (relative to the config file)", got.Data, want)
	}
}

func TestLoadConfigDefaultLimits(t *testing.T) {
	got, err := loadConfig(writeConfig(t, "[[modem]]\npath = \"/dev/ttyUSB2\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Modems[0].Limits; l != gateway.DefaultLimits() {
		t.Errorf("limits: got %+v, want the defaults %+v", l, gateway.DefaultLimits())
	}
}

func TestLoadConfigErrors(t *testing.T) {
	const ok = "[[modem]]\nname = \"a\"\npath = \"/dev/ttyUSB2\"\n"
	for _, tc := range []struct {
		name, text string
		want       []string // each must appear in the error
	}{
		{"unknown top-level key", `lisen = "127.0.0.1:80"`, []string{`lisen: unknown key`}},
		{"unknown modem key", ok + "[[modem]]\npath = \"/dev/ttyUSB3\"\nbaudrate = 9600\n", []string{`modem[2].baudrate: unknown key`}},
		{"unknown limit", ok + "[modem.limits]\nper_hour = 5\n", []string{`modem[1].limits.per_hour: unknown key`}},
		{"misspelt table named once", ok + "[modem.limit]\nper_day = 5\nper_minute = 1\n", []string{`modem[1].limit: unknown key`}},
		{"unknown key in [limits]", "[limits]\nper_week = 5\n", []string{`limits.per_week: unknown key`}},
		{"path required", "[[modem]]\nname = \"a\"\n", []string{`modem[1].path: required`}},
		{"path relative", "[[modem]]\npath = \"ttyUSB2\"\n", []string{`modem[1].path: "ttyUSB2" is not an absolute path`}},
		{"path twice", ok + "[[modem]]\npath = \"/dev/ttyUSB2/\"\n", []string{`modem[2].path: "/dev/ttyUSB2" is also modem[1]'s`}},
		{"listen", `listen = "abc"`, []string{`listen: "abc" is not host:port`}},
		{"listen port", `listen = "127.0.0.1:http"`, []string{`listen: "127.0.0.1:http" is not host:port`}},
		{"listen port range", `listen = "127.0.0.1:70000"`, []string{`listen: "127.0.0.1:70000"`}},
		{"region", `region = "XX"`, []string{`region: "XX" is not a known region`}},
		{"upload idle not a duration", `upload_idle_timeout = "soon"`, []string{`upload_idle_timeout: "soon" is not a duration from 1s to 1h0m0s`}},
		{"upload idle too short", `upload_idle_timeout = "10ms"`, []string{`upload_idle_timeout: "10ms"`}},
		{"upload idle too long", `upload_idle_timeout = "2h"`, []string{`upload_idle_timeout: "2h"`}},
		{"upload idle as a number", `upload_idle_timeout = 30`, []string{`upload_idle_timeout`, `incompatible types`}},
		{"names unique", ok + "[[modem]]\nname = \"a\"\npath = \"/dev/ttyUSB3\"\n", []string{`modem names must be unique: modem[2].name "a" is also modem[1]'s`}},
		{"default name clashes", "[[modem]]\nname = \"modem2\"\npath = \"/dev/ttyUSB2\"\n[[modem]]\npath = \"/dev/ttyUSB3\"\n", []string{`modem[2].name "modem2"`}},
		{"name characters", "[[modem]]\nname = \"shop 1\"\npath = \"/dev/ttyUSB2\"\n", []string{`modem[1].name: "shop 1" may only hold`}},
		{"name length", "[[modem]]\nname = \"" + strings.Repeat("x", 33) + "\"\npath = \"/dev/ttyUSB2\"\n", []string{`modem[1].name: `, `longer than 32`}},
		{"imei digits", "[[modem]]\nimei = \"86123456789012\"\n", []string{`modem[1].imei: "86123456789012" is not 15 digits`}},
		{"imei twice", "[[modem]]\nimei = \"861234567890123\"\n[[modem]]\nimei = \"861234567890123\"\n", []string{`modem[2].imei: "861234567890123" is also modem[1]'s`}},
		{"pin short", ok + "pin = \"123\"\n", []string{`modem[1].pin: must be 4 to 8 digits`}},
		{"pin letters", ok + "pin = \"12a4\"\n", []string{`modem[1].pin: must be 4 to 8 digits`}},
		{"smsc national", ok + "smsc = \"07785016005\"\n", []string{`modem[1].smsc: "07785016005" is not an international number`}},
		{"smsc long", ok + "smsc = \"+1234567890123456\"\n", []string{`modem[1].smsc:`}},
		{"negative limit", ok + "[modem.limits]\nper_day = -1\n", []string{`modem[1].limits.per_day: -1 is negative`}},
		{"negative default limit", "[limits]\nunique_per_month = -3\n", []string{`limits.unique_per_month: -3 is negative`}},
		{"negative start check", "start_check_mib = -1\n", []string{`start_check_mib: -1 is negative`}},
		{"wrong type", `listen = 8080`, []string{`listen`, `incompatible types`}},
		{"wrong type in modem", ok + "[modem.limits]\nper_minute = \"6\"\n", []string{`per_minute`, `incompatible types`}},
		{"modem as a table", "[modem]\npath = \"/dev/ttyUSB2\"\n", []string{`modem: write [[modem]]`}},
		{"syntax", "listen = \n", []string{`line 1`}},
		{"ussd pattern", `ussd_allow = ["*N#", "*1N#"]`, []string{`ussd_allow[2]`, `"*1N#"`, `whole group`}},
		{"ussd pattern shape", `ussd_allow = ["100"]`, []string{`ussd_allow[1]`, `start with * or #`}},
		{"ussd not a list", `ussd_allow = "*N#"`, []string{`ussd_allow`, `incompatible types`}},
		{"public_url not absolute", `public_url = "texts.example.com"`, []string{`public_url: "texts.example.com" is not an address`}},
		{"public_url query", `public_url = "https://texts.example.com/?a=1"`, []string{`public_url:`, `query`}},
		{"public_listen shape", `public_listen = "8081"`, []string{`public_listen: "8081" is not host:port`}},
		{"public_listen is listen", "listen = \"0.0.0.0:8080\"\npublic_listen = \"0.0.0.0:8080\"\n", []string{`public_listen: "0.0.0.0:8080" is the console's listen address too`}},
		{"join budget zero", "[join]\nbudget_percent = 0\n", []string{`join.budget_percent: 0 is not between 1 and 100`}},
		{"join budget over", "[join]\nbudget_percent = 101\n", []string{`join.budget_percent: 101`}},
		{"join per address", "[join]\nper_address_per_day = 0\n", []string{`join.per_address_per_day: 0`}},
		{"join unknown", "[join]\nper_hour = 5\n", []string{`join.per_hour: unknown key`}},
		{"several at once", `listen = "abc"` + "\n" + `region = "XX"` + "\n[[modem]]\n", []string{`listen:`, `region:`, `modem[1].path: required`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tc.text))
			if err == nil {
				t.Fatalf("got no error, want one mentioning %q", tc.want)
			}
			var ce *configError
			if !errors.As(err, &ce) {
				t.Errorf("got %T, want a *configError (main exits 78 on it)", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// The PIN must not end up in logs through an error message.
func TestLoadConfigErrorHidesPIN(t *testing.T) {
	_, err := loadConfig(writeConfig(t, "[[modem]]\npath = \"/dev/ttyUSB2\"\npin = \"98765x\"\n"))
	if err == nil || strings.Contains(err.Error(), "98765") {
		t.Errorf("got %v, want an error that does not show the PIN", err)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	if _, err := loadConfig(filepath.Join(t.TempDir(), "nope.toml")); err == nil {
		t.Error("got nil error for a missing file")
	}
}

// TestExampleConfig loads the commented example that install.sh puts in
// /etc/simgate, once as shipped and once with its commented-out settings
// turned on, so the documentation can't drift from the parser.
func TestExampleConfig(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "systemd", "simgate.toml"))
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := loadConfig(writeConfig(t, string(text)))
	if err != nil {
		t.Fatalf("example as shipped: %v", err)
	}
	if shipped.Data != "/var/lib/simgate" {
		t.Errorf("data: got %q, want /var/lib/simgate (the unit's StateDirectory)", shipped.Data)
	}
	// Settings are commented out as "#key" (no space); prose as "# text".
	setting := regexp.MustCompile(`(?m)^#([a-z\[])`)
	all, err := loadConfig(writeConfig(t, setting.ReplaceAllString(string(text), "$1")))
	if err != nil {
		t.Fatalf("example with every setting on: %v", err)
	}
	if len(all.Modems) < 2 {
		t.Fatalf("got %d modems in the uncommented example, want at least 2", len(all.Modems))
	}
	for _, m := range all.Modems {
		if m.Path == "" && m.IMEI == "" {
			t.Errorf("modem %s: neither path nor imei", m.Name)
		}
	}
}

func TestMergeConfig(t *testing.T) {
	file := fileConfig{
		Data: "/var/lib/simgate", Listen: "0.0.0.0:9000", Region: "DE", UploadIdleTimeout: time.Minute,
		Modems: []modemEntry{{Name: "shop1", Path: "/dev/ttyUSB2", PIN: "1234"}},
	}
	parse := func(args ...string) (*flag.FlagSet, daemonConfig) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		var cfg daemonConfig
		var modems modemFlag
		fs.StringVar(&cfg.DataDir, "data", "", "")
		fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "")
		fs.StringVar(&cfg.Region, "region", "US", "")
		fs.Var(&modems, "modem", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		cfg.Modems = modems
		return fs, cfg
	}

	fs, flags := parse()
	got, err := mergeConfig(file, fs, flags)
	if err != nil {
		t.Fatal(err)
	}
	if got.DataDir != file.Data || got.Listen != file.Listen || got.Region != file.Region || got.UploadIdleTimeout != time.Minute {
		t.Errorf("no flags: got %+v, want the file's values", got)
	}
	if want := []daemonModem{{Config: modem.Config{Name: "shop1", Path: "/dev/ttyUSB2", PIN: "1234"}, Limits: file.Modems[0].Limits}}; !reflect.DeepEqual(got.Modems, want) {
		t.Errorf("modems: got %+v, want %+v", got.Modems, want)
	}

	fs, flags = parse("--listen", "127.0.0.1:8080", "--data", "/tmp/x", "--modem", "/dev/pts/3,name=sim")
	got, err = mergeConfig(file, fs, flags)
	if err != nil {
		t.Fatal(err)
	}
	// --listen given with its default value still wins: the user said it.
	if got.Listen != "127.0.0.1:8080" || got.DataDir != "/tmp/x" || got.Region != "DE" {
		t.Errorf("with flags: got %+v, want listen and data from flags, region from the file", got)
	}
	if len(got.Modems) != 1 || got.Modems[0].Name != "sim" {
		t.Errorf("modems: got %+v, want only the --modem one", got.Modems)
	}

	// A modem known only by IMEI and not plugged in yet is kept: the daemon
	// looks for it on every reconnect.
	fs, flags = parse()
	got, err = mergeConfig(fileConfig{Modems: []modemEntry{{Name: "m", IMEI: "861234567890123"}}}, fs, flags)
	if err != nil || len(got.Modems) != 1 || got.Modems[0].IMEI != "861234567890123" || got.Modems[0].Path != "" {
		t.Errorf("unresolved IMEI: got %+v, %v; want the modem kept with its IMEI", got.Modems, err)
	}
}

// start_check_mib in the file sets the start-up check's bound unless
// --start-check-mib is given.
func TestStartCheckConfig(t *testing.T) {
	file, err := loadConfig(writeConfig(t, "start_check_mib = 512\n"))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) (*flag.FlagSet, daemonConfig) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		mib := fs.Int64("start-check-mib", defaultStartCheckMiB, "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs, daemonConfig{StartCheckBytes: *mib << 20}
	}
	fs, flags := parse()
	if got, err := mergeConfig(file, fs, flags); err != nil || got.StartCheckBytes != 512<<20 {
		t.Errorf("from the file: %d, %v; want 512 MiB", got.StartCheckBytes, err)
	}
	fs, flags = parse("--start-check-mib", "0")
	if got, err := mergeConfig(file, fs, flags); err != nil || got.StartCheckBytes != 0 {
		t.Errorf("flag over the file: %d, %v; want 0", got.StartCheckBytes, err)
	}
	fs, flags = parse()
	if got, err := mergeConfig(fileConfig{}, fs, flags); err != nil || got.StartCheckBytes != store.DefaultStartCheckBytes {
		t.Errorf("neither: %d, %v; want the default", got.StartCheckBytes, err)
	}
}

func TestLoadConfigEventMaxBody(t *testing.T) {
	got, err := loadConfig(writeConfig(t, "event_max_body_kib = 1024\n"))
	if err != nil || got.EventMaxBodyKiB != 1024 {
		t.Fatalf("got %d, %v; want 1024", got.EventMaxBodyKiB, err)
	}
	if none, err := loadConfig(writeConfig(t, "region = \"US\"\n")); err != nil || none.EventMaxBodyKiB != 0 {
		t.Errorf("left out: %d, %v; want 0 (the default applies)", none.EventMaxBodyKiB, err)
	}
	for _, bad := range []string{"event_max_body_kib = 1\n", "event_max_body_kib = 99999999\n"} {
		if _, err := loadConfig(writeConfig(t, bad)); err == nil || !strings.Contains(err.Error(), "event_max_body_kib") {
			t.Errorf("%q: %v, want an error naming event_max_body_kib", bad, err)
		}
	}
}

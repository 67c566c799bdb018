// Command simgate is a self-hosted SMS gateway: it drives GSM modems over
// serial ports, keeps its queue in one bbolt file and serves an HTTP API.
//
// Subcommands:
//
//	simgate serve     --data DIR --listen ADDR --modem PATH[,name=NAME] ...
//	simgate demo      two simulated modems on ptys, a data dir and a token
//	simgate modemsim  simulated modems on ptys with an HTTP control API
//	simgate token create --data DIR --name NAME
//	simgate ports     list serial ports and which answer as modems
//	simgate user add --data DIR --name NAME  (console login)
//	simgate compact   --data DIR  (service stopped: rewrites the database)
//	simgate check     --data DIR  (service stopped: reads and checks every page)
//	simgate backup    --data DIR --to FILE  (while running, through the control socket)
//	simgate restore   FILE --data DIR  (service stopped)
//	simgate stats     --data DIR [--recount]  (file size and fill, message counts)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `simgate: a self-hosted SMS gateway

Usage:
  simgate serve    --data DIR [--listen 127.0.0.1:8080] --modem PATH[,name=NAME] ... [--region US] [--init]
  simgate serve    --config /etc/simgate/simgate.toml
  simgate ports    [--probe=false] [--timeout 1s] [PATH...]
  simgate demo     [--data DIR] [--listen 127.0.0.1:8080]
  simgate modemsim [--count 2] [--link PREFIX] [--control 127.0.0.1:0]
  simgate token create --data DIR --name NAME
  simgate user add --data DIR --name NAME    (password from stdin or a prompt)
  simgate compact --data DIR                 (service stopped: rewrites the file, dropping erased data)
  simgate check   --data DIR                 (service stopped: reads every page; exit status 65 on damage)
  simgate backup  --data DIR --to FILE       (a consistent copy, also while the service runs)
  simgate restore FILE --data DIR            (service stopped: checks FILE, keeps the old file aside)
  simgate version
  simgate stats   --data DIR [--recount]     (service stopped: file size and fill, message counts)

Run "simgate COMMAND -h" for the flags of one command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	var ce *configError
	if errors.As(err, &ce) {
		fmt.Fprintln(os.Stderr, "simgate:", err)
		os.Exit(78) // EX_CONFIG: systemd's RestartPreventExitStatus stops a restart loop
	}
	var de *dataError
	if errors.As(err, &de) {
		fmt.Fprintln(os.Stderr, "simgate:", err)
		os.Exit(exitDataErr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "simgate:", err)
		os.Exit(1)
	}
}

// exitDataErr is EX_DATAERR (sysexits.h): simgate.db is damaged, empty or
// missing. simgate.service's RestartPreventExitStatus= lists it, since a
// restart cannot mend the file.
const exitDataErr = 65

// run dispatches to a subcommand; it is main without the process exit, so
// tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	log := newLogger(stderr, os.Getenv("SIMGATE_LOG_LEVEL"))
	if cmd, found := subcommands[args[0]]; found {
		return cmd(ctx, args[1:], stdout, log)
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// subcommand runs "simgate NAME ARGS..." given ARGS.
type subcommand func(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error

// subcommands are the commands run dispatches to by name; usage shows
// every one (TestUsageListsEverySubcommand).
var subcommands = map[string]subcommand{
	"serve":    runServe,
	"demo":     runDemo,
	"modemsim": runModemsim,
	"token": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		return runToken(ctx, args, stdout)
	},
	"user": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		// The password prompt needs the process's own stdin (a terminal's
		// echo is switched off on its file descriptor).
		return runUser(ctx, args, os.Stdin, stdout, os.Stderr)
	},
	"ports": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		return runPorts(ctx, args, stdout)
	},
	"compact": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		return runCompact(ctx, args, stdout)
	},
	"check": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		return runCheck(ctx, args, stdout)
	},
	"backup": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		return runBackup(ctx, args, stdout)
	},
	"restore": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		return runRestore(ctx, args, stdout)
	},
	"version": func(_ context.Context, _ []string, stdout io.Writer, _ *slog.Logger) error {
		return runVersion(stdout)
	},
	"stats": func(ctx context.Context, args []string, stdout io.Writer, _ *slog.Logger) error {
		return runStats(ctx, args, stdout)
	},
}

// newLogger logs as text to w. Under systemd (JOURNAL_STREAM set) the time
// is left out because journald adds its own.
func newLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil || level == "" {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

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
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/webui"
)

// controlSocket is the daemon's Unix socket in the data directory. Only
// the service's user can open it (mode 0600 in a 0700 directory): the
// file's permissions are the authentication, as for simgate.db itself.
const controlSocket = "control.sock"

// listenControl serves webui.ControlHandler on DATA/control.sock until
// ctx ends. A socket file left by a killed daemon is replaced: the
// database lock, taken before this, says no other daemon runs here.
func listenControl(ctx context.Context, dataDir string, gw *gateway.Gateway, clock *testClock, log *slog.Logger) (stop func(), err error) {
	path := filepath.Join(dataDir, controlSocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	handler := webui.ControlHandler(gw, log)
	if clock != nil {
		handler = clock.handler(gw, log, handler)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control socket", "error", err)
		}
	}()
	return func() {
		srv.Close()
		<-done
		os.Remove(path)
	}, nil
}

// runBackup handles "simgate backup --data DIR --to FILE". While the
// daemon runs it asks it over the control socket for a snapshot (the
// daemon holds the database's lock); otherwise it opens the file itself.
// Either way FILE appears only once whole: the copy goes to FILE.partial
// and is renamed.
func runBackup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db)")
	to := fs.String("to", "", "file to write the backup to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *to == "" {
		return errors.New("usage: simgate backup --data DIR --to FILE")
	}
	if _, err := os.Stat(*to); err == nil {
		return fmt.Errorf("%s exists; name a new file", *to)
	}
	start := time.Now()
	n, how, err := backupVia(ctx, *data, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %s written to %s (%s, %s, %s)\n", filepath.Join(*data, dbFile), *to, mib(n),
		how, time.Since(start).Round(time.Millisecond))
	return nil
}

// backupVia writes the backup through the running daemon if there is one,
// else from the file directly, and says which.
func backupVia(ctx context.Context, dataDir, to string) (int64, string, error) {
	sock := filepath.Join(dataDir, controlSocket)
	if _, err := os.Stat(sock); err == nil {
		n, err := backupFromDaemon(ctx, sock, to)
		if err == nil {
			return n, "from the running daemon", nil
		}
		// A socket left by a killed daemon refuses connections; the file
		// is then free to open. Any other failure is the answer.
		if !errors.Is(err, errNoDaemon) {
			return 0, "", err
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, dbFile)); err != nil {
		return 0, "", fmt.Errorf("no database to back up: %w", err)
	}
	db, err := store.Open(filepath.Join(dataDir, dbFile), store.WithLockTimeout(time.Second))
	if errors.Is(err, store.ErrLocked) {
		return 0, "", fmt.Errorf("%s is in use, but the daemon's control socket %s does not answer: %w", dbFile, sock, err)
	}
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	n, err := db.BackupTo(to)
	return n, "from the file (no daemon running)", err
}

var errNoDaemon = errors.New("no daemon answers on the control socket")

// backupFromDaemon streams GET /backup from the socket into to.
func backupFromDaemon(ctx context.Context, sock, to string) (int64, error) {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://simgate/backup", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return 0, fmt.Errorf("%w: %v", errNoDaemon, err)
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("the daemon answered %s", resp.Status)
	}
	return writeWhole(to, resp.Body)
}

// writeWhole copies r to path through path.partial, synced, then renamed.
func writeWhole(path string, r io.Reader) (int64, error) {
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, nil
}

// runRestore handles "simgate restore FILE --data DIR": the daemon must be
// stopped. The backup is checked page by page and its schema version
// compared first; the file in place is kept aside, never deleted.
func runRestore(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	data := fs.String("data", "", "data directory to restore into (stop simgate first)")
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" || *data == "" {
		return errors.New("usage: simgate restore FILE --data DIR")
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	rep, err := store.Restore(file, filepath.Join(*data, dbFile), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s (%s, schema version %d)\n", file, filepath.Join(*data, dbFile), mib(rep.Size), rep.Schema)
	if rep.KeptAside != "" {
		fmt.Fprintf(stdout, "the file that was there is kept as %s\n", rep.KeptAside)
	}
	if rep.Schema < store.SchemaVersion {
		fmt.Fprintf(stdout, "the backup is upgraded from schema version %d to %d when simgate starts\n", rep.Schema, store.SchemaVersion)
	}
	return nil
}

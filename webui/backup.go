package webui

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/simgate/simgate/gateway"
)

// backupFileName is the name a downloaded backup is offered under.
func backupFileName(now time.Time) string {
	return "simgate-" + now.UTC().Format("20060102T150405Z") + ".db"
}

// backupDownload is GET /api/v1/backup: a consistent snapshot of the
// whole database, streamed while sending goes on. It takes a console
// session, never an API token: a token lives in the shop's website, and
// whoever holds one must not be able to take every customer's data away.
func (s *server) backupDownload(w http.ResponseWriter, r *http.Request, u user) error {
	s.log.Info("backup downloaded", "user", u.Name)
	streamBackup(w, s.gw, s.log, s.now())
	return nil
}

// streamBackup writes the snapshot as an attachment. Once the first byte
// is out the status cannot change, so a failure half way aborts the
// connection: the client sees a broken download, never a short file that
// looks whole.
func streamBackup(w http.ResponseWriter, gw *gateway.Gateway, log *slog.Logger, now time.Time) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+backupFileName(now)+`"`)
	w.Header().Set("Cache-Control", "no-store")
	n, err := gw.Backup(w)
	if err != nil {
		log.Error("backup stream failed", "bytes", n, "error", err)
		panic(http.ErrAbortHandler)
	}
}

// ControlHandler serves the daemon's control socket (a Unix socket in the
// data directory that only the service's user can open): GET /backup, for
// `simgate backup` while the daemon holds the database. The socket's file
// permissions are its authentication.
func ControlHandler(gw *gateway.Gateway, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		log.Info("backup requested on the control socket")
		streamBackup(w, gw, log, time.Now())
	})
	return mux
}

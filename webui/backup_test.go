package webui

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/store"
)

func TestBackupDownload(t *testing.T) {
	c := newConsoleRig(t)
	c.submit(`{"to":"+12015550123","text":"in the backup"}`, http.StatusAccepted)

	// An API token, however valid, does not download the database.
	if w := c.do(http.MethodGet, "/api/v1/backup", ""); w.Code == http.StatusOK {
		t.Fatalf("a bearer token downloaded a backup: %d", w.Code)
	}

	w := c.get("/api/v1/backup")
	if w.Code != http.StatusOK {
		t.Fatalf("backup with a session: %d %s", w.Code, w.Body)
	}
	if cd := w.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="simgate-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	path := filepath.Join(t.TempDir(), "simgate.db")
	if err := os.WriteFile(path, w.Body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatalf("the download does not open: %v", err)
	}
	defer db.Close()
	if m, err := db.Get(1); err != nil || m.Text != "in the backup" {
		t.Errorf("downloaded backup holds %+v, %v", m, err)
	}

	wantBody(t, c.get("/settings"), http.StatusOK, "Download a backup now", "Nightly backups are off")
}

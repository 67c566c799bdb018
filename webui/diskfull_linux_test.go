package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/simgate/simgate/gateway"
)

// mountTmpfs mounts a tmpfs of the given size ("4m") on a fresh directory
// for the test: a real file system that really runs out of space. It needs
// root (CI runs as root) and skips otherwise. RLIMIT_FSIZE would not need
// root, but it fails writes with EFBIG, which is not what a full disk says.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs to fill needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file into dir until the file system has no room left
// and returns its path: removing it gives the room back.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for n := len(chunk); n >= 4096; n /= 2 {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
	return path
}

// On a full disk the client used to get 500 "internal" and /healthz said
// ok. Now the write is answered 503 with Retry-After and a code saying the
// disk is full, /healthz is 503 while it lasts, an alert is raised, and all
// of it clears once there is room again.
func TestDiskFullAnswers503(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	r := newRigAt(t, filepath.Join(dir, "simgate.db"))
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	filler := fillDisk(t, dir)

	var code int
	var hdr http.Header
	var body []byte
	for i := range 10000 {
		code, hdr, body = call(t, srv, r.token, "POST", "/api/v1/messages",
			fmt.Sprintf(`{"to":"%s","text":"Your order %d is ready for collection at the counter"}`, to, i))
		if code != http.StatusAccepted {
			break
		}
	}
	if code != http.StatusServiceUnavailable {
		t.Fatalf("a write on a full disk: %d %s, want 503", code, body)
	}
	if e := errorCode(t, body); e.Code != codeDiskFull || !strings.Contains(e.Message, "disk is full") {
		t.Errorf("error %+v, want code %s saying the disk is full", e, codeDiskFull)
	}
	if got := hdr.Get("Retry-After"); got != fmt.Sprint(diskFullRetryAfter) {
		t.Errorf("Retry-After: %q, want %d", got, diskFullRetryAfter)
	}
	code, _, body = call(t, srv, "", "GET", "/healthz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"reason":"disk_full"`) {
		t.Errorf("/healthz on a full disk: %d %s, want 503 naming disk_full", code, body)
	}
	if !hasAlert(r.gw, gateway.AlertDiskFull) {
		t.Errorf("alerts %+v, want %s", r.gw.Alerts(), gateway.AlertDiskFull)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, _, body := call(t, srv, "", "GET", "/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz once there is room: %d %s", code, body)
	}
	if hasAlert(r.gw, gateway.AlertDiskFull) {
		t.Errorf("the disk_full alert outlived the full disk: %+v", r.gw.Alerts())
	}
	if code, _, body := call(t, srv, r.token, "POST", "/api/v1/messages", `{"to":"`+to+`","text":"after"}`); code != http.StatusAccepted {
		t.Errorf("a write once there is room: %d %s", code, body)
	}
}

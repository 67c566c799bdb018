package webui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store/storetest"
)

// On a full disk the client used to get 500 "internal" and /healthz said
// ok. Now the write is answered 503 with Retry-After and a code saying the
// disk is full, /healthz is 503 while it lasts, an alert is raised, and all
// of it clears once there is room again.
func TestDiskFullAnswers503(t *testing.T) {
	dir := storetest.MountTmpfs(t, "4m")
	r := newRigAt(t, filepath.Join(dir, "simgate.db"))
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	filler := storetest.FillDisk(t, dir)

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

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// importJobView is what the API shows of an import job.
type importJobView struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	RowsRead int    `json:"rows_read"`
	Error    string `json:"error"`
	Report   struct {
		Imported int `json:"imported"`
		Updated  int `json:"updated"`
		Invalid  int `json:"invalid"`
		Rejected []struct {
			Row    int    `json:"row"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	} `json:"report"`
}

// postCSV starts an import of body.
func postCSV(t *testing.T, c *api, body string) importJobView {
	t.Helper()
	req, err := http.NewRequest("POST", c.base+"/api/v1/contacts/import?file_name=big.csv", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var job importJobView
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import: %d %s", resp.StatusCode, buf.String())
	}
	if err := json.Unmarshal(buf.Bytes(), &job); err != nil {
		t.Fatal(err)
	}
	return job
}

// bigCSV is n valid rows: an import of it runs for a while.
func bigCSV(n int) string {
	var b strings.Builder
	b.WriteString("phone,name\n")
	for i := range n {
		fmt.Fprintf(&b, "+1%03d555%04d,Customer %d\n", 201+i/10000, i%10000, i)
	}
	return b.String()
}

func getJob(t *testing.T, c *api, id string) (int, importJobView) {
	t.Helper()
	var job importJobView
	code, err := c.do("GET", "/api/v1/contacts/import/"+id, nil, &job)
	if err != nil {
		t.Fatal(err)
	}
	return code, job
}

// TestEndToEndImportSurvivesRestart: the real daemon keeps import jobs
// across restarts. A finished job's report still answers after a crash;
// a job running when the daemon is killed answers "interrupted" with the
// rows it wrote; one running at a graceful stop is interrupted the same
// way and the daemon exits cleanly.
func TestEndToEndImportSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	data := filepath.Join(t.TempDir(), "data")
	token := createToken(t, data)
	p, base := startServe(t, data, nil)
	c := &api{t: t, base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}

	small := postCSV(t, c, "phone,name\n+12015550101,Ana\nnot a number,Bo\n")
	waitFor(t, time.Minute, "small import", func() error {
		if _, j := getJob(t, c, small.ID); j.State != "done" {
			return fmt.Errorf("state %s", j.State)
		}
		return nil
	})
	running := func() importJobView {
		job := postCSV(t, c, bigCSV(300_000))
		waitFor(t, time.Minute, "a batch written", func() error {
			_, j := getJob(t, c, job.ID)
			if j.State != "running" {
				t.Fatalf("the import ended (%s) before the daemon was stopped", j.State)
			}
			if j.Report.Imported == 0 {
				return fmt.Errorf("nothing written yet")
			}
			return nil
		})
		return job
	}

	crashed := running()
	p.kill(syscall.SIGKILL)
	<-p.done
	p, c.base = startServe(t, data, nil)
	code, j := getJob(t, c, small.ID)
	if code != http.StatusOK || j.State != "done" || j.Report.Imported != 1 || len(j.Report.Rejected) != 1 || j.Report.Rejected[0].Row != 3 {
		t.Errorf("finished job after a crash: %d %+v", code, j)
	}
	code, j = getJob(t, c, crashed.ID)
	if code != http.StatusOK || j.State != "interrupted" || j.Report.Imported == 0 || j.RowsRead != j.Report.Imported+j.Report.Updated+j.Report.Invalid || j.Error == "" {
		t.Errorf("job running at the crash, after a restart: %d %+v", code, j)
	}

	stopped := running()
	p.kill(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop within 30 s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	_, c.base = startServe(t, data, nil)
	code, j = getJob(t, c, stopped.ID)
	if code != http.StatusOK || j.State != "interrupted" || j.Report.Imported == 0 || !strings.Contains(j.Error, "stopped") {
		t.Errorf("job running at a graceful stop, after a restart: %d %+v", code, j)
	}
}

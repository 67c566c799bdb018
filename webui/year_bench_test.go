package webui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/store/yeartest"
)

// BenchmarkYearOfShop compares a box in its first week with the same shop
// after a year (yeartest.ShopYear: 180,000 texts, 10 % of their reports
// never arriving, 50,000 contacts with their opt-ins, 20,000 replies).
// Each measurement runs on a copy of the built file, fsync on, as shipped:
//
//	go test -run '^$' -bench YearOfShop -benchtime 200x -timeout 30m ./webui
//
// The pairs read side by side: overview/week and overview/year, and so on.
// Building the year takes about a minute; it is built once per run.
func BenchmarkYearOfShop(b *testing.B) {
	end := time.Now()
	dir := b.TempDir()
	files := map[string]string{}
	for _, age := range []struct {
		name string
		year yeartest.Year
	}{
		{"week", yeartest.FirstWeek(end)},
		{"year", yeartest.ShopYear(end)},
	} {
		files[age.name] = filepath.Join(dir, age.name+".db")
		start := time.Now()
		yeartest.BuildYear(b, files[age.name], age.year)
		b.Logf("built the %s in %v", age.name, time.Since(start).Round(time.Second))
	}
	ages := []string{"week", "year"}
	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"counts", "/console/counts"},
		{"messages", "/messages"},
		{"messages-delivered", "/messages?state=delivered"},
		{"inbox", "/inbox"},
		{"thread", "/inbox/" + url.PathEscape(yeartest.ContactNumber(0))},
	}
	for _, p := range pages {
		for _, age := range ages {
			b.Run(p.name+"/"+age, func(b *testing.B) {
				e := openAged(b, files[age])
				b.ResetTimer()
				for range b.N {
					if w := e.get(p.path); w.Code != http.StatusOK {
						b.Fatalf("GET %s: %d %.300s", p.path, w.Code, w.Body)
					}
				}
			})
		}
	}
	for _, age := range ages {
		b.Run("submit/"+age, func(b *testing.B) { benchAgedSubmit(b, openAged(b, files[age])) })
	}
	for _, age := range ages {
		b.Run("event-batch/"+age, func(b *testing.B) { benchAgedEvents(b, openAged(b, files[age])) })
	}
	for _, age := range ages {
		b.Run("contact-events/"+age, func(b *testing.B) {
			e := openAged(b, files[age])
			path := "/api/v1/events?phone=" + url.QueryEscape(yeartest.ContactNumber(7))
			b.ResetTimer()
			for range b.N {
				q := httptest.NewRequest(http.MethodGet, path, nil)
				q.Header.Set("Authorization", "Bearer "+e.token)
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, q)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %.300s", path, w.Code, w.Body)
				}
			}
		})
	}
	for _, age := range ages {
		b.Run("dispatch/"+age, func(b *testing.B) { benchAgedDispatch(b, files[age], 1) })
	}
	for _, age := range ages {
		b.Run("dispatch-4-modems/"+age, func(b *testing.B) { benchAgedDispatch(b, files[age], 4) })
	}
	for _, age := range ages {
		b.Run("startup/"+age, func(b *testing.B) {
			path := copyAged(b, files[age])
			b.ResetTimer()
			for range b.N {
				db, err := store.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := gateway.New(db, gateway.Config{Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
					b.Fatal(err)
				}
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, age := range ages {
		b.Run("file/"+age, func(b *testing.B) { benchAgedFile(b, files[age]) })
	}
	benchReportMatching(b, end)
}

// agedEnv is the console and API over a copy of a built file.
type agedEnv struct {
	db     *store.DB
	gw     *gateway.Gateway
	h      http.Handler
	cookie *http.Cookie
	token  string
}

// copyAged copies a built file into the benchmark's own directory.
func copyAged(b *testing.B, src string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "simgate.db")
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	// Synced now, so that writing the copy back from the page cache is not
	// counted as the writes of what is measured next.
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return dst
}

func openAged(b *testing.B, src string, modems ...gateway.ModemConfig) *agedEnv {
	b.Helper()
	db, err := store.Open(copyAged(b, src))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	gw, err := gateway.New(db, gateway.Config{Region: "US", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for _, mc := range modems {
		if err := gw.AddModem(mc); err != nil {
			b.Fatal(err)
		}
	}
	tok, _, err := gw.Access().CreateToken("bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := gw.Access().AddUser(testUser, testPassword); err != nil {
		b.Fatal(err)
	}
	e := &agedEnv{db: db, gw: gw, h: Handler(Config{Gateway: gw}), token: tok}
	q := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"name": {testUser}, "password": {testPassword}}.Encode()))
	q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	q.Header.Set("Sec-Fetch-Site", "same-origin")
	q.Header.Set("Origin", "http://example.com")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, q)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == cookieName && ck.Value != "" {
			e.cookie = ck
		}
	}
	if e.cookie == nil {
		b.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return e
}

func (e *agedEnv) get(path string) *httptest.ResponseRecorder {
	q := httptest.NewRequest(http.MethodGet, path, nil)
	q.AddCookie(e.cookie)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, q)
	return w
}

// ioCounters are the process's write counters (/proc/self/io): wchar is
// what it handed to write calls, writeBytes what reached the block layer.
type ioCounters struct{ wchar, writeBytes int64 }

func readIO(b *testing.B) ioCounters {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		b.Skipf("no /proc/self/io: %v", err)
	}
	defer f.Close()
	var c ioCounters
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "wchar":
			c.wchar = n
		case "write_bytes":
			c.writeBytes = n
		}
	}
	return c
}

// reportWrites reports what n texts cost in writes since before: commits
// (bbolt fdatasyncs twice per commit: pages, then meta), bytes written.
func reportWrites(b *testing.B, db *store.DB, n int, before store.CommitStats, io0 ioCounters) {
	after, io1 := db.CommitStats(), readIO(b)
	b.ReportMetric(float64(after.Commits-before.Commits)/float64(n), "commits/text")
	b.ReportMetric(float64(io1.wchar-io0.wchar)/1024/float64(n), "KiB-written/text")
	b.ReportMetric(float64(io1.writeBytes-io0.writeBytes)/1024/float64(n), "KiB-to-disk/text")
}

// benchAgedSubmit: one client submitting one text after another through
// the API handler (no network), each answer after its fsync.
func benchAgedSubmit(b *testing.B, e *agedEnv) {
	lat := make([]time.Duration, 0, b.N)
	before, io0 := e.db.CommitStats(), readIO(b)
	b.ResetTimer()
	for i := range b.N {
		body := fmt.Sprintf(`{"to":%q,"text":"Your order #%d is ready for pick-up. Reply STOP to opt out."}`, yeartest.ContactNumber(i%900), i)
		q := httptest.NewRequest(http.MethodPost, "/api/v1/messages", strings.NewReader(body))
		q.Header.Set("Authorization", "Bearer "+e.token)
		q.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		start := time.Now()
		e.h.ServeHTTP(w, q)
		lat = append(lat, time.Since(start))
		if w.Code != http.StatusAccepted {
			b.Fatalf("submit: %d %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/float64(time.Millisecond), "p99-ms")
	reportWrites(b, e.db, b.N, before, io0)
}

// benchAgedEvents: one client posting batches of 100 shop events (products
// viewed and checkouts, each a new contact's or a known one's) through the
// API handler, each answer after its fsync; a year holds a million before.
func benchAgedEvents(b *testing.B, e *agedEnv) {
	const perBatch = 100
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		var sb strings.Builder
		sb.WriteString("[")
		for j := range perBatch {
			if j > 0 {
				sb.WriteString(",")
			}
			n := i*perBatch + j
			fmt.Fprintf(&sb, `{"id":"bench-%d","type":"product_viewed","phone":%q,"occurred_at":%q,"properties":{"product_id":"p%d"}}`,
				n, yeartest.ContactNumber(n%60_000), time.Now().UTC().Format(time.RFC3339), n%500)
		}
		sb.WriteString("]")
		q := httptest.NewRequest(http.MethodPost, "/api/v1/events", strings.NewReader(sb.String()))
		q.Header.Set("Authorization", "Bearer "+e.token)
		q.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		start := time.Now()
		e.h.ServeHTTP(w, q)
		lat = append(lat, time.Since(start))
		if w.Code != http.StatusOK && w.Code != http.StatusAccepted {
			b.Fatalf("events: %d %.300s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms/batch")
	b.ReportMetric(float64(lat[len(lat)*99/100])/float64(time.Millisecond), "p99-ms/batch")
	var total time.Duration
	for _, l := range lat {
		total += l
	}
	b.ReportMetric(float64(b.N*perBatch)/total.Seconds(), "events/s")
}

// benchAgedDispatch: b.N single-part texts queued, then sent by n
// simulated modems that answer at once, limits off; the cost per part is
// the gateway's own (store, driver, dispatcher), reports off. With several
// modems their `sending` marks and MRs share commits.
func benchAgedDispatch(b *testing.B, src string, n int) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	network := sim.NewNetwork(sim.NetworkConfig{ReportDelay: time.Hour, Log: quiet})
	var modems []gateway.ModemConfig
	for i := range n {
		sm, err := network.AddModem(sim.Config{Number: fmt.Sprintf("+1201555%04d", 100+i)})
		if err != nil {
			b.Fatal(err)
		}
		cfg := modem.Config{Name: fmt.Sprintf("sim%d", i+1), Path: fmt.Sprintf("pipe:sim%d", i+1),
			SubmitTimeout: 5 * time.Second, CommandTimeout: 2 * time.Second, SweepInterval: time.Second}
		modems = append(modems, gateway.ModemConfig{Name: cfg.Name, Path: cfg.Path, Open: func(ctx context.Context) (*modem.Modem, error) {
			return modem.New(sm.Connect(context.WithoutCancel(ctx)), cfg, quiet), nil
		}})
	}
	e := openAged(b, src, modems...)
	ids := make([]uint64, b.N)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < b.N; i += 16 {
				m, _, err := e.gw.Submit(context.Background(), gateway.SubmitRequest{To: yeartest.ContactNumber(i % 900), Text: fmt.Sprintf("Your order #%d is ready.", i)})
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = m.ID
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	before, io0 := e.db.CommitStats(), readIO(b)
	start := time.Now()
	go func() { done <- e.gw.Run(ctx) }()
	for _, id := range ids {
		for {
			m, err := e.db.Get(id)
			if err != nil {
				b.Fatal(err)
			}
			if m.Status == store.StatusSent {
				break
			}
			if m.Status.Final() || m.Status == store.StatusUnknown {
				b.Fatalf("message %d ended %s: %s", id, m.Status, m.Error)
			}
			time.Sleep(time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportWrites(b, e.db, b.N, before, io0)
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/part")
	cancel()
	<-done
}

// benchAgedFile reports the file's size per message and the share of its
// pages holding data, and the same after `simgate compact`.
func benchAgedFile(b *testing.B, src string) {
	path := copyAged(b, src)
	db, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	st, err := db.FileStats()
	if err != nil {
		b.Fatal(err)
	}
	counts, err := db.CountByStatus()
	if err != nil {
		b.Fatal(err)
	}
	msgs := 0
	for _, n := range counts {
		msgs += n
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	for range b.N { // what is measured is the file, once
	}
	_, after, err := store.Compact(path)
	if err != nil {
		b.Fatal(err)
	}
	db, err = store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cst, err := db.FileStats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.FileBytes)/1e6, "file-MB")
	b.ReportMetric(float64(st.FileBytes)/float64(max(msgs, 1)), "file-B/msg")
	b.ReportMetric(100*st.Fill(), "fill-%")
	b.ReportMetric(float64(after)/float64(max(msgs, 1)), "compacted-B/msg")
	b.ReportMetric(float64(after)/float64(max(cst.Used, 1)), "compacted-file/data")
}

// benchReportMatching measures matching one status report against the
// parts waiting for theirs: a fresh box (a few hundred in the window), and
// 20,000 parts whose reports never came still in the index (a box before
// the sweep), matched as now (the time checked on the index entry) and as
// before (every candidate decoded, then its time checked).
func benchReportMatching(b *testing.B, end time.Time) {
	stale := yeartest.Year{End: end, Texts: 20_000, NoReport: 1, Contacts: 1000, Modems: []string{"sim1"}}
	fresh := yeartest.FirstWeek(end)
	fresh.Modems = []string{"sim1"}
	dir := b.TempDir()
	paths := map[string]string{"fresh": filepath.Join(dir, "fresh.db"), "stale20k": filepath.Join(dir, "stale.db")}
	yeartest.BuildYear(b, paths["fresh"], fresh)
	yeartest.BuildYear(b, paths["stale20k"], stale)
	window := 72 * time.Hour
	for _, c := range []struct {
		name   string
		file   string
		decode bool // the matching before: decode every candidate
	}{
		{"fresh", "fresh", false},
		{"stale20k", "stale20k", false},
		{"stale20k-decode-all", "stale20k", true},
		{"stale20k-swept", "stale20k", false},
	} {
		b.Run("report-match/"+c.name, func(b *testing.B) {
			db, err := store.Open(copyAged(b, paths[c.file]))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			now := time.Now()
			if strings.HasSuffix(c.name, "-swept") {
				// What the running box's sweep does every 10 minutes.
				for {
					_, walked, err := db.ExpireReports(now.Add(-window), "no status report within 72 h", 500)
					if err != nil {
						b.Fatal(err)
					}
					if walked < 500 {
						break
					}
				}
			}
			since := now.Add(-window)
			if c.decode {
				since = time.Time{}
			}
			decoded := 0
			b.ResetTimer()
			for i := range b.N {
				_, _, _, err := db.FindReport("sim1", i%256, since, func(m store.Message, seq int, sentAt time.Time) bool {
					decoded++
					return now.Sub(sentAt) <= window && m.To == "+19999999999"
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(decoded)/float64(b.N), "decoded/report")
		})
	}
}

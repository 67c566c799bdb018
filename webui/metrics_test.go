package webui

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem/sim"
)

// TestMetricsFollowEvents scrapes GET /metrics through the real handler of
// a gateway with two simulated modems, checks the text strictly
// (parseExposition), and sees each figure move with a real event: a text
// delivered, a text whose report says failed, a request to a route with a
// path parameter, a websocket client.
func TestMetricsFollowEvents(t *testing.T) {
	t.Parallel()
	l := newLiveRig(t)
	const undeliverable = "+12015550199"
	l.net.SetOutcome(undeliverable, sim.OutcomeFailed)

	if w := l.serve(httptest.NewRequest("GET", "/metrics", nil)); w.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", w.Code)
	}
	if w := httptest.NewRecorder(); true {
		Public(l.h).ServeHTTP(w, l.req("GET", "/metrics", ""))
		if w.Code != http.StatusNotFound {
			t.Fatalf("public listener: %d, want 404", w.Code)
		}
	}
	before := l.scrape()
	for _, series := range []string{`simgate_modem_up{modem="sim1"}`, `simgate_modem_up{modem="sim2"}`,
		`simgate_modem_state{modem="sim1",state="up"}`, `simgate_modem_registered{modem="sim1",registration="home"}`} {
		if before[series] != 1 {
			t.Errorf("%s = %v, want 1", series, before[series])
		}
	}
	if v := before[`simgate_modem_signal_dbm{modem="sim1"}`]; v >= 0 {
		t.Errorf("signal %v dBm, want a reading below 0", v)
	}
	for _, series := range []string{`simgate_messages{status="delivered"}`, `simgate_delivery_latency_seconds_count`,
		`simgate_webhook_backlog`, `simgate_websocket_clients`} {
		if v, ok := before[series]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want 0 before any text", series, v, ok)
		}
	}
	if before["simgate_store_bytes"] <= 0 {
		t.Errorf("store size %v", before["simgate_store_bytes"])
	}

	ok := l.submit(`{"to":"`+liveCustomer+`","text":"Your order is ready"}`, http.StatusAccepted)
	bad := l.submit(`{"to":"`+undeliverable+`","text":"Your order is ready"}`, http.StatusAccepted)
	l.waitFor("both texts settled", func() bool {
		a, _ := l.gw.Message(ok.ID)
		b, _ := l.gw.Message(bad.ID)
		return a.Status == gateway.StatusDelivered && b.Status == gateway.StatusFailed
	})
	if w := l.do("GET", fmt.Sprintf("/api/v1/messages/%d", ok.ID), ""); w.Code != http.StatusOK {
		t.Fatalf("get message: %d", w.Code)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(l.srv.URL, "http")+"/api/v1/stream",
		http.Header{"Authorization": {"Bearer " + l.token}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readFrame(t, conn) // the snapshot: the stream is being served

	after := l.scrape()
	sum := func(m map[string]float64, prefix string) float64 {
		total := 0.0
		for k, v := range m {
			if strings.HasPrefix(k, prefix) {
				total += v
			}
		}
		return total
	}
	if got := sum(after, "simgate_parts_sent_total{") - sum(before, "simgate_parts_sent_total{"); got != 2 {
		t.Errorf("parts sent moved by %v, want 2", got)
	}
	if got := sum(after, "simgate_parts_failed_total{"); got != 1 {
		t.Errorf("parts failed %v, want 1 (the undelivered report)", got)
	}
	if got := after[`simgate_parts_sent_total{modem="sim1",class="transactional"}`] +
		after[`simgate_parts_sent_total{modem="sim2",class="transactional"}`]; got != 2 {
		t.Errorf("transactional parts sent by sim1 and sim2: %v, want 2", got)
	}
	if after[`simgate_messages{status="delivered"}`] != 1 || after[`simgate_messages{status="failed"}`] != 1 {
		t.Errorf("messages by status: delivered %v, failed %v", after[`simgate_messages{status="delivered"}`], after[`simgate_messages{status="failed"}`])
	}
	if after["simgate_delivery_latency_seconds_count"] != 1 {
		t.Errorf("delivery latency observations %v, want 1 (the failed text is not a delivery)", after["simgate_delivery_latency_seconds_count"])
	}
	if after[`simgate_http_request_duration_seconds_count{route="POST /api/v1/messages"}`] != 2 {
		t.Errorf("submit requests timed %v, want 2", after[`simgate_http_request_duration_seconds_count{route="POST /api/v1/messages"}`])
	}
	if after[`simgate_http_request_duration_seconds_count{route="GET /api/v1/messages/{id}"}`] != 1 {
		t.Error("the message read is not timed under its route pattern")
	}
	for k := range after {
		if strings.Contains(k, fmt.Sprintf("/api/v1/messages/%d", ok.ID)) {
			t.Errorf("a raw path became a label: %s", k)
		}
	}
	if after["simgate_websocket_clients"] != 1 {
		t.Errorf("websocket clients %v, want 1", after["simgate_websocket_clients"])
	}
}

// scrape reads /metrics with the rig's token and parses it strictly.
func (r *rig) scrape() map[string]float64 {
	r.t.Helper()
	w := r.do("GET", "/metrics", "")
	if w.Code != http.StatusOK {
		r.t.Fatalf("GET /metrics: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		r.t.Fatalf("Content-Type %q", ct)
	}
	series, err := parseExposition(w.Body.String())
	if err != nil {
		r.t.Fatalf("%v\n%s", err, w.Body)
	}
	return series
}

// sampleLine is one sample of the text format: a metric name, optional
// labels, one space and a value (no timestamps: simgate writes none).
var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$`)
	metaLine   = regexp.MustCompile(`^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$`)
	// The format lets a space follow the comma between labels (the Go
	// runtime's go_info has them).
	labelPair = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(, ?|$)`)
)

// parseExposition checks text against Prometheus' text format (0.0.4) and
// returns each series, written as it appears, with its value. Strict: a
// line of no known shape, a bad label or value, a TYPE after its samples
// or twice, a family split in two, a series twice, or a histogram whose
// buckets do not grow up to its count are errors.
func parseExposition(text string) (map[string]float64, error) {
	series := map[string]float64{}
	typed := map[string]string{}
	seenFamily := map[string]bool{}
	current := ""
	family := func(name string) string {
		if typ := typed[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")]; typ == "histogram" || typ == "summary" {
			return strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		}
		return name
	}
	enter := func(fam string, n int) error {
		if fam == current {
			return nil
		}
		if seenFamily[fam] {
			return fmt.Errorf("line %d: family %s appears in two places", n, fam)
		}
		seenFamily[fam], current = true, fam
		return nil
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := metaLine.FindStringSubmatch(line); m != nil {
			if m[1] == "TYPE" {
				switch m[3] {
				case "counter", "gauge", "histogram", "summary", "untyped":
				default:
					return nil, fmt.Errorf("line %d: unknown type %q", n, m[3])
				}
				if _, dup := typed[m[2]]; dup || seenFamily[m[2]] && current != m[2] {
					return nil, fmt.Errorf("line %d: TYPE of %s twice or after its samples", n, m[2])
				}
				if seenFamily[m[2]] {
					return nil, fmt.Errorf("line %d: TYPE of %s after its samples", n, m[2])
				}
				typed[m[2]] = m[3]
			}
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: not a sample: %q", n, line)
		}
		if rest := strings.TrimSuffix(strings.TrimPrefix(m[2], "{"), "}"); rest != "" {
			for rest != "" {
				p := labelPair.FindStringSubmatch(rest)
				if p == nil {
					return nil, fmt.Errorf("line %d: bad labels %q", n, m[2])
				}
				rest = rest[len(p[0]):]
			}
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil && m[3] != "+Inf" && m[3] != "-Inf" && m[3] != "NaN" {
			return nil, fmt.Errorf("line %d: value %q", n, m[3])
		}
		if err := enter(family(m[1]), n); err != nil {
			return nil, err
		}
		key := m[1] + m[2]
		if _, dup := series[key]; dup {
			return nil, fmt.Errorf("line %d: series %s twice", n, key)
		}
		series[key] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return series, checkHistograms(series, typed)
}

// checkHistograms checks that each histogram's buckets never shrink as le
// grows and that its +Inf bucket is its count.
func checkHistograms(series map[string]float64, typed map[string]string) error {
	type bucket struct{ le, n float64 }
	buckets := map[string][]bucket{}
	leLabel := regexp.MustCompile(`(^|,)le="([^"]*)"`)
	for key, v := range series {
		name, lbls, _ := strings.Cut(key, "{")
		fam, ok := strings.CutSuffix(name, "_bucket")
		if !ok || typed[fam] != "histogram" {
			continue
		}
		m := leLabel.FindStringSubmatch(lbls)
		if m == nil {
			return fmt.Errorf("%s: a bucket without le", key)
		}
		le := math.Inf(1)
		if m[2] != "+Inf" {
			var err error
			if le, err = strconv.ParseFloat(m[2], 64); err != nil {
				return fmt.Errorf("%s: le %q", key, m[2])
			}
		}
		rest := strings.TrimSuffix(leLabel.ReplaceAllString(lbls, ""), "}")
		rest = strings.TrimPrefix(rest, ",")
		id := fam + "{" + rest + "}"
		buckets[id] = append(buckets[id], bucket{le, v})
	}
	for id, bs := range buckets {
		for i := range bs {
			for j := range bs {
				if bs[i].le < bs[j].le && bs[i].n > bs[j].n {
					return fmt.Errorf("%s: bucket le=%v holds %v, more than le=%v's %v", id, bs[i].le, bs[i].n, bs[j].le, bs[j].n)
				}
			}
		}
		fam, lbls, _ := strings.Cut(id, "{")
		count := fam + "_count"
		if lbls != "}" {
			count += "{" + lbls
		}
		inf := -1.0
		for _, b := range bs {
			if math.IsInf(b.le, 1) {
				inf = b.n
			}
		}
		if c, ok := series[count]; !ok || c != inf {
			return fmt.Errorf("%s: +Inf bucket %v, count %v (present %v)", id, inf, c, ok)
		}
	}
	return nil
}

// TestParseExpositionRefuses: the checker above fails on what a scraper
// would refuse, so a pass means something.
func TestParseExpositionRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"no value":        "a_total\n",
		"bad label":       "a_total{modem=sim1} 1\n",
		"raw quote":       `a{m="x"y"} 1` + "\n",
		"split family":    "a 1\nb 1\na{x=\"1\"} 2\n",
		"type late":       "a 1\n# TYPE a gauge\n",
		"series twice":    "a 1\na 2\n",
		"bad value":       "a one\n",
		"shrinking":       "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
		"count not +Inf":  "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
		"unknown type":    "# TYPE a thing\na 1\n",
		"timestamp, junk": "a 1 2 3\n",
	} {
		if _, err := parseExposition(text); err == nil {
			t.Errorf("%s: accepted %q", name, text)
		}
	}
	good := "# HELP a x\n# TYPE a gauge\na{m=\"q\\\"\\\\\"} 1\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
	if _, err := parseExposition(good); err != nil {
		t.Errorf("refused a good exposition: %v", err)
	}
}

// TestMetricsLabelsEscaped: a modem name with a quote or a backslash (the
// owner's config) still makes a valid series.
func TestMetricsLabelsEscaped(t *testing.T) {
	got := labels("modem", `back\slash "quoted"`+"\nline")
	want := `modem="back\\slash \"quoted\"\nline"`
	if got != want {
		t.Fatalf("labels: %s, want %s", got, want)
	}
	if _, err := parseExposition("a{" + got + "} 1\n"); err != nil {
		t.Fatal(err)
	}
}

package webui

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/simgate/simgate/gateway"
)

// GET /metrics: the box's figures in Prometheus' text format, for any API
// token (docs/operations.md, "Monitoring"). It sits on the console's
// listener only: webui.Public does not let it through to the public one.
//
// The library is VictoriaMetrics/metrics rather than prometheus/client_golang:
// it writes the same text format, has two small dependencies instead of
// client_golang's protobuf and its tree, and is maintained. Figures the
// gateway already keeps (modems, the store's counters, the webhook backlog)
// are read at each scrape and written as gauges; what only happens as an
// event (a part sent, a delivery report, a request served) is counted here
// as it happens, through gateway.Meter and the request path.

// Bucket bounds, in seconds. Delivery: a report usually comes within
// seconds, a busy SMSC's within minutes, a phone that was off's within
// hours. HTTP: a submit is about a millisecond, an fsync a few.
var (
	deliveryBuckets = []float64{1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600}
	requestBuckets  = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// metadataOnce turns on the library's # HELP and # TYPE lines. The switch
// is the library's, process-wide; simgate has no other user of it.
var metadataOnce sync.Once

// serverMetrics is what /metrics counts as it happens. It is the
// gateway's Meter.
type serverMetrics struct {
	set      *metrics.Set
	delivery *metrics.PrometheusHistogram
	streams  atomic.Int64 // live websocket clients
	routes   sync.Map     // route pattern → its *metrics.PrometheusHistogram, so a request builds no name
}

func newServerMetrics() *serverMetrics {
	metadataOnce.Do(func() { metrics.ExposeMetadata(true) })
	set := metrics.NewSet()
	return &serverMetrics{set: set,
		delivery: set.NewPrometheusHistogramExt("simgate_delivery_latency_seconds", deliveryBuckets)}
}

// PartSent counts a part the network accepted.
func (m *serverMetrics) PartSent(modem, class string) {
	m.set.GetOrCreateCounter("simgate_parts_sent_total{" + labels("modem", modem, "class", class) + "}").Inc()
}

// PartFailed counts a part refused, given up or reported undelivered.
func (m *serverMetrics) PartFailed(modem, class string) {
	m.set.GetOrCreateCounter("simgate_parts_failed_total{" + labels("modem", modem, "class", class) + "}").Inc()
}

// Delivered observes one message's time from submit to its delivery
// report. One histogram for all SIMs and classes: labels would multiply
// its 15 series by both.
func (m *serverMetrics) Delivered(_, _ string, latency time.Duration) {
	m.delivery.Update(latency.Seconds())
}

// observeRequest records how long a request to route took. route is the
// mux pattern ("GET /api/v1/messages/{id}"), never the path, so the label
// set is the routes'; requests that matched none share "unmatched". The
// live stream is left out: it lasts as long as the browser stays.
func (m *serverMetrics) observeRequest(route string, took time.Duration) {
	if route == streamRoute {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	h, ok := m.routes.Load(route)
	if !ok {
		h, _ = m.routes.LoadOrStore(route,
			m.set.GetOrCreatePrometheusHistogramExt("simgate_http_request_duration_seconds{"+labels("route", route)+"}", requestBuckets))
	}
	h.(*metrics.PrometheusHistogram).Update(took.Seconds())
}

// metricsPage answers GET /metrics. The gauges are read first, so a store
// that cannot answer fails the scrape (500) rather than leaving series out.
func (s *server) metricsPage(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if err := s.writeGauges(&buf); err != nil {
		return err
	}
	s.metrics.set.WritePrometheus(&buf)
	// The process's CPU, memory and file descriptors. Not the library's Go
	// runtime figures: its runtime histograms have buckets but no _sum or
	// _count, which a strict reader refuses.
	metrics.WriteProcMetrics(&buf)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, err := w.Write(buf.Bytes())
	return err
}

// writeGauges writes what the gateway knows now: each modem's state,
// signal, registration and budget, the messages by status (the store's
// counters), the webhook backlog, the file's size and the live websocket
// clients.
func (s *server) writeGauges(w io.Writer) error {
	modems := s.gw.Modems()
	slices.SortFunc(modems, func(a, b gateway.ModemStatus) int { return strings.Compare(a.Name, b.Name) })

	gauge(w, "simgate_modem_up", "1 while the modem is registered and taking work (state up), else 0.")
	for _, m := range modems {
		fmt.Fprintf(w, "simgate_modem_up{%s} %d\n", labels("modem", m.Name), b2i(m.State == gateway.StateUp))
	}
	gauge(w, "simgate_modem_state", "1 for the modem's current state (starting, up, degraded, down).")
	for _, m := range modems {
		for _, st := range []string{gateway.StateStarting, gateway.StateUp, gateway.StateDegraded, gateway.StateDown} {
			fmt.Fprintf(w, "simgate_modem_state{%s} %d\n", labels("modem", m.Name, "state", st), b2i(m.State == st))
		}
	}
	gauge(w, "simgate_modem_paused", "1 while a person has taken the SIM out of sending.")
	for _, m := range modems {
		fmt.Fprintf(w, "simgate_modem_paused{%s} %d\n", labels("modem", m.Name), b2i(m.Paused))
	}
	gauge(w, "simgate_modem_signal_dbm", "Signal strength at the last health reading, in dBm; 0 when unknown.")
	for _, m := range modems {
		fmt.Fprintf(w, "simgate_modem_signal_dbm{%s} %d\n", labels("modem", m.Name), m.Health.SignalDBm)
	}
	gauge(w, "simgate_modem_registered", "1 when the modem is registered on a network (home or roaming).")
	for _, m := range modems {
		reg := m.Health.Registration
		if reg == "" {
			reg = "unknown"
		}
		fmt.Fprintf(w, "simgate_modem_registered{%s} %d\n", labels("modem", m.Name, "registration", reg),
			b2i(reg == "home" || reg == "roaming"))
	}
	gauge(w, "simgate_sim_budget_remaining_parts", "Parts the SIM may still send today under its daily limit (only SIMs with one).")
	for _, m := range modems {
		if m.Budget != nil && m.Budget.RemainingToday >= 0 {
			fmt.Fprintf(w, "simgate_sim_budget_remaining_parts{%s} %d\n", labels("modem", m.Name), m.Budget.RemainingToday)
		}
	}
	gauge(w, "simgate_sim_budget_exhausted", "1 while one of the SIM's limits stops it sending.")
	for _, m := range modems {
		fmt.Fprintf(w, "simgate_sim_budget_exhausted{%s} %d\n", labels("modem", m.Name), b2i(m.Budget != nil && m.Budget.Exhausted != ""))
	}

	counts, err := s.gw.StatusCounts()
	if err != nil {
		return err
	}
	gauge(w, "simgate_messages", "Outbound messages by status (queued is the queue's depth), from the store's counters.")
	for _, st := range allStatuses {
		fmt.Fprintf(w, "simgate_messages{%s} %d\n", labels("status", string(st)), counts[st])
	}
	backlog, err := s.gw.Webhooks().Backlog()
	if err != nil {
		return err
	}
	gauge(w, "simgate_webhook_backlog", "Webhook deliveries waiting to be sent or retried.")
	fmt.Fprintf(w, "simgate_webhook_backlog %d\n", backlog)
	size, free := s.gw.StoreSize()
	gauge(w, "simgate_store_bytes", "Size of the database file.")
	fmt.Fprintf(w, "simgate_store_bytes %d\n", size)
	gauge(w, "simgate_store_free_bytes", "Bytes of free pages in the database file, reused before it grows.")
	fmt.Fprintf(w, "simgate_store_free_bytes %d\n", free)
	gauge(w, "simgate_websocket_clients", "Browsers and clients on the live stream now.")
	fmt.Fprintf(w, "simgate_websocket_clients %d\n", s.metrics.streams.Load())
	return nil
}

// allStatuses is every message status, in the order the API lists them.
var allStatuses = []gateway.Status{gateway.StatusQueued, gateway.StatusSending, gateway.StatusSent, gateway.StatusDelivered,
	gateway.StatusFailed, gateway.StatusUnknown, gateway.StatusSuppressed, gateway.StatusExpired}

// gauge writes the HELP and TYPE lines of a gauge family.
func gauge(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
}

// labels writes name="value" pairs, the values escaped as the text format
// asks (backslash, double quote, line feed): modem names come from the
// owner's config.
func labels(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(pairs[i+1]))
		b.WriteByte('"')
	}
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

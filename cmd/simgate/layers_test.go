package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is simgate's module path; the layering rules name packages by it.
const module = "github.com/simgate/simgate"

// A layerRule forbids some packages of the module to use others. Patterns
// are import paths as go list takes them: "p" is package p alone, "p/..."
// is p and every package below it.
type layerRule struct {
	from   string   // the packages bound by the rule
	unless []string // packages matched by from that the rule does not bind
	not    []string // what the bound packages must not use
	allow  []string // packages matched by not that they may use after all
	// direct limits the rule to the bound packages' own imports: what they
	// reach through the layer below them is that layer's business.
	// Otherwise every package they depend on, however indirectly, counts.
	direct bool
	why    string
}

// layerRules keep dependencies pointing one way: cmd → webui → gateway →
// {store, modem}. Only test-free builds are checked: tests may cross
// layers (gateway's tests drive the simulator).
var layerRules = []layerRule{
	{
		from: module + "/store/...", not: []string{module + "/..."}, allow: []string{module + "/store/..."},
		why: "store is a leaf: it keeps records in bbolt and knows nothing of modems, the gateway or the web",
	},
	{
		from: module + "/store/...",
		not:  []string{"net/http/...", "github.com/gorilla/websocket/...", "go.bug.st/serial/...", "github.com/warthog618/..."},
		why:  "store is a leaf: no HTTP, no serial ports, no AT or PDUs",
	},
	{
		from: module + "/modem/...", not: []string{module + "/...", "go.etcd.io/bbolt/..."}, allow: []string{module + "/modem/..."},
		why: "modem (the driver and its simulator) is a leaf: it speaks AT and knows nothing of the queue, the database or the web",
	},
	{
		from: module + "/modem/...", unless: []string{module + "/modem/sim"}, not: []string{"net/http/..."},
		why: "the driver talks to serial ports only; HTTP under modem/ is the simulator's control API",
	},
	{
		from: module + "/gateway/...", not: []string{module + "/webui/...", module + "/cmd/..."},
		why: "the core does not know what drives it: webui and cmd call the gateway, never the reverse",
	},
	{
		from: module + "/gateway/...", unless: []string{module + "/gateway/httpout"}, not: []string{"net/http/...", "github.com/gorilla/websocket/..."},
		why: "the core serves no HTTP: webui translates between HTTP and gateway calls; the one outgoing client (webhooks, callbacks) is httpout, a leaf cmd hands in",
	},
	{
		from: module + "/gateway/...", unless: []string{module + "/gateway"}, not: []string{module + "/gateway"},
		why: "a part of the gateway declares the interface it needs and gateway.New wires it in; a part that uses the facade turns that around",
	},
	{
		from: module + "/gateway/live", not: []string{module + "/..."},
		why: "live is the hub every part publishes through: it carries events and knows no records",
	},
	{
		from: module + "/gateway/compliance", direct: true, not: []string{module + "/...", "os", "io", "io/fs", "net/...", "log", "log/slog"}, allow: []string{module + "/store"},
		why: "compliance is pure policy: it judges the records it is handed and does no I/O, so the judge is tested as a function",
	},
	{
		from: module + "/gateway/view", direct: true, not: []string{module + "/...", "os", "io", "io/fs", "net/...", "log", "log/slog"},
		allow: []string{module + "/store", module + "/modem", module + "/gateway/outbox", module + "/gateway/consent",
			module + "/gateway/contacts", module + "/gateway/compliance", module + "/gateway/live", module + "/gateway/flows",
			module + "/gateway/shopevents", module + "/gateway/simlimits"},
		why: "view is shapes and their conversions, no I/O: it reads the records and the parts' result types it converts, and calls no part",
	},
	{
		from: module + "/gateway/...", unless: []string{module + "/gateway", module + "/gateway/view", module + "/gateway/notifier"}, not: []string{module + "/gateway/view"},
		why: "the parts work on records; only the facade (and its notifier, for the live events) turns them into views where they leave the gateway",
	},
	{
		from: module + "/gateway/backups", direct: true, not: []string{module + "/..."},
		why: "nightly backups reach the store through one interface (Snapshotter), so they work on anything that can write a snapshot",
	},
	{
		from: module + "/gateway/access", direct: true, not: []string{module + "/gateway/..."},
		why: "users, sessions and tokens need only the store",
	},
	{
		from: module + "/gateway/contacts", direct: true, not: []string{module + "/gateway/consent", module + "/gateway/outbox", module + "/gateway/access"},
		why: "contacts sits below consent and the outbox, which read numbers through it",
	},
	{
		from: module + "/gateway/consent", direct: true, not: []string{module + "/gateway/outbox", module + "/gateway/access"},
		why: "consent and the outbox meet only through the interfaces New wires (consent.Outbox, outbox.InboundHandler), so neither reaches into the other",
	},
	{
		from: module + "/gateway/outbox", direct: true, not: []string{module + "/gateway/consent", module + "/gateway/access"},
		why: "consent and the outbox meet only through the interfaces New wires (consent.Outbox, outbox.InboundHandler), so neither reaches into the other",
	},
	{
		from: module + "/gateway/shopevents", direct: true, not: []string{module + "/gateway/consent", module + "/gateway/outbox", module + "/gateway/access"},
		why: "shop events reach the consent ledger only through the ConsentRecorder New wires, and send no text: texts go through the outbox from the flows",
	},
	{
		from: module + "/gateway/compat", direct: true, not: []string{module + "/..."},
		why: "the compatible APIs' formats are pure functions of strings and numbers, so the HTTP routes and the callback senders share them without pulling in the store or the outbox",
	},
	{
		from: module + "/gateway/webhooks", direct: true,
		not: []string{module + "/gateway/outbox", module + "/gateway/consent", module + "/gateway/contacts", module + "/gateway/access", module + "/gateway/shopevents", module + "/gateway/httpout"},
		why: "webhooks only tells: it reads the change feed and sends no text, and its HTTP client comes from cmd through the Sender interface",
	},
	{
		from: module + "/gateway/httpout", not: []string{module + "/..."},
		why: "httpout is a leaf HTTP client with the rule about private addresses: it knows no records and no part",
	},
	{
		from: module + "/gateway/msgtemplate", direct: true, not: []string{module + "/...", "os", "io/fs", "net/...", "log/slog"},
		allow: []string{module + "/store", module + "/modem", module + "/gateway/compliance"},
		why:   "templates are pure text work: they render the values they are handed, count parts with modem and take the R-ID rules from compliance; the facade reads the contacts for them",
	},
	{
		from: module + "/gateway/links", direct: true, not: []string{module + "/gateway/..."}, allow: []string{module + "/gateway/msgtemplate"},
		why: "short links need the store and the marks msgtemplate leaves on the URLs it prints; they send nothing, so no outbox",
	},
	{
		from: module + "/gateway/flows", direct: true,
		not:   []string{module + "/gateway/..."},
		allow: []string{module + "/gateway/outbox", module + "/gateway/compliance"},
		why: "flows sends only through the outbox (its request type) and asks the compliance judge for a test's forecast; " +
			"templates, links and the consent ledger reach it through the interfaces gateway.New wires",
	},
	{
		from: module + "/gateway/segments", direct: true,
		not:   []string{module + "/gateway/..."},
		allow: []string{module + "/gateway/contacts", module + "/gateway/compliance"},
		why: "segments read contacts, consent and activity through the store and send nothing: contacts reads pasted numbers, " +
			"compliance names a number's zones; campaigns import segments for their audiences, never the reverse",
	},
	{
		from: module + "/gateway/attribution", direct: true, not: []string{module + "/gateway/..."},
		why: "attribution only counts: it reads the event log, the consent ledger and the clicks through the store and sends no text, so no outbox",
	},
	{
		from: module + "/gateway/campaigns", direct: true,
		not: []string{module + "/gateway/..."},
		allow: []string{module + "/gateway/outbox", module + "/gateway/compliance", module + "/gateway/msgtemplate", module + "/gateway/simlimits",
			module + "/gateway/segments", module + "/gateway/attribution", module + "/gateway/links"},
		why: "campaigns send only through the outbox (its request type), read the guard's zones and windows from compliance, render with msgtemplate " +
			"and estimate the finish from the SIMs' limits (simlimits); the room's adapters (adapters.go) read segments, attribution and links " +
			"in the campaigns' terms, and gateway.New wires them in as the interfaces the room declares; consent, contacts and the other rooms stay out",
	},
	{
		from: module + "/gateway/simlimits", direct: true, not: []string{module + "/..."}, allow: []string{module + "/store"},
		why: "a SIM's limits are arithmetic over its usage: the outbox routes with them and stores the usage itself",
	},
	{
		from: module + "/gateway/notifier", direct: true, not: []string{module + "/gateway/..."},
		allow: []string{module + "/gateway/view", module + "/gateway/live", module + "/gateway/outbox", module + "/gateway/contacts",
			module + "/gateway/flows", module + "/gateway/alerting", module + "/gateway/attribution"},
		why: "the notifier turns the parts' reports into views on the live hub and hands them to the rooms that act on them (flows, alerting, attribution); " +
			"it reads the report types of the parts that report (outbox, contacts) and calls no other part",
	},
	{
		from: module + "/gateway/msgstate", direct: true, not: []string{module + "/...", "os", "io", "io/fs", "net/...", "log", "log/slog"}, allow: []string{module + "/store"},
		why: "a message's state arithmetic works on the record it is handed: no store access, no I/O, no part, so the outbox's paths and the tests move a message the same way",
	},
	{
		from: module + "/gateway/intake", direct: true, not: []string{module + "/gateway/..."},
		allow: []string{module + "/gateway/contacts", module + "/gateway/compliance"},
		why:   "checking a request to send needs the number rules (contacts) and the brand rule (compliance); it stores nothing, sends nothing and judges no consent",
	},
	{
		from: module + "/gateway/templates", direct: true, not: []string{module + "/gateway/..."},
		allow: []string{module + "/gateway/msgtemplate", module + "/gateway/links", module + "/gateway/contacts", module + "/gateway/outbox", module + "/gateway/compliance"},
		why: "the saved templates render with msgtemplate, shorten with links, read numbers with contacts and send only through the outbox (its request type); " +
			"the other rooms are none of their business",
	},
	{
		from: module + "/gateway/callbacks", direct: true, not: []string{module + "/gateway/..."},
		allow: []string{module + "/gateway/compat", module + "/gateway/webhooks"},
		why:   "the compatible APIs' callbacks are formatters for the webhooks' delivery outbox built from compat's pure functions; the accounts that sign them come through an interface",
	},
	{
		from: module + "/gateway/datafile", direct: true, not: []string{module + "/gateway/..."},
		why: "the data file's usage is read from the store alone",
	},
	{
		from: module + "/webui/...", direct: true,
		not: []string{module + "/gateway/view", module + "/gateway/live", module + "/gateway/outbox", module + "/gateway/consent",
			module + "/gateway/links", module + "/gateway/msgtemplate", module + "/gateway/callbacks",
			module + "/gateway/notifier", module + "/gateway/msgstate"},
		why: "webui reaches the core through the facade and the rooms whose faces its accessors return (gw.Flows(), gw.Contacts(), ...), " +
			"importing a room for its own types; the machinery behind them works on records and is the facade's to wire",
	},
	{
		from: module + "/gateway/alerting", direct: true, not: []string{module + "/gateway/..."}, allow: []string{module + "/gateway/outbox"},
		why: "the owner's alerts send only through the outbox (its request type); the fleet, the USSD and the live alerts reach them through the interfaces gateway.New wires",
	},
	{
		from: module + "/webui/...", direct: true,
		not: []string{module + "/store/...", module + "/modem/...", "go.etcd.io/bbolt/...", "go.bug.st/serial/...", "github.com/warthog618/..."},
		why: "webui sees only gateway's types: the gateway decides what of the store and the modems the web may touch",
	},
	{
		from: module + "/...", direct: true, unless: []string{module + "/store/..."}, not: []string{"go.etcd.io/bbolt/..."},
		why: "the file format is store's alone: everything else opens the database through store",
	},
	{
		from: module + "/...", direct: true, unless: []string{module + "/modem/...", module + "/cmd/..."},
		not: []string{"go.bug.st/serial/...", "github.com/warthog618/..."},
		why: "serial lines, AT and PDUs are modem's (and cmd's port probe's); the rest asks modem",
	},
	{
		from: module + "/...", unless: []string{module + "/modem/sim", module + "/cmd/..."}, not: []string{module + "/modem/sim"},
		why: "the simulator serves tests, the demo and `simgate modemsim`; the product never drives it",
	},
	{
		from: module + "/...", direct: true, unless: []string{module + "/webui"}, not: []string{"github.com/VictoriaMetrics/metrics/..."},
		why: "GET /metrics is HTTP, served by webui (metrics.go) from what the gateway's accessors and its Meter tell; no other package writes figures",
	},
	{
		from: module + "/...", not: []string{module + "/cmd/..."},
		why: "cmd is the wiring at the top: nothing depends on it",
	},
}

// String names the packages r binds.
func (r layerRule) String() string {
	if len(r.unless) == 0 {
		return r.from
	}
	return r.from + " except " + strings.Join(r.unless, ", ")
}

// TestLayers checks layerRules against the module's packages as go list
// sees them.
func TestLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Deps,DepOnly", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	graph, err := parseGoList(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkLayers(graph, layerRules) {
		t.Error(p)
	}
}

// listedPackage is what the layering rules need of one package go list
// reports: its direct imports and all it depends on. DepOnly marks a
// package listed only as a dependency, not one of the module's own.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	DepOnly    bool
}

// parseGoList reads the stream of JSON objects `go list -json` prints.
func parseGoList(out []byte) ([]listedPackage, error) {
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// checkLayers returns every breach of rules in graph, and every rule that
// binds no package or names an in-module package that does not exist.
func checkLayers(graph []listedPackage, rules []layerRule) (problems []string) {
	byPath := map[string]listedPackage{}
	for _, p := range graph {
		byPath[p.ImportPath] = p
	}
	for _, r := range rules {
		bound := 0
		for _, p := range graph {
			if p.DepOnly || !matchPattern(r.from, p.ImportPath) || matchAny(r.unless, p.ImportPath) {
				continue
			}
			bound++
			used := p.Deps
			if r.direct {
				used = p.Imports
			}
			for _, dep := range used {
				if !r.forbids(dep) {
					continue
				}
				chain := importChain(byPath, p.ImportPath, dep)
				if len(chain) > 2 && slices.ContainsFunc(chain[1:len(chain)-1], r.forbids) {
					continue // reached through a forbidden package, reported itself
				}
				problems = append(problems, breach(p.ImportPath, dep, chain, r))
			}
		}
		if bound == 0 {
			problems = append(problems, fmt.Sprintf("rule for %s binds no package: was it renamed? (%s)", r, r.why))
		}
		for _, target := range r.not {
			if strings.HasPrefix(target, module) && !slices.ContainsFunc(graph, func(p listedPackage) bool { return matchPattern(target, p.ImportPath) }) {
				problems = append(problems, fmt.Sprintf("rule for %s forbids %s, which matches no package: was it renamed?", r, target))
			}
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

// forbids reports whether r forbids its packages to use path.
func (r layerRule) forbids(path string) bool {
	return matchAny(r.not, path) && !matchAny(r.allow, path)
}

// breach describes pkg's use of dep against r, with the chain of imports
// that leads there when it is indirect.
func breach(pkg, dep string, chain []string, r layerRule) string {
	if len(chain) <= 2 {
		return fmt.Sprintf("%s imports %s: %s", pkg, dep, r.why)
	}
	return fmt.Sprintf("%s depends on %s through %s: %s", pkg, dep, strings.Join(chain, " → "), r.why)
}

// importChain finds a shortest chain of imports from one package to
// another; nil if there is none in byPath.
func importChain(byPath map[string]listedPackage, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for at := to; at != ""; at = prev[at] {
				chain = append(chain, at)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, next := range byPath[cur].Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return nil
}

// matchesAny reports whether import path path matches pattern: the path
// itself, or with a "/..." suffix the path or any below it.
func matchPattern(pattern, path string) bool {
	if prefix, below := strings.CutSuffix(pattern, "/..."); below {
		return path == prefix || strings.HasPrefix(path, prefix+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(pattern string) bool { return matchPattern(pattern, path) })
}

// syntheticGraph builds what go list would report for a module whose
// packages import as given; the module's packages are those under module,
// the rest are dependencies only.
func syntheticGraph(imports map[string][]string) []listedPackage {
	var deps func(path string, seen map[string]bool)
	deps = func(path string, seen map[string]bool) {
		for _, imp := range imports[path] {
			if !seen[imp] {
				seen[imp] = true
				deps(imp, seen)
			}
		}
	}
	paths := map[string]bool{}
	for path, imps := range imports {
		paths[path] = true
		for _, imp := range imps {
			paths[imp] = true
		}
	}
	var graph []listedPackage
	for path := range paths {
		seen := map[string]bool{}
		deps(path, seen)
		p := listedPackage{ImportPath: path, Imports: imports[path], DepOnly: !strings.HasPrefix(path, module+"/")}
		for dep := range seen {
			p.Deps = append(p.Deps, dep)
		}
		slices.Sort(p.Deps)
		graph = append(graph, p)
	}
	slices.SortFunc(graph, func(a, b listedPackage) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return graph
}

func TestCheckLayersSynthetic(t *testing.T) {
	const (
		store   = module + "/store"
		codec   = module + "/store/codec"
		gateway = module + "/gateway"
		part    = module + "/gateway/part"
		webui   = module + "/webui"
		modem   = module + "/modem"
		sim     = module + "/modem/sim"
	)
	for _, tc := range []struct {
		name          string
		imports       map[string][]string
		rules         []layerRule
		wantProblems  []string
		wantNoProblem bool
	}{
		{
			name:    "an indirect breach names its chain",
			imports: map[string][]string{store: {codec}, codec: {"net/http"}, "net/http": {"net/http/internal"}},
			rules:   []layerRule{{from: module + "/store/...", not: []string{"net/http/..."}, why: "leaf"}},
			// Not net/http/internal: it comes with net/http.
			wantProblems: []string{
				store + " depends on net/http through " + store + " → " + codec + " → net/http: leaf",
				codec + " imports net/http: leaf",
			},
		},
		{
			name:          "a direct rule leaves what the layer below brings to that layer",
			imports:       map[string][]string{webui: {gateway}, gateway: {store}},
			rules:         []layerRule{{from: module + "/webui/...", direct: true, not: []string{module + "/store/..."}, why: "gateway's types only"}},
			wantNoProblem: true,
		},
		{
			name:         "a direct rule catches a direct import",
			imports:      map[string][]string{webui: {gateway, store}, gateway: {store}},
			rules:        []layerRule{{from: module + "/webui/...", direct: true, not: []string{module + "/store/..."}, why: "gateway's types only"}},
			wantProblems: []string{webui + " imports " + store + ": gateway's types only"},
		},
		{
			name:    "unless and allow exempt packages",
			imports: map[string][]string{modem: {"io"}, sim: {modem, "net/http"}, store: {codec}},
			rules: []layerRule{
				{from: module + "/modem/...", unless: []string{sim}, not: []string{"net/http/..."}, why: "serial only"},
				{from: module + "/store/...", not: []string{module + "/..."}, allow: []string{module + "/store/..."}, why: "leaf"},
			},
			wantNoProblem: true,
		},
		{
			name:         "a part that uses the facade",
			imports:      map[string][]string{gateway: {part}, part: {store}, module + "/gateway/other": {gateway}},
			rules:        []layerRule{{from: module + "/gateway/...", unless: []string{gateway}, not: []string{gateway}, why: "wired by New"}},
			wantProblems: []string{module + "/gateway/other imports " + gateway + ": wired by New"},
		},
		{
			name:         "a rule that binds no package",
			imports:      map[string][]string{store: {"io"}},
			rules:        []layerRule{{from: module + "/reports/...", not: []string{"net/http/..."}, why: "no HTTP"}},
			wantProblems: []string{"rule for " + module + "/reports/... binds no package: was it renamed? (no HTTP)"},
		},
		{
			name:         "a forbidden package of the module that does not exist",
			imports:      map[string][]string{store: {"io"}},
			rules:        []layerRule{{from: module + "/store/...", not: []string{module + "/gone/..."}, why: "leaf"}},
			wantProblems: []string{"rule for " + module + "/store/... forbids " + module + "/gone/..., which matches no package: was it renamed?"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := checkLayers(syntheticGraph(tc.imports), tc.rules)
			if tc.wantNoProblem {
				tc.wantProblems = nil
			}
			if !slices.Equal(problems, tc.wantProblems) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(tc.wantProblems, "\n"))
			}
		})
	}
}

// TestLayerRulesCatchBreaches adds one forbidden import at a time to a
// graph shaped like the module and expects layerRules to report it.
func TestLayerRulesCatchBreaches(t *testing.T) {
	const (
		cmd        = module + "/cmd/simgate"
		webui      = module + "/webui"
		gateway    = module + "/gateway"
		live       = module + "/gateway/live"
		compliance = module + "/gateway/compliance"
		access     = module + "/gateway/access"
		backups    = module + "/gateway/backups"
		contacts   = module + "/gateway/contacts"
		consent    = module + "/gateway/consent"
		outbox     = module + "/gateway/outbox"
		shopevents = module + "/gateway/shopevents"
		compat     = module + "/gateway/compat"
		flows      = module + "/gateway/flows"
		webhooks   = module + "/gateway/webhooks"
		httpout    = module + "/gateway/httpout"
		view       = module + "/gateway/view"
		tmpl       = module + "/gateway/msgtemplate"
		links      = module + "/gateway/links"
		templates  = module + "/gateway/templates"
		callbacks  = module + "/gateway/callbacks"
		datafile   = module + "/gateway/datafile"
		simlimits  = module + "/gateway/simlimits"
		intake     = module + "/gateway/intake"
		alerting   = module + "/gateway/alerting"
		vmetrics   = "github.com/VictoriaMetrics/metrics"
		segments   = module + "/gateway/segments"
		attrib     = module + "/gateway/attribution"
		notifier   = module + "/gateway/notifier"
		msgstate   = module + "/gateway/msgstate"
		campaigns  = module + "/gateway/campaigns"
		store      = module + "/store"
		modem      = module + "/modem"
		sim        = module + "/modem/sim"
		bbolt      = "go.etcd.io/bbolt"
		serial     = "go.bug.st/serial"
	)
	base := func() map[string][]string {
		return map[string][]string{
			cmd:        {webui, gateway, httpout, store, modem, sim, serial, "net/http"},
			webui:      {gateway, compat, access, contacts, flows, shopevents, templates, webhooks, backups, datafile, segments, attrib, alerting, campaigns, vmetrics, "net/http", "github.com/gorilla/websocket"},
			compat:     {"net/url", "crypto/hmac"},
			gateway:    {live, compliance, access, backups, contacts, consent, outbox, shopevents, flows, webhooks, compat, view, tmpl, links, templates, callbacks, datafile, segments, attrib, alerting, notifier, campaigns, store, modem},
			notifier:   {view, live, outbox, contacts, flows, alerting, attrib, store, "log/slog"},
			msgstate:   {store, "time"},
			alerting:   {outbox, store, "regexp"},
			webhooks:   {store, "crypto/hmac", "net/url"},
			httpout:    {"net/http", "net"},
			backups:    {"os", "time"},
			live:       {"sync"},
			compliance: {store, "time"},
			access:     {store},
			contacts:   {compliance, store, "os"},
			consent:    {contacts, compliance, store},
			outbox:     {contacts, compliance, simlimits, intake, msgstate, store, modem},
			simlimits:  {store, "math/rand/v2"},
			intake:     {contacts, compliance, store, modem},
			shopevents: {contacts, compliance, store, "crypto/hmac"},
			flows:      {outbox, compliance, store, "time"},
			view:       {live, compliance, contacts, consent, outbox, flows, shopevents, simlimits, store, modem, "time"},
			tmpl:       {compliance, store, modem, "text/template"},
			links:      {tmpl, store, "crypto/rand"},
			templates:  {tmpl, links, contacts, outbox, compliance, store},
			callbacks:  {compat, webhooks, store, modem},
			datafile:   {store, "sync"},
			segments:   {contacts, compliance, store},
			attrib:     {store, "math", "time"},
			campaigns:  {outbox, compliance, tmpl, segments, attrib, links, store, modem},
			store:      {bbolt},
			modem:      {serial, "github.com/warthog618/modem/at", "github.com/warthog618/sms"},
			sim:        {"github.com/warthog618/sms", "net/http"},
		}
	}
	if problems := checkLayers(syntheticGraph(base()), layerRules); len(problems) > 0 {
		t.Fatalf("the module's shape breaks the rules:\n%s", strings.Join(problems, "\n"))
	}
	for _, breach := range []struct{ from, to string }{
		{store, modem},
		{backups, store},
		{store, "net/http"},
		{store, serial},
		{modem, store},
		{modem, "net/http"},
		{modem, bbolt},
		{sim, gateway},
		{gateway, webui},
		{gateway, "net/http"},
		{gateway, bbolt},
		{gateway, serial},
		{gateway, sim},
		{outbox, gateway},
		{live, store},
		{compliance, "os"},
		{compliance, "log/slog"},
		{compliance, contacts},
		{access, compliance},
		{contacts, consent},
		{consent, outbox},
		{outbox, consent},
		{outbox, view},
		{consent, view},
		{shopevents, consent},
		{shopevents, outbox},
		{webhooks, outbox},
		{webhooks, consent},
		{webhooks, httpout},
		{webhooks, "net/http"},
		{httpout, store},
		{shopevents, gateway},
		{shopevents, view},
		{shopevents, "net/http"},
		{compat, store},
		{compat, gateway},
		{flows, consent},
		{segments, outbox},
		{segments, gateway},
		{flows, contacts},
		{flows, gateway},
		{flows, view},
		{view, gateway},
		{view, access},
		{view, "os"},
		{view, "log/slog"},
		{tmpl, contacts},
		{tmpl, "os"},
		{tmpl, outbox},
		{links, outbox},
		{campaigns, consent},
		{campaigns, contacts},
		{campaigns, templates},
		{campaigns, flows},
		{segments, campaigns},
		{attrib, campaigns},
		{links, campaigns},
		{campaigns, gateway},
		{campaigns, view},
		{links, consent},
		{alerting, consent},
		{alerting, contacts},
		{alerting, gateway},
		{alerting, view},
		{alerting, "net/http"},
		{gateway, vmetrics},
		{outbox, vmetrics},
		{links, "net/http"},
		{attrib, outbox},
		{attrib, gateway},
		{attrib, view},
		{webui, store},
		{webui, view},
		{webui, outbox},
		{webui, consent},
		{webui, links},
		{templates, consent},
		{templates, flows},
		{templates, view},
		{templates, gateway},
		{callbacks, outbox},
		{callbacks, access},
		{datafile, outbox},
		{simlimits, outbox},
		{simlimits, modem},
		{intake, outbox},
		{intake, consent},
		{datafile, gateway},
		{webui, modem},
		{webui, bbolt},
		{webui, cmd},
		{webui, notifier},
		{notifier, consent},
		{notifier, gateway},
		{notifier, "net/http"},
		{msgstate, outbox},
		{msgstate, "os"},
		{msgstate, compliance},
	} {
		imports := base()
		imports[breach.from] = append(imports[breach.from], breach.to)
		problems := checkLayers(syntheticGraph(imports), layerRules)
		want := breach.from + " imports " + breach.to + ": "
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("%s importing %s: not reported; problems:\n%s", breach.from, breach.to, strings.Join(problems, "\n"))
		}
	}
}

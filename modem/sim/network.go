// Package sim simulates GSM modems that speak AT commands in PDU mode, and the
// mobile network (SMSC) behind them, for the driver tests, the end-to-end
// tests and `simgate demo`.
//
// A Network holds any number of Modems. Each Modem is an AT state machine
// with its own SIM identity, message storage and TP-MR counter, served over
// any io.ReadWriter (Serve) or a real pseudo-terminal (ServePTY). The Network
// records every SMS-SUBMIT the modems accept, produces status reports, routes
// messages between simulated modems and lets a test inject inbound messages,
// report outcomes and faults, directly or through ControlHandler.
//
// The behaviour follows the collected facts in docs/modems.md: modems assign TP-MR
// themselves, +CNMI decides between stored (+CMTI/+CDSI) and routed
// (+CMT/+CDS) reception, mode 2 buffers URCs while a command runs, full
// storage makes the network hold messages, a routed message not
// acknowledged in time with +CSMS=1 switches routing off, and USSD answers
// come asynchronously.
//
// Profiles (plain data, profile.go) give vendor personalities: "huawei"
// chatters unsolicited lines, even in the middle of a reply, and packs
// USSD; "simcom-sim800" refuses SMS commands until "SMS Ready";
// "quectel-ec25" announces reports as +CDSI: "SM",0 while storing them in
// SR; "zte" answers ATZ with ERROR, boots with the radio off and drops a
// +CDSI into a command reply now and then.
//
// Faults (Fault, POST /faults) make a modem hang, lose the network or its
// SIM, fill its storage, reboot, or get unplugged and come back on a new
// pty; the SIM keeps its MR counter and messages through all of them.
package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

// defaultReportDelay is short so tests run fast; real networks take 1-20 s
// (docs/modems.md §2.5).
const defaultReportDelay = 200 * time.Millisecond

// maxDeliverParts bounds an injected text; concatenation counts parts in
// one octet, and networks refuse far fewer.
const maxDeliverParts = 255

// defaultSMSC is the service centre address the simulated SIMs carry.
const defaultSMSC = "+15559990000"

// NetworkConfig configures a Network.
type NetworkConfig struct {
	// ReportDelay is the time from the +CMGS reply to the status report.
	// 0 means 200 ms; a negative value means immediately.
	ReportDelay time.Duration
	// Seed seeds the randomness used by fault rates.
	Seed int64
	// Log receives structured events; nil discards them.
	Log *slog.Logger
	// SMSC is the service centre number stored on every SIM (+CSCA) and put
	// in front of every PDU the modems hand out. Default "+15559990000".
	SMSC string
}

// Network is the shared SMSC and radio network behind a set of simulated
// modems. It is safe for concurrent use.
//
// Lock order: a Modem's lock may be held while taking the Network's, never
// the other way round.
type Network struct {
	cfg NetworkConfig
	log *slog.Logger

	mu          sync.Mutex
	modems      []*Modem
	submissions []submission
	rejections  []Rejection
	outcomes    map[string]Outcome
	rng         *rand.Rand
	enc         *sms.Encoder
	timers      map[*time.Timer]struct{}
	tasks       []task // sorted by due time
	taskSeq     uint64
	closed      bool

	// runMu serialises task execution. Order: runMu, then a Modem's lock,
	// then mu.
	runMu sync.Mutex
}

// Submission is one SMS-SUBMIT part a modem accepted (answered +CMGS).
type Submission struct {
	Modem     string    `json:"modem"` // sending modem's Number
	To        string    `json:"to"`    // DA, "+" prefixed when international
	MR        int       `json:"mr"`
	ConcatRef int       `json:"concat_ref"` // 0 when single
	Seq       int       `json:"seq"`        // 1 when single
	Total     int       `json:"total"`      // 1 when single
	Text      string    `json:"text"`       // this part's decoded text
	SRR       bool      `json:"srr"`        // status report requested
	At        time.Time `json:"at"`
}

// SentMessage is the submissions of one message reassembled: parts grouped
// by (modem, recipient, concatenation reference).
type SentMessage struct {
	Modem    string    `json:"modem"`
	To       string    `json:"to"`
	Text     string    `json:"text"`
	Parts    int       `json:"parts"` // parts received
	Total    int       `json:"total"` // parts announced
	Complete bool      `json:"complete"`
	MRs      []int     `json:"mrs"` // in part order
	At       time.Time `json:"at"`  // first part
}

// Rejection is a submit the modem answered with +CMS ERROR: an injected
// error, or one its state causes (no SIM, no network, over the limit).
type Rejection struct {
	Modem string    `json:"modem"`
	To    string    `json:"to"`
	Code  int       `json:"code"`
	At    time.Time `json:"at"`
}

// Outcome is what the network reports for messages to a recipient.
type Outcome int

// Outcomes. Values are stable: they appear in the control API by name.
const (
	OutcomeDelivered Outcome = iota // TP-ST 0x00
	OutcomeFailed                   // TP-ST 0x41, permanent: incompatible destination
	OutcomeNone                     // no status report at all
)

func (o Outcome) String() string {
	switch o {
	case OutcomeDelivered:
		return "delivered"
	case OutcomeFailed:
		return "failed"
	case OutcomeNone:
		return "none"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// ParseOutcome maps "delivered", "failed" or "none" to an Outcome.
func ParseOutcome(s string) (Outcome, error) {
	for _, o := range []Outcome{OutcomeDelivered, OutcomeFailed, OutcomeNone} {
		if strings.EqualFold(s, o.String()) {
			return o, nil
		}
	}
	return 0, fmt.Errorf("unknown outcome %q (want delivered, failed or none)", s)
}

// status is the TP-ST the outcome produces.
func (o Outcome) status() byte {
	if o == OutcomeFailed {
		return 0x41
	}
	return 0x00
}

// submission is a Submission plus its TPDU, kept for reassembly.
type submission struct {
	Submission
	pdu *tpdu.TPDU
}

// NewNetwork creates an empty network.
func NewNetwork(cfg NetworkConfig) *Network {
	if cfg.ReportDelay == 0 {
		cfg.ReportDelay = defaultReportDelay
	}
	if cfg.ReportDelay < 0 {
		cfg.ReportDelay = 0
	}
	if cfg.SMSC == "" {
		cfg.SMSC = defaultSMSC
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Network{
		cfg:      cfg,
		log:      log,
		outcomes: map[string]Outcome{},
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5349_4d47_4154_45)),
		// One long-lived encoder so the concatenation reference rotates
		// across messages (a new encoder per message always starts at 1).
		enc:    sms.NewEncoder(sms.AsDeliver),
		timers: map[*time.Timer]struct{}{},
	}
}

// Close stops pending status reports and modem-to-modem deliveries. The
// network stays inspectable.
func (n *Network) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for t := range n.timers {
		t.Stop()
	}
	clear(n.timers)
	n.tasks = nil
}

// task is network work due at a time: a status report or a delivery.
type task struct {
	due time.Time
	seq uint64
	f   func()
}

// after runs f after d unless the network is closed first. Tasks run one at
// a time in due order (ties in scheduling order), so the parts of a message
// between two simulated modems arrive in the order they were sent.
func (n *Network) after(d time.Duration, f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.taskSeq++
	t := task{due: time.Now().Add(d), seq: n.taskSeq, f: f}
	i, _ := slices.BinarySearchFunc(n.tasks, t, func(a, b task) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	n.tasks = slices.Insert(n.tasks, i, t)
	var timer *time.Timer
	timer = time.AfterFunc(d, func() {
		n.mu.Lock()
		delete(n.timers, timer)
		n.mu.Unlock()
		n.runDue()
	})
	n.timers[timer] = struct{}{}
}

// runDue runs every task that is due, in order.
func (n *Network) runDue() {
	n.runMu.Lock()
	defer n.runMu.Unlock()
	for {
		n.mu.Lock()
		if n.closed || len(n.tasks) == 0 || n.tasks[0].due.After(time.Now()) {
			n.mu.Unlock()
			return
		}
		t := n.tasks[0]
		n.tasks = n.tasks[1:]
		n.mu.Unlock()
		t.f()
	}
}

// AddModem creates a modem on the network.
func (n *Network) AddModem(cfg Config) (*Modem, error) {
	num := normalizeNumber(cfg.Number)
	if num == "" || num == "+" {
		return nil, errors.New("sim: modem needs a Number")
	}
	cfg.Number = num
	var prof Profile
	if cfg.ProfileData != nil {
		prof = *cfg.ProfileData
		if cfg.Profile == "" {
			cfg.Profile = prof.Name
		}
	} else {
		if cfg.Profile == "" {
			cfg.Profile = "generic"
		}
		p, ok := LookupProfile(cfg.Profile)
		if !ok {
			return nil, fmt.Errorf("sim: unknown profile %q (known: %s)", cfg.Profile, strings.Join(ProfileNames(), ", "))
		}
		prof = p
	}
	if prof.UnknownReply == "" {
		prof.UnknownReply = "ERROR"
	}
	if prof.ReportMemory == "" {
		prof.ReportMemory = "SR"
	}
	if cfg.StorageSize <= 0 {
		cfg.StorageSize = defaultStorageSize
	}
	digits := strings.TrimPrefix(num, "+")
	// Derived identities: a plausible TAC, the 001-01 test network and an
	// ICCID with the telecom prefix, each unique per number.
	if cfg.IMEI == "" {
		cfg.IMEI = luhnComplete("35" + padDigits(lastDigits(digits, 12), 12))
	}
	if cfg.IMSI == "" {
		cfg.IMSI = "00101" + padDigits(lastDigits(digits, 10), 10)
	}
	if cfg.ICCID == "" {
		cfg.ICCID = luhnComplete("8901" + padDigits(lastDigits(digits, 14), 14))
	}
	m, err := n.register(cfg, prof)
	if err != nil {
		return nil, err
	}
	m.powerOn() // boot timers need the network's lock, not held here
	return m, nil
}

// register adds a new modem unless its number is taken.
func (n *Network) register(cfg Config, prof Profile) (*Modem, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range n.modems {
		if sameNumber(o.cfg.Number, cfg.Number) {
			return nil, fmt.Errorf("sim: number %s already on the network", cfg.Number)
		}
	}
	m := newModem(n, cfg, prof, len(n.modems))
	n.modems = append(n.modems, m)
	return m, nil
}

// Modems returns the modems in the order they were added.
func (n *Network) Modems() []*Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.modems)
}

// modemByNumber finds a simulated modem; nil when the number is outside.
func (n *Network) modemByNumber(number string) *Modem {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.modems {
		if sameNumber(m.cfg.Number, number) {
			return m
		}
	}
	return nil
}

// SetOutcome sets the status report outcome for messages to number.
func (n *Network) SetOutcome(number string, o Outcome) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.outcomes[normalizeNumber(number)] = o
}

func (n *Network) outcome(number string) Outcome {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.outcomes[normalizeNumber(number)]
}

// chance reports true with probability p, from the seeded source.
func (n *Network) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.Float64() < p
}

func (n *Network) record(s submission) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.submissions = append(n.submissions, s)
}

func (n *Network) reject(r Rejection) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rejections = append(n.rejections, r)
}

// Submissions returns every SMS-SUBMIT part accepted so far, in order.
func (n *Network) Submissions() []Submission {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Submission, len(n.submissions))
	for i, s := range n.submissions {
		out[i] = s.Submission
	}
	return out
}

// Rejections returns every submit answered with +CMS ERROR.
func (n *Network) Rejections() []Rejection {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.rejections)
}

// Messages returns the submissions reassembled into messages, in the order
// of their first part. A concatenated group stays open until every part
// arrived; a repeated part (a resend) starts a new message, so duplicates
// show up as duplicates.
func (n *Network) Messages() []SentMessage {
	n.mu.Lock()
	subs := slices.Clone(n.submissions)
	n.mu.Unlock()

	type group struct {
		parts map[int]submission
		total int
		first submission
	}
	type key struct {
		modem, to  string
		ref, total int
	}
	var groups []*group
	open := map[key]*group{}
	for _, s := range subs {
		if s.Total <= 1 {
			groups = append(groups, &group{parts: map[int]submission{1: s}, total: 1, first: s})
			continue
		}
		k := key{s.Modem, s.To, s.ConcatRef, s.Total}
		g := open[k]
		if g == nil || g.parts[s.Seq].pdu != nil {
			g = &group{parts: map[int]submission{}, total: s.Total, first: s}
			groups = append(groups, g)
			open[k] = g
		}
		g.parts[s.Seq] = s
		if len(g.parts) == g.total {
			delete(open, k)
		}
	}
	out := make([]SentMessage, 0, len(groups))
	for _, g := range groups {
		msg := SentMessage{Modem: g.first.Modem, To: g.first.To, Parts: len(g.parts), Total: g.total, At: g.first.At}
		msg.Complete = len(g.parts) == g.total
		var pdus []*tpdu.TPDU
		var texts []string
		for seq := 1; seq <= g.total; seq++ {
			if p, ok := g.parts[seq]; ok {
				pdus = append(pdus, p.pdu)
				texts = append(texts, p.Text)
				msg.MRs = append(msg.MRs, p.MR)
			}
		}
		msg.Text = strings.Join(texts, "")
		if msg.Complete {
			// Decode as a whole so a surrogate pair split across parts
			// comes out right.
			if b, err := sms.Decode(pdus); err == nil {
				msg.Text = string(b)
			}
		}
		out = append(out, msg)
	}
	return out
}

// Deliver makes an outside number (or alphanumeric sender) text a simulated
// modem's number. Long texts become a concatenated message; the alphabet is
// GSM 7-bit when possible, else UCS-2.
func (n *Network) Deliver(from, to, text string) error {
	if strings.TrimSpace(from) == "" {
		return errors.New("sim: deliver: empty sender")
	}
	if text == "" {
		return errors.New("sim: deliver: empty text")
	}
	m := n.modemByNumber(to)
	if m == nil {
		return fmt.Errorf("sim: deliver: no simulated modem has number %q", to)
	}
	pdus, err := n.encodeDeliver(from, text, time.Now())
	if err != nil {
		return fmt.Errorf("sim: deliver: %w", err)
	}
	if len(pdus) > maxDeliverParts {
		return fmt.Errorf("sim: deliver: text needs %d parts, more than %d", len(pdus), maxDeliverParts)
	}
	for _, p := range pdus {
		m.receive(inbound{kind: kindDeliver, tpdu: p})
	}
	return nil
}

// encodeDeliver builds the SMS-DELIVER TPDUs of a text.
func (n *Network) encodeDeliver(from, text string, now time.Time) ([][]byte, error) {
	n.mu.Lock()
	tps, err := n.enc.Encode([]byte(text), sms.WithTemplateOption(tpdu.WithOA(senderAddress(from))))
	n.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(tps))
	for i := range tps {
		tps[i].SCTS = tpdu.Timestamp{Time: now.Truncate(time.Second)}
		b, err := tps[i].MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// accepted is called by a modem (holding its own lock) once the SMSC has
// taken a submit; it schedules the status report and, when the recipient is
// another simulated modem, the delivery there.
func (n *Network) accepted(from *Modem, s submission, after time.Duration) {
	n.record(s)
	n.log.Info("sim: submit accepted", "modem", s.Modem, "to", s.To, "mr", s.MR,
		"part", fmt.Sprintf("%d/%d", s.Seq, s.Total), "srr", s.SRR)
	if dst := n.modemByNumber(s.To); dst != nil {
		deliver, err := submitToDeliver(s.pdu, s.Modem, s.At)
		if err == nil {
			n.after(after, func() { dst.receive(inbound{kind: kindDeliver, tpdu: deliver}) })
		} else {
			n.log.Warn("sim: cannot convert submit for modem-to-modem delivery", "err", err)
		}
	}
	if !s.SRR {
		return
	}
	o := n.outcome(s.To)
	if o == OutcomeNone {
		return
	}
	ra := s.pdu.DA
	n.after(after+n.cfg.ReportDelay, func() {
		rep, err := statusReport(s.MR, ra, s.At, time.Now(), o.status())
		if err != nil {
			n.log.Warn("sim: cannot build status report", "err", err)
			return
		}
		n.log.Info("sim: status report", "modem", s.Modem, "to", s.To, "mr", s.MR, "outcome", o.String())
		from.receive(inbound{kind: kindReport, tpdu: rep})
	})
}

// serveContextDone reports whether ctx ended; used to make the "ended by
// ctx" return value nil.
func serveContextDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

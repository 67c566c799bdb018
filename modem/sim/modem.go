package sim

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"
)

// defaultStorageSize is within the 20-50 slots SIMs report (docs/modems.md §2.5).
const defaultStorageSize = 30

// heldLimit bounds what the network keeps for a modem that cannot take
// messages (full storage, nobody listening for routed ones).
const heldLimit = 1000

// taBufferLimit bounds the URCs a modem buffers in +CNMI mode 0.
const taBufferLimit = 32

// Config describes one simulated modem and its SIM.
type Config struct {
	// Number is the SIM's own MSISDN in E.164, "+15550000001".
	Number string
	// IMEI, IMSI and ICCID default to values derived from Number.
	IMEI, IMSI, ICCID string
	// Profile names a built-in profile (ProfileNames); default "generic".
	Profile string
	// ProfileData, when set, is used instead of the named profile (start
	// from LookupProfile and change fields).
	ProfileData *Profile
	// SubmitLatency is the time from the PDU received to "+CMGS: <mr>".
	SubmitLatency time.Duration
	// StorageSize is the number of slots in each of SM, ME and SR (default 30).
	StorageSize int
	// LastMR is the TP-MR the SIM used last (EF_SMSS); the first submit
	// gets LastMR+1 modulo 256. The counter survives reboots and replugs.
	LastMR int
	// BootDelay overrides the profile's BootDelay; negative means the boot
	// ends at once.
	BootDelay time.Duration
	// CNMATimeout is how long a routed +CMT/+CDS waits for +CNMA while
	// +CSMS=1 before the modem switches routing off (default 10 s).
	CNMATimeout time.Duration
	// USSDReplies maps a USSD code ("*100#") to the network's answer; nil
	// means DefaultUSSDReplies. Unknown codes get "+CUSD: 4".
	USSDReplies map[string]string
	// USSDDelay is the time from AT+CUSD=1 to the +CUSD: answer; 0 means a
	// random 100 ms to 1 s.
	USSDDelay time.Duration
}

// DefaultUSSDReplies returns the USSD answers a modem has when
// Config.USSDReplies is nil.
func DefaultUSSDReplies() map[string]string {
	return map[string]string{"*100#": "Your balance is $12.34. Valid until 2026-12-31."}
}

// defaultCNMATimeout is the network's wait for an RP-ACK (docs/modems.md §6.3).
const defaultCNMATimeout = 10 * time.Second

// Fault is the set of misbehaviours a modem currently shows. The zero Fault
// is a healthy modem. Reboot and StorageFull are actions rather than
// states: SetFault carries them out and does not keep them.
type Fault struct {
	// CMSErrorTo answers submits to these recipients (E.164) with
	// +CMS ERROR: <code>.
	CMSErrorTo map[string]int
	// CMSErrorRate is the fraction of submits answered with CMSErrorCode
	// (default 500).
	CMSErrorRate float64
	CMSErrorCode int
	// Hang stops all answers and URCs until cleared; input is read and
	// dropped.
	Hang bool
	// HangUntilReboot is a hang that only a power cycle ends: a reboot
	// (Reboot; AT+CFUN=1,1 cannot be heard), a replug, or the port being
	// opened again (a new Serve; on a pty that cannot be told apart, so
	// there it takes Replug).
	HangUntilReboot bool
	// NoPrompt answers commands but never prompts for the PDU of +CMGS:
	// the command line is swallowed without any answer and the modem is
	// back in command mode.
	NoPrompt bool
	// LateCMGS accepts the submit (MR assigned, recorded, report follows)
	// but writes "+CMGS: <mr>" and OK only after this delay, i.e. after the
	// client's timeout. Input arriving meanwhile is answered afterwards.
	LateCMGS time.Duration
	// NetworkLoss drops the registration (+CREG stat 2, +CSQ: 99,99):
	// submits fail with +CMS ERROR: 331 and the network holds inbound
	// messages and reports. Clearing it restores service; with
	// NetworkLossFor the network comes back by itself after that long.
	NetworkLoss    bool
	NetworkLossFor time.Duration
	// SIMRemoved pulls the SIM: +CPIN? gives +CME ERROR: 10, SMS commands
	// +CMS ERROR: 310. Clearing it puts the SIM back, but the modem only
	// sees it after AT+CFUN=0 then AT+CFUN=1, or a reboot (docs/modems.md §2.1,
	// SIM800).
	SIMRemoved bool
	// StorageFull fills every free slot of SM, SR and the receive memory
	// with old, read messages and reports, as on a SIM nobody purged: new
	// inbound messages wait at the network until the client deletes some.
	StorageFull bool
	// Unplug pulls the modem off USB: Serve returns ErrUnplugged, ServePTY
	// closes its pty and removes its link, the network holds inbound
	// messages. After ReplugAfter (0: only when Replug is called or Unplug
	// is cleared) it comes back, on a new pty, and boots; the SIM keeps its
	// MR counter and storage.
	Unplug      bool
	ReplugAfter time.Duration
	// Reboot reboots the modem now, unasked: settings reset, commands in
	// flight lost, boot URCs.
	Reboot bool
	// CNMATimeout, when positive, replaces Config.CNMATimeout.
	CNMATimeout time.Duration
	// PerMinuteLimit answers submits beyond this many accepted in the last
	// minute with +CMS ERROR: 42 (congestion); 0 means no limit.
	PerMinuteLimit int
}

// names lists the active faults by their control API names.
func (f Fault) names() []string {
	out := []string{}
	for _, x := range []struct {
		on   bool
		name string
	}{
		{len(f.CMSErrorTo) > 0, "cms_error_to"},
		{f.CMSErrorRate > 0, "cms_error_rate"},
		{f.Hang, "hang"},
		{f.HangUntilReboot, "hang_until_reboot"},
		{f.NoPrompt, "no_prompt"},
		{f.LateCMGS > 0, "late_cmgs"},
		{f.NetworkLoss, "network_loss"},
		{f.SIMRemoved, "sim_removed"},
		{f.Unplug, "unplug"},
		{f.CNMATimeout > 0, "cnma_timeout"},
		{f.PerMinuteLimit > 0, "per_minute_limit"},
	} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}

// Modem is one simulated GSM modem. Its methods are safe for concurrent use.
type Modem struct {
	net   *Network
	cfg   Config
	prof  Profile
	index int
	log   *slog.Logger

	mu       sync.Mutex
	set      settings // current
	saved    settings // what ATZ restores (AT&W)
	stores   map[string]*storage
	lastMR   int // EF_SMSS: survives reboots and replugs
	fault    Fault
	sess     *session // attached session, nil when nobody is connected
	held     []inbound
	taBuf    []string // URCs buffered in +CNMI mode 0
	replies  int      // replies written, for mid-reply noise
	noiseIdx int
	link     string // ServePTY's symlink
	pty      string // the pty ServePTY serves now, "" when none
	cfun     int

	plugged     bool
	plugCh      chan struct{} // closed, and replaced, when plugged changes
	plugEpoch   int           // invalidates pending replug timers
	booted      bool
	bootEpoch   int // invalidates pending boot timers
	simInserted bool
	simReady    bool // the modem has seen the SIM (after reinsertion: CFUN cycle)
	netEpoch    int  // invalidates a pending end of NetworkLoss
	lastReg     int  // registration stat last announced
	memFullSent bool
	urcPort     string      // +QURCCFG="urcport"; kept across reboots (NV)
	interleaveN int         // +CDSI counter for InterleaveReportsEvery
	pendingURCs []string    // boot URCs kept for the next client
	unacked     *inbound    // routed message waiting for +CNMA (+CSMS=1)
	ackEpoch    int         // invalidates a pending +CNMA timeout
	submits     []time.Time // accepted submits, for PerMinuteLimit
	ussdReplies map[string]string
	ussdEpoch   int // invalidates a pending USSD answer
}

// settings is what ATZ/AT&F reset and AT&W saves.
type settings struct {
	echo    bool
	verbose bool // ATV1
	quiet   bool // ATQ1
	cmee    int
	csms    int
	cmms    int
	cscs    string
	csca    string
	cnmi    [5]int
	mem     [3]string
	creg    int
	cgreg   int
	cereg   int
	copsFmt int
	curc    bool // Huawei unsolicited reports on
	cusd    int  // +CUSD result code presentation
}

func factorySettings(smsc string) settings {
	return settings{
		echo:    true,
		verbose: true,
		cscs:    "GSM",
		csca:    smsc,
		mem:     [3]string{"SM", "SM", "SM"},
		curc:    true,
	}
}

type storage struct {
	slots []*record
}

type record struct {
	stat int    // 0 REC UNREAD, 1 REC READ, 2 STO UNSENT, 3 STO SENT
	tpdu []byte // without SCA
}

func (s *storage) used() int {
	n := 0
	for _, r := range s.slots {
		if r != nil {
			n++
		}
	}
	return n
}

// put stores a record in the lowest free slot; 0 when full.
func (s *storage) put(r *record) int {
	for i, x := range s.slots {
		if x == nil {
			s.slots[i] = r
			return i + 1
		}
	}
	return 0
}

func (s *storage) get(idx int) *record {
	if idx < 1 || idx > len(s.slots) {
		return nil
	}
	return s.slots[idx-1]
}

type inboundKind int

const (
	kindDeliver inboundKind = iota
	kindReport
)

// inbound is an SMS-DELIVER or SMS-STATUS-REPORT on its way to a modem.
type inbound struct {
	kind inboundKind
	tpdu []byte
}

func newModem(n *Network, cfg Config, prof Profile, index int) *Modem {
	m := &Modem{
		net:         n,
		cfg:         cfg,
		prof:        prof,
		index:       index,
		log:         n.log.With("modem", cfg.Number),
		stores:      map[string]*storage{},
		lastMR:      ((cfg.LastMR % 256) + 256) % 256,
		cfun:        1,
		plugged:     true,
		plugCh:      make(chan struct{}),
		simInserted: true,
		simReady:    true,
		ussdReplies: maps.Clone(cfg.USSDReplies),
	}
	if cfg.USSDReplies == nil {
		m.ussdReplies = DefaultUSSDReplies()
	}
	if len(prof.URCPorts) > 0 {
		m.urcPort = prof.URCPorts[0]
	}
	for _, name := range []string{"SM", "ME", "SR"} {
		m.stores[name] = &storage{slots: make([]*record, cfg.StorageSize)}
	}
	m.set = factorySettings(n.cfg.SMSC)
	m.saved = m.set
	return m
}

// Number returns the SIM's MSISDN.
func (m *Modem) Number() string { return m.cfg.Number }

// Index returns the modem's position on its network (0-based).
func (m *Modem) Index() int { return m.index }

// Info describes a modem for the control API.
type Info struct {
	Index   int    `json:"index"`
	Number  string `json:"number"`
	IMEI    string `json:"imei"`
	IMSI    string `json:"imsi"`
	ICCID   string `json:"iccid"`
	Profile string `json:"profile"`
	Link    string `json:"link,omitempty"` // pty symlink while ServePTY runs
	PTY     string `json:"pty,omitempty"`  // the link's /dev/pts/N; none while unplugged
	// State is "up", "rebooting" (booting, not registered yet), "hung" or
	// "unplugged".
	State string `json:"state"`
	// Faults names the active faults as POST /faults does ("network_loss").
	Faults []string `json:"faults"`
	// SIM is "ready", "removed", or "not_detected": put back, but the modem
	// has not looked since (AT+CFUN=0 then 1, or a reboot, needed).
	SIM          string         `json:"sim"`
	CFUN         int            `json:"cfun"`
	Registration int            `json:"registration"` // +CREG <stat>
	LastMR       int            `json:"last_mr"`      // the SIM's EF_SMSS
	Stored       map[string]int `json:"stored"`       // messages per memory
	StorageSize  int            `json:"storage_size"` // slots per memory
	Held         int            `json:"held"`         // messages the network holds back
}

// Info returns the modem's identity and state.
func (m *Modem) Info() Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := Info{
		Index: m.index, Number: m.cfg.Number, IMEI: m.cfg.IMEI, IMSI: m.cfg.IMSI,
		ICCID: m.cfg.ICCID, Profile: m.cfg.Profile, Link: m.link, PTY: m.pty,
		Faults: m.fault.names(), CFUN: m.cfun, Registration: m.regStatLocked(),
		LastMR: m.lastMR, Stored: map[string]int{}, StorageSize: m.cfg.StorageSize,
		Held: len(m.held),
	}
	switch {
	case !m.plugged:
		in.State = "unplugged"
	case m.silentLocked():
		in.State = "hung"
	case !m.booted:
		in.State = "rebooting"
	default:
		in.State = "up"
	}
	switch {
	case !m.simInserted:
		in.SIM = "removed"
	case !m.simReady:
		in.SIM = "not_detected"
	default:
		in.SIM = "ready"
	}
	for name, st := range m.stores {
		in.Stored[name] = st.used()
	}
	return in
}

// Stored counts the messages held in a memory ("SM", "ME", "SR").
func (m *Modem) Stored(mem string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.stores[strings.ToUpper(mem)]; s != nil {
		return s.used()
	}
	return 0
}

// Held counts messages the network is holding back for this modem.
func (m *Modem) Held() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.held)
}

// receive hands an inbound message to the modem, applying +CNMI.
func (m *Modem) receive(in inbound) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.held) > 0 {
		// Keep order: earlier held messages go first.
		m.held = append(m.held, in)
		m.retryHeldLocked()
		return
	}
	if !m.placeLocked(in) {
		m.holdLocked(in)
	}
}

func (m *Modem) holdLocked(in inbound) {
	if len(m.held) >= heldLimit {
		m.log.Warn("sim: network queue full, dropping message")
		return
	}
	m.held = append(m.held, in)
}

// retryHeldLocked tries the held messages again, in order, keeping the ones
// that still do not fit.
func (m *Modem) retryHeldLocked() {
	held := m.held
	m.held = nil
	for i, in := range held {
		if !m.placeLocked(in) {
			m.held = append(m.held, held[i:]...)
			return
		}
	}
}

// silentLocked reports whether the modem is hung.
func (m *Modem) silentLocked() bool {
	return m.fault.Hang || m.fault.HangUntilReboot
}

// listeningLocked reports whether a client can see URCs right now.
func (m *Modem) listeningLocked() bool {
	return m.sess != nil && m.sess.gone == nil && !m.silentLocked()
}

// urcPortOKLocked reports whether URCs go to the port being served
// (+QURCCFG, Quectel).
func (m *Modem) urcPortOKLocked() bool {
	return len(m.prof.URCPorts) == 0 || m.urcPort == m.prof.URCPorts[0]
}

// placeLocked stores, routes or drops a message per +CNMI; false means the
// network must hold it (not registered, storage full, routed with nobody
// listening or an earlier routed message not yet acknowledged).
func (m *Modem) placeLocked(in inbound) bool {
	if m.regStatLocked() != 1 {
		return false
	}
	cnmi := m.set.cnmi
	smsc := m.set.csca
	if smsc == "" {
		smsc = m.net.cfg.SMSC
	}
	switch in.kind {
	case kindDeliver:
		mt := cnmi[1]
		if mt == 2 || (mt == 3 && deliverClass(in.tpdu) == 3) {
			if !m.canRouteLocked() {
				return false
			}
			m.urcLocked(fmt.Sprintf("+CMT: ,%d\r\n%s", len(in.tpdu), withSCA(smsc, in.tpdu)))
			m.routedLocked(in)
			return true
		}
		mem := m.set.mem[2]
		idx := m.stores[mem].put(&record{stat: 0, tpdu: in.tpdu})
		if idx == 0 {
			m.memFullLocked(mem)
			return false
		}
		m.log.Debug("sim: inbound stored", "mem", mem, "index", idx)
		if mt == 1 || mt == 3 {
			m.urcLocked(fmt.Sprintf("+CMTI: %q,%d", mem, idx))
		}
		return true
	case kindReport:
		switch cnmi[3] {
		case 1:
			if !m.canRouteLocked() {
				return false
			}
			m.urcLocked(fmt.Sprintf("+CDS: %d\r\n%s", len(in.tpdu), withSCA(smsc, in.tpdu)))
			m.routedLocked(in)
			return true
		case 2:
			mem := m.prof.ReportMemory
			st := m.stores[mem]
			if st == nil {
				st, mem = m.stores["SR"], "SR"
			}
			idx := st.put(&record{stat: 0, tpdu: in.tpdu})
			if idx == 0 {
				return false
			}
			urc := fmt.Sprintf("+CDSI: %q,%d", mem, idx)
			if m.prof.ReportURC != "" {
				urc = m.prof.ReportURC // EC25: announced where it is not
			}
			m.urcLocked(urc)
			return true
		default:
			m.log.Debug("sim: status report dropped (+CNMI ds=0)")
			return true
		}
	}
	return true
}

// canRouteLocked reports whether a +CMT/+CDS may go out now: 27.005 says
// the TA sends no other one until the previous one is acknowledged.
func (m *Modem) canRouteLocked() bool {
	return m.listeningLocked() && (m.set.csms != 1 || m.unacked == nil)
}

// memFullLocked announces a full receive memory once per episode, for
// profiles that do (Huawei ^SMMEMFULL).
func (m *Modem) memFullLocked(mem string) {
	if m.prof.MemFullURC == "" || m.memFullSent {
		return
	}
	m.memFullSent = true
	m.emitLocked(fmt.Sprintf("%s: %q", m.prof.MemFullURC, mem))
}

// deliverClass returns the message class of a DELIVER TPDU, -1 if none.
func deliverClass(t []byte) int {
	// first octet, OA (len in digits, TOA, digits), PID, DCS
	if len(t) < 3 {
		return -1
	}
	i := 2 + (int(t[1])+1)/2 + 1 // past OA
	i++                          // PID
	if i >= len(t) {
		return -1
	}
	dcs := t[i]
	if dcs&0xC0 == 0 && dcs&0x10 != 0 {
		return int(dcs & 0x03)
	}
	if dcs&0xF0 == 0xF0 {
		return int(dcs & 0x03)
	}
	return -1
}

// urcLocked emits an SMS unsolicited result code per the +CNMI mode.
func (m *Modem) urcLocked(text string) {
	if m.set.cnmi[0] == 0 {
		m.taBuf = append(m.taBuf, text)
		if len(m.taBuf) > taBufferLimit {
			m.taBuf = m.taBuf[1:] // the TA discards the oldest (27.005 mode 0)
		}
		return
	}
	if !m.listeningLocked() || !m.urcPortOKLocked() {
		return
	}
	if every := m.prof.InterleaveReportsEvery; every > 0 && strings.HasPrefix(text, "+CDSI") {
		m.interleaveN++
		if m.interleaveN%every == 0 {
			m.sess.interleave(text, time.Now())
			return
		}
	}
	m.sess.post(text)
}

// emitLocked writes a URC that +CNMI does not govern (boot, +CREG, +CUSD,
// ^SMMEMFULL) if a client can see it.
func (m *Modem) emitLocked(text string) {
	if m.listeningLocked() && m.urcPortOKLocked() {
		m.sess.post(text)
	}
}

// nextMRLocked assigns the next TP-MR, as the modem (not the PDU) decides.
func (m *Modem) nextMRLocked() int {
	m.lastMR = (m.lastMR + 1) % 256
	return m.lastMR
}

package sim

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"
)

// defaultStorageSize is within the 20-50 slots SIMs report (MODEMS.md §2.5).
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
	// Profile names a built-in profile: "generic" (default) or "huawei".
	Profile string
	// ProfileData, when set, is used instead of the named profile (start
	// from LookupProfile and change fields).
	ProfileData *Profile
	// SubmitLatency is the time from the PDU received to "+CMGS: <mr>".
	SubmitLatency time.Duration
	// StorageSize is the number of slots in each of SM, ME and SR (default 30).
	StorageSize int
	// LastMR is the TP-MR the SIM used last (EF_SMSS); the first submit
	// gets LastMR+1 modulo 256.
	LastMR int
}

// Fault is the set of misbehaviours a modem currently shows. The zero Fault
// is a healthy modem.
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
	// LateCMGS accepts the submit (MR assigned, recorded, report follows)
	// but writes "+CMGS: <mr>" and OK only after this delay, i.e. after the
	// client's timeout. Input arriving meanwhile is answered afterwards.
	LateCMGS time.Duration
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
	lastMR   int
	fault    Fault
	sess     *session // attached session, nil when nobody is connected
	held     []inbound
	taBuf    []string // URCs buffered in +CNMI mode 0
	replies  int      // replies written, for mid-reply noise
	noiseIdx int
	link     string
	cfun     int
	awaitAck int // routed messages not yet acknowledged with +CNMA (+CSMS=1)
}

// settings is what ATZ/AT&F reset and AT&W saves.
type settings struct {
	echo    bool
	verbose bool // ATV1
	quiet   bool // ATQ1
	cmee    int
	cmgf    int
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

// storage is one message memory (SM, ME, SR) with 1-based slots.
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
		net:    n,
		cfg:    cfg,
		prof:   prof,
		index:  index,
		log:    n.log.With("modem", cfg.Number),
		stores: map[string]*storage{},
		lastMR: ((cfg.LastMR % 256) + 256) % 256,
		cfun:   1,
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
}

// Info returns the modem's identity and, while ServePTY runs, its link.
func (m *Modem) Info() Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Info{
		Index: m.index, Number: m.cfg.Number, IMEI: m.cfg.IMEI, IMSI: m.cfg.IMSI,
		ICCID: m.cfg.ICCID, Profile: m.cfg.Profile, Link: m.link,
	}
}

// SetFault replaces the modem's faults; the zero Fault clears them.
func (m *Modem) SetFault(f Fault) {
	f.CMSErrorTo = maps.Clone(f.CMSErrorTo)
	m.mu.Lock()
	defer m.mu.Unlock()
	wasHung := m.fault.Hang
	m.fault = f
	m.log.Info("sim: fault set", "fault", fmt.Sprintf("%+v", f))
	if wasHung && !f.Hang {
		m.retryHeldLocked()
	}
	if m.sess != nil {
		m.sess.wake()
	}
}

// Fault returns the modem's current faults.
func (m *Modem) Fault() Fault {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fault
	f.CMSErrorTo = maps.Clone(f.CMSErrorTo)
	return f
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

// listening reports whether a client can see URCs right now.
func (m *Modem) listeningLocked() bool {
	return m.sess != nil && !m.fault.Hang
}

// placeLocked stores, routes or drops a message per +CNMI; false means the
// network must hold it (storage full, or routed with nobody listening).
func (m *Modem) placeLocked(in inbound) bool {
	cnmi := m.set.cnmi
	smsc := m.set.csca
	if smsc == "" {
		smsc = m.net.cfg.SMSC
	}
	switch in.kind {
	case kindDeliver:
		mt := cnmi[1]
		if mt == 2 || (mt == 3 && deliverClass(in.tpdu) == 3) {
			if !m.listeningLocked() {
				return false
			}
			m.urcLocked(fmt.Sprintf("+CMT: ,%d\r\n%s", len(in.tpdu), withSCA(smsc, in.tpdu)))
			if m.set.csms == 1 {
				m.awaitAck++
			}
			return true
		}
		mem := m.set.mem[2]
		idx := m.stores[mem].put(&record{stat: 0, tpdu: in.tpdu})
		if idx == 0 {
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
			if !m.listeningLocked() {
				return false
			}
			m.urcLocked(fmt.Sprintf("+CDS: %d\r\n%s", len(in.tpdu), withSCA(smsc, in.tpdu)))
			if m.set.csms == 1 {
				m.awaitAck++
			}
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
			m.urcLocked(fmt.Sprintf("+CDSI: %q,%d", mem, idx))
			return true
		default:
			m.log.Debug("sim: status report dropped (+CNMI ds=0)")
			return true
		}
	}
	return true
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

// urcLocked emits an unsolicited result code per the +CNMI mode.
func (m *Modem) urcLocked(text string) {
	if m.set.cnmi[0] == 0 {
		m.taBuf = append(m.taBuf, text)
		if len(m.taBuf) > taBufferLimit {
			m.taBuf = m.taBuf[1:] // the TA discards the oldest (27.005 mode 0)
		}
		return
	}
	if m.listeningLocked() {
		m.sess.post(text)
	}
}

// nextMRLocked assigns the next TP-MR, as the modem (not the PDU) decides.
func (m *Modem) nextMRLocked() int {
	m.lastMR = (m.lastMR + 1) % 256
	return m.lastMR
}

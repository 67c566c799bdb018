package sim

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ErrUnplugged is returned by Serve when the modem is, or gets, unplugged.
var ErrUnplugged = errors.New("sim: modem unplugged")

// maxRedeliverDelay bounds how long the network waits before retrying a
// routed message the modem did not acknowledge.
const maxRedeliverDelay = time.Second

// bootAnnounce says what happens to boot URCs nobody is listening for.
type bootAnnounce int

const (
	bootLive    bootAnnounce = iota // lost (power-on: nobody had the port open)
	bootPending                     // kept for the next client (reboot, replug)
	bootReturn                      // returned to the caller (AT+CFUN=1,1)
)

// later runs f with the modem locked after d, unless the network is closed
// first. Callers pass an epoch check in f to cancel.
func (m *Modem) later(d time.Duration, f func()) {
	m.net.after(d, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		f()
	})
}

// powerOn starts the first boot; AddModem calls it without the network's
// lock (boot timers need it).
func (m *Modem) powerOn() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bootLocked(bootLive)
}

func (m *Modem) bootDelayLocked() time.Duration {
	switch d := m.cfg.BootDelay; {
	case d < 0:
		return 0
	case d > 0:
		return d
	}
	return m.prof.BootDelay
}

// bootLocked starts a boot; with no boot delay it ends at once and, for
// bootReturn, hands back the boot URCs for the caller to write.
func (m *Modem) bootLocked(announce bootAnnounce) []string {
	m.cfun = 1
	if m.prof.RadioOffAtBoot {
		m.cfun = 0
	}
	m.simReady = m.simInserted
	m.booted = false
	m.bootEpoch++
	m.stateChangedLocked()
	d := m.bootDelayLocked()
	if d <= 0 {
		return m.finishBootLocked(announce)
	}
	if announce == bootReturn {
		announce = bootPending
	}
	epoch := m.bootEpoch
	m.later(d, func() {
		if m.bootEpoch == epoch && m.plugged {
			m.finishBootLocked(announce)
		}
	})
	return nil
}

func (m *Modem) finishBootLocked(announce bootAnnounce) []string {
	m.booted = true
	var out []string
	switch {
	case announce == bootReturn:
		out = slices.Clone(m.prof.BootURCs)
	case m.listeningLocked():
		for _, u := range m.prof.BootURCs {
			m.emitLocked(u)
		}
	case announce == bootPending:
		// Like bytes waiting in a fresh tty: the next client reads them.
		m.pendingURCs = slices.Clone(m.prof.BootURCs)
	}
	m.log.Info("sim: boot finished")
	m.stateChangedLocked()
	return out
}

// rebootLocked reboots the modem: in-flight work is lost, settings go back
// to the saved profile with +CNMI and +CSMS at their defaults, the SIM is
// looked at again. Storage and the MR counter are on the SIM and stay.
func (m *Modem) rebootLocked(announce bootAnnounce) []string {
	m.log.Info("sim: reboot")
	m.requeueUnackedLocked()
	m.ussdEpoch++
	m.taBuf = nil
	m.pendingURCs = nil
	m.set = m.saved
	m.set.cnmi = [5]int{}
	m.set.csms = 0
	m.set.cusd = 0
	m.fault.HangUntilReboot = false
	m.memFullSent = false
	if m.sess != nil && announce != bootReturn {
		m.sess.resetLocked()
	}
	return m.bootLocked(announce)
}

// Reboot makes the modem reboot now, as if it had crashed.
func (m *Modem) Reboot() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rebootLocked(bootPending)
}

// regStatLocked is the +CREG <stat>: 0 not registered (no radio, no SIM,
// unplugged), 2 searching (booting, network lost), 1 home.
func (m *Modem) regStatLocked() int {
	switch {
	case !m.plugged || m.cfun != 1 || !m.simReady:
		return 0
	case !m.booted || m.fault.NetworkLoss:
		return 2
	}
	return 1
}

// stateChangedLocked follows a change of radio, SIM or network: it writes
// +CREG/+CGREG/+CEREG URCs to clients that asked for them and lets the
// network hand over what it held once registered.
func (m *Modem) stateChangedLocked() {
	stat := m.regStatLocked()
	if stat != m.lastReg {
		m.lastReg = stat
		for _, r := range []struct {
			name string
			n    int
		}{{"+CREG", m.set.creg}, {"+CGREG", m.set.cgreg}, {"+CEREG", m.set.cereg}} {
			if r.n == 0 || slices.Contains(m.prof.Unsupported, r.name) {
				continue
			}
			line := fmt.Sprintf("%s: %d", r.name, stat)
			if r.n >= 2 && stat == 1 {
				line += `,"1A2B","01C3D4E5"` + m.actSuffix()
			}
			m.emitLocked(line)
		}
	}
	if stat == 1 {
		m.retryHeldLocked()
	}
}

// actSuffix is the ",<AcT>" of +CREG=2 and +COPS? for the profile's radio.
func (m *Modem) actSuffix() string {
	switch m.prof.Radio {
	case "2g":
		return ""
	case "3g":
		return ",2"
	}
	return ",7"
}

// routedLocked notes a +CMT/+CDS just written; with +CSMS=1 it must be
// acknowledged with +CNMA in time.
func (m *Modem) routedLocked(in inbound) {
	if m.set.csms != 1 {
		return
	}
	m.unacked = &in
	m.ackEpoch++
	epoch := m.ackEpoch
	m.later(m.cnmaTimeoutLocked(), func() {
		if m.ackEpoch == epoch && m.unacked != nil {
			m.cnmaExpiredLocked()
		}
	})
}

func (m *Modem) cnmaTimeoutLocked() time.Duration {
	if d := m.fault.CNMATimeout; d > 0 {
		return d
	}
	if d := m.cfg.CNMATimeout; d > 0 {
		return d
	}
	return defaultCNMATimeout
}

// ackLocked takes +CNMA: the network has the message off its hands, and
// the next routed one may go.
func (m *Modem) ackLocked() bool {
	if m.unacked == nil {
		return false
	}
	m.unacked = nil
	m.ackEpoch++
	m.retryHeldLocked()
	return true
}

// nackLocked takes +CNMA=2 (RP-ERROR): the network keeps the message and
// tries again later.
func (m *Modem) nackLocked() bool {
	if m.unacked == nil {
		return false
	}
	m.requeueUnackedLocked()
	m.redeliverLaterLocked()
	return true
}

// cnmaExpiredLocked is 27.005 §3.4.4: without an acknowledgement in time
// the ME sends RP-ERROR to the network and the TA sets <mt> and <ds> to 0,
// silently. The network delivers the message again later, which now means
// stored without indication (or, for a report, dropped).
func (m *Modem) cnmaExpiredLocked() {
	m.log.Warn("sim: +CNMA timeout, routing switched off", "cnmi_was", fmt.Sprint(m.set.cnmi))
	m.requeueUnackedLocked()
	m.set.cnmi[1], m.set.cnmi[3] = 0, 0
	m.redeliverLaterLocked()
}

func (m *Modem) requeueUnackedLocked() {
	if m.unacked == nil {
		return
	}
	m.held = append([]inbound{*m.unacked}, m.held...)
	m.unacked = nil
	m.ackEpoch++
}

func (m *Modem) redeliverLaterLocked() {
	m.later(min(m.cnmaTimeoutLocked(), maxRedeliverDelay), m.retryHeldLocked)
}

// plugChanged wakes whoever waits for the modem to be plugged or unplugged.
func (m *Modem) plugChangedLocked() {
	close(m.plugCh)
	m.plugCh = make(chan struct{})
}

// unplugLocked pulls the modem: the session loses its port, the radio is
// gone, and after replugAfter (if positive) it comes back.
func (m *Modem) unplugLocked(replugAfter time.Duration) {
	if m.plugged {
		m.log.Info("sim: unplugged", "replug_after", replugAfter)
		m.plugged = false
		m.booted = false
		m.bootEpoch++
		m.requeueUnackedLocked()
		m.ussdEpoch++
		m.taBuf = nil
		m.pendingURCs = nil
		if m.sess != nil {
			m.sess.gone = ErrUnplugged
			m.sess.wake()
		}
		m.stateChangedLocked()
		m.plugChangedLocked()
	}
	m.plugEpoch++
	if replugAfter > 0 {
		epoch := m.plugEpoch
		m.later(replugAfter, func() {
			if m.plugEpoch == epoch {
				m.replugLocked()
			}
		})
	}
}

// replugLocked plugs the modem back in; it powers up and boots, its boot
// URCs waiting for the next client.
func (m *Modem) replugLocked() {
	m.plugEpoch++
	m.fault.Unplug, m.fault.ReplugAfter = false, 0
	if m.plugged {
		return
	}
	m.log.Info("sim: replugged")
	m.plugged = true
	m.plugChangedLocked()
	m.rebootLocked(bootPending)
}

// Unplug pulls the modem off its port (see Fault.Unplug); it comes back
// after replugAfter if that is positive, else on Replug.
func (m *Modem) Unplug(replugAfter time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fault.Unplug, m.fault.ReplugAfter = true, replugAfter
	m.unplugLocked(replugAfter)
}

// Replug plugs an unplugged modem back in now. On a plugged modem it is a
// power cycle: unplugged and plugged again at once, so ServePTY moves to a
// new pty. Either way the modem boots.
func (m *Modem) Replug() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.plugged {
		m.unplugLocked(0)
	}
	m.replugLocked()
}

// plugWait returns whether the modem is plugged in and a channel closed at
// the next change.
func (m *Modem) plugWait() (bool, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.plugged, m.plugCh
}

// FillStorage fills every free slot of SM, SR and the receive memory (see
// Fault.StorageFull).
func (m *Modem) FillStorage() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fillStorageLocked()
}

// fillerSender and fillerRecipient mark the messages FillStorage makes up;
// the recipient is one no test sends to, so its reports match nothing.
const (
	fillerSender    = "SimNet"
	fillerRecipient = "+10000000000"
)

func (m *Modem) fillStorageLocked() {
	now := time.Now()
	names := []string{"SM", "SR"}
	if mem := m.set.mem[2]; !slices.Contains(names, mem) {
		names = append(names, mem)
	}
	n := 0
	for _, name := range names {
		st := m.stores[name]
		for i, r := range st.slots {
			if r != nil {
				continue
			}
			var t []byte
			var err error
			if name == "SR" {
				t, err = statusReport(i%256, senderAddress(fillerRecipient), now, now, 0)
			} else {
				var pdus [][]byte
				pdus, err = m.net.encodeDeliver(fillerSender, fmt.Sprintf("Old message %d in %s", i+1, name), now)
				if err == nil {
					t = pdus[0]
				}
			}
			if err != nil {
				m.log.Warn("sim: cannot build filler message", "err", err)
				return
			}
			st.slots[i] = &record{stat: 1, tpdu: t}
			n++
		}
	}
	m.log.Info("sim: storage filled", "messages", n)
	m.memFullLocked(m.set.mem[2])
}

// SetFault replaces the modem's faults; the zero Fault clears them. Changes
// take effect at once: a cleared Unplug replugs, a cleared SIMRemoved puts
// the SIM back (for the modem to notice), a cleared NetworkLoss restores
// service; Reboot and StorageFull are carried out and not kept.
func (m *Modem) SetFault(f Fault) {
	f.CMSErrorTo = maps.Clone(f.CMSErrorTo)
	reboot, fill := f.Reboot, f.StorageFull
	f.Reboot, f.StorageFull = false, false
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.fault
	m.fault = f
	m.log.Info("sim: fault set", "fault", fmt.Sprintf("%+v", f), "reboot", reboot, "storage_full", fill)

	if f.NetworkLoss {
		m.netEpoch++
		if d := f.NetworkLossFor; d > 0 {
			epoch := m.netEpoch
			m.later(d, func() {
				if m.netEpoch == epoch && m.fault.NetworkLoss {
					m.log.Info("sim: network back")
					m.fault.NetworkLoss, m.fault.NetworkLossFor = false, 0
					m.stateChangedLocked()
				}
			})
		}
	}
	switch {
	case f.SIMRemoved && !old.SIMRemoved:
		m.simInserted, m.simReady = false, false
	case !f.SIMRemoved && old.SIMRemoved:
		m.simInserted = true // seen at the next CFUN cycle or reboot
	}
	switch {
	case f.Unplug:
		m.unplugLocked(f.ReplugAfter)
	case !m.plugged:
		m.replugLocked()
	}
	if fill {
		m.fillStorageLocked()
	}
	if reboot && m.plugged {
		m.rebootLocked(bootPending)
	}
	m.stateChangedLocked()
	if (old.Hang || old.HangUntilReboot) && !m.silentLocked() {
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

// SetUSSDReplies replaces the modem's USSD answers (code → text).
func (m *Modem) SetUSSDReplies(r map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ussdReplies = maps.Clone(r)
	if m.ussdReplies == nil {
		m.ussdReplies = map[string]string{}
	}
}

package webui

import (
	"regexp"
	"strconv"
	"strings"
)

// What modems and the supervisor report, in words a shop owner acts on.
// Every sentence says what happened and what to do next; the raw text the
// gateway logged stays behind a "details" toggle for whoever helps them.
// "{modem}" is replaced by the modem's name ("the modem" when unknown).

// advice is one owner-facing explanation.
type advice struct {
	Says string // what happened
	Next string // what to do about it
}

// cmsAdvice explains +CMS ERROR codes (3GPP TS 27.005 §3.2.5 and the
// vendor codes docs/modems.md lists), the ones modem.Classify knows.
var cmsAdvice = map[int]advice{
	1:   {"The number does not exist.", "Check the number and send the text again."},
	8:   {"The mobile operator blocks texts from the SIM in {modem}.", "Call the operator and ask them to allow texts on this SIM."},
	10:  {"The mobile operator blocks texts from the SIM in {modem}.", "Call the operator and ask them to allow texts on this SIM."},
	21:  {"The mobile network refused the text.", "Send it again later; if it keeps happening, call the operator."},
	28:  {"The network does not know this number.", "Check the number and send the text again."},
	30:  {"The network does not know this number.", "Check the number and send the text again."},
	38:  {"The mobile network is out of order.", "Nothing to do: the gateway tries again in a few minutes, on another SIM if it can."},
	41:  {"The mobile network had a temporary failure.", "Nothing to do: the gateway tries again by itself."},
	42:  {"The mobile network was too busy to take the text.", "Nothing to do: the gateway tries again by itself."},
	47:  {"The mobile network was too busy to take the text.", "Nothing to do: the gateway tries again by itself."},
	50:  {"The plan of the SIM in {modem} does not include texts.", "Ask the operator to turn on SMS for this SIM."},
	69:  {"The mobile network does not support this kind of text.", "Call the operator and ask whether this SIM can send texts."},
	96:  {"The mobile network refused the text as incomplete.", "Send it again; if it keeps happening, report it to whoever set up the gateway."},
	304: {"The modem {modem} refused the text's format.", "Send it again; if it keeps happening, report it to whoever set up the gateway."},
	305: {"The modem {modem} refused the text's format.", "Send it again; if it keeps happening, report it to whoever set up the gateway."},
	310: {"The SIM card is missing or not seated.", "Check the SIM in {modem}."},
	311: {"The SIM in {modem} asks for its PIN code.", "Put the SIM in a phone, turn off its PIN, and put it back."},
	312: {"The modem {modem} asks for a phone lock code.", "Unlock the modem with the code its seller gave you."},
	313: {"The SIM in {modem} is not working.", "Take it out and put it back; if that does not help, ask the operator for a new SIM."},
	314: {"The SIM in {modem} was busy.", "Nothing to do: the gateway tries again by itself."},
	315: {"The modem {modem} does not accept this SIM.", "Use a SIM the modem is unlocked for, or ask its seller to unlock it."},
	316: {"The SIM in {modem} is locked: it needs its PUK code.", "Put the SIM in a phone and unlock it with the PUK code from the operator."},
	317: {"The SIM in {modem} asks for its PIN2 code.", "Put the SIM in a phone and enter PIN2, or ask the operator."},
	318: {"The SIM in {modem} is locked: it needs its PUK2 code.", "Ask the operator for the PUK2 code and unlock the SIM in a phone."},
	322: {"The message storage of the SIM in {modem} is full.", "Nothing to do: the gateway clears it. If this stays, restart the modem."},
	325: {"The modem {modem} refused the text's length.", "Send it again; if it keeps happening, report it to whoever set up the gateway."},
	330: {"The SIM in {modem} does not know its operator's message centre number.", "Ask the operator for the SMS centre number and set it as the modem's smsc in the configuration."},
	331: {"The modem {modem} has no mobile network.", "Check its antenna and that there is coverage where it stands; the gateway tries again by itself."},
	332: {"The mobile network did not answer in time.", "Nothing to do: the gateway tries again by itself."},
	340: {"The modem {modem} and the gateway disagreed about a received text.", "Nothing to do: the gateway recovers by itself."},
	500: {"The modem {modem} reported an unspecified error.", "The gateway tries again a few times; if it keeps happening, restart the modem."},
	512: {"The modem {modem} could not reach the mobile network.", "Nothing to do: the gateway tries again by itself. If it lasts, check the antenna."},
	513: {"The modem {modem} lost the radio link while sending.", "Nothing to do: the gateway tries again by itself. If it lasts, check the antenna."},
	514: {"The mobile network was too busy to take the text.", "Nothing to do: the gateway tries again by itself."},
	515: {"The modem {modem} is still starting.", "Nothing to do: wait a minute."},
}

// cmeAdvice explains +CME ERROR codes (3GPP TS 27.007 §9.2).
var cmeAdvice = map[int]advice{
	10:  {"The SIM card is missing or not seated.", "Check the SIM in {modem}."},
	11:  {"The SIM in {modem} asks for its PIN code.", "Put the SIM in a phone, turn off its PIN, and put it back."},
	12:  {"The SIM in {modem} is locked: it needs its PUK code.", "Put the SIM in a phone and unlock it with the PUK code from the operator."},
	13:  {"The SIM in {modem} is not working.", "Take it out and put it back; if that does not help, ask the operator for a new SIM."},
	14:  {"The SIM in {modem} was busy.", "Nothing to do: the gateway tries again by itself."},
	15:  {"The modem {modem} does not accept this SIM.", "Use a SIM the modem is unlocked for, or ask its seller to unlock it."},
	16:  {"The PIN code set for {modem} is wrong.", "Correct the PIN in the configuration before the SIM locks itself."},
	17:  {"The SIM in {modem} asks for its PIN2 code.", "Put the SIM in a phone and enter PIN2, or ask the operator."},
	18:  {"The SIM in {modem} is locked: it needs its PUK2 code.", "Ask the operator for the PUK2 code and unlock the SIM in a phone."},
	30:  {"The modem {modem} has no mobile network.", "Check its antenna and that there is coverage where it stands; the gateway tries again by itself."},
	31:  {"The mobile network did not answer in time.", "Nothing to do: the gateway tries again by itself."},
	32:  {"The modem {modem} can only make emergency calls: the network does not accept its SIM.", "Call the operator: the SIM may be blocked, unpaid or not activated."},
	100: {"The modem {modem} reported an unspecified error.", "The gateway tries again a few times; if it keeps happening, restart the modem."},
}

// textAdvice explains errors that have no code, by a piece of their text,
// checked in order (the first match wins).
var textAdvice = []struct {
	contains string
	advice
}{
	{"may have been sent", advice{"The modem stopped answering just after the text was handed to it: it may or may not have gone out.", "Decide whether to send it again (it could arrive twice) or drop it."}},
	{"no answer from the modem after the text was handed over", advice{"The modem stopped answering just after the text was handed to it: it may or may not have gone out.", "Decide whether to send it again (it could arrive twice) or drop it."}},
	{"modem hung", advice{"The modem {modem} stopped answering.", "The gateway restarts it by itself; if it stays like this, unplug it and plug it back in."}},
	{"not answering", advice{"The modem {modem} stopped answering.", "The gateway restarts it by itself; if it stays like this, unplug it and plug it back in."}},
	{"timed out", advice{"The modem {modem} stopped answering.", "The gateway restarts it by itself; if it stays like this, unplug it and plug it back in."}},
	{"no such file", advice{"The modem {modem} is not plugged in.", "Check its USB cable and power."}},
	{"open ", advice{"The gateway cannot open the modem {modem}.", "Check its USB cable and power; if it is plugged in, restart the gateway."}},
	{"port closed", advice{"The connection to the modem {modem} closed.", "Nothing to do if it comes back by itself; otherwise check its USB cable."}},
	{"not registered: searching", advice{"The modem {modem} is looking for a mobile network.", "Check its antenna, that there is coverage, and that the SIM's plan is active."}},
	{"not registered: denied", advice{"The mobile network refused the SIM in {modem}.", "Call the operator: the SIM may be blocked, unpaid or not activated."}},
	{"not registered", advice{"The modem {modem} is not connected to a mobile network.", "Check its antenna and that the SIM's plan is active; the gateway keeps trying."}},
	{"has IMEI", advice{"A different modem is plugged in where {modem} should be.", "Plug the right modem into that port, or update the configuration."}},
	{"status report: TP-ST", advice{"The network could not deliver the text to the phone.", "The phone may be off or out of coverage for a long time; check the number or try again later."}},
	{"parts not delivered", advice{"The network could not deliver the text to the phone.", "The phone may be off or out of coverage for a long time; check the number or try again later."}},
	{"simgate stopped while", advice{"The gateway stopped while this text was being sent.", "Decide whether to send it again."}},
	{"dropped by operator", advice{"Someone chose not to send this text.", "Send it again if that was a mistake."}},
}

// stateAdvice explains the supervisor's modem states.
var stateAdvice = map[string]advice{
	"up":       {"Working: it sends and receives texts.", ""},
	"starting": {"Connecting to the modem.", "Wait a minute; if it stays like this, the card shows why."},
	"degraded": {"Connected, but it cannot send right now.", "See the problem below; the gateway keeps trying."},
	"down":     {"Not working right now.", "The gateway keeps trying; the problem below says what to check."},
	"paused":   {"Paused by a person: it sends nothing.", "Resume it on the Modems page when you want it to send again."},
}

// problem is an explained error: plain words for the owner, the raw text
// for the details toggle.
type problem struct {
	Says, Next string
	Detail     string // the error as the gateway recorded it
	Known      bool   // the table knew it
}

// Text is the sentence and the next step together.
func (p problem) Text() string {
	if p.Next == "" {
		return p.Says
	}
	return p.Says + " " + p.Next
}

var codeRE = regexp.MustCompile(`\+(CMS|CME) ERROR: *([0-9]+)`)

// explain turns an error the gateway recorded for modem (may be "") into
// a problem. Unknown errors still get a sentence and a next step.
func explain(raw, modem string) problem {
	p := problem{Detail: raw}
	var a advice
	if m := codeRE.FindStringSubmatch(raw); m != nil {
		code, _ := strconv.Atoi(m[2])
		a, p.Known = cmsAdvice[code], true
		if m[1] == "CME" {
			a = cmeAdvice[code]
		}
		if a.Says == "" {
			p.Known = false
		}
	}
	if !p.Known {
		low := strings.ToLower(raw)
		for _, t := range textAdvice {
			if strings.Contains(low, strings.ToLower(t.contains)) {
				a, p.Known = t.advice, true
				break
			}
		}
	}
	if !p.Known {
		a = advice{"The modem {modem} reported a problem.", "The gateway tries again by itself; if it keeps happening, restart the modem and show the details to whoever set it up."}
	}
	fill := func(s string) string {
		if modem == "" {
			s = strings.ReplaceAll(s, "modem {modem}", "modem")
			return strings.ReplaceAll(s, "{modem}", "the modem")
		}
		return strings.ReplaceAll(s, "{modem}", modem)
	}
	p.Says, p.Next = fill(a.Says), fill(a.Next)
	return p
}

// explainState describes a modem's supervisor state ("paused" for a
// modem a person paused).
func explainState(state, modem string) problem {
	a, ok := stateAdvice[state]
	if !ok {
		a = advice{"In an unknown state (" + state + ").", "Restart the gateway if it stays like this."}
	}
	return problem{Says: a.Says, Next: a.Next, Detail: state, Known: ok}
}

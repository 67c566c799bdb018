package webui

import (
	"strconv"
	"strings"
	"testing"
)

// TestExplainTable checks every entry of the tables: a sentence and a next
// step, no placeholder left, the modem named where the sentence names it.
func TestExplainTable(t *testing.T) {
	check := func(what string, p problem, _ string) {
		t.Helper()
		if !p.Known || p.Says == "" || !strings.HasSuffix(p.Says, ".") {
			t.Errorf("%s: no sentence: %+v", what, p)
		}
		if strings.Contains(p.Text(), "{") || strings.Contains(p.Text(), "modem the modem") {
			t.Errorf("%s: placeholder badly filled: %q", what, p.Text())
		}
		if p.Next == "" {
			t.Errorf("%s: no next step: %+v", what, p)
		}
	}
	for code := range cmsAdvice {
		raw := "send: +CMS ERROR: " + strconv.Itoa(code)
		p := explain(raw, "sim1")
		check(raw, p, "sim1")
		check(raw+" (no modem)", explain(raw, ""), "")
		if p.Detail != raw {
			t.Errorf("%s: detail %q", raw, p.Detail)
		}
		if strings.Contains(cmsAdvice[code].Says+cmsAdvice[code].Next, "{modem}") && !strings.Contains(p.Text(), "sim1") {
			t.Errorf("%s: modem not named: %q", raw, p.Text())
		}
	}
	for code := range cmeAdvice {
		raw := "health: +CME ERROR: " + strconv.Itoa(code)
		check(raw, explain(raw, "sim2"), "sim2")
	}
	for _, ta := range textAdvice {
		raw := "init: " + ta.contains + " (x)"
		check(raw, explain(raw, "sim1"), "sim1")
	}
	for state := range stateAdvice {
		p := explainState(state, "sim1")
		if !p.Known || p.Says == "" || (state != "up" && p.Next == "") {
			t.Errorf("state %s: %+v", state, p)
		}
	}
}

// TestExplain pins the sentences the issue names and the fallbacks.
func TestExplain(t *testing.T) {
	for _, c := range []struct{ raw, modem, want string }{
		{"+CMS ERROR: 310", "sim1", "The SIM card is missing or not seated. Check the SIM in sim1."},
		{"SIM taken out of rotation: send: +CMS ERROR: 310", "sim2", "The SIM card is missing or not seated. Check the SIM in sim2."},
		{"health: +CME ERROR: 10", "sim1", "The SIM card is missing or not seated. Check the SIM in sim1."},
		{"+CMS ERROR: 310", "", "The SIM card is missing or not seated. Check the SIM in the modem."},
		{"modem hung: no answer to AT after an escape: modem: command timed out", "sim1",
			"The modem sim1 stopped answering. The gateway restarts it by itself; if it stays like this, unplug it and plug it back in."},
		{"modem: command timed out", "", "The modem stopped answering. The gateway restarts it by itself; if it stays like this, unplug it and plug it back in."},
		{"not registered: denied", "sim1", "The mobile network refused the SIM in sim1. Call the operator: the SIM may be blocked, unpaid or not activated."},
		{"+CMS ERROR: 999", "sim1", "The modem sim1 reported a problem. The gateway tries again by itself; if it keeps happening, restart the modem and show the details to whoever set it up."},
		{"+CMS ERROR: 42", "sim1", "The mobile network was too busy to take the text. Nothing to do: the gateway tries again by itself."},
	} {
		p := explain(c.raw, c.modem)
		if p.Text() != c.want {
			t.Errorf("explain(%q, %q) = %q\nwant %q", c.raw, c.modem, p.Text(), c.want)
		}
		if p.Detail != c.raw {
			t.Errorf("explain(%q): detail %q", c.raw, p.Detail)
		}
	}
	if p := explain("+CMS ERROR: 999", "sim1"); p.Known {
		t.Error("an unlisted code is reported as known")
	}
}

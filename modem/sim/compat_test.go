package sim

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/modem/at"
)

// TestWarthogATEngine drives the simulator with the AT engine the driver is
// built on, so framing, echo and prompt handling match what it expects.
func TestWarthogATEngine(t *testing.T) {
	n := newNet(t)
	m := addModem(t, n, Config{Number: "+15550000001"})
	toModemR, toModemW := io.Pipe()
	fromModemR, fromModemW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx, pipeRW{toModemR, fromModemW}) }()
	defer func() {
		cancel()
		<-served
		toModemW.Close()
		fromModemR.Close()
		toModemR.Close()
		fromModemW.Close()
	}()
	a := at.New(pipeRW{fromModemR, toModemW}, at.WithTimeout(waitFor))

	// The library's default init: ESC, ATZ, ATE0.
	if err := a.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if got, err := a.Command("+CGMI"); err != nil || !slices.Equal(got, []string{"SIMULATOR"}) {
		t.Errorf("+CGMI: %q %v", got, err)
	}
	if _, err := a.Command("+CMEE=1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Command("+CMGR=7"); !errors.Is(err, at.CMSError("321")) {
		t.Errorf("+CMGR on empty slot: got %v, want CMS 321", err)
	}
	tp := submitPDUs(t, "+15551234567", "via warthog618/modem/at", true)[0]
	got, err := a.SMSCommand(fmt.Sprintf("+CMGS=%d", len(tp)), "00"+strings.ToUpper(hex.EncodeToString(tp)))
	if err != nil || !slices.Equal(got, []string{"+CMGS: 1"}) {
		t.Fatalf("+CMGS: %q %v", got, err)
	}
	if subs := n.Submissions(); len(subs) != 1 || subs[0].Text != "via warthog618/modem/at" {
		t.Errorf("submissions: %+v", subs)
	}

	// A late +CMGS desynchronises the library exactly as docs/modems.md §3.1
	// describes: the timed-out send's reply lands on the next command.
	m.SetFault(Fault{LateCMGS: 200 * time.Millisecond})
	_, err = a.SMSCommand(fmt.Sprintf("+CMGS=%d", len(tp)), "00"+strings.ToUpper(hex.EncodeToString(tp)), at.WithTimeout(50*time.Millisecond))
	if !errors.Is(err, at.ErrDeadlineExceeded) {
		t.Fatalf("late +CMGS: got %v, want deadline exceeded", err)
	}
	got, err = a.Command("+CSQ")
	if err != nil || !slices.Contains(got, "+CMGS: 2") {
		t.Errorf("command after the timeout: %q %v, want the late +CMGS: 2 in it", got, err)
	}
}

package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/sim"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/store/storetest"
)

// exhaustFreePages makes small writes that each add a record until two in
// a row fail for lack of space. On a full disk bbolt still writes into the
// free pages inside its file; after this, any write at least as large as
// these needs pages the disk cannot give.
func exhaustFreePages(t *testing.T, db *store.DB) {
	t.Helper()
	// Writes to buckets in different parts of the file's root need
	// different numbers of pages: a write of one kind can still fit after
	// the other fails. Each kind writes until it fails twice in a row.
	for _, write := range []func(i int) error{
		func(i int) error { return db.SetModemPaused(fmt.Sprintf("filler%06d", i), true) },
		func(i int) error { return db.MarkInboxRead(fmt.Sprintf("+1999%07d", i), 1) },
	} {
		failed := 0
		for i := 0; failed < 2; i++ {
			if i == 100000 {
				t.Fatal("100000 writes succeeded on a full disk")
			}
			err := write(i)
			switch {
			case err == nil:
				failed = 0
			case errors.Is(err, store.ErrDiskFull):
				failed++
			default:
				t.Fatalf("filling the file's free pages: %v", err)
			}
		}
	}
}

// gatedLine holds back the first "+CMGS:" answer from the modem until
// release is closed, so the test can fill the disk between the part's
// `sending` commit and its MR commit.
type gatedLine struct {
	io.ReadWriteCloser
	once    *sync.Once
	reached chan struct{}
	release chan struct{}
	tail    []byte
}

func (g *gatedLine) Read(p []byte) (int, error) {
	n, err := g.ReadWriteCloser.Read(p)
	seen := append(g.tail, p[:n]...)
	if bytes.Contains(seen, []byte("+CMGS:")) {
		g.once.Do(func() {
			close(g.reached)
			<-g.release
		})
	}
	g.tail = append(g.tail[:0], seen[max(0, len(seen)-8):]...)
	return n, err
}

// The disk fills after a text went to the network and before its MR was
// written. That text used to stay `sending` without its MR until a
// restart, and its status report matched nothing. Now the MR is kept in
// memory and written once room is made, the report matches, and the text
// ends delivered; meanwhile the gateway says it is not writable and the
// disk_full alert is up.
func TestDiskFullKeepsMR(t *testing.T) {
	dir := storetest.MountTmpfs(t, "8m")
	synctest.Test(t, func(t *testing.T) {
		mc := testModemConfig()
		mc.SubmitTimeout = time.Minute // the gate holds +CMGS while the disk fills
		mc.Name = "sim1"
		r := newRig(t, rigOptions{dir: dir})
		sm, err := r.net.AddModem(sim.Config{Number: "+15550000001"})
		if err != nil {
			t.Fatal(err)
		}
		gate := &gatedLine{once: &sync.Once{}, reached: make(chan struct{}), release: make(chan struct{})}
		open := func(ctx context.Context) (*modem.Modem, error) {
			line := *gate
			line.ReadWriteCloser = sm.Connect(context.WithoutCancel(ctx))
			line.tail = nil
			return modem.New(&line, mc, testLog()), nil
		}
		if err := r.g.AddModem(ModemConfig{Name: "sim1", Path: "pipe", Open: open}); err != nil {
			t.Fatal(err)
		}
		r.start()
		msg := r.submit("+12015550123", "Your order is ready")

		select {
		case <-gate.reached:
		case <-time.After(time.Minute):
			t.Fatal("the modem never answered +CMGS")
		}
		filler := storetest.FillDisk(t, dir)
		exhaustFreePages(t, r.db)
		close(gate.release)

		// The runner could not write the MR: its session ends, as any failed
		// write on the send path ends it.
		r.waitFor("the MR write to fail", func() bool {
			return strings.Contains(r.g.Modems()[0].LastError, "persist MR")
		})
		m, err := r.db.Get(msg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != store.StatusSending || m.Parts[0].MR != -1 {
			t.Fatalf("on disk while the disk is full: %s, MR %d; want sending without an MR", m.Status, m.Parts[0].MR)
		}
		if err := r.g.Writable(); !errors.Is(err, ErrDiskFull) {
			t.Errorf("Writable on a full disk: %v, want ErrDiskFull", err)
		}
		if !hasAlert(r.g, AlertDiskFull, "") {
			t.Errorf("alerts %+v, want %s", r.g.Alerts(), AlertDiskFull)
		}

		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		m = r.waitStatus(msg.ID, store.StatusDelivered)
		if m.Parts[0].MR < 0 || m.Parts[0].Status != store.StatusDelivered {
			t.Errorf("after room was made: part %+v, want its MR written and its report matched", m.Parts[0])
		}
		r.waitFor("the disk_full alert to clear", func() bool { return !hasAlert(r.g, AlertDiskFull, "") })
		if subs := r.net.Submissions(); len(subs) != 1 {
			t.Errorf("the network saw %d submissions, want the one text once", len(subs))
		}
		// The kept MR's usage, written once the disk allowed, counts the
		// recipient towards the SIM's distinct-recipient limits.
		u, err := r.db.LoadUsage("sim1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(u.DayRecipients, "+12015550123") {
			t.Errorf("sim1's recipients today %q, want the kept text's number", u.DayRecipients)
		}
	})
}

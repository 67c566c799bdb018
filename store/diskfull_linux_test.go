package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/simgate/simgate/store/storetest"
)

// A write that fails for lack of space says so (ErrDiskFull), marks the
// disk full for Writable and the watcher, and leaves the file intact: once
// room is made, the mark clears and writes succeed.
func TestDiskFull(t *testing.T) {
	dir := storetest.MountTmpfs(t, "4m")
	db, err := Open(filepath.Join(dir, "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var seen problems
	db.OnHealthChange(seen.record)
	filler := storetest.FillDisk(t, dir)

	var writeErr error
	stored := 0
	for i := range 100000 {
		_, err := db.CreateContact(Contact{Number: fmt.Sprintf("+1201%07d", i), Name: "a name long enough to need pages"})
		if err != nil {
			writeErr = err
			break
		}
		stored++
	}
	if !errors.Is(writeErr, ErrDiskFull) {
		t.Fatalf("writing on a full disk: %v, want ErrDiskFull", writeErr)
	}
	if err := db.Writable(); !errors.Is(err, ErrDiskFull) {
		t.Errorf("Writable on a full disk: %v, want ErrDiskFull", err)
	}
	if got := seen.list(); len(got) != 1 || !errors.Is(got[0], ErrDiskFull) {
		t.Errorf("watcher heard %v, want one ErrDiskFull", got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := db.Writable(); err != nil {
		t.Errorf("Writable after room was made: %v", err)
	}
	if got := seen.list(); len(got) != 2 || got[1] != nil {
		t.Errorf("watcher heard %v, want the all-clear last", got)
	}
	if _, err := db.CreateContact(Contact{Number: "+12029999999"}); err != nil {
		t.Fatalf("a write after room was made: %v", err)
	}
	n, err := db.CountContacts()
	if err != nil || n != stored+1 {
		t.Errorf("contacts: %d, %v; want the %d stored before the disk filled and one after", n, err, stored)
	}
}

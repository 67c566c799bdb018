package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of the given size ("4m") on a fresh directory
// for the test: a real file system that really runs out of space. It needs
// root (CI runs as root) and skips otherwise. RLIMIT_FSIZE would not need
// root, but it fails writes with EFBIG (and SIGXFSZ), which is not what a
// full disk says.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs to fill needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file into dir until the file system has no room left,
// and returns its path: removing it gives the room back.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	// What is left is smaller than a chunk; take it a page at a time.
	for {
		if _, err := f.Write(chunk[:4096]); err != nil {
			break
		}
	}
	return path
}

// A write that fails for lack of space says so (ErrDiskFull), marks the
// disk full for Writable and the watcher, and leaves the file intact: once
// room is made, the mark clears and writes succeed.
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	db, err := Open(filepath.Join(dir, "simgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var seen problems
	db.OnHealthChange(seen.record)
	filler := fillDisk(t, dir)

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

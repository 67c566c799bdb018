package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// backupWith makes a database holding texts, backs it up with BackupTo and
// returns the backup's path and the texts' IDs.
func backupWith(t *testing.T, texts ...string) (string, []uint64) {
	t.Helper()
	db := openTest(t)
	var ids []uint64
	for _, text := range texts {
		m, _, err := db.Enqueue(Message{To: "+15550100", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	path := filepath.Join(t.TempDir(), "nightly.db")
	n, err := db.BackupTo(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != n {
		t.Fatalf("backup file: %v (reported %d bytes)", err, n)
	}
	if _, err := os.Stat(path + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BackupTo left its .partial file: %v", err)
	}
	return path, ids
}

func TestRestoreReplacesAndKeepsTheOldFile(t *testing.T) {
	backup, ids := backupWith(t, "from the backup 1", "from the backup 2")

	dir := t.TempDir()
	path := filepath.Join(dir, "simgate.db")
	cur, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cur.Enqueue(Message{To: "+15550199", Text: "only in the current file"}); err != nil {
		t.Fatal(err)
	}

	// While the file is open (the daemon runs), a restore is refused.
	if _, err := Restore(backup, path, time.Now()); !errors.Is(err, ErrLocked) {
		t.Fatalf("restore over a file in use: %v, want ErrLocked", err)
	}
	cur.Close()

	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	rep, err := Restore(backup, path, at)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Schema != SchemaVersion || rep.KeptAside != path+".before-restore-20261205T100000Z" {
		t.Errorf("report %+v", rep)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, id := range ids {
		if m, err := db.Get(id); err != nil || m.Text != []string{"from the backup 1", "from the backup 2"}[i] {
			t.Errorf("restored message %d: %+v, %v", id, m, err)
		}
	}
	old, err := Open(rep.KeptAside)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if m, err := old.Get(1); err != nil || m.Text != "only in the current file" {
		t.Errorf("the file set aside lost its text: %+v, %v", m, err)
	}
}

func TestRestoreRefusesBadBackups(t *testing.T) {
	cases := []struct {
		name    string
		spoil   func(t *testing.T, path string)
		wantErr func(error) bool
	}{
		{"newer schema", func(t *testing.T, path string) { setVersion(t, path, SchemaVersion+1) },
			func(err error) bool { return errors.Is(err, ErrNewerSchema) }},
		{"damaged page", func(t *testing.T, path string) { damagePageHolding(t, path, "restore-marker-77") },
			func(err error) bool { return errors.Is(err, ErrDamaged) }},
		{"not a database", func(t *testing.T, path string) { os.WriteFile(path, []byte("hello, not bbolt"), 0o600) },
			func(err error) bool { return err != nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			backup, _ := backupWith(t, "restore-marker-77")
			c.spoil(t, backup)

			path := filepath.Join(t.TempDir(), "simgate.db")
			cur, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			cur.Enqueue(Message{To: "+15550199", Text: "keep me"})
			cur.Close()
			before, _ := os.ReadFile(path)

			_, err = Restore(backup, path, time.Now())
			if !c.wantErr(err) {
				t.Fatalf("restore: %v", err)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("a refused restore changed the file in place")
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			for _, e := range entries {
				if e.Name() != "simgate.db" {
					t.Errorf("a refused restore left %s behind", e.Name())
				}
			}
			if err != nil && !strings.Contains(err.Error(), backup) {
				t.Errorf("error %q does not name the backup", err)
			}
		})
	}
}

func TestRestoreIntoEmptyDir(t *testing.T) {
	backup, ids := backupWith(t, "first start from a backup")
	path := filepath.Join(t.TempDir(), "simgate.db")
	rep, err := Restore(backup, path, time.Now())
	if err != nil || rep.KeptAside != "" {
		t.Fatalf("Restore = %+v, %v", rep, err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m, err := db.Get(ids[0]); err != nil || m.Text != "first start from a backup" {
		t.Errorf("restored %+v, %v", m, err)
	}
}

package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedFile writes a database holding contacts (each named with a marker
// that can be found in the file), consent entries and messages, compacts
// it so that every page is live and holds one copy of each record, and
// returns its path.
func seedFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "simgate.db")
	// No fsync while seeding: Compact reads it back through the page cache
	// and syncs the copy.
	db, err := Open(path, WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]ContactUpsert, 2000)
	for i := range rows {
		rows[i] = ContactUpsert{Contact: Contact{Number: fmt.Sprintf("+1201555%04d", i), Name: fmt.Sprintf("contact-marker-%04d", i)}}
	}
	if _, err := db.UpsertContacts(rows); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, _, _, err := db.AppendConsent(ConsentEvent{Number: fmt.Sprintf("+1201555%04d", i), Type: EventOptOut, Purpose: PurposeAll,
			Method: MethodKeyword, Source: fmt.Sprintf("consent-marker-%04d", i)}, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Enqueue(Message{To: fmt.Sprintf("+1201555%04d", i), Text: fmt.Sprintf("message-marker-%04d", i),
			Parts: []Part{{Seq: 1, MR: -1}}, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compact(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// damagePageHolding overwrites, with bytes that are no page, every 4 KiB
// page of the file that holds marker: a record's page as a bad sector or
// a stray write would leave it.
func damagePageHolding(t *testing.T, path, marker string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	rng := rand.New(rand.NewPCG(15, 5))
	hit := 0
	for off := 0; off+page <= len(raw); off += page {
		if !bytes.Contains(raw[off:off+page], []byte(marker)) {
			continue
		}
		for i := off; i < off+page; i++ {
			raw[i] = byte(rng.Uint32())
		}
		hit++
	}
	if hit == 0 {
		t.Fatalf("no page holds %q", marker)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifySoundFile(t *testing.T) {
	path := seedFile(t)
	rep, err := Verify(path, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Damaged() || !rep.Full || rep.Schema != uint64(len(migrations)) || rep.InUse == 0 || rep.InUse > rep.Size {
		t.Fatalf("sound file: %+v", rep)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a sound file: %v", err)
	}
	db.Close()
}

// Damage is reported, never a panic, and Open refuses the file.
func TestVerifyFindsDamage(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"truncated to half", func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"a contact's page", func(t *testing.T, path string) { damagePageHolding(t, path, "contact-marker-1234") }, `bucket "contacts"`},
		{"a consent entry's page", func(t *testing.T, path string) { damagePageHolding(t, path, "consent-marker-0100") }, `bucket "consent_events"`},
		{"both headers", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, 2*4096), 0); err != nil {
				t.Fatal(err)
			}
		}, "headers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := seedFile(t)
			c.damage(t, path)
			rep, err := Verify(path, math.MaxInt64)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Damaged() || !strings.Contains(strings.Join(rep.Problems, "\n"), c.want) {
				t.Fatalf("Verify: %+v, want a problem naming %q", rep, c.want)
			}
			if !errors.Is(rep.Err(), ErrDamaged) {
				t.Errorf("report error %v does not wrap ErrDamaged", rep.Err())
			}
			db, err := Open(path)
			if err == nil {
				db.Close()
				t.Fatal("Open accepted the damaged file")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "is damaged") {
				t.Errorf("Open: %v, want ErrDamaged naming the file", err)
			}
		})
	}
}

// Above the start-check bound, Open reads the compliance records but not
// the message history: damage in a consent entry still stops it, damage in
// a message does not (that is simgate check's, and the guard's at run
// time).
func TestStartCheckBound(t *testing.T) {
	consent := seedFile(t)
	damagePageHolding(t, consent, "consent-marker-0100")
	if db, err := Open(consent, WithStartCheck(64<<10)); err == nil || !errors.Is(err, ErrDamaged) {
		if db != nil {
			db.Close()
		}
		t.Errorf("damaged consent ledger above the bound: Open = %v, want ErrDamaged", err)
	}
	message := seedFile(t)
	damagePageHolding(t, message, "message-marker-0150")
	db, err := Open(message, WithStartCheck(64<<10))
	if err != nil {
		t.Fatalf("damaged message history above the bound: Open = %v, want it opened", err)
	}
	db.Close()
	rep, err := Verify(message, 64<<10)
	if err != nil || rep.Full || rep.Damaged() || !strings.Contains(rep.Checked, "not read") {
		t.Errorf("bounded Verify: %+v, %v; want a partial check that says what it left out", rep, err)
	}
	if _, err := Open(message); !errors.Is(err, ErrDamaged) {
		t.Errorf("within the default bound: Open = %v, want ErrDamaged", err)
	}
}

// A 0-byte file is not a new database: Open refuses it unless told to
// start one there.
func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrEmptyFile) || !strings.Contains(err.Error(), "0 bytes") {
		t.Fatalf("Open of a 0-byte file: %v, want ErrEmptyFile", err)
	}
	rep, err := Verify(path, math.MaxInt64)
	if err != nil || !rep.Damaged() || !strings.Contains(rep.Problems[0], "0 bytes") {
		t.Errorf("Verify of a 0-byte file: %+v, %v", rep, err)
	}
	db, err := Open(path, WithInit())
	if err != nil {
		t.Fatalf("Open with WithInit: %v", err)
	}
	db.Close()
	db, err = Open(path) // an ordinary database now
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// Verify waits for a running simgate's lock like Open does, and says so.
func TestVerifyLocked(t *testing.T) {
	path := seedFile(t)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := verify(path, math.MaxInt64, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("Verify of an open file: %v, want ErrLocked", err)
	}
}

// Compact refuses a damaged file and leaves it as it was: bbolt's copy
// would panic on it, or drop what it cannot read without a word.
func TestCompactRefusesDamage(t *testing.T) {
	path := seedFile(t)
	damagePageHolding(t, path, "contact-marker-0500")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compact(path); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "compact refuses") {
		t.Fatalf("Compact of a damaged file: %v, want ErrDamaged", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("Compact changed the damaged file")
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a copy was left behind: %v", err)
	}
}

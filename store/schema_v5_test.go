package store

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// readKV returns the kv bucket of the database at path, "namespace/key" →
// value, or nil when there is no such bucket.
func readKV(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var kv map[string]string
	raw.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		if b == nil {
			return nil
		}
		kv = map[string]string{}
		return b.ForEach(func(k, v []byte) error { kv[string(k)] = string(v); return nil })
	})
	return kv
}

// TestFixtureV4 upgrades a database written by the version 4 gateway
// (testdata/v4.db.gz, made by testdata/v4_writer_test.go.txt): every kv
// record is found through the typed methods, JSON records byte for byte.
func TestFixtureV4(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	unpackFixture(t, "testdata/v4.db.gz", path)
	if v := readVersion(t, path); v != 4 {
		t.Fatalf("fixture at version %d, want 4", v)
	}
	before := readKV(t, path)
	if len(before) != 10 {
		t.Fatalf("fixture kv has %d records, want 10: %v", len(before), before)
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	if doc, err := db.ComplianceSettings(); err != nil || string(doc) != before["settings/compliance"] {
		t.Errorf("ComplianceSettings = %s, %v; want the v4 record", doc, err)
	}
	for _, version := range []string{"v1", "v2"} {
		var want Disclosure
		if err := json.Unmarshal([]byte(before["disclosures/"+version]), &want); err != nil || want.Text == "" {
			t.Fatalf("fixture disclosure %s: %+v, %v", version, want, err)
		}
		if d, ok, err := db.Disclosure(version); err != nil || !ok || d != want {
			t.Errorf("Disclosure(%s) = %+v, %v, %v; want %+v", version, d, ok, err, want)
		}
	}
	for number, want := range map[string]uint64{"+12015550123": 7, "+12015550124": 3, "+12015550125": 0} {
		if id, err := db.InboxRead(number); err != nil || id != want {
			t.Errorf("InboxRead(%s) = %d, %v; want %d", number, id, err, want)
		}
	}
	rec, ok, err := db.ModemRecord("sim1")
	if err != nil || !ok || rec.Path != "/dev/ttyUSB0" || rec.Identity.IMEI != "356938035643809" ||
		rec.Identity.ICCID != "8901150123456789012" || rec.FirstSeen.IsZero() {
		t.Errorf("ModemRecord(sim1) = %+v, %v, %v", rec, ok, err)
	}
	for name, want := range map[string]bool{"sim1": true, "sim2": false} {
		if paused, err := db.ModemPaused(name); err != nil || paused != want {
			t.Errorf("ModemPaused(%s) = %v, %v; want %v", name, paused, err, want)
		}
	}
	db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketKV) != nil {
			t.Error("bucket kv is still there")
		}
		for name, want := range map[string]string{"sim1": before["modems/sim1"], "sim2": before["modems/sim2"]} {
			if got := string(tx.Bucket(bucketModems).Get([]byte(name))); got != want {
				t.Errorf("modem record %s = %s, want the v4 record %s", name, got, want)
			}
		}
		// sim2's PDU was kept first although its old key sorts after sim1's.
		for id, key := range map[uint64]string{1: "undecodable/sim2-1735790765000000000-4", 2: "undecodable/sim1-1735790766000000000-0"} {
			if got, want := string(tx.Bucket(bucketUndecodable).Get(u64(id))), before[key]; want == "" || got != want {
				t.Errorf("undecodable %d = %s, want %s (%s)", id, got, want, key)
			}
		}
		return nil
	})
	if v := readVersionOf(t, db); v != SchemaVersion {
		t.Errorf("version %d after upgrade, want %d", v, SchemaVersion)
	}

	// The moved records go on from where they were.
	if err := db.MarkInboxRead("+12015550123", 5); err != nil {
		t.Fatal(err)
	}
	if id, _ := db.InboxRead("+12015550123"); id != 7 {
		t.Errorf("marker moved back to %d after the upgrade", id)
	}
	if id, err := db.KeepUndecodable(UndecodablePDU{Modem: "sim1", PDU: "00"}); err != nil || id != 3 {
		t.Errorf("KeepUndecodable after the upgrade = %d, %v; want ID 3", id, err)
	}
}

// writeV4 makes a database at schema version 4 whose kv bucket holds kv.
func writeV4(t *testing.T, path string, kv map[string]string) {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	err = raw.Update(func(tx *bbolt.Tx) error {
		if err := migrate(tx, migrations[:4]); err != nil {
			return err
		}
		for k, v := range kv {
			if err := tx.Bucket(bucketKV).Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateKV(t *testing.T) {
	t.Run("paused false", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "v4.db")
		writeV4(t, path, map[string]string{"modem_paused/sim3": "false", "modem_paused/sim4": "true"})
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for name, want := range map[string]bool{"sim3": false, "sim4": true} {
			if paused, err := db.ModemPaused(name); err != nil || paused != want {
				t.Errorf("ModemPaused(%s) = %v, %v; want %v", name, paused, err, want)
			}
		}
	})
	// A record the upgrade cannot place, or cannot read, stops it: the
	// file stays at version 4 with its kv bucket whole.
	for name, kv := range map[string]map[string]string{
		"unknown namespace": {"counters/mr": "7", "inbox_read/+15550100": "3"},
		"unknown settings":  {"settings/webhooks": "{}"},
		"damaged marker":    {"inbox_read/+15550100": `"three"`},
		"damaged PDU":       {"undecodable/sim1-1-0": `{"at":"yesterday"}`},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v4.db")
			writeV4(t, path, kv)
			db, err := Open(path)
			if err == nil {
				db.Close()
				t.Fatal("Open upgraded a kv bucket it cannot account for")
			}
			if !strings.Contains(err.Error(), "4 → 5") {
				t.Errorf("error %q does not name the step", err)
			}
			if v := readVersion(t, path); v != 4 {
				t.Errorf("version %d, want 4", v)
			}
			if got := readKV(t, path); len(got) != len(kv) {
				t.Errorf("kv after the failed upgrade = %v, want %v", got, kv)
			}
		})
	}
}

func readVersionOf(t *testing.T, db *DB) uint64 {
	t.Helper()
	var v uint64
	if err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		v, err = schemaVersion(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

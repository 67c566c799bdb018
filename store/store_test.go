package store

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// clock is a settable time source for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openTest opens a fresh database in t.TempDir() and closes it at the end.
func openTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "simgate.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		wantErr string
		is      error
	}{
		{name: "creates file", path: filepath.Join(dir, "new.db")},
		{name: "missing directory", path: filepath.Join(dir, "nope", "x.db"), wantErr: "directory " + filepath.Join(dir, "nope") + " does not exist", is: fs.ErrNotExist},
		{name: "parent is a file", path: filepath.Join(dir, "new.db", "x.db"), wantErr: "is not a directory"},
		{name: "empty path", path: "", wantErr: "empty database path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path, WithLockTimeout(50*time.Millisecond))
			if tt.wantErr != "" {
				if err == nil {
					db.Close()
					t.Fatalf("Open(%q) succeeded, want error containing %q", tt.path, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %v is not %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if db.Path() != tt.path {
				t.Errorf("Path() = %q, want %q", db.Path(), tt.path)
			}
			st, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := st.Mode().Perm(); perm != 0o600 {
				t.Errorf("file mode %o, want 600", perm)
			}
		})
	}
}

func TestOpenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := db.Enqueue(Message{To: "+15550100", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Get(m.ID)
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got.Text != "hello" {
		t.Errorf("text %q, want hello", got.Text)
	}
}

func TestOpenTwiceLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// bbolt's flock is per open file description, so a second Open in the
	// same process meets the lock exactly as another process would.
	second, err := Open(path, WithLockTimeout(50*time.Millisecond))
	if err == nil {
		second.Close()
		t.Fatal("second Open succeeded, want ErrLocked")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "in use by another simgate process") {
		t.Errorf("error %q does not say the database is in use", err)
	}
}

// setVersion writes a raw schema version, as a newer simgate would.
func setVersion(t *testing.T, path string, v uint64) {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyVersion, u64(v))
	}); err != nil {
		t.Fatal(err)
	}
}

func readVersion(t *testing.T, path string) uint64 {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v uint64
	if err := raw.View(func(tx *bbolt.Tx) error {
		var err error
		v, err = schemaVersion(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	setVersion(t, path, SchemaVersion+1)

	db, err = Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Errorf("error %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{fmt.Sprintf("version %d", SchemaVersion+1), fmt.Sprintf("up to version %d", SchemaVersion)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if v := readVersion(t, path); v != SchemaVersion+1 {
		t.Errorf("refused open changed the version to %d", v)
	}
	// The lock was released: the file can be opened again.
	setVersion(t, path, SchemaVersion)
	db, err = Open(path, WithLockTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatalf("Open after refusal: %v", err)
	}
	db.Close()
}

func TestSchemaVersionMatchesMigrations(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Errorf("len(migrations) = %d, SchemaVersion = %d", len(migrations), SchemaVersion)
	}
}

func TestMigrateFromEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simgate.db")
	// An empty bbolt file, as an interrupted first start might leave.
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketMessages, bucketMsgByStatus, bucketMsgDue, bucketMsgIdem,
			bucketMsgIdemTime, bucketMsgReports, bucketInbound, bucketInboundParts, bucketInboundSeen,
			bucketInboundSeenTime, bucketTokens, bucketTokensByID, bucketSettings, bucketDisclosures,
			bucketInboxRead, bucketModems, bucketModemsPaused, bucketUndecodable,
			bucketImportJobs, bucketImportRejected, bucketImportSeen,
			bucketFlows, bucketFlowVersions, bucketFlowCounters, bucketFlowEntries, bucketFlowDue, bucketFlowPaused,
			bucketFlowByNumber, bucketFlowByFlow, bucketFlowByExit, bucketFlowPendingSends, bucketFlowOnce,
			bucketCampaigns, bucketCampaignMembersByNumber, bucketCampaignMembers} {
			if tx.Bucket(b) == nil {
				missing = append(missing, string(b))
			}
		}
		if tx.Bucket(bucketKV) != nil {
			t.Error("bucket kv is still there: migration 4 → 5 deletes it")
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("buckets missing after migration: %v", missing)
	}
	if v := readVersion(t, path); v != SchemaVersion {
		t.Errorf("version %d, want %d", v, SchemaVersion)
	}
}

// TestMigrateAllOrNothing runs a made-up two-step history whose second step
// fails: the first step's work and the version bump must both be absent.
func TestMigrateAllOrNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	boom := errors.New("boom")
	steps := []func(*bbolt.Tx) error{
		func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("a")); return err },
		func(tx *bbolt.Tx) error { return boom },
	}
	err = raw.Update(func(tx *bbolt.Tx) error { return migrate(tx, steps) })
	if !errors.Is(err, boom) {
		t.Fatalf("migrate error %v, want boom", err)
	}
	if !strings.Contains(err.Error(), "1 → 2") {
		t.Errorf("error %q does not name the failing step", err)
	}
	raw.View(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte("a")) != nil {
			t.Error("step 0 was committed although step 1 failed")
		}
		if v, _ := schemaVersion(tx); v != 0 {
			t.Errorf("version %d, want 0", v)
		}
		return nil
	})
	// Pending steps run from the stored version on, not from zero.
	steps[1] = func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }
	if err := raw.Update(func(tx *bbolt.Tx) error { return migrate(tx, steps[:1]) }); err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *bbolt.Tx) error { return migrate(tx, steps) }); err != nil {
		t.Fatalf("second migration re-ran step 0: %v", err)
	}
	raw.View(func(tx *bbolt.Tx) error {
		if v, _ := schemaVersion(tx); v != 2 {
			t.Errorf("version %d, want 2", v)
		}
		return nil
	})
}

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/v1.db.gz (only while SchemaVersion is 1)")

// fixtureTime is the clock of the v1 fixture.
var fixtureTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// TestFixtureV1 opens a database written by schema version 1 and reads its
// records. When a migration is added, this proves that files from the field
// still open and keep their data.
func TestFixtureV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	if *updateFixtures {
		if SchemaVersion != 1 {
			t.Fatal("the v1 fixture can only be written by a version 1 binary")
		}
		writeFixtureV1(t, path)
	}
	unpackFixtureV1(t, path)

	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open v1 fixture: %v", err)
	}
	defer db.Close()
	msgs, _, err := db.List(ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Status != StatusSent || msgs[1].Status != StatusQueued {
		t.Fatalf("fixture messages %+v, want one sent and one queued", msgs)
	}
	if id, seq, ok, err := db.FindReport("modem-a", 42, time.Time{}, func(Message, int, time.Time) bool { return true }); err != nil || !ok || id != msgs[0].ID || seq != 1 {
		t.Errorf("FindReport = %d, %d, %v, %v; want message %d part 1", id, seq, ok, err, msgs[0].ID)
	}
	if due, err := db.Due(fixtureTime, 10); err != nil || len(due) != 1 || due[0].To != "+15550101" {
		t.Errorf("Due = %+v, %v; want the queued message", due, err)
	}
	if tok, err := db.CheckToken("sg_fixturefixturefixturefixturefixturefixturefixturefi"); err != nil || tok.Name != "pos" {
		t.Errorf("CheckToken = %+v, %v; want token pos", tok, err)
	}
	if in, _, err := db.Inbox(0, 10); err != nil || len(in) != 1 || in[0].Text != "STOP" {
		t.Errorf("Inbox = %+v, %v; want one STOP", in, err)
	}
	// The kv record moved, byte for byte, into the modems bucket (schema 5).
	db.bolt.View(func(tx *bbolt.Tx) error {
		if got := string(tx.Bucket(bucketModems).Get([]byte("modem-a"))); got != fixtureV1Modem {
			t.Errorf("modem record %q, want the fixture's %q", got, fixtureV1Modem)
		}
		return nil
	})
}

// fixtureV1Modem is the kv record "modems/modem-a" of the v1 fixture.
const fixtureV1Modem = `{"IMEI":"356938035643809"}`

func writeFixtureV1(t *testing.T, path string) {
	db, err := Open(path, WithClock(func() time.Time { return fixtureTime }))
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := db.Enqueue(Message{To: "+15550101", Text: "queued", Kind: KindTransactional, Encoding: "GSM-7",
		Parts: []Part{{Seq: 1, MR: -1, Status: StatusQueued}}, NextAttemptAt: fixtureTime, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	_ = q
	s, _, err := db.Enqueue(Message{To: "+15550102", Text: "sent", Kind: KindMarketing, Encoding: "GSM-7", Modem: "modem-a",
		Status: StatusSent, Parts: []Part{{Seq: 1, MR: 42, Modem: "modem-a", Status: StatusSent, SentAt: fixtureTime}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = s
	// A token with a known plaintext, written the way CreateToken does.
	plain := "sg_fixturefixturefixturefixturefixturefixturefixturefi"
	if err := db.bolt.Update(func(tx *bbolt.Tx) error {
		id, _ := tx.Bucket(bucketTokensByID).NextSequence()
		raw := []byte(`{"id":1,"name":"pos","created_at":"2025-01-02T03:04:05Z"}`)
		if err := tx.Bucket(bucketTokens).Put(tokenHash(plain), raw); err != nil {
			return err
		}
		return tx.Bucket(bucketTokensByID).Put(u64(id), tokenHash(plain))
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddInboundPart(InboundPart{Modem: "modem-a", From: "+15550102", Total: 1, TPDU: []byte{1, 2, 3}},
		func([]InboundPart) (Inbound, error) { return Inbound{Text: "STOP"}, nil }); err != nil {
		t.Fatal(err)
	}
	// Written the way version 1's PutJSON did.
	if err := db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketKV).Put([]byte("modems/modem-a"), []byte(fixtureV1Modem))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile("testdata/v1.db.gz", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBackup(t *testing.T) {
	db := openTest(t)
	var ids []uint64
	for i := range 5 {
		m, _, err := db.Enqueue(Message{To: "+15550100", Text: strings.Repeat("x", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	plain, _, err := db.CreateToken("backup")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Backup(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != n {
		t.Errorf("Backup reported %d bytes, file has %d", n, st.Size())
	}

	copyDB, err := Open(path)
	if err != nil {
		t.Fatalf("Open backup: %v", err)
	}
	defer copyDB.Close()
	for i, id := range ids {
		m, err := copyDB.Get(id)
		if err != nil {
			t.Fatalf("backup Get(%d): %v", id, err)
		}
		if want := strings.Repeat("x", i+1); m.Text != want {
			t.Errorf("backup message %d text %q, want %q", id, m.Text, want)
		}
	}
	if q, _ := copyDB.IDsByStatus(StatusQueued); len(q) != len(ids) {
		t.Errorf("backup status index holds %d queued, want %d", len(q), len(ids))
	}
	if _, err := copyDB.CheckToken(plain); err != nil {
		t.Errorf("token does not work on the backup: %v", err)
	}
}

func TestNanos(t *testing.T) {
	tests := []struct {
		t    time.Time
		want uint64
	}{
		{time.Time{}, 0},
		{time.Unix(-5, 0), 0},
		{time.Unix(0, 7), 7},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 1<<63 - 1},
	}
	for _, tt := range tests {
		if got := nanos(tt.t); got != tt.want {
			t.Errorf("nanos(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
	// Key order is time order.
	a, b := time.Unix(1, 999), time.Unix(2, 0)
	if bytes.Compare(u64(nanos(a)), u64(nanos(b))) >= 0 {
		t.Error("encoded keys do not sort in time order")
	}
	if got := binary.BigEndian.Uint64(u64(42)); got != 42 {
		t.Errorf("u64 round trip = %d", got)
	}
}

// unpackFixtureV1 writes the real version 1 database (testdata/v1.db.gz)
// to path.
func unpackFixtureV1(t *testing.T, path string) { unpackFixture(t, "testdata/v1.db.gz", path) }

// unpackFixture writes the gzipped database fixture to path.
func unpackFixture(t *testing.T, fixture, path string) {
	t.Helper()
	gz, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

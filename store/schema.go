package store

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// Every bucket simgate keeps, declared in one place so that the layout of
// the file can be read here and nowhere else. Names are stored on disk:
// never rename one, add a migration instead.
var (
	// bucketMeta holds keyVersion (8-byte big-endian schema version).
	bucketMeta = []byte("meta")

	// bucketMessages: message ID (8 bytes) → Message JSON.
	bucketMessages = []byte("messages")
	// bucketMsgByStatus: status (1 byte) | message ID → empty. Derived.
	bucketMsgByStatus = []byte("messages_by_status")
	// bucketMsgDue: NextAttemptAt (8-byte unix nanos) | message ID → empty,
	// only for queued messages. Derived.
	bucketMsgDue = []byte("messages_due")
	// bucketMsgIdem: idempotency key → message ID | CreatedAt nanos. Derived.
	bucketMsgIdem = []byte("messages_idempotency")
	// bucketMsgIdemTime: CreatedAt nanos | message ID → idempotency key, so
	// expired keys can be pruned oldest first. Derived.
	bucketMsgIdemTime = []byte("messages_idempotency_time")
	// bucketMsgReports: modem | 0x00 | MR (1 byte) | message ID | part seq
	// (1 byte) → part SentAt nanos, for every part waiting for its status
	// report. Derived.
	bucketMsgReports = []byte("messages_reports")

	// bucketInbound: inbound ID → Inbound JSON.
	bucketInbound = []byte("inbound")
	// bucketInboundParts: modem | 0x00 | from | 0x00 | ref (2 bytes) |
	// total (1 byte) | seq (1 byte) → InboundPart JSON.
	bucketInboundParts = []byte("inbound_parts")
	// bucketInboundSeen: sha256(modem | 0x00 | TPDU) → first seen nanos.
	bucketInboundSeen = []byte("inbound_seen")
	// bucketInboundSeenTime: seen nanos | hash → empty, for pruning.
	bucketInboundSeenTime = []byte("inbound_seen_time")

	// bucketTokens: sha256(plaintext) → Token JSON.
	bucketTokens = []byte("tokens")
	// bucketTokensByID: token ID → sha256(plaintext), for listing and revoking.
	bucketTokensByID = []byte("tokens_by_id")

	// bucketKV: "bucket/key" → JSON, for the gateway's small records
	// (modems, MR and concatenation counters).
	bucketKV = []byte("kv")

	// bucketSIMUsage: per-SIM sending counters for the fleet's limits:
	// "c" | sim | 0 | day → parts sent that day (8 bytes);
	// "d" | sim | 0 | day | 0 | recipient → empty (unique per day);
	// "m" | sim | 0 | month | 0 | recipient → empty (unique per month).
	// Days are "2006-01-02" and months "2006-01" in the box's local time, so
	// keys of one SIM sort by period and old periods prune from the front.
	bucketSIMUsage = []byte("sim_usage")

	// bucketUsers: user name → User JSON (with the password hash).
	bucketUsers = []byte("users")
	// bucketSessions: sha256(session id) → Session JSON. The id itself is
	// only ever in the browser's cookie.
	bucketSessions = []byte("sessions")

	keyVersion = []byte("version")
)

// SchemaVersion is the layout this binary writes. It always equals
// len(migrations).
const SchemaVersion = 3

// migrations[i] upgrades a database at version i to version i+1. Version 0
// is an empty file. Append only: a released step is never edited, because
// databases in the field have already run it.
var migrations = []func(tx *bbolt.Tx) error{
	// 0 → 1: the initial layout.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{
			bucketMessages, bucketMsgByStatus, bucketMsgDue, bucketMsgIdem,
			bucketMsgIdemTime, bucketMsgReports,
			bucketInbound, bucketInboundParts, bucketInboundSeen, bucketInboundSeenTime,
			bucketTokens, bucketTokensByID,
			bucketKV,
		} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 1 → 2: per-SIM usage counters (modem fleet limits).
	func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketSIMUsage)
		return err
	},
	// 2 → 3: console users and their login sessions.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketUsers, bucketSessions} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
}

// schemaVersion reads the stored version; a file without a meta bucket is
// version 0.
func schemaVersion(tx *bbolt.Tx) (uint64, error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(keyVersion)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: schema version has %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// migrate brings the file to the version this binary knows. All pending
// steps and the version bump run in the one transaction tx: a crash half way
// leaves the file at the old version, never in between.
func migrate(tx *bbolt.Tx, steps []func(*bbolt.Tx) error) error {
	have, err := schemaVersion(tx)
	if err != nil {
		return err
	}
	want := uint64(len(steps))
	if have > want {
		return fmt.Errorf("%w: the database is at schema version %d, this simgate knows up to version %d: "+
			"upgrade simgate, or restore a backup made by this version", ErrNewerSchema, have, want)
	}
	if have == want {
		return nil
	}
	for v := have; v < want; v++ {
		if err := steps[v](tx); err != nil {
			return fmt.Errorf("store: migrate schema %d → %d: %w", v, v+1, err)
		}
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("store: create meta bucket: %w", err)
	}
	return meta.Put(keyVersion, u64(want))
}

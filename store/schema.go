package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// Every bucket simgate keeps, declared in one place so that the layout of
// the file can be read here and nowhere else. Names are stored on disk:
// never rename one, add a migration instead.
var (
	// bucketMeta holds keyVersion (8-byte big-endian schema version),
	// keySuppressionSalt (32 random bytes, from version 4) and the purge
	// cursors keyPurgedMessages / keyPurgedInbound (8-byte IDs: every row up
	// to it has had its body purged or never needs it).
	bucketMeta = []byte("meta")

	// bucketMessages: message ID (8 bytes) → Message JSON.
	bucketMessages = []byte("messages")
	// bucketMsgByStatus: status (1 byte) | message ID → empty. Derived.
	bucketMsgByStatus = []byte("messages_by_status")
	// bucketMsgDue: NextAttemptAt (8-byte unix nanos) | message ID → empty,
	// only for queued messages. Derived.
	bucketMsgDue = []byte("messages_due")
	// bucketMsgDueLow: as bucketMsgDue, for queued messages of low
	// priority (from version 6). Derived.
	bucketMsgDueLow = []byte("messages_due_low")
	// bucketMsgIdem: 0x00 | scope | 0x00 | idempotency key (or the bare key,
	// for messages stored before scopes) → message ID | CreatedAt nanos.
	// Derived (idemKey).
	bucketMsgIdem = []byte("messages_idempotency")
	// bucketMsgIdemTime: CreatedAt nanos | message ID → its bucketMsgIdem key, so
	// expired keys can be pruned oldest first. Derived.
	bucketMsgIdemTime = []byte("messages_idempotency_time")
	// bucketMsgReports: modem | 0x00 | MR (1 byte) | message ID | part seq
	// (1 byte) → part SentAt nanos, for every part waiting for its status
	// report. Derived.
	bucketMsgReports = []byte("messages_reports")
	// bucketMsgReportsTime: part SentAt nanos | message ID | part seq (1
	// byte) → empty, the parts of bucketMsgReports in the order they were
	// sent, so that those past the report window are found oldest first
	// (from version 11). Derived.
	bucketMsgReportsTime = []byte("messages_reports_time")

	// bucketMsgByTo: recipient | 0x00 | message ID → empty, for a number's
	// history and its erasure. Derived.
	bucketMsgByTo = []byte("messages_by_to")

	// bucketInbound: inbound ID → Inbound JSON.
	bucketInbound = []byte("inbound")
	// bucketInboundByFrom: sender | 0x00 | inbound ID → empty, for a
	// number's history and its erasure. Written with the text.
	bucketInboundByFrom = []byte("inbound_by_from")
	// bucketInboundPending: inbound ID → empty while the text's keywords
	// (STOP, START, HELP, YES) are not yet handled; written in the
	// transaction that stores the text, so a crash before handling loses
	// no STOP.
	bucketInboundPending = []byte("inbound_pending")
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

	// bucketKV: "namespace/key" → JSON, the gateway's small records up to
	// version 4. Migration 4 → 5 moves them into the buckets below and
	// deletes it; the name stays declared for the migrations that use it.
	bucketKV = []byte("kv")

	// bucketSettings: keyComplianceSettings → the gateway's compliance
	// settings JSON, as the gateway encodes them (the store reads only the
	// disclosure they name, which is passed beside them).
	bucketSettings = []byte("settings")
	// bucketDisclosures: disclosure version → Disclosure JSON, every
	// consent text ever saved. A version's text never changes, so a ledger
	// entry's version always shows the text the person saw.
	bucketDisclosures = []byte("disclosures")
	// bucketInboxRead: number → the highest inbound ID from it that the
	// console marked as read (8 bytes); only ever raised.
	bucketInboxRead = []byte("inbox_read")
	// bucketModems: modem name → ModemRecord JSON, the identity a modem
	// reported at its last start.
	bucketModems = []byte("modems")
	// bucketModemsPaused: modem name → empty while an operator has taken
	// the modem out of sending.
	bucketModemsPaused = []byte("modems_paused")
	// bucketUndecodable: ID (8 bytes) → UndecodablePDU JSON, stored PDUs
	// the driver could not read, kept as raw evidence.
	bucketUndecodable = []byte("undecodable")

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

	// bucketContacts: contact ID → Contact JSON.
	bucketContacts = []byte("contacts")
	// bucketContactsByNumber: E.164 number → contact ID (8 bytes). Keeps
	// numbers unique. Written with the contact.
	bucketContactsByNumber = []byte("contacts_by_number")

	// bucketConsentEvents: event ID → ConsentEvent JSON, the append-only
	// consent ledger. Only erasure rewrites an entry (pseudonymised).
	bucketConsentEvents = []byte("consent_events")
	// bucketConsentByNumber: number | 0x00 | event ID → empty; after erasure
	// the number is "erased:<hash>".
	bucketConsentByNumber = []byte("consent_by_number")
	// bucketConsentByInbound: inbound ID | event type → event ID, so that
	// one inbound text records one event of a type however often it is
	// handled (a crash and a retry).
	bucketConsentByInbound = []byte("consent_by_inbound")
	// bucketConsent: number → Consent JSON, the per-number compliance record.
	bucketConsent = []byte("consent")
	// bucketConsentReview: number → empty while Consent.Review is set.
	// Derived from the Consent record.
	bucketConsentReview = []byte("consent_review")
	// bucketSuppression: hex(sha256(salt | number)) → {"at": time} for
	// numbers erased on request (R-GDPR-2). Only the salted hash stays.
	bucketSuppression = []byte("suppression")

	// bucketBudgets: name | 0x00 | day → parts counted against that day's
	// budget (8 bytes), from version 6. Days are "2006-01-02" in the box's
	// local time; only the current day of each name is kept.
	bucketBudgets = []byte("budgets")
	// bucketSignups: sign-up ID (8 bytes) → Signup JSON, the sign-ups of
	// the public page that were answered and not yet acted on (from
	// version 6). A sign-up is deleted once handled.
	bucketSignups = []byte("signups")
	// bucketImportJobs: import job ID → ImportJob JSON, the record of a
	// CSV contact import, written with every batch of its rows (from
	// version 7). The oldest finished jobs are pruned when a new one starts.
	bucketImportJobs = []byte("import_jobs")
	// bucketImportRejected: import job ID → a bucket of row (8 bytes, the
	// line the row starts on) → ImportRejection JSON, the rows of the job
	// that were not stored, as many as the gateway keeps. Written in the
	// batch that reads them; deleted with the job.
	bucketImportRejected = []byte("import_rejected")
	// bucketImportSeen: import job ID → a bucket of E.164 number → the row
	// (8 bytes) that gave it to the job first, while the job runs, so a
	// number twice in one file is found without holding the file's
	// numbers in memory. Dropped when the job ends.
	bucketImportSeen = []byte("import_seen")

	// bucketEvents: Seq (8 bytes) → ShopEvent JSON, the shop's events in
	// the order the box stored them: an append-only log that consumers
	// read with cursors of their own (from version 8).
	bucketEvents = []byte("events")
	// bucketEventIDs: source | 0x00 | the sender's id → Seq, so an event
	// delivered twice is stored once. Written with the event.
	bucketEventIDs = []byte("events_ids")
	// bucketEventsByNumber: number | 0x00 | type | 0x00 | occurred nanos |
	// Seq → empty: a contact's timeline and "did this contact order since".
	bucketEventsByNumber = []byte("events_by_number")
	// bucketEventsByType: type | 0x00 | occurred nanos | Seq → empty, for
	// questions about every contact ("who ordered in the last 90 days").
	bucketEventsByType = []byte("events_by_type")
	// bucketExits: exit key → ExitMark JSON: the key was ended by an event
	// (an order for the checkout a reminder is about). Kept after the
	// event's retention: a text must not come back to life.
	bucketExits = []byte("exits")
	// bucketHookLog: delivery ID (8 bytes, from NextSequence) →
	// HookDelivery JSON, the newest HookLogSize deliveries of the shop's
	// webhooks and event batches with their outcome (from version 9), for
	// Settings → Integrations. Older entries are deleted as new ones come.
	bucketHookLog = []byte("hook_log")
	// bucketMsgByExit: exit key | 0x00 | message ID → empty, for queued
	// messages with an exit key (Message.ExitKey). Derived.
	bucketMsgByExit = []byte("messages_by_exit")

	// bucketLinks: short link code → Link JSON, from version 10. A code's
	// URL never changes; RecordClicks updates its counters.
	bucketLinks = []byte("links")
	// bucketLinksByKey: message key | 0x00 | URL → code, so a message made
	// again (a retry) gets the same codes. Written with the link.
	bucketLinksByKey = []byte("links_by_key")
	// bucketLinksByOrigin: origin | 0x00 | number | 0x00 | code → empty,
	// for clicks per flow or step and "did this number click that text".
	// Written with the link.
	bucketLinksByOrigin = []byte("links_by_origin")
	// bucketLinksByNumber: number | 0x00 | code → empty, for erasure.
	// Written with the link.
	bucketLinksByNumber = []byte("links_by_number")
	// bucketLinkClicks: code | 0x00 | sequence (8 bytes) → Click JSON, the
	// clicks of people, in the order stored.
	bucketLinkClicks = []byte("link_clicks")
	// bucketLinkPreviews: as bucketLinkClicks, for the fetches of
	// link-preview robots and HEAD requests, kept apart because they are
	// not clicks.
	bucketLinkPreviews = []byte("link_previews")
	// bucketTemplates: template ID (8 bytes) → Template JSON, the saved
	// message templates (from version 10). Names are unique; a shop keeps
	// tens of templates, so a save reads them all rather than keep an index.
	bucketTemplates = []byte("templates")

	// bucketCounters: counter key → 8-byte count, the totals of messages
	// and received texts per status, kind, modem, hour and day (from
	// version 11; counters.go lists the keys). Derived: moved in the
	// transaction that changes a record, rebuilt by the migration.
	bucketCounters = []byte("counters")

	// bucketFlows: flow ID (8 bytes) → Flow JSON, the head record of an
	// automated flow (from version 12).
	bucketFlows = []byte("flows")
	// bucketFlowVersions: flow ID | version (8 bytes each) → FlowVersion
	// JSON; a version never changes once written.
	bucketFlowVersions = []byte("flow_versions")
	// bucketFlowCounters: flow ID → FlowCounters JSON, changed in the
	// transaction that changes an entry.
	bucketFlowCounters = []byte("flow_counters")
	// bucketFlowEntries: entry ID (8 bytes) → FlowEntry JSON.
	bucketFlowEntries = []byte("flow_entries")
	// bucketFlowDue: DueAt (8-byte unix nanos) | entry ID → empty, for
	// waiting entries. Derived.
	bucketFlowDue = []byte("flow_due")
	// bucketFlowPaused: flow ID | entry ID → empty, for entries taken out
	// of the due index while their flow is paused. Derived.
	bucketFlowPaused = []byte("flow_paused")
	// bucketFlowByNumber: number | 0x00 | entry ID → empty. Derived.
	bucketFlowByNumber = []byte("flow_by_number")
	// bucketFlowByFlow: flow ID | entry ID → empty. Derived.
	bucketFlowByFlow = []byte("flow_by_flow")
	// bucketFlowByExit: exit key | 0x00 | entry ID → empty, for entries
	// an order for their checkout ends. Derived.
	bucketFlowByExit = []byte("flow_by_exit")
	// bucketFlowPendingSends: message ID → entry ID | step (8 bytes each),
	// for the texts an entry handed to the outbox whose outcome is not
	// final. Derived.
	bucketFlowPendingSends = []byte("flow_pending_sends")
	// bucketFlowOnce: flow ID | entry key → entry ID | EnteredAt nanos, the
	// last entry of each key, so a checkout enters a flow once. Written
	// with the entry; deleted with it by erasure.
	bucketFlowOnce = []byte("flow_once")
	// bucketChanges: Seq (8 bytes) → the change JSON (changeRecord): the
	// change feed, each state change recorded in the transaction that made
	// it (from version 13). Pruned once every consumer's cursor passed an
	// entry and it is older than ChangeRetention.
	bucketChanges = []byte("changes")
	// bucketChangeCursors: consumer name → the Seq it has read through (8
	// bytes).
	bucketChangeCursors = []byte("change_cursors")
	// bucketWebhookEndpoints: endpoint ID (8 bytes) → WebhookEndpoint JSON.
	bucketWebhookEndpoints = []byte("webhook_endpoints")
	// bucketWebhookDeliveries: target ("ep:<id>", "cb:<host>") | 0x00 |
	// delivery Seq (8 bytes) → WebhookDelivery JSON, pending and the newest
	// finished ones of each target.
	bucketWebhookDeliveries = []byte("webhook_deliveries")
	// bucketWebhookPending: the same keys → empty, while the delivery is
	// pending; the first key of a target is the next to send. Derived.
	bucketWebhookPending = []byte("webhook_pending")

	// bucketCampaigns: campaign ID (8 bytes) → Campaign JSON (from
	// version 14).
	bucketCampaigns = []byte("campaigns")
	// bucketCampaignMembersByNumber: number | 0x00 | campaign ID (8 bytes)
	// → CampaignMember JSON, one per person a campaign planned (holdout
	// included), written with the member's text.
	bucketCampaignMembersByNumber = []byte("campaign_members_by_number")
	// bucketCampaignMembers: campaign ID (8 bytes) | number → empty, the
	// members of a campaign. Written with the member.
	bucketCampaignMembers = []byte("campaign_members")
	// bucketSegments: segment ID (8 bytes) → Segment JSON, the saved
	// audiences (from version 15).
	bucketSegments = []byte("segments")
	// bucketContactsByTag: tag | 0x00 | contact ID (8 bytes) → empty, so a
	// segment on a tag reads only its members (from version 15). Derived:
	// written with the contact (putContact), removed with it.
	bucketContactsByTag = []byte("contacts_by_tag")
	// bucketActivity: number → Activity (binary, segments.go), a number's
	// orders, product views, started checkouts, last click and last
	// marketing text, for segments (from version 15). Derived: changed in
	// the transaction that stores the event, the click or the admission;
	// erased with the number.
	bucketActivity = []byte("activity")
	// bucketResults: result key ("campaign:5", "campaign:5:variant:b",
	// "flow:3", "flow:3:step:2", "all") | 0x00 | field ("sent", "orders",
	// "revenue/USD", ...) → 8-byte count (from the attribution step;
	// attribution.go lists the fields). Derived: moved in the transaction
	// of the message write, click, order or opt-out that implies it.
	bucketResults = []byte("results")
	// bucketAttrClicks: number | 0x00 | click nanos | click seq (8 bytes
	// each) → message ID (8 bytes) | kind (1 byte) | origin, every click
	// of a person on a short link, for "the last text the contact clicked".
	// Written with the click.
	bucketAttrClicks = []byte("attribution_clicks")
	// bucketClickers: number | 0x00 | result key → empty, the first click
	// of a number per result key (unique clicks). Written with the click.
	bucketClickers = []byte("result_clickers")
	// bucketClickHours: scope (a result key or "all") | 0x00 | weekday (1
	// byte, 0 = Sunday) | hour (1 byte) → 8-byte count, clicks by the
	// clicker's local hour of the week. Written with the click.
	bucketClickHours = []byte("click_hours")
	// bucketNumberHours: number | 0x00 | hour (1 byte) → 8-byte count, a
	// number's clicks by its local hour of the day, for "best hour"
	// sending. Written with the click.
	bucketNumberHours = []byte("number_click_hours")
	// bucketAttributions: event Seq (8 bytes) → Attribution JSON, the
	// append-only record of every order credited to a text.
	bucketAttributions = []byte("attributions")
	// bucketAttrOrders: source | 0x00 | order id → event Seq, so an order
	// sent again under another event id is counted once.
	bucketAttrOrders = []byte("attribution_orders")
	// bucketOptOutCredits: consent event ID (8 bytes) → OptOutCredit JSON,
	// the keyword opt-outs counted against a text.
	bucketOptOutCredits = []byte("optout_credits")
	// bucketPartPrices: modem name → PartPrice JSON, what a part sent
	// through the SIM costs; stamped on each part as it is sent.
	bucketPartPrices = []byte("part_prices")
	// bucketMembersOrdered: number | 0x00 | campaign ID (8 bytes) |
	// variant → empty, a campaign member who ordered within the click
	// window after the planned send, counted once.
	bucketMembersOrdered = []byte("members_ordered")

	// bucketSIMBalance: modem name → SIMBalance JSON, a SIM's periodic
	// USSD balance check (its code, interval and threshold) and the last
	// balance it read (from version 17).
	bucketSIMBalance = []byte("sim_balance")

	keyVersion         = []byte("version")
	keySuppressionSalt = []byte("suppression_salt")
	keyPurgedMessages  = []byte("purged_messages_through")
	keyPurgedInbound   = []byte("purged_inbound_through")

	keyComplianceSettings = []byte("compliance")
	// keyIntegrationSettings: the shop integrations' settings JSON (webhook
	// secrets, event retention), as package shopevents encodes them.
	keyIntegrationSettings = []byte("integrations")
	// keyAttributionSettings: AttributionWindows JSON.
	keyAttributionSettings = []byte("attribution")
	// keyOwnerAlertSettings: the owner's alert settings JSON (the number
	// alerts are texted to and whether they are), as package
	// gateway/alerting encodes them.
	keyOwnerAlertSettings = []byte("owner_alerts")
)

// SchemaVersion is the layout this binary writes. It always equals
// len(migrations).
const SchemaVersion = 17

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
	// 3 → 4: contacts, the consent ledger and suppression list, a number's
	// history (messages_by_to, inbound_by_from, built here for existing
	// rows) and the queue of inbound texts whose keywords are unhandled.
	migrateContactsConsent,
	// 4 → 5: the kv bucket's records move into buckets of their own.
	migrateKV,
	// 5 → 6: the public sign-up page's bounds: a due index for texts of
	// low priority, daily budgets and the sign-ups waiting to be handled.
	// No message of low priority exists before, so nothing is indexed.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMsgDueLow, bucketBudgets, bucketSignups} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 6 → 7: contact import jobs, their rejected rows and the numbers a
	// running job has seen, which lived in memory before.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketImportJobs, bucketImportRejected, bucketImportSeen} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 7 → 8: the shop's event log with its indexes, exit marks, and the
	// index of queued texts by exit key (no message had one before).
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketEvents, bucketEventIDs, bucketEventsByNumber, bucketEventsByType, bucketExits, bucketMsgByExit} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 8 → 9: the log of the shop's webhook deliveries (Settings →
	// Integrations).
	func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketHookLog)
		return err
	},
	// 9 → 10: message templates, short links and their clicks.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketLinks, bucketLinksByKey, bucketLinksByOrigin, bucketLinksByNumber,
			bucketLinkClicks, bucketLinkPreviews, bucketTemplates} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 10 → 11: counters of messages and received texts, so that pages count
	// without reading records (counters.go), built from the records; the
	// time order of the parts waiting for a status report, built from
	// their index.
	func(tx *bbolt.Tx) error {
		if err := migrateCounters(tx); err != nil {
			return err
		}
		return migrateReportsTime(tx)
	},
	// 11 → 12: automated flows, their versions, entries, due index and
	// counters. The engine's cursors live in meta.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketFlows, bucketFlowVersions, bucketFlowCounters, bucketFlowEntries,
			bucketFlowDue, bucketFlowPaused, bucketFlowByNumber, bucketFlowByFlow, bucketFlowByExit,
			bucketFlowPendingSends, bucketFlowOnce} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 12 → 13: the change feed with its consumers' cursors, and the
	// webhooks' endpoints and delivery outbox. Changes before the upgrade
	// are not recorded: the feed starts empty.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketChanges, bucketChangeCursors, bucketWebhookEndpoints,
			bucketWebhookDeliveries, bucketWebhookPending} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 13 → 14: campaigns and their members.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketCampaigns, bucketCampaignMembersByNumber, bucketCampaignMembers} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 14 → 15: saved segments, the contacts' tag index and each number's
	// activity summary, built from the records (segments.go).
	migrateSegments,
	// 15 → 16: attribution: per-origin results (built from the stored
	// texts), the click indexes (built from the stored clicks), the
	// attribution and opt-out records, and the prices of parts.
	migrateAttribution,
	// 16 → 17: each SIM's USSD balance check and its last reading.
	func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketSIMBalance)
		return err
	},
}

// migrateContactsConsent is schema step 3 → 4. Existing inbound texts are
// not marked pending: they were received before keywords were handled at
// all, and answering a months-old STOP now would surprise everyone.
func migrateContactsConsent(tx *bbolt.Tx) error {
	for _, name := range [][]byte{
		bucketContacts, bucketContactsByNumber,
		bucketConsentEvents, bucketConsentByNumber, bucketConsentByInbound,
		bucketConsent, bucketConsentReview, bucketSuppression,
		bucketMsgByTo, bucketInboundByFrom, bucketInboundPending,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	// Only the fields the keys need are decoded: a box with a million
	// messages upgrades in seconds, once.
	type addressed struct {
		ID   uint64 `json:"id"`
		To   string `json:"to"`
		From string `json:"from"`
	}
	for _, ix := range []struct {
		records, index []byte
		number         func(addressed) string
	}{
		{bucketMessages, bucketMsgByTo, func(r addressed) string { return r.To }},
		{bucketInbound, bucketInboundByFrom, func(r addressed) string { return r.From }},
	} {
		index := tx.Bucket(ix.index)
		err := tx.Bucket(ix.records).ForEach(func(k, v []byte) error {
			var r addressed
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s %x: %w", ix.records, k, err)
			}
			if ix.number(r) == "" || len(k) != 8 {
				return nil
			}
			return index.Put(numberKey(ix.number(r), binary.BigEndian.Uint64(k)), []byte{})
		})
		if err != nil {
			return fmt.Errorf("build %s: %w", ix.index, err)
		}
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if meta.Get(keySuppressionSalt) == nil {
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			return fmt.Errorf("suppression salt: %w", err)
		}
		if err := meta.Put(keySuppressionSalt, salt); err != nil {
			return err
		}
	}
	return nil
}

// migrateKV is schema step 4 → 5. Every namespace a version 4 binary wrote
// moves into its own bucket and the kv bucket is deleted. JSON records are
// copied byte for byte; read markers and pause flags change encoding (JSON
// number → 8 bytes, JSON true → presence) and undecodable PDUs are keyed by
// sequence IDs in the order they were kept. A record of any other
// namespace fails the upgrade and leaves the file at version 4: no simgate
// ever wrote one, and deleting what this binary cannot read would be worse
// than refusing to start.
func migrateKV(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketSettings, bucketDisclosures, bucketInboxRead,
		bucketModems, bucketModemsPaused, bucketUndecodable} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	kv := tx.Bucket(bucketKV)
	if kv == nil {
		return errors.New("bucket kv missing")
	}
	// Undecodable PDUs get IDs in the order they were kept; their old keys
	// ("modem-nanos-index") sort by modem first.
	type undecodable struct {
		At  time.Time `json:"at"`
		raw []byte
	}
	var pdus []undecodable
	err := kv.ForEach(func(k, v []byte) error {
		namespace, key, _ := strings.Cut(string(k), "/")
		v = bytes.Clone(v)
		switch {
		case namespace == "settings" && key == string(keyComplianceSettings):
			return tx.Bucket(bucketSettings).Put(keyComplianceSettings, v)
		case namespace == "disclosures":
			return tx.Bucket(bucketDisclosures).Put([]byte(key), v)
		case namespace == "modems":
			return tx.Bucket(bucketModems).Put([]byte(key), v)
		case namespace == "inbox_read":
			var id uint64
			if err := json.Unmarshal(v, &id); err != nil {
				return fmt.Errorf("decode kv %s: %w", k, err)
			}
			return tx.Bucket(bucketInboxRead).Put([]byte(key), u64(id))
		case namespace == "modem_paused":
			var paused bool
			if err := json.Unmarshal(v, &paused); err != nil {
				return fmt.Errorf("decode kv %s: %w", k, err)
			}
			if !paused {
				return nil
			}
			return tx.Bucket(bucketModemsPaused).Put([]byte(key), []byte{})
		case namespace == "undecodable":
			p := undecodable{raw: v}
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode kv %s: %w", k, err)
			}
			pdus = append(pdus, p)
			return nil
		}
		return fmt.Errorf("kv record %q belongs to no known namespace: this simgate cannot tell where it goes", k)
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(pdus, func(a, b undecodable) int { return a.At.Compare(b.At) })
	b := tx.Bucket(bucketUndecodable)
	for _, p := range pdus {
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(u64(id), p.raw); err != nil {
			return err
		}
	}
	return tx.DeleteBucket(bucketKV)
}

// migrateReportsTime builds messages_reports_time from messages_reports,
// whose keys end with message ID | part seq and whose values are SentAt.
func migrateReportsTime(tx *bbolt.Tx) error {
	byTime, err := tx.CreateBucketIfNotExists(bucketMsgReportsTime)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketMsgReportsTime, err)
	}
	return tx.Bucket(bucketMsgReports).ForEach(func(k, v []byte) error {
		if len(k) < 9 || len(v) != 8 {
			return nil
		}
		return byTime.Put(append(bytes.Clone(v), k[len(k)-9:]...), []byte{})
	})
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

package store

import (
	"fmt"
	"os"
	"slices"

	"go.etcd.io/bbolt"
)

// appendFill is how full bbolt packs a page it splits in the buckets whose
// keys only grow (appendOnly). bbolt's default of 0.5 suits keys that
// land anywhere; where every new key goes at the end, half-empty pages
// are never filled again and the file held 2.3× its data. Not 1.0: the
// status index takes keys inside its key space too (one range per status),
// and a page split there keeps a little room for the next ones.
//
// Records of several hundred bytes (messages, ~600 bytes) gain nothing:
// bbolt splits the last page as soon as it overflows, when it holds only
// seven such records, and its split always leaves the last three for the
// new page, so message pages stay about four records (~61 %) full whatever
// the setting. Only `simgate compact` packs them (bbolt.Compact fills
// pages to 100 %).
const appendFill = 0.9

// appendOnly lists the buckets whose new keys sort after the existing ones
// (sequence IDs, times), or after those of their prefix (status index).
var appendOnly = [][]byte{
	bucketMessages, bucketMsgByStatus, bucketMsgDue, bucketMsgDueLow,
	bucketMsgIdemTime, bucketMsgReportsTime,
	bucketInbound, bucketInboundSeenTime, bucketUndecodable,
	bucketContacts, bucketConsentEvents,
}

// setFill sets FillPercent on the append-only buckets of a write
// transaction. bbolt does not store the setting: it holds for the Bucket
// value of one transaction, and tx.Bucket returns that same value to
// every later lookup in the transaction.
func setFill(tx *bbolt.Tx) {
	for _, name := range appendOnly {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = appendFill
		}
	}
}

// BucketStats is the space one bucket takes in the file.
type BucketStats struct {
	Name  string
	Keys  int
	Used  int64 // bytes of pages holding its data
	Alloc int64 // bytes of pages allocated to it
}

// FileStats is how the file's space is used.
type FileStats struct {
	FileBytes int64 // the file's size on disk
	PageSize  int
	Used      int64 // bytes of pages holding data, all buckets
	Alloc     int64 // bytes of pages allocated to buckets
	FreeBytes int64 // bytes of free pages, reused before the file grows
	Buckets   []BucketStats
}

// Fill is the share of the allocated pages' bytes that hold data.
func (s FileStats) Fill() float64 {
	if s.Alloc == 0 {
		return 0
	}
	return float64(s.Used) / float64(s.Alloc)
}

// FileStats walks every page of every bucket in one read transaction: a
// few hundred milliseconds for a year of a busy shop, so pages that show
// it keep the answer a while.
func (db *DB) FileStats() (FileStats, error) {
	var out FileStats
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		out = FileStats{PageSize: db.bolt.Info().PageSize}
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			st := b.Stats()
			bs := BucketStats{Name: string(name), Keys: st.KeyN,
				Used:  int64(st.BranchInuse + st.LeafInuse + st.InlineBucketInuse),
				Alloc: int64(st.BranchAlloc + st.LeafAlloc)}
			if bs.Alloc == 0 {
				bs.Alloc = int64(st.InlineBucketInuse) // small buckets live inside their parent's page
			}
			out.Used += bs.Used
			out.Alloc += bs.Alloc
			out.Buckets = append(out.Buckets, bs)
			return nil
		})
	})
	if err != nil {
		return FileStats{}, fmt.Errorf("store: file stats: %w", err)
	}
	st := db.bolt.Stats()
	out.FreeBytes = int64(st.FreePageN+st.PendingPageN) * int64(out.PageSize)
	if fi, err := os.Stat(db.path); err == nil {
		out.FileBytes = fi.Size()
	}
	slices.SortFunc(out.Buckets, func(a, b BucketStats) int { return int(b.Alloc - a.Alloc) })
	return out, nil
}

// FileSize returns the file's size and the bytes of its free pages, from
// what bbolt knows without reading any page.
func (db *DB) FileSize() (size, free int64) {
	st := db.bolt.Stats()
	free = int64(st.FreePageN+st.PendingPageN) * int64(db.bolt.Info().PageSize)
	if fi, err := os.Stat(db.path); err == nil {
		size = fi.Size()
	}
	return size, free
}

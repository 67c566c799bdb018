package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"
)

// kvKey joins a namespace and a key. Namespaces cannot contain "/", so
// "modem/x" and "modem/x/y" never collide across namespaces.
func kvKey(bucket, key string) ([]byte, error) {
	if bucket == "" || strings.Contains(bucket, "/") {
		return nil, &FieldError{Field: "bucket", Message: fmt.Sprintf("%q must be non-empty and contain no /", bucket)}
	}
	if key == "" {
		return nil, &FieldError{Field: "key", Message: "must not be empty"}
	}
	return []byte(bucket + "/" + key), nil
}

// GetJSON decodes the value stored under (bucket, key) into v and reports
// whether there was one. bucket is a namespace of the one kv bucket, such as
// "modems" or "counters".
func (db *DB) GetJSON(bucket, key string, v any) (bool, error) {
	k, err := kvKey(bucket, key)
	if err != nil {
		return false, err
	}
	found := false
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketKV).Get(k)
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, v)
	})
	if err != nil {
		return false, fmt.Errorf("store: get %s/%s: %w", bucket, key, err)
	}
	return found, nil
}

// PutJSON stores v as JSON under (bucket, key), committed before it returns.
func (db *DB) PutJSON(bucket, key string, v any) error {
	k, err := kvKey(bucket, key)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: put %s/%s: %w", bucket, key, err)
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketKV).Put(k, raw) })
}

// DeleteJSON removes (bucket, key); removing an absent key is not an error.
func (db *DB) DeleteJSON(bucket, key string) error {
	k, err := kvKey(bucket, key)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketKV).Delete(k) })
}

// Keys lists the keys stored in bucket, in byte order.
func (db *DB) Keys(bucket string) ([]string, error) {
	if _, err := kvKey(bucket, "x"); err != nil {
		return nil, err
	}
	prefix := []byte(bucket + "/")
	var keys []string
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		keys = nil
		c := tx.Bucket(bucketKV).Cursor()
		for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Next() {
			keys = append(keys, string(k[len(prefix):]))
		}
		return nil
	})
	return keys, err
}

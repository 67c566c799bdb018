package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestModemRecord(t *testing.T) {
	db := openTest(t)
	if rec, ok, err := db.ModemRecord("sim1"); err != nil || ok {
		t.Fatalf("ModemRecord of an unknown modem = %+v, %v, %v; want not found", rec, ok, err)
	}
	seen := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	rec := ModemRecord{Name: "sim1", Path: "/dev/ttyUSB0", FirstSeen: seen, LastSeen: seen.Add(time.Hour),
		Identity: ModemIdentity{Manufacturer: "huawei", Model: "E3372", IMEI: "356938035643809", ICCID: "8944"}}
	if err := db.PutModemRecord(rec); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.ModemRecord("sim1")
	if err != nil || !ok || got != rec {
		t.Errorf("ModemRecord = %+v, %v, %v; want %+v", got, ok, err, rec)
	}
	var fe *FieldError
	if err := db.PutModemRecord(ModemRecord{}); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("PutModemRecord without a name = %v, want a FieldError on name", err)
	}
}

func TestModemPaused(t *testing.T) {
	db := openTest(t)
	for _, step := range []struct {
		name   string
		paused bool
	}{{"sim1", true}, {"sim1", true}, {"sim2", true}, {"sim1", false}, {"sim1", false}} {
		if err := db.SetModemPaused(step.name, step.paused); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ModemPaused(step.name); err != nil || got != step.paused {
			t.Errorf("after SetModemPaused(%s, %v): %v, %v", step.name, step.paused, got, err)
		}
	}
	if got, _ := db.ModemPaused("sim2"); !got {
		t.Error("sim2 resumed with sim1")
	}
}

func TestKeepUndecodable(t *testing.T) {
	db := openTest(t)
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	want := []UndecodablePDU{{Modem: "sim1", Index: 3, PDU: "07911326040000F0", At: at}, {Modem: "sim2", Index: 0, PDU: "00", At: at}}
	var ids []uint64
	for _, p := range want {
		id, err := db.KeepUndecodable(p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] == 0 || ids[1] <= ids[0] {
		t.Errorf("IDs %v, want ascending from 1", ids)
	}
	db.bolt.View(func(tx *bbolt.Tx) error {
		for i, id := range ids {
			var got UndecodablePDU
			if err := json.Unmarshal(tx.Bucket(bucketUndecodable).Get(u64(id)), &got); err != nil || got != want[i] {
				t.Errorf("record %d = %+v, %v; want %+v", id, got, err, want[i])
			}
		}
		return nil
	})
}

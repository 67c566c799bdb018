package main

import (
	"testing"
	"time"
)

// pollInterval is how long waitFor lets pass between two looks.
const pollInterval = 50 * time.Millisecond

// waitFor polls check until it returns nil. Once timeout has passed the
// test fails, naming what it waited for and check's last complaint, which
// should describe the state it saw.
func waitFor(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %v", timeout, what, err)
		}
		// The pace of the polling, not a synchronisation: the loop ends
		// on the state, whenever it is reached.
		time.Sleep(pollInterval)
	}
}

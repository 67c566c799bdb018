package sim

import (
	"testing"
)

// BenchmarkSubmit measures +CMGS round trips through the AT state machine
// over io.Pipe (no latency configured): the simulator's own ceiling.
func BenchmarkSubmit(b *testing.B) {
	n := NewNetwork(NetworkConfig{})
	defer n.Close()
	m, err := n.AddModem(Config{Number: "+15550000001"})
	if err != nil {
		b.Fatal(err)
	}
	c, stop := connectStop(b, m)
	defer stop()
	c.ok("ATE0")
	tp := submitPDUs(b, "+15551234567", "benchmark", false)[0]
	b.ResetTimer()
	for b.Loop() {
		if final, _ := c.send(tp); final != "OK" {
			b.Fatalf("got %q", final)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

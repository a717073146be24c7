//go:build unix

package proctime

import "testing"

// TestCPUCountsThisProcesssWork works until the processor time read moves, which it must:
// the work is this process's, and the time never goes back.
func TestCPUCountsThisProcesssWork(t *testing.T) {
	start := CPU()
	if start <= 0 {
		t.Fatalf("CPU() = %v in a running process", start)
	}
	x := uint64(1)
	for CPU() == start {
		for range 1_000_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if now := CPU(); now < start {
		t.Errorf("processor time went back: %v after %v (%d)", now, start, x)
	}
}

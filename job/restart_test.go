package job

import (
	"testing"
	"time"
)

func TestRestartDelaysGrowWithJitterUpToTheCap(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 30 * time.Second, Jitter: func() float64 { return 0.999999 }}
	low := b
	low.Jitter = func() float64 { return 0 }
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		if got := b.Delay(n); got > want || got < want-time.Millisecond {
			t.Errorf("delay %d at most %s, want %s", n, got, want)
		}
		if got := low.Delay(n); got != want/2 {
			t.Errorf("delay %d at least %s, want %s", n, got, want/2)
		}
	}
}

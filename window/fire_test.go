package window

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestFires(t *testing.T) {
	if Fires(1000, 999) {
		t.Error("a window ending at 1000 fired at watermark 999")
	}
	if !Fires(1000, 1000) || !Fires(1000, 1001) {
		t.Error("a window ending at 1000 did not fire at watermark 1000 or later")
	}
}

func TestLateBoundaries(t *testing.T) {
	tumble := Spec{Kind: Tumble, Size: time.Second}
	cases := []struct {
		ts, wm int64
		want   bool
	}{
		{999, 1000, true},    // [0, 1000) fired at 1000
		{999, 999, false},    // not yet
		{1000, 1000, false},  // on the boundary: in [1000, 2000), still open
		{500, 999, false},    // behind the watermark but its window is open
		{-1, 0, true},        // [-1000, 0) fired at 0
		{-1001, -1000, true}, // [-2000, -1000)
	}
	for _, c := range cases {
		if got := Late(c.ts, c.wm, tumble); got != c.want {
			t.Errorf("tumble 1s: Late(%d, %d) = %v, want %v", c.ts, c.wm, got, c.want)
		}
	}
	hop := Spec{Kind: Hop, Size: 10 * time.Minute, Every: time.Minute}
	// Five minutes behind the watermark, a record still reaches the windows that end later.
	if Late(0, 5*60_000, hop) {
		t.Error("hop: record 5 minutes behind the watermark is late, but its last window is open")
	}
	if !Late(0, 10*60_000, hop) {
		t.Error("hop: record whose last window [0, 10m) fired is not late")
	}
	session := Spec{Kind: Session, Gap: time.Second}
	if Late(0, 999, session) || !Late(0, 1000, session) {
		t.Error("session: want late exactly when ts+gap <= watermark")
	}
}

// TestLateMatchesDefinition checks Late against its definition: every window holding ts fires.
func TestLateMatchesDefinition(t *testing.T) {
	specs := []Spec{
		{Kind: Tumble, Size: 7 * time.Millisecond},
		{Kind: Hop, Size: 12 * time.Millisecond, Every: 4 * time.Millisecond},
		{Kind: Hop, Size: 10 * time.Millisecond, Every: 3 * time.Millisecond},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range specs {
		for range 20000 {
			ts := r.Int64N(200) - 100
			wm := ts + r.Int64N(30) - 5
			rows, starts := s.Assign([]int64{ts}, nil, nil)
			want := len(rows) > 0
			for _, st := range starts {
				want = want && Fires(s.End(st), wm)
			}
			if got := Late(ts, wm, s); got != want {
				t.Fatalf("%v: Late(%d, %d) = %v, want %v (windows %v)", s, ts, wm, got, want, starts)
			}
		}
	}
}

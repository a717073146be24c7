package window

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestPanesSliceTheirWindows checks that a row's windows are exactly its pane's windows, for
// sliced hops whose size is a multiple of the slide, and that other windows have no panes.
func TestPanesSliceTheirWindows(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []Spec{
		{Kind: Hop, Size: 10 * time.Second, Every: 2 * time.Second, Sliced: true},
		{Kind: Hop, Size: time.Minute, Every: 10 * time.Second, Sliced: true},
		{Kind: Hop, Size: 3 * time.Millisecond, Every: time.Millisecond, Sliced: true},
		{Kind: Hop, Size: time.Second, Every: time.Second, Sliced: true},
	} {
		pane, ok := s.Panes()
		if !ok || pane.Kind != Tumble || pane.Size != s.Every || pane.Validate() != nil {
			t.Fatalf("%s: panes %s, %v", s, pane, ok)
		}
		for range 1000 {
			ts := r.Int64N(4*s.Size.Milliseconds()) - 2*s.Size.Milliseconds()
			_, paneStarts := pane.Assign([]int64{ts}, nil, nil)
			p := paneStarts[0]
			if ts < p || ts >= pane.End(p) {
				t.Fatalf("%s: row at %d in the pane [%d, %d)", s, ts, p, pane.End(p))
			}
			_, ofRow := s.Assign([]int64{ts}, nil, nil)
			_, ofPane := s.Assign([]int64{p}, nil, nil)
			if !slices.Equal(ofRow, ofPane) || len(ofRow) != int(s.Size/s.Every) {
				t.Fatalf("%s: row at %d is in the windows starting %v, its pane at %d in %v", s, ts, ofRow, p, ofPane)
			}
		}
	}
	for _, s := range []Spec{
		{Kind: Hop, Size: 10 * time.Second, Every: 3 * time.Second, Sliced: true},
		{Kind: Hop, Size: time.Minute, Every: 10 * time.Second},
		{Kind: Tumble, Size: time.Minute},
		{Kind: Session, Gap: time.Minute},
		{Kind: Whole},
	} {
		if pane, ok := s.Panes(); ok {
			t.Errorf("%s has panes %s", s, pane)
		}
	}
}

// TestOnlyHopsAreSliced checks that Validate refuses panes for windows other than hops, and
// for a hop whose size is not a multiple of its slide.
func TestOnlyHopsAreSliced(t *testing.T) {
	for _, s := range []Spec{
		{Kind: Tumble, Size: time.Minute, Sliced: true},
		{Kind: Session, Gap: time.Minute, Sliced: true},
		{Kind: Hop, Size: 10 * time.Second, Every: 3 * time.Second, Sliced: true},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%s: sliced into panes without an error", s)
		}
	}
}

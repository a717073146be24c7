package window

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestAssignTumbleBoundaries(t *testing.T) {
	s := Spec{Kind: Tumble, Size: time.Minute}
	ts := []int64{0, 59_999, 60_000, 60_001, -1, -60_000, -60_001}
	want := []int64{0, 0, 60_000, 60_000, -60_000, -60_000, -120_000}
	rows, starts := s.Assign(ts, nil, nil)
	if !slices.Equal(starts, want) {
		t.Fatalf("starts = %v, want %v", starts, want)
	}
	if !slices.Equal(rows, []int32{0, 1, 2, 3, 4, 5, 6}) {
		t.Fatalf("rows = %v", rows)
	}
}

func TestAssignHopOnBoundary(t *testing.T) {
	s := Spec{Kind: Hop, Size: 3 * time.Second, Every: time.Second}
	// 2000 lies on a boundary: it opens [2000, 5000) and is in [0, 3000) and [1000, 4000), not
	// in [-1000, 2000).
	rows, starts := s.Assign([]int64{2000, -1}, nil, nil)
	if !slices.Equal(starts, []int64{0, 1000, 2000, -3000, -2000, -1000}) {
		t.Fatalf("starts = %v", starts)
	}
	if !slices.Equal(rows, []int32{0, 0, 0, 1, 1, 1}) {
		t.Fatalf("rows = %v", rows)
	}
}

// TestAssignMatchesDefinition checks every kind against the definition: a window [start,
// start+size) with start a multiple of the slide holds ts exactly when start <= ts < end.
func TestAssignMatchesDefinition(t *testing.T) {
	specs := []Spec{
		{Kind: Tumble, Size: 7 * time.Millisecond},
		{Kind: Hop, Size: 12 * time.Millisecond, Every: 4 * time.Millisecond},
		{Kind: Hop, Size: 10 * time.Millisecond, Every: 3 * time.Millisecond},
		{Kind: Hop, Size: 5 * time.Millisecond, Every: 5 * time.Millisecond},
		{Kind: Hop, Size: 10 * time.Minute, Every: time.Minute},
	}
	r := rand.New(rand.NewPCG(1, 2))
	ts := make([]int64, 5000)
	for i := range ts {
		ts[i] = r.Int64N(2_000_000) - 1_000_000
	}
	for _, s := range specs {
		rows, starts := s.Assign(ts, nil, nil)
		size, slide := s.Size.Milliseconds(), s.slide()
		k := 0
		for i, t0 := range ts {
			var want []int64
			for st := floorTo(t0-size-slide, slide); st <= t0+slide; st += slide {
				if st <= t0 && t0 < st+size {
					want = append(want, st)
				}
			}
			for _, w := range want {
				if k >= len(rows) || rows[k] != int32(i) || starts[k] != w {
					t.Fatalf("%v: ts %d: pair %d = (%d, %d), want (%d, %d)", s, t0, k, rows[k], starts[k], i, w)
				}
				if s.End(starts[k]) != w+size {
					t.Fatalf("%v: End(%d) = %d", s, w, s.End(w))
				}
				k++
			}
			if s.Kind == Hop && s.Size%s.Every == 0 && len(want) != int(s.Size/s.Every) {
				t.Fatalf("%v: ts %d in %d windows, want size/every = %d", s, t0, len(want), s.Size/s.Every)
			}
			if len(want) > s.PerRecord() {
				t.Fatalf("%v: ts %d in %d windows, PerRecord says at most %d", s, t0, len(want), s.PerRecord())
			}
		}
		if k != len(rows) || len(rows) != len(starts) {
			t.Fatalf("%v: %d pairs (%d starts), want %d", s, len(rows), len(starts), k)
		}
	}
}

func TestAssignSession(t *testing.T) {
	s := Spec{Kind: Session, Gap: time.Second}
	rows, starts := s.Assign([]int64{5, -3}, nil, nil)
	if !slices.Equal(rows, []int32{0, 1}) || !slices.Equal(starts, []int64{5, -3}) {
		t.Fatalf("got %v %v", rows, starts)
	}
}

func TestAssignAppendsAndReuses(t *testing.T) {
	s := Spec{Kind: Hop, Size: 10 * time.Minute, Every: time.Minute}
	ts := make([]int64, 1024)
	for i := range ts {
		ts[i] = int64(i) * 977
	}
	rows, starts := s.Assign(ts, []int32{-1}, []int64{-1})
	if rows[0] != -1 || starts[0] != -1 || len(rows) != 1+10*len(ts) {
		t.Fatalf("Assign did not append: len %d, first (%d, %d)", len(rows), rows[0], starts[0])
	}
	allocs := testing.AllocsPerRun(10, func() {
		rows, starts = s.Assign(ts, rows[:0], starts[:0])
	})
	if allocs != 0 {
		t.Fatalf("Assign into reused slices allocated %v times", allocs)
	}
}

func BenchmarkAssign(b *testing.B) {
	ts := make([]int64, 64*1024)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range ts {
		ts[i] = 1_700_000_000_000 + r.Int64N(3_600_000)
	}
	for _, s := range []Spec{{Kind: Tumble, Size: time.Minute}, {Kind: Hop, Size: 10 * time.Minute, Every: time.Minute}} {
		b.Run(s.Kind.String(), func(b *testing.B) {
			var rows []int32
			var starts []int64
			for b.Loop() {
				rows, starts = s.Assign(ts, rows[:0], starts[:0])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/row")
		})
	}
}

func TestAssignWholeInput(t *testing.T) {
	s := Spec{Kind: Whole}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	rows, starts := s.Assign([]int64{5, -3, 1 << 50}, nil, nil)
	if !slices.Equal(rows, []int32{0, 1, 2}) || !slices.Equal(starts, []int64{WholeStart, WholeStart, WholeStart}) {
		t.Fatalf("got %v %v", rows, starts)
	}
	if s.End(WholeStart) != WholeEnd || s.PerRecord() != 1 {
		t.Fatalf("End = %d, PerRecord = %d", s.End(WholeStart), s.PerRecord())
	}
	if Fires(s.End(WholeStart), WholeEnd-1) || !Fires(s.End(WholeStart), WholeEnd) {
		t.Fatal("the whole input must fire on the final watermark only")
	}
	if Late(1<<50, 1<<60, s) || !Late(0, WholeEnd, s) {
		t.Fatal("a row is late for the whole input only after the final watermark")
	}
	if err := (Spec{Kind: Whole, Size: time.Minute}).Validate(); err == nil {
		t.Fatal("the whole input took a size")
	}
}

package window

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestSessionsBridgeOutOfOrder(t *testing.T) {
	s := NewSessions(10 * time.Millisecond)
	p := s.Insert(100, 1)
	if p != (Placement{ID: 1, Created: true}) {
		t.Fatalf("first event: %+v", p)
	}
	p = s.Insert(125, 2)
	if p != (Placement{ID: 2, Created: true}) {
		t.Fatalf("second event, 25ms later: %+v", p)
	}
	// 115 overlaps neither [100, 110) nor [125, 135): a third session [115, 125), which touches
	// the second without overlapping it.
	p = s.Insert(115, 3)
	if p != (Placement{ID: 3, Created: true}) {
		t.Fatalf("event at 115: %+v", p)
	}
	// 108 arrives late and out of order: [108, 118) overlaps [100, 110) and [115, 125), which
	// merge under the earlier id.
	p = s.Insert(108, 4)
	if p != (Placement{ID: 1, Merged: true, Absorbed: 3}) {
		t.Fatalf("bridging event at 108: %+v", p)
	}
	want := []SessionWindow{{ID: 1, Start: 100, End: 125}, {ID: 2, Start: 125, End: 135}}
	if !slices.Equal(s.Open(), want) {
		t.Fatalf("open = %v, want %v", s.Open(), want)
	}
	// An event before the first session extends it backwards.
	if p = s.Insert(95, 5); p != (Placement{ID: 1}) {
		t.Fatalf("event at 95: %+v", p)
	}
	// 120 bridges [95, 125) and [125, 135).
	if p = s.Insert(120, 6); p != (Placement{ID: 1, Merged: true, Absorbed: 2}) {
		t.Fatalf("event at 120: %+v", p)
	}
	if !slices.Equal(s.Open(), []SessionWindow{{ID: 1, Start: 95, End: 135}}) {
		t.Fatalf("open = %v", s.Open())
	}
}

func TestSessionsFireInOrder(t *testing.T) {
	s := NewSessions(10 * time.Millisecond)
	for i, ts := range []int64{300, 100, 200, 205} {
		s.Insert(ts, uint32(i))
	}
	if next, ok := s.Next(); !ok || next != 110 {
		t.Fatalf("Next = %d, %v", next, ok)
	}
	if got := s.PopFired(109, nil); len(got) != 0 {
		t.Fatalf("PopFired(109) = %v", got)
	}
	got := s.PopFired(215, nil)
	want := []SessionWindow{{ID: 1, Start: 100, End: 110}, {ID: 2, Start: 200, End: 215}}
	if !slices.Equal(got, want) {
		t.Fatalf("PopFired(215) = %v, want %v", got, want)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d after firing two of three", s.Len())
	}
	// An event exactly at a fired session's end opens a new session; it is not late.
	if Late(215, 215, Spec{Kind: Session, Gap: 10 * time.Millisecond}) {
		t.Fatal("event at the watermark reported late")
	}
	if p := s.Insert(215, 9); !p.Created {
		t.Fatalf("event at 215: %+v, want a new session", p)
	}
}

// TestSessionsMatchDefinition inserts events in random order and compares the sessions with
// the definition (sort the events; consecutive events less than gap apart share a session), and
// the ids the caller tracks through merges with the sessions' own.
func TestSessionsMatchDefinition(t *testing.T) {
	const gap = 10
	r := rand.New(rand.NewPCG(9, 10))
	for trial := range 300 {
		s := NewSessions(gap * time.Millisecond)
		n := 1 + r.IntN(60)
		events := make([]int64, n)
		owner := make([]uint32, n) // the caller's view: which session each event is in
		for i := range events {
			events[i] = r.Int64N(400) - 200
			p := s.Insert(events[i], uint32(i+1000))
			owner[i] = p.ID
			if p.Merged {
				for j := range i {
					if owner[j] == p.Absorbed {
						owner[j] = p.ID
					}
				}
			}
		}
		sorted := slices.Clone(events)
		slices.Sort(sorted)
		var want []SessionWindow
		for i, e := range sorted {
			if i > 0 && e < sorted[i-1]+gap {
				want[len(want)-1].End = e + gap
				continue
			}
			want = append(want, SessionWindow{Start: e, End: e + gap})
		}
		open := s.Open()
		if len(open) != len(want) {
			t.Fatalf("trial %d: %d sessions, want %d\n got %v\nwant %v", trial, len(open), len(want), open, want)
		}
		for i := range want {
			if open[i].Start != want[i].Start || open[i].End != want[i].End {
				t.Fatalf("trial %d: session %d = %v, want %v", trial, i, open[i], want[i])
			}
		}
		for i, e := range events {
			var holder uint32
			for _, w := range open {
				if w.Start <= e && e < w.End {
					holder = w.ID
				}
			}
			if owner[i] != holder {
				t.Fatalf("trial %d: event %d at %d tracked in session %d, held by %d", trial, i, e, owner[i], holder)
			}
		}
		fired := s.PopFired(1<<40, nil)
		for i := 1; i < len(fired); i++ {
			if fired[i].End <= fired[i-1].End {
				t.Fatalf("trial %d: fired out of order: %v", trial, fired)
			}
		}
	}
}

func BenchmarkSessionsInsert(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	ts := make([]int64, 4096)
	for i := range ts {
		ts[i] = int64(i)*400 + r.Int64N(2000) // mostly in order, some disorder
	}
	var fired []SessionWindow
	base := int64(0)
	s := NewSessions(time.Second)
	for b.Loop() {
		for _, t := range ts {
			s.Insert(base+t, 1)
		}
		base += 4096 * 400
		fired = s.PopFired(base, fired[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/insert")
}

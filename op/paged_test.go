package op

import "testing"

// TestPagedSliceKeepsRunsInOnePage hands out runs of 1 to 5 indexes of 3 elements each in
// pages of 8 indexes: a run that would cross a page starts the next one, skipping the
// rest, and what is written to a run reads back after later runs took new pages.
func TestPagedSliceKeepsRunsInOnePage(t *testing.T) {
	p := newPagedSlice[int](5, 3) // pages of 8 indexes
	type run struct{ at, n int }
	var runs []run
	skippedAll := 0
	for i := range 40 {
		n := 1 + i%5
		at, skipped := p.alloc(n)
		if at>>p.shift != (at+n-1)>>p.shift {
			t.Fatalf("run %d of %d from %d crosses a page", i, n, at)
		}
		if prev := p.len() - n - skipped; len(runs) > 0 && prev != runs[len(runs)-1].at+runs[len(runs)-1].n {
			t.Fatalf("run %d starts at %d after skipping %d, the last ended at %d", i, at, skipped, runs[len(runs)-1].at+runs[len(runs)-1].n)
		}
		skippedAll += skipped
		for j, e := range p.run(at, n) {
			if e != 0 {
				t.Fatalf("run %d not zeroed", i)
			}
			p.run(at, n)[j] = i
		}
		*p.at(at) = -i // the first element of the run's first index
		runs = append(runs, run{at, n})
	}
	for i, r := range runs {
		es := p.run(r.at, r.n)
		if len(es) != 3*r.n || es[0] != -i || es[len(es)-1] != i {
			t.Fatalf("run %d reads %v", i, es)
		}
	}
	if skippedAll == 0 || p.sizeBytes(8) != int64(len(p.pages)*8*3*8) {
		t.Fatalf("skipped %d; %d bytes in %d pages", skippedAll, p.sizeBytes(8), len(p.pages))
	}
}

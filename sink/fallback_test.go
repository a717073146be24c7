package sink

import (
	"slices"
	"testing"
)

// A checkpoint whose commit published files can still turn out damaged (a blob of another
// step, read back on resume): the run then resumes from the one before, whose replay cuts
// its files elsewhere. The replay numbers its files from the older state on, so it
// publishes over what the later commit published, and the output holds every row once.
func TestFallbackPastACommittedCheckpoint(t *testing.T) {
	recs := batchesOf(t, 900, 100)
	forEachCase(t, func(t *testing.T, c ckptCase) {
		if c.single {
			t.Skip("a single file is published by the final commit only")
		}
		refDir := t.TempDir()
		runFrom(t, start(t, c.opts(refDir), 0, 1, nil), recs, 0)
		want := rows(t, refDir)
		dir := t.TempDir()
		s, st1, _ := crashAfterTwo(t, c, dir, recs)
		commit(t, s, 2)
		r := start(t, c.opts(dir), 0, 1, st1)
		process(t, r, recs[3:]...) // no checkpoint until the end: other cuts than before
		finish(t, r)
		got := rows(t, dir)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%d rows published, want the %d of an uninterrupted run", len(got), len(want))
		}
		noLeftovers(t, "resumed past a committed checkpoint", dir)
	})
}

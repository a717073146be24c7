// Package sourcetest is the conformance suite of source connectors: every kind of source
// runs it (file, generator, nexmark, and the broker sources), so the engine can rely on
// the contract written on source.Source and source.PartitionReader.
//
// A connector's test calls Run with a Subject that makes its source over input the test
// prepared. The suite reads every partition from the start and checks the schema, the
// partitions, that a reader stopped after any batch and opened again at its Checkpoint
// yields exactly the rest, the ledger (rows plus dead letters equal the records of the
// input), that Read gives up on a cancelled context, that Committed accepts a checkpoint's
// positions, and that Close releases everything, leaving no goroutine behind.
package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"millrace/format"
	"millrace/source"
)

// Subject is a source under test.
type Subject struct {
	// New makes the source over the test's input; each call makes a fresh one over the same
	// input.
	New func(t *testing.T) source.Source
	// Records is the number of records in the input, over all partitions: each ends up a row
	// or a dead letter. Zero skips the ledger check.
	Records int64
	// Waits: the source's Read may wait for rows to come due (a paced generator, a broker
	// poll), so with a cancelled context it must return the context's error.
	Waits bool
	// Cuts bounds how many cut points per partition the resume check tries (default 4):
	// after the first batch, the last, and evenly between.
	Cuts int
	// PerPartition is, for an unbounded source, how many records each partition holds: its
	// reads never end, so the suite reads a partition until it has yielded that many rows
	// and dead letters, and then checks that one more Read returns an empty poll. Records,
	// if zero, is their sum. A bounded source leaves it nil and is read to io.EOF.
	PerPartition []int64
}

// emptyPolls bounds how many empty polls in a row a read of an unbounded partition
// accepts before the suite decides the records it was promised are not coming.
const emptyPolls = 1000

// Run runs the suite on the subject, each check as a subtest.
func Run(t *testing.T, s Subject) {
	t.Helper()
	if s.Cuts == 0 {
		s.Cuts = 4
	}
	if s.Records == 0 {
		for _, n := range s.PerPartition {
			s.Records += n
		}
	}
	t.Run("Schema", func(t *testing.T) { checkSchema(t, s) })
	t.Run("Partitions", func(t *testing.T) { checkPartitions(t, s) })
	t.Run("Resume", func(t *testing.T) { checkResume(t, s) })
	t.Run("Ledger", func(t *testing.T) { checkLedger(t, s) })
	t.Run("Cancellation", func(t *testing.T) { checkCancellation(t, s) })
	t.Run("Committed", func(t *testing.T) { checkCommitted(t, s) })
	t.Run("Close", func(t *testing.T) { checkClose(t, s) })
}

// batch is what one Read yielded, as text: each row as a JSON line, each dead letter with
// where it was and why, and the reader's checkpoint after it.
type batch struct {
	rows, dead []string
	checkpoint []byte
}

// reader reads a partition batch by batch.
type reader struct {
	t   *testing.T
	src source.Source
	enc format.RowEncoder
	// holds is Subject.PerPartition: what an unbounded partition holds.
	holds []int64
}

func newReader(t *testing.T, s Subject, src source.Source) reader {
	t.Helper()
	enc, err := format.NewRowEncoder(format.JSONL, src.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if !src.Capabilities().Bounded && len(s.PerPartition) != src.Partitions() {
		t.Fatalf("an unbounded source of %d partitions needs Subject.PerPartition for each, got %d", src.Partitions(), len(s.PerPartition))
	}
	return reader{t: t, src: src, enc: enc, holds: s.PerPartition}
}

// next reads one batch of r; false at io.EOF. An unbounded source's empty poll counts as a
// batch with nothing in it.
func (rd reader) next(r source.PartitionReader) (batch, bool) {
	rd.t.Helper()
	rec, dead, err := r.Read(context.Background())
	if errors.Is(err, io.EOF) {
		return batch{}, false
	}
	if err != nil {
		rd.t.Fatalf("read %s: %v", r.Position().File, err)
	}
	var b batch
	if rec != nil {
		if !rec.Schema().Equal(rd.src.Schema()) {
			rd.t.Fatalf("a batch of schema %s from a source of schema %s", rec.Schema(), rd.src.Schema())
		}
		for i := range int(rec.NumRows()) {
			b.rows = append(b.rows, string(rd.enc.AppendRow(nil, rec, i)))
		}
		rec.Release()
	}
	for _, d := range dead {
		b.dead = append(b.dead, fmt.Sprintf("%s @%d %q: %s", d.Where(), d.Offset, d.Raw, d.Reason))
	}
	if rd.src.Capabilities().Resumable {
		if b.checkpoint, err = r.Checkpoint(); err != nil {
			rd.t.Fatalf("checkpoint of %s: %v", r.Position().File, err)
		}
	}
	return b, true
}

// all reads r, a reader of partition p that has yielded done records so far, to its end
// and closes it. The end of an unbounded partition is its last record: once it has come,
// one more Read must be an empty poll.
func (rd reader) all(r source.PartitionReader, p int, done int64) []batch {
	rd.t.Helper()
	var out []batch
	bounded := rd.src.Capabilities().Bounded
	for empty := 0; bounded || done < rd.holds[p]; {
		b, ok := rd.next(r)
		if !ok {
			break
		}
		if n := int64(len(b.rows) + len(b.dead)); n > 0 {
			done, empty = done+n, 0
		} else if empty++; empty == emptyPolls {
			rd.t.Fatalf("partition %d: %d of its %d records came, then %d empty polls", p, done, rd.holds[p], empty)
		}
		out = append(out, b)
	}
	if !bounded {
		if b, _ := rd.next(r); len(b.rows)+len(b.dead) > 0 {
			rd.t.Fatalf("partition %d holds %d records, but a read after them yielded %d more", p, rd.holds[p], len(b.rows)+len(b.dead))
		}
	}
	if err := r.Close(); err != nil {
		rd.t.Fatalf("close: %v", err)
	}
	return out
}

// open opens partition p at pos.
func (rd reader) open(p int, pos []byte) source.PartitionReader {
	rd.t.Helper()
	r, err := rd.src.Open(context.Background(), p, pos)
	if err != nil {
		rd.t.Fatalf("open partition %d: %v", p, err)
	}
	return r
}

// flatten lists the rows and dead letters of batches, in order.
func flatten(bs []batch) (rows, dead []string) {
	for _, b := range bs {
		rows = append(rows, b.rows...)
		dead = append(dead, b.dead...)
	}
	return rows, dead
}

func checkSchema(t *testing.T, s Subject) {
	src := s.New(t)
	if src.Schema() == nil || src.Schema().NumFields() == 0 {
		t.Fatalf("schema %v: want at least one column", src.Schema())
	}
	rd := newReader(t, s, src)
	for p := range src.Partitions() {
		rd.all(rd.open(p, nil), p, 0) // next checks every batch's schema
	}
}

func checkPartitions(t *testing.T, s Subject) {
	src := s.New(t)
	n := src.Partitions()
	if n < 1 {
		t.Fatalf("%d partitions: want at least one", n)
	}
	for _, p := range []int{-1, n} {
		if r, err := src.Open(context.Background(), p, nil); err == nil {
			_ = r.Close()
			t.Errorf("partition %d of %d opened", p, n)
		}
	}
	if !src.Capabilities().Bounded {
		return
	}
	rd := newReader(t, s, src)
	for p := range n {
		r := rd.open(p, nil)
		rd.all(r, p, 0)
		if pos := r.Position(); pos.File == "" {
			t.Errorf("partition %d: its position names nothing: %+v", p, pos)
		}
	}
}

// checkResume reads each partition whole, then again cut after batch k: the reader is
// closed and a new one opened at its checkpoint. The rows and dead letters before and
// after the cut must be the uninterrupted read's, and a reader opened at the end has
// nothing more.
func checkResume(t *testing.T, s Subject) {
	src := s.New(t)
	if !src.Capabilities().Resumable {
		t.Skip("the source does not resume") // the engine refuses checkpoints with it
	}
	rd := newReader(t, s, src)
	for p := range src.Partitions() {
		whole := rd.all(rd.open(p, nil), p, 0)
		wantRows, wantDead := flatten(whole)
		for _, k := range cuts(len(whole), s.Cuts) {
			r := rd.open(p, nil)
			var got []batch
			for range k {
				b, ok := rd.next(r)
				if !ok {
					t.Fatalf("partition %d: ended after %d batches, %d the first time", p, len(got), len(whole))
				}
				got = append(got, b)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			fresh := newReader(t, s, s.New(t)) // a new source, as a restarted process has
			before, beforeDead := flatten(got)
			got = append(got, fresh.all(fresh.open(p, got[k-1].checkpoint), p, int64(len(before)+len(beforeDead)))...)
			rows, dead := flatten(got)
			if !slices.Equal(rows, wantRows) || !slices.Equal(dead, wantDead) {
				t.Fatalf("partition %d cut after batch %d of %d: %d rows and %d dead letters, want %d and %d; %s",
					p, k, len(whole), len(rows), len(dead), len(wantRows), len(wantDead), firstDifference(rows, wantRows))
			}
		}
	}
}

// cuts picks up to n batch counts in [1, batches] to cut a read after.
func cuts(batches, n int) []int {
	var out []int
	for i := range n {
		k := 1 + i*(batches-1)/max(n-1, 1)
		if k >= 1 && k <= batches && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("row %d is %s, want %s", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}

func checkLedger(t *testing.T, s Subject) {
	if s.Records == 0 {
		t.Skip("the subject gives no count of records")
	}
	src := s.New(t)
	rd := newReader(t, s, src)
	var total int64
	for p := range src.Partitions() {
		rows, dead := flatten(rd.all(rd.open(p, nil), p, 0))
		total += int64(len(rows) + len(dead))
	}
	if total != s.Records {
		t.Errorf("%d rows and dead letters from %d records", total, s.Records)
	}
}

// checkCancellation reads with a cancelled context: a source that may wait must return
// the context's error at once; any other must not block either, so this returns.
func checkCancellation(t *testing.T, s Subject) {
	src := s.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := src.Open(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		rec, _, err := r.Read(ctx)
		if rec != nil {
			rec.Release()
		}
		switch {
		case errors.Is(err, context.Canceled):
			return
		case s.Waits || !src.Capabilities().Bounded:
			t.Fatalf("a source that waits read with a cancelled context: %v", err)
		case err != nil:
			return // io.EOF: a source that never waits read to its end
		}
	}
}

// checkCommitted hands the source the positions of a checkpoint, as the engine does once
// it is durable.
func checkCommitted(t *testing.T, s Subject) {
	src := s.New(t)
	if !src.Capabilities().Resumable {
		t.Skip("the source does not resume, so it takes no checkpoints")
	}
	rd := newReader(t, s, src)
	positions := map[int][]byte{}
	for p := range src.Partitions() {
		r := rd.open(p, nil)
		if b, ok := rd.next(r); ok {
			positions[p] = b.checkpoint
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Committed(context.Background(), 1, positions); err != nil {
		t.Errorf("committed: %v", err)
	}
}

// checkClose opens every partition, reads a batch of each and closes them: no goroutine
// the readers started may outlive Close.
func checkClose(t *testing.T, s Subject) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	src := s.New(t)
	rd := newReader(t, s, src)
	for p := range src.Partitions() {
		r := rd.open(p, nil)
		rd.next(r)
		if err := r.Close(); err != nil {
			t.Errorf("close partition %d: %v", p, err)
		}
	}
}

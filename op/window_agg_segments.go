package op

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"millrace/spill"
)

// Snapshots of a WindowAgg by key group with state on disk (the pebble backend), kind 'W',
// version 2. A spilled window's chunks are immutable until the window fires or takes rows
// again, so a snapshot by key group carries them as they are on disk, without decoding
// them, and carries the same bytes at every checkpoint in between: a store that keeps a
// snapshot in pieces by content (a cluster's state store) writes each chunk once. The body:
//
//	watermark   varint   the last watermark the operator saw (MinWatermark before any)
//	segments    uvarint  how many follow, in fire order; each:
//	  chunk       1 B      0: state rows held in memory; 1: a chunk as it was spilled
//	  window end  varint   a chunk's window end (0 for rows held in memory)
//	  key group   uvarint  a chunk's key group, as it was spilled (0 for rows in memory)
//	  stream      uvarint n, n B: an Arrow IPC stream of state rows, the columns of
//	              version 1 (window_agg_snapshot.go)
//
// The segments' rows, in order, are the rows a version 1 snapshot of the same state holds.
// A reader with the memory backend (or Rescale) decodes them all into those rows; a reader
// with the pebble backend writes the chunks of windows it does not open to its store as
// they are. Version 1 stays what every other snapshot writes, and the fingerprint does not
// name the body's version: either reads both.

// windowAggSegmentsVersion is the version of the body with segments.
const windowAggSegmentsVersion = 2

// segment is one segment of a version 2 body; see above.
type segment struct {
	chunk    bool
	end      int64
	keyGroup int
	data     []byte
}

// segmentItem is what a snapshot by key group gathers for one owner, in fire order: state
// rows held in memory, or a spilled chunk's bytes.
type segmentItem struct {
	rows  arrow.RecordBatch
	chunk *segment
}

// sealSegments writes the version 2 snapshot of each owner's items (nil for an owner with
// none), several owners at once. Consecutive rows become one segment.
func (w *WindowAgg) sealSegments(items [][]segmentItem, id uint64, wm int64) ([][]byte, error) {
	out := make([][]byte, len(items))
	fp, schema, mem := w.StateFingerprint(), w.stateSchema(), allocator(w.ctx)
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for o, its := range items {
		if len(its) == 0 {
			continue
		}
		eg.Go(func() error {
			var segs []segment
			for lo := 0; lo < len(its); {
				if its[lo].chunk != nil {
					segs = append(segs, *its[lo].chunk)
					lo++
					continue
				}
				hi := lo
				var recs []arrow.RecordBatch
				for ; hi < len(its) && its[hi].chunk == nil; hi++ {
					recs = append(recs, its[hi].rows)
				}
				sw := &stateWriter{}
				if err := sw.records(mem, schema, recs...); err != nil {
					return fmt.Errorf("owner %d: %w", o, err)
				}
				segs = append(segs, segment{data: sw.buf.Bytes()})
				lo = hi
			}
			size := 64
			for _, s := range segs {
				size += len(s.data) + 24
			}
			sw := newStateWriter(kindWindowAgg, windowAggSegmentsVersion, id, fp)
			sw.buf.Grow(size)
			sw.varint(wm)
			sw.uvarint(uint64(len(segs)))
			for _, s := range segs {
				if s.chunk {
					sw.buf.WriteByte(1)
				} else {
					sw.buf.WriteByte(0)
				}
				sw.varint(s.end)
				sw.uvarint(uint64(s.keyGroup))
				sw.uvarint(uint64(len(s.data)))
				sw.buf.Write(s.data)
			}
			out[o] = sw.seal()
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// readSegments reads the segments of a version 2 body after its watermark.
func readSegments(r *stateReader) ([]segment, error) {
	n, err := r.uvarint("segment count")
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.body)) {
		return nil, fmt.Errorf("state says %d segments in %d bytes", n, len(r.body))
	}
	segs := make([]segment, 0, n)
	for i := range n {
		if len(r.body) == 0 {
			return nil, fmt.Errorf("state is cut short: segment %d of %d", i, n)
		}
		var s segment
		switch r.body[0] {
		case 0:
		case 1:
			s.chunk = true
		default:
			return nil, fmt.Errorf("segment %d is of unknown kind %d", i, r.body[0])
		}
		r.body = r.body[1:]
		if s.end, err = r.varint("segment window end"); err != nil {
			return nil, err
		}
		kg, err := r.uvarint("segment key group")
		if err != nil {
			return nil, err
		}
		if kg > spill.MaxKeyGroup {
			return nil, fmt.Errorf("segment %d: key group %d is out of range 0 to %d", i, kg, spill.MaxKeyGroup)
		}
		s.keyGroup = int(kg)
		if s.data, err = r.bytes("segment"); err != nil {
			return nil, err
		}
		segs = append(segs, s)
	}
	if len(r.body) != 0 {
		return nil, fmt.Errorf("state has %d bytes after its last segment", len(r.body))
	}
	return segs, nil
}

// segmentRecords decodes the state rows of a segment; the caller releases them.
func (w *WindowAgg) segmentRecords(s segment) ([]arrow.RecordBatch, error) {
	r := &stateReader{body: s.data}
	recs, err := r.records(allocator(w.ctx), w.stateSchema())
	if err != nil && s.chunk {
		return nil, fmt.Errorf("chunk of key group %d of the window ending %d: %w", s.keyGroup, s.end, err)
	}
	return recs, err
}

// segmentRows decodes every segment into one batch of state rows, as a version 1 body
// holds them; the caller releases it.
func (w *WindowAgg) segmentRows(segs []segment) (arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, s := range segs {
		rs, err := w.segmentRecords(s)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rs...)
	}
	return concatRecords(allocator(w.ctx), w.stateSchema(), recs)
}

// restoreSegments loads the segments of version 2 parts with the pebble backend: rows held
// in memory as restoreSpilling does, then the spilled windows in fire order, opened while
// the state holds at most half the threshold, the others' chunks written to the store as
// they are, all the chunks of a window at once (so that the window still counts as
// written once and the next snapshot takes its chunks as they are again).
func (w *WindowAgg) restoreSegments(parts [][]segment) error {
	byEnd := map[int64][]segment{}
	for _, segs := range parts {
		var rows []segment
		for _, s := range segs {
			if s.chunk {
				byEnd[s.end] = append(byEnd[s.end], s)
			} else {
				rows = append(rows, s)
			}
		}
		if len(rows) == 0 {
			continue
		}
		rec, err := w.segmentRows(rows)
		if err != nil {
			return err
		}
		err = w.restoreSpilling(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	ends := make([]int64, 0, len(byEnd))
	for e := range byEnd {
		ends = append(ends, e)
	}
	slices.Sort(ends)
	for _, e := range ends {
		segs := byEnd[e]
		slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(a.keyGroup, b.keyGroup) })
		if w.StateBytes() <= w.spill.cfg.Above/2 && !w.spilled(e) {
			for _, s := range segs {
				recs, err := w.segmentRecords(s)
				if err != nil {
					return err
				}
				for _, rec := range recs {
					if err == nil {
						err = w.restoreGroups(rec)
					}
					rec.Release()
				}
				if err != nil {
					return fmt.Errorf("key group %d of the window ending %d: %w", s.keyGroup, e, err)
				}
			}
			continue
		}
		if err := w.openStore(); err != nil {
			return err
		}
		chunks := make([]spill.Chunk, len(segs))
		for i, s := range segs {
			chunks[i] = spill.Chunk{End: e, KeyGroup: s.keyGroup, Value: s.data}
		}
		w.timers.Add(e)
		if err := w.writeWindow(e, chunks); err != nil {
			return err
		}
	}
	return w.maybeSpill()
}

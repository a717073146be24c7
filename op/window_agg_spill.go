package op

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"millrace/agg"
	"millrace/spill"
)

// The pebble state backend. A WindowAgg with a SpillConfig (tumbling and hopping windows,
// phases Single and Final) keeps its groups in memory until StateBytes passes
// SpillConfig.Above. It then writes whole windows, those that end latest and so fire last,
// to a spill.Store as chunks of partial state rows (the rows of a snapshot: key bytes,
// window_start, one state column per call, as an Arrow IPC stream), key group by key group,
// drops them from memory and rebuilds the accumulators of the groups it keeps, until those
// hold about half of Above. Rows that reach a spilled window later open new groups in
// memory, which may be spilled again: a window's chunks may hold a key more than once.
//
// When the watermark fires a window that has chunks, the groups it still has in memory are
// spilled too, and the chunks are read back key group by key group and merged into fresh
// groups, exactly as the final phase merges partial states from the exchange; the results
// are emitted every few thousand groups, at the end of a key group, so a window larger than
// memory fires in pieces. Its rows then come out by key group rather than in the order the
// groups opened. Snapshot reads spilled windows back the same way (a window written once,
// with nothing in memory since, is taken as it is on disk) and writes the snapshot the
// memory backend writes, so checkpoints, rescaling and per-key-group state are unchanged.
// Restore opens a snapshot's windows in fire order until they hold half of Above and writes
// the rest to the store without opening them.
//
// Merging a window's spilled part with a later part can overflow a sum that each part held;
// with RejectOverflow the memory backend would have rejected the later row, this backend
// fails with an error naming the window.

// SpillConfig turns on the pebble state backend of a WindowAgg.
type SpillConfig struct {
	// Dir is the directory under which each subtask makes its store, removed on Close; empty
	// means the OS temp directory.
	Dir string
	// Above is the StateBytes above which the operator spills windows to disk.
	Above int64
	// KeyGroup tells the key group of each row of key columns (the keyed exchange's owner at
	// as many subtasks as key groups). Nil puts every key into group 0.
	KeyGroup KeyOwner
	// KeyGroups is how many key groups KeyGroup tells apart, 0 if unknown. A snapshot by
	// as many owners (the engine's by key group) then takes the key group of each spilled
	// chunk as the owner of its rows, without reading their keys again.
	KeyGroups int
}

// spillChunkRows is the most state rows one chunk holds.
const spillChunkRows = 16384

// spillFireGroups is how many groups a spilled window gathers, at least, before it emits them.
const spillFireGroups = 4096

// spiller is the pebble backend's part of a WindowAgg.
type spiller struct {
	cfg   SpillConfig
	store *spill.Store // opened at the first spill
	// ids maps key ids to the groups of the window being read back.
	ids map[uint32]uint32
	// spills counts per window end the times groups of the window were written: a window
	// written once holds each key once, so its chunks are already a snapshot's rows.
	spills map[int64]int
	kgs    []int
	order  []int
	groups []uint32
}

// SpilledBytes is the size of the state rows the operator keeps on disk: 0 with the memory
// backend.
func (w *WindowAgg) SpilledBytes() int64 {
	if w.spill == nil || w.spill.store == nil {
		return 0
	}
	return w.spill.store.Bytes()
}

// Close removes the spilled state.
func (w *WindowAgg) Close() error {
	if w.spill == nil || w.spill.store == nil {
		return nil
	}
	err := w.spill.store.Close()
	w.spill.store = nil
	return err
}

// spilled reports whether the window ending at end has chunks on disk.
func (w *WindowAgg) spilled(end int64) bool {
	return w.spill != nil && w.spill.store != nil && w.spill.store.Has(end)
}

// maybeSpill spills windows when the state is above the threshold; see above.
func (w *WindowAgg) maybeSpill() error {
	if w.spill == nil {
		return nil
	}
	size := w.StateBytes()
	if size <= w.spill.cfg.Above {
		return nil
	}
	slots := int64(len(w.start))
	live := int64(w.Groups())
	if slots > 0 && live > 0 {
		perGroup := max(size/slots, 1)
		target := w.spill.cfg.Above / 2
		ends := slices.Clone(w.timers.Ends())
		for i := len(ends) - 1; i >= 0 && live*perGroup > target; i-- {
			n := int64(len(w.byEnd[ends[i]]))
			if n == 0 {
				continue
			}
			if err := w.spillWindow(ends[i]); err != nil {
				return err
			}
			live -= n
		}
	}
	return w.compact()
}

// spillWindow moves the groups the window ending at end holds in memory to the store.
func (w *WindowAgg) spillWindow(end int64) error {
	all := w.byEnd[end]
	if len(all) == 0 {
		return nil
	}
	groups := w.filled(all) // a group only rejected rows reached is as if it were not there
	if len(groups) > 0 {
		if err := w.writeChunks(end, groups); err != nil {
			return err
		}
	}
	delete(w.byStart, w.start[all[0]]) // one start per end
	delete(w.byEnd, end)
	w.releaseKeys(all)
	w.freeGroups(all)
	return nil
}

// writeChunks writes the state rows of groups, all of the window ending at end, to the
// store: by key group, at most spillChunkRows a chunk.
func (w *WindowAgg) writeChunks(end int64, groups []uint32) error {
	s := w.spill
	if err := w.openStore(); err != nil {
		return err
	}
	kgs, err := w.keyGroups(groups)
	if err != nil {
		return fmt.Errorf("spill the window ending %d: %w", end, err)
	}
	s.order = s.order[:0]
	for i := range groups {
		s.order = append(s.order, i)
	}
	slices.SortStableFunc(s.order, func(a, b int) int { return cmp.Compare(kgs[a], kgs[b]) })
	s.groups = s.groups[:0]
	for _, i := range s.order {
		s.groups = append(s.groups, groups[i])
	}
	rec, err := w.stateRows(s.groups)
	if err != nil {
		return fmt.Errorf("spill the window ending %d: %w", end, err)
	}
	defer rec.Release()
	var chunks []spill.Chunk
	for lo := 0; lo < len(s.order); {
		kg := kgs[s.order[lo]]
		hi := lo + 1
		for hi < len(s.order) && hi-lo < spillChunkRows && kgs[s.order[hi]] == kg {
			hi++
		}
		v, err := encodeChunk(rec.NewSlice(int64(lo), int64(hi)))
		if err != nil {
			return fmt.Errorf("spill the window ending %d, key group %d: %w", end, kg, err)
		}
		chunks = append(chunks, spill.Chunk{End: end, KeyGroup: kg, Value: v})
		lo = hi
	}
	return w.writeWindow(end, chunks)
}

// writeWindow writes one spill of the window ending at end.
func (w *WindowAgg) writeWindow(end int64, chunks []spill.Chunk) error {
	if err := w.spill.store.Write(chunks); err != nil {
		return err
	}
	if w.spill.spills == nil {
		w.spill.spills = map[int64]int{}
	}
	w.spill.spills[end]++
	return nil
}

// openStore opens the store at the first spill, in a directory named after the node and
// subtask.
func (w *WindowAgg) openStore() error {
	if w.spill.store != nil {
		return nil
	}
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == filepath.Separator {
			return '_'
		}
		return r
	}, w.ctx.Node)
	store, err := spill.Open(w.spill.cfg.Dir, fmt.Sprintf("%s-%d", name, w.ctx.Subtask), w.ctx.Log)
	if err != nil {
		return err
	}
	w.spill.store = store
	return nil
}

// restoreSpilling restores the state rows of a snapshot, rec, with the pebble backend. The
// rows come by window end: windows are opened in memory while the state is at most half the
// threshold, and the rest go from rec to the store, never opened. Rows in another order are
// all opened, and then spilled as after a batch. A duplicate group, which the memory backend
// refuses, is merged when its window fires.
func (w *WindowAgg) restoreSpilling(rec arrow.RecordBatch) error {
	n := int64(rec.NumRows())
	starts := rec.Column(1).(*array.Timestamp).TimestampValues()
	if !slices.IsSorted(starts) {
		if err := w.restoreGroups(rec); err != nil {
			return err
		}
		return w.maybeSpill()
	}
	lo := int64(0)
	for ; lo < n && w.StateBytes() <= w.spill.cfg.Above/2; lo = windowRows(starts, lo) {
		part := rec.NewSlice(lo, windowRows(starts, lo))
		err := w.restoreGroups(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	for ; lo < n; lo = windowRows(starts, lo) {
		part := rec.NewSlice(lo, windowRows(starts, lo))
		err := w.spillRows(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return w.maybeSpill() // the last window opened may have taken the state over the threshold
}

// windowRows returns the end of the run of rows from lo on that share lo's window start.
func windowRows(starts []arrow.Timestamp, lo int64) int64 {
	hi := lo + 1
	for hi < int64(len(starts)) && starts[hi] == starts[lo] {
		hi++
	}
	return hi
}

// spillRows writes state rows of one window, rec, to the store, by key group.
func (w *WindowAgg) spillRows(rec arrow.RecordBatch) error {
	start := int64(rec.Column(1).(*array.Timestamp).Value(0))
	end := w.cfg.Window.End(start)
	if err := w.openStore(); err != nil {
		return err
	}
	owner := w.spill.cfg.KeyGroup
	if owner == nil {
		owner = func([]arrow.Array) ([]int, error) { return make([]int, rec.NumRows()), nil }
	}
	kgs, err := w.owners(rec, spill.MaxKeyGroup+1, owner)
	if err != nil {
		return fmt.Errorf("spill the window ending %d: %w", end, err)
	}
	order := make([]int32, len(kgs))
	for i := range order {
		order[i] = int32(i)
	}
	sorted := rec // rows already by key group, as a snapshot part of one key group is
	if slices.IsSorted(kgs) {
		rec.Retain()
	} else {
		slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(kgs[a], kgs[b]) })
		if sorted, err = takeRows(allocator(w.ctx), rec, order); err != nil {
			return fmt.Errorf("spill the window ending %d: %w", end, err)
		}
	}
	defer sorted.Release()
	var chunks []spill.Chunk
	for lo := 0; lo < len(order); {
		kg := kgs[order[lo]]
		hi := lo + 1
		for hi < len(order) && hi-lo < spillChunkRows && kgs[order[hi]] == kg {
			hi++
		}
		v, err := encodeChunk(sorted.NewSlice(int64(lo), int64(hi)))
		if err != nil {
			return fmt.Errorf("spill the window ending %d, key group %d: %w", end, kg, err)
		}
		chunks = append(chunks, spill.Chunk{End: end, KeyGroup: kg, Value: v})
		lo = hi
	}
	w.timers.Add(end)
	return w.writeWindow(end, chunks)
}

// keyGroups returns the key group of each group's key.
func (w *WindowAgg) keyGroups(groups []uint32) ([]int, error) {
	s := w.spill
	s.kgs = slices.Grow(s.kgs[:0], len(groups))[:len(groups)]
	if s.cfg.KeyGroup == nil || w.cfg.Keys == 0 {
		clear(s.kgs)
		return s.kgs, nil
	}
	starts, _ := w.bounds(groups, false)
	cols, err := w.keyColumns(groups, starts, nil)
	if err != nil {
		return nil, err
	}
	defer releaseAll(cols)
	kgs, err := s.cfg.KeyGroup(cols[:w.cfg.Keys])
	if err != nil {
		return nil, err
	}
	if len(kgs) != len(groups) {
		return nil, fmt.Errorf("%d key groups for %d keys", len(kgs), len(groups))
	}
	copy(s.kgs, kgs)
	return s.kgs, nil
}

// encodeChunk writes rec as an Arrow IPC stream.
func encodeChunk(rec arrow.RecordBatch) ([]byte, error) {
	defer rec.Release()
	var buf bytes.Buffer
	iw := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := iw.Write(rec); err != nil {
		return nil, fmt.Errorf("encode state rows: %w", errors.Join(err, iw.Close()))
	}
	if err := iw.Close(); err != nil {
		return nil, fmt.Errorf("encode state rows: %w", err)
	}
	return buf.Bytes(), nil
}

// compact rebuilds the accumulators, the key table and the indexes around the groups held
// in memory, so that the memory of the groups spilled or fired is given back.
func (w *WindowAgg) compact() error {
	var groups []uint32
	for _, e := range w.timers.Ends() {
		groups = append(groups, w.byEnd[e]...)
	}
	groups = w.filled(groups)
	rec, err := w.stateRows(groups)
	if err != nil {
		return fmt.Errorf("compact the state: %w", err)
	}
	defer rec.Release()
	accs, err := newAccumulators(w.cfg.Calls)
	if err != nil {
		return err
	}
	w.accs = accs
	w.keys = newKeyTable()
	w.byStart, w.byEnd = map[int64]map[uint32]uint32{}, map[int64][]uint32{}
	w.keyID, w.start, w.free, w.hollow = nil, nil, nil, nil
	if err := w.restoreGroups(rec); err != nil { // the pending ends stay in timers
		return fmt.Errorf("compact the state: %w", err)
	}
	return nil
}

// newAccumulators builds an accumulator for each call.
func newAccumulators(calls []AggCall) ([]agg.Accumulator, error) {
	accs := make([]agg.Accumulator, 0, len(calls))
	for _, c := range calls {
		types, consts := c.ArgTypes, c.Const
		if c.Filter {
			if len(types) == 0 {
				return nil, fmt.Errorf("%s: a FILTER clause without its condition's column", c.Name)
			}
			types, consts = types[:len(types)-1], consts[:min(len(consts), len(types)-1)]
		}
		a, err := agg.New(c.Name, types, consts)
		if err != nil {
			return nil, err
		}
		if c.Filter {
			a = agg.Filtered(a)
		}
		accs = append(accs, a)
	}
	return accs, nil
}

// fireSpilling fires the windows ending at w.ends with the pebble backend: from memory those
// with nothing on disk, by key group from disk the others.
func (w *WindowAgg) fireSpilling(out Collector) error {
	emit := func(groups []uint32) error {
		groups = w.filled(groups)
		if len(groups) == 0 {
			return nil
		}
		starts, ends := w.bounds(groups, true)
		rec, err := w.results(groups, starts, ends)
		if err != nil {
			return err
		}
		return out.Collect(rec)
	}
	for _, e := range w.ends {
		if !w.spilled(e) {
			g := w.byEnd[e]
			delete(w.byEnd, e)
			if len(g) == 0 {
				continue
			}
			delete(w.byStart, w.start[g[0]])
			err := emit(g)
			w.releaseKeys(g)
			w.freeGroups(g)
			if err != nil {
				return err
			}
			continue
		}
		if err := w.readBack(e, emit); err != nil {
			return err
		}
		if err := w.spill.store.Delete(e); err != nil {
			return err
		}
		delete(w.spill.spills, e)
	}
	return w.maybeSpill()
}

// readBack spills what the window ending at end holds in memory, then reads its chunks back
// key group by key group into fresh groups and hands them to use, at least spillFireGroups
// at a time unless the window has fewer, and frees them.
func (w *WindowAgg) readBack(end int64, use func(groups []uint32) error) error {
	if err := w.spillWindow(end); err != nil {
		return err
	}
	s := w.spill
	if s.ids == nil {
		s.ids = map[uint32]uint32{}
	}
	var batch []uint32
	flush := func() error {
		err := use(batch)
		for _, g := range batch {
			delete(s.ids, w.keyID[g])
		}
		w.releaseKeys(batch)
		w.freeGroups(batch)
		batch = batch[:0]
		return err
	}
	mem := allocator(w.ctx)
	prev := -1
	err := s.store.Scan(end, func(kg int, value []byte) error {
		if kg != prev && len(batch) >= spillFireGroups {
			if err := flush(); err != nil {
				return err
			}
		}
		prev = kg
		r, err := ipc.NewReader(bytes.NewReader(value), ipc.WithSchema(w.stateSchema()), ipc.WithAllocator(mem))
		if err != nil {
			return fmt.Errorf("key group %d: decode state rows: %w", kg, err)
		}
		defer r.Release()
		for r.Next() {
			rec := r.RecordBatch()
			keys := rec.Column(0).(*array.Binary)
			starts := rec.Column(1).(*array.Timestamp)
			w.groups = w.groups[:0]
			for i := range int(rec.NumRows()) {
				kid := w.keys.intern(keys.Value(i))
				g, ok := s.ids[kid]
				if !ok {
					g = w.newGroup(kid, int64(starts.Value(i)))
					w.keys.refs[kid]++
					s.ids[kid] = g
					batch = append(batch, g)
				}
				w.groups = append(w.groups, g)
			}
			if err := w.mergeStates(rec, 2); err != nil {
				return fmt.Errorf("key group %d: %w", kg, err)
			}
		}
		if err := r.Err(); err != nil {
			return fmt.Errorf("key group %d: decode state rows: %w", kg, err)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		if len(batch) > 0 {
			err = errors.Join(err, flush())
		}
		return fmt.Errorf("read back the window ending %d: %w", end, err)
	}
	return nil
}

// readRows hands the state rows of the window ending at end, as they are on disk, to use,
// which must retain what it keeps.
func (w *WindowAgg) readRows(end int64, use func(arrow.RecordBatch)) error {
	mem := allocator(w.ctx)
	err := w.spill.store.Scan(end, func(kg int, value []byte) error {
		r, err := ipc.NewReader(bytes.NewReader(bytes.Clone(value)), ipc.WithSchema(w.stateSchema()), ipc.WithAllocator(mem))
		if err != nil {
			return fmt.Errorf("key group %d: decode state rows: %w", kg, err)
		}
		defer r.Release()
		for r.Next() {
			use(r.RecordBatch())
		}
		if err := r.Err(); err != nil {
			return fmt.Errorf("key group %d: decode state rows: %w", kg, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the window ending %d: %w", end, err)
	}
	return nil
}

// rewrite replaces the chunks of the window ending at end by its merged rows, parts, so
// that the next snapshot takes them as they are.
func (w *WindowAgg) rewrite(end int64, parts []arrow.RecordBatch) error {
	if err := w.spill.store.Delete(end); err != nil {
		return err
	}
	delete(w.spill.spills, end)
	if len(parts) == 0 {
		return nil
	}
	rec, err := concatRecords(allocator(w.ctx), w.stateSchema(), parts)
	if err != nil {
		return err
	}
	defer rec.Release()
	return w.spillRows(rec)
}

// snapshotSpilling is Snapshot of tumbling and hopping windows with state on disk.
func (w *WindowAgg) snapshotSpilling(id uint64) ([]byte, error) {
	rec, err := w.spilledState()
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return w.sealState(kindWindowAgg, id, rec, nil)
}

// spilledState gathers the state rows of every window, by window end, with state on disk:
// those of a spilled window read back (merged, unless the window was written once and has
// nothing in memory). The caller releases them.
func (w *WindowAgg) spilledState() (arrow.RecordBatch, error) {
	mem := allocator(w.ctx)
	var parts []arrow.RecordBatch
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	take := func(groups []uint32) error {
		groups = w.filled(groups)
		if len(groups) == 0 {
			return nil
		}
		rec, err := w.stateRows(groups)
		if err != nil {
			return err
		}
		parts = append(parts, rec)
		return nil
	}
	for _, e := range slices.Clone(w.timers.Ends()) {
		var err error
		switch {
		case w.spilled(e) && w.spill.spills[e] == 1 && len(w.byEnd[e]) == 0:
			err = w.readRows(e, func(rec arrow.RecordBatch) { rec.Retain(); parts = append(parts, rec) })
		case w.spilled(e):
			from := len(parts)
			if err = w.readBack(e, take); err == nil {
				err = w.rewrite(e, parts[from:])
			}
		default:
			err = take(w.byEnd[e])
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	rec, err := concatRecords(mem, w.stateSchema(), parts)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return rec, nil
}

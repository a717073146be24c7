package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/format"
	"millrace/op"
	"millrace/source"
	"millrace/take"
)

// maxOpenPartitions bounds how many partitions that end (those of a bounded source, or a
// source's history, see source.PartitionEnds) one source subtask reads at a time; the
// others wait, holding the watermark back, so nothing they hold turns late. Partitions
// that never end are all read at once. A subtask reads its ending partitions one at a
// time when nothing holds the watermark back at the start: without event time (and readers
// that carry no watermark of their own), or when the source knows the least event time of
// every partition (source.TimeFloors). Each open
// partition holds its current block of input decoded (a Parquet row group's pages), so
// this bounds the memory of a scan.
const maxOpenPartitions = 8

// ends tells whether partition p of the subtask's source ends: every partition of a
// bounded source, and those a source.PartitionEnds says of. At most maxOpenPartitions of
// them are read at a time; partitions that never end are all read at once.
func (t *sourceTask) ends(p int) bool {
	if t.src.Capabilities().Bounded {
		return true
	}
	pe, ok := t.src.(source.PartitionEnds)
	return ok && pe.Ends(p)
}

// partitionState is one partition of a source subtask.
type partitionState struct {
	index   int
	reader  source.PartitionReader
	maxTime int64 // largest event time read
	floor   int64 // least event time of its rows, as the source knows it; else op.MinWatermark
	done    bool
	active  time.Time     // when the partition was opened or last yielded rows
	size    int64         // bytes of input, when the source knows (Source.Size); else 0
	read    int64         // bytes of input read, at most size
	resume  []byte        // where to reopen the partition, from a checkpoint
	waited  time.Duration // time the reader said it waited inside Read (Progress.Waited)
}

// sourceTask reads the partitions of one source subtask: it decodes, checks, splits off
// late rows, and tracks the watermark.
type sourceTask struct {
	r      *run
	n      *Node
	sub    int
	src    source.Source
	policy WatermarkPolicy
	stats  *NodeStats
	outs   [3]*output
	parts  []*partitionState
	// openLimit is how many partitions that end the subtask reads at a time (see
	// maxOpenPartitions).
	openLimit int
	emitted   int64
	// carried: a reader carries its partition's watermark itself (source.Watermarker).
	carried bool
	encoder format.RowEncoder
	line    []byte
	meter   *meter
	marked  time.Time   // when the last latency marker was sent
	tally   ledgerTally // the ledger counts of the batch being routed
	// positions holds, for each checkpoint taken and not yet durable, where the subtask's
	// partitions stood, to hand to Source.Committed once it is.
	positions map[uint64]map[int][]byte
	commits   *commitSignal
}

// runSource runs subtask sub of a source node until its partitions have ended. A source
// whose readers can fetch together (source.Sharer) is read through a copy of the subtask's
// own, so that its partitions wait for one poll together rather than one after the other,
// and the subtasks' records come in the same polls.
func (r *run) runSource(n *Node, sub int) error {
	src := n.Source
	if sh, ok := src.(source.Sharer); ok {
		src = sh.Share()
	}
	t := &sourceTask{r: r, n: n, sub: sub, src: src, policy: n.Watermarks, stats: r.stats[n][sub], emitted: op.MinWatermark,
		positions: map[uint64]map[int][]byte{}, commits: r.coord.commitSignal(n, sub)}
	for port := range t.outs {
		t.outs[port] = r.output(n, sub, port)
	}
	if len(n.Checks) > 0 { // a row failing a check becomes a dead letter holding it as a line
		enc, err := format.NewRowEncoder(format.JSONL, t.src.Schema())
		if err != nil {
			return err
		}
		t.encoder = enc
	}
	floors, _ := t.src.(source.TimeFloors)
	t.openLimit = 1
	for p := sub; p < t.src.Partitions(); p += n.Parallelism {
		ps := &partitionState{index: p, maxTime: op.MinWatermark, floor: op.MinWatermark, size: t.src.Size(p)}
		if t.policy.EventTime >= 0 && floors != nil {
			if f, ok := floors.TimeFloor(p, t.src.Schema().Field(t.policy.EventTime).Name); ok {
				ps.floor = f
			}
		}
		if t.policy.EventTime >= 0 && ps.floor == op.MinWatermark && t.ends(p) {
			t.openLimit = maxOpenPartitions
		}
		t.stats.InputBytes.Add(ps.size)
		t.parts = append(t.parts, ps)
	}
	t.meter = newMeter(t.stats, nil, r.opts.Unmeasured)
	defer t.closeAll()
	if err := t.restore(); err != nil {
		return err
	}
	err := t.loop()
	stopped := errors.Is(err, errStopped)
	if err != nil && !stopped {
		return err
	}
	final, at, err := t.state() // before the readers close: a stopped source resumes from here
	if err != nil {
		return err
	}
	wm := t.emitted // a stopped source holds the watermark where it stopped
	if !stopped {
		wm = op.MaxWatermark
		t.stats.Watermark.Store(wm)
	}
	for _, out := range t.outs {
		if !stopped {
			if err := out.send(op.Message{Kind: op.Watermark, Watermark: op.MaxWatermark}); err != nil {
				return err
			}
		}
		if err := out.send(op.Message{Kind: op.EndOfData}); err != nil {
			return err
		}
	}
	r.coord.ack(ack{node: n, sub: sub, state: final, watermark: wm, final: true})
	return t.finishCommits(at)
}

func (t *sourceTask) closeAll() {
	for _, p := range t.parts {
		if p.reader != nil {
			_ = p.reader.Close() // after a failure; the failure is what is reported
		}
	}
}

// errStopped ends a source's loop when the run stops gracefully.
var errStopped = errors.New("engine: stopped")

func (t *sourceTask) loop() error {
	trigger := t.r.coord.trigger(t.n, t.sub)
	for {
		if t.r.readCtx.Err() != nil && t.r.ctx.Err() == nil {
			return errStopped
		}
		select {
		case id := <-trigger:
			if err := t.checkpoint(id); err != nil {
				return err
			}
		case <-t.commits.ready():
			t.committed(t.commits.latest())
		default:
		}
		left, open := 0, 0 // partitions not done; of them, those open that end
		for _, p := range t.parts {
			if !p.done {
				left++
			}
			if !p.done && p.reader != nil && t.ends(p.index) {
				open++
			}
		}
		if left == 0 {
			return nil
		}
		for _, p := range t.parts {
			ends := t.ends(p.index)
			if open >= t.openLimit && ends {
				continue
			}
			if !p.done && p.reader == nil {
				rd, err := t.open(p)
				if err != nil {
					return err
				}
				p.reader = rd
				p.active = t.r.opts.Now()
				if _, ok := rd.(source.Watermarker); ok {
					t.carried = true
					t.openLimit = maxOpenPartitions // a partition not yet read holds its watermark
				}
				if ends {
					open++
				}
			}
		}
		for _, p := range t.parts {
			if p.reader == nil || p.done {
				continue
			}
			got, err := t.readOnce(p)
			if err != nil {
				return err
			}
			if !got {
				t.meter.received() // an empty poll is waiting for input
			}
			t.meter.handled()
		}
		if err := t.advanceWatermark(); err != nil {
			return err
		}
		if err := t.mark(); err != nil {
			return err
		}
	}
}

// mark sends a latency marker on every port every markerEvery.
func (t *sourceTask) mark() error {
	if t.r.opts.Unmeasured {
		return nil
	}
	now := time.Now()
	if now.Sub(t.marked) < markerEvery {
		return nil
	}
	t.marked = now
	for _, out := range t.outs {
		if err := out.send(op.Message{Kind: op.Marker, Sent: now.UnixNano()}); err != nil {
			return err
		}
	}
	return nil
}

// countBytes moves the source's count of input bytes read to where p's reader stands.
func (t *sourceTask) countBytes(p *partitionState) {
	if p.size == 0 {
		return
	}
	read := p.size
	if !p.done {
		read = min(p.reader.Progress().BytesRead, p.size)
	}
	if read > p.read {
		t.stats.InputBytesRead.Add(read - p.read)
		p.read = read
	}
}

// readOnce reads one batch of partition p and routes its rows. It says whether the read
// yielded anything: records, dead letters or the end of the partition. The batch's ledger
// counts are published together once it is routed, so the ledger balances at any moment.
func (t *sourceTask) readOnce(p *partitionState) (bool, error) {
	t.tally = ledgerTally{}
	defer func() { t.stats.count(t.tally) }()
	rec, dead, err := p.reader.Read(t.r.readCtx)
	progress := p.reader.Progress()
	if waited := progress.Waited; waited > p.waited {
		t.meter.wait(waited - p.waited)
		p.waited = waited
	}
	if t.src.Capabilities().Lag {
		t.stats.setLag(p.index, progress.Lag)
	}
	t.stats.setUnreachable(p.index, progress.Unreachable)
	if err != nil && t.r.readCtx.Err() != nil && t.r.ctx.Err() == nil {
		return false, errStopped
	}
	if errors.Is(err, io.EOF) {
		p.done = true
		t.countBytes(p)
		cerr := p.reader.Close()
		p.reader = nil
		if cerr != nil {
			return true, fmt.Errorf("close partition %d: %w", p.index, cerr)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read partition %d: %w", p.index, err)
	}
	t.countBytes(p)
	t.tally.read += int64(len(dead))
	if rec == nil {
		return len(dead) > 0, t.sendDead(dead)
	}
	t.tally.read += rec.NumRows()
	if !progress.Appended.IsZero() {
		t.stats.ReadAge.observe(time.Since(progress.Appended))
	}
	p.active = t.r.opts.Now()
	rec, dead, err = t.check(p, rec, dead)
	if err != nil {
		return true, err
	}
	if err := t.sendDead(dead); err != nil {
		if rec != nil {
			rec.Release()
		}
		return true, err
	}
	if rec == nil {
		return true, nil
	}
	return true, t.sendOnTime(p, rec)
}

// check applies the source's checks; failing rows become dead letters.
func (t *sourceTask) check(p *partitionState, rec arrow.RecordBatch, dead []format.DeadLetter) (arrow.RecordBatch, []format.DeadLetter, error) {
	checks := t.n.Checks
	if len(checks) == 0 {
		return rec, dead, nil
	}
	// Rows keep where they came from (see origins) through the checks, so a dead letter
	// names it. It is taken when a row first fails: until then the batch is the one read.
	var lines, offsets []int64
	failed := false
	file := p.reader.Position().File
	for _, c := range checks {
		verdicts, err := t.evalCheck(c, rec)
		if err != nil {
			rec.Release()
			return nil, dead, fmt.Errorf("check %q: %w", c, err)
		}
		var keep []int32
		for i, v := range verdicts {
			if v == "" {
				keep = append(keep, int32(i))
				continue
			}
			if !failed {
				failed = true
				if lines, offsets, err = origins(p.reader, int(rec.NumRows())); err != nil {
					rec.Release()
					return nil, dead, fmt.Errorf("check %q: %w", c, err)
				}
			}
			t.line = t.encoder.AppendRow(t.line[:0], rec, i)
			d := format.DeadLetter{File: file, RowGroup: -1,
				Raw: bytes.TrimSuffix(append([]byte(nil), t.line...), []byte("\n")), Reason: v}
			if lines != nil {
				d.Line = lines[i]
			}
			if offsets != nil {
				d.AtOffset, d.Offset = true, offsets[i]
			}
			dead = append(dead, d)
		}
		if len(keep) == int(rec.NumRows()) {
			continue
		}
		if lines != nil {
			for k, i := range keep {
				lines[k] = lines[i]
			}
			lines = lines[:len(keep)]
		}
		if offsets != nil {
			for k, i := range keep {
				offsets[k] = offsets[i]
			}
			offsets = offsets[:len(keep)]
		}
		kept, err := t.keep(rec, keep)
		if err != nil {
			return nil, dead, err
		}
		rec = kept
		if rec == nil {
			return nil, dead, nil
		}
	}
	return rec, dead, nil
}

// origins copies where each of the rows of the batch r last read came from: the line of a
// text reader, the offset of a broker's record; nil where r does not say. Lines are asked
// for only here, as a reader of a byte range of a file counts lines to number them.
func origins(r source.PartitionReader, rows int) (lines, offsets []int64, err error) {
	progress := r.Progress()
	if progress.Lines != nil {
		l, err := progress.Lines()
		if err != nil {
			return nil, nil, err
		}
		if len(l) == rows {
			lines = slices.Clone(l)
		}
	}
	if o := progress.Offsets; len(o) == rows {
		offsets = slices.Clone(o)
	}
	return lines, offsets, nil
}

// evalCheck returns, for each row of rec, why it fails check c ("" when it passes). A row
// on which the check cannot be evaluated (a failed CAST, say) fails it with the error as
// reason, found by halving the batch until each failing part is one row, unless the node
// fails on errors: then the error is returned.
func (t *sourceTask) evalCheck(c Check, rec arrow.RecordBatch) ([]string, error) {
	failed := "check failed: " + c.String()
	verdicts := make([]string, rec.NumRows())
	var visit func(from, to int64) error
	visit = func(from, to int64) error {
		part := rec.NewSlice(from, to)
		defer part.Release()
		res, err := c.Eval(part)
		switch {
		case err == nil:
			defer res.Release()
			pass := res.(*array.Boolean)
			for i := range int(to - from) {
				if !pass.IsValid(i) || !pass.Value(i) {
					verdicts[from+int64(i)] = failed
				}
			}
			return nil
		case t.n.FailOnError:
			return err
		case to-from == 1:
			verdicts[from] = fmt.Sprintf("%s: %v", failed, err)
			return nil
		}
		mid := from + (to-from)/2
		if err := visit(from, mid); err != nil {
			return err
		}
		return visit(mid, to)
	}
	return verdicts, visit(0, rec.NumRows())
}

// keep returns the rows of rec at idx (nil if none) and releases rec.
func (t *sourceTask) keep(rec arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	defer rec.Release()
	if len(idx) == 0 {
		return nil, nil
	}
	return take.Rows(rec, idx)
}

func (t *sourceTask) sendDead(dead []format.DeadLetter) error {
	if len(dead) == 0 {
		return nil
	}
	t.tally.rejected += int64(len(dead))
	if m := t.r.opts.Monitor; m != nil {
		m.sample(t.n.Name, dead)
	}
	return t.outs[DeadLetterPort].send(op.Message{Kind: op.Data, Batch: format.DeadLetterBatch(t.r.opts.Mem, dead)})
}

// sendOnTime splits off the late rows, and rows without an event time, and sends the rest
// on. A row is late when it is more than the allowed disorder behind the largest event time
// of its partition before it: so whether a row is late depends on its partition alone, not
// on which partitions a subtask reads together, nor when. Such a row is also never behind
// the watermark the subtask emitted (the least over its partitions), whose windows may have
// fired.
func (t *sourceTask) sendOnTime(p *partitionState, rec arrow.RecordBatch) error {
	if t.policy.EventTime < 0 {
		t.tally.accepted += rec.NumRows()
		return t.outs[MainPort].send(op.Message{Kind: op.Data, Batch: rec})
	}
	ts, ok := rec.Column(t.policy.EventTime).(*array.Timestamp)
	if !ok {
		rec.Release()
		return fmt.Errorf("event time column %q is %s, not a timestamp", rec.ColumnName(t.policy.EventTime), rec.Column(t.policy.EventTime).DataType())
	}
	vals := ts.TimestampValues()
	// Most batches have no late row: find the first late one before listing any rows (a
	// batch with a row without an event time has one).
	first := 0
	if ts.NullN() == 0 {
		first = t.firstLate(p, vals)
	}
	if first == len(vals) {
		t.tally.accepted += rec.NumRows()
		return t.outs[MainPort].send(op.Message{Kind: op.Data, Batch: rec})
	}
	onTime := make([]int32, first, len(vals))
	for i := range onTime {
		onTime[i] = int32(i)
	}
	var late []int32
	for i := first; i < len(vals); i++ {
		ms := int64(vals[i])
		if ts.IsNull(i) || t.behind(p, ms) {
			late = append(late, int32(i))
			continue
		}
		onTime = append(onTime, int32(i))
		p.maxTime = max(p.maxTime, ms)
	}
	defer rec.Release()
	for _, part := range []struct {
		rows  []int32
		port  int
		count *int64
	}{{onTime, MainPort, &t.tally.accepted}, {late, LatePort, &t.tally.late}} {
		if len(part.rows) == 0 {
			continue
		}
		sub, err := take.Rows(rec, part.rows)
		if err != nil {
			return err
		}
		*part.count += int64(len(part.rows))
		if err := t.outs[part.port].send(op.Message{Kind: op.Data, Batch: sub}); err != nil {
			return err
		}
	}
	return nil
}

// firstLate returns the index of the first row of times that is late (len(times) when none
// is) and advances p's largest event time over the rows before it.
func (t *sourceTask) firstLate(p *partitionState, times []arrow.Timestamp) int {
	for i, v := range times {
		ms := int64(v)
		if t.behind(p, ms) {
			return i
		}
		p.maxTime = max(p.maxTime, ms)
	}
	return len(times)
}

// behind says whether event time ms is late in partition p: behind the watermark the
// subtask emitted, or more than the allowed disorder behind the partition's largest event
// time.
func (t *sourceTask) behind(p *partitionState, ms int64) bool {
	return ms < t.emitted || (p.maxTime != op.MinWatermark && ms < p.maxTime-t.policy.OutOfOrder)
}

// advanceWatermark emits the subtask's watermark when it moved: the minimum over its
// unfinished partitions of their largest event time minus the allowed disorder. A partition
// not yet read holds it at its least event time when the source knows it, else at the
// start; with an idle timeout, a partition silent for longer stops holding it back until it
// yields rows again. When every unfinished partition of the subtask is idle, its watermark
// follows the clock (Options.Now less the allowed disorder, event time taken to run with the
// clock), so that a subtask with nothing to read, such as a cluster's source partition
// whose records all go to other partitions, does not hold back the windows downstream of
// it; rows it reads later behind that watermark are late, as they are behind one set by
// other partitions.
//
// A reader whose input carries its own watermark (source.Watermarker, such as the exchange
// between the stages of a cluster) gives its partition's watermark itself, with or without
// an event-time column.
func (t *sourceTask) advanceWatermark() error {
	if t.policy.EventTime < 0 && !t.carried {
		return nil
	}
	wm := int64(op.MaxWatermark)
	now := t.r.opts.Now()
	carriedEnd := false // a reader carried the final watermark: its inputs all ended
	open, idle := 0, 0
	for _, p := range t.parts {
		if p.done {
			continue
		}
		open++
		if w, ok := p.reader.(source.Watermarker); ok {
			pw := w.Watermark()
			if pw == op.MinWatermark {
				return nil
			}
			wm = min(wm, pw)
			carriedEnd = carriedEnd || pw == op.MaxWatermark
			continue
		}
		if p.reader != nil && t.policy.IdleTimeout > 0 && now.Sub(p.active) >= t.policy.IdleTimeout {
			idle++
			continue
		}
		if p.reader == nil || p.maxTime == op.MinWatermark {
			if p.floor == op.MinWatermark {
				return nil
			}
			wm = min(wm, p.floor-t.policy.OutOfOrder) // nothing it holds is older
			continue
		}
		wm = min(wm, p.maxTime-t.policy.OutOfOrder)
	}
	if open > 0 && idle == open {
		wm = now.UnixMilli() - t.policy.OutOfOrder
	}
	if (wm == op.MaxWatermark && !carriedEnd) || wm <= t.emitted {
		return nil
	}
	t.emitted = wm
	t.stats.Watermark.Store(wm)
	for _, out := range t.outs {
		if err := out.send(op.Message{Kind: op.Watermark, Watermark: wm}); err != nil {
			return err
		}
	}
	return nil
}
